// Package registrytest helps test civil-registry and mobile-ownership
// adapters, as net/http/httptest and testing/fstest do for theirs. Import it
// from tests only.
//
// Run is a conformance suite an adapter author calls from their own test:
//
//	func TestConformance(t *testing.T) {
//		fx := registrytest.DefaultFixtures()
//		reg := newMyAdapterLoadedWith(fx)
//		if err := registrytest.Run(t.Context(), reg, reg, fx); err != nil {
//			t.Fatal(err)
//		}
//	}
//
// Server is a fixture HTTP server speaking registry/httpreg's wire protocol,
// with faults (latency, 5xx bursts, malformed JSON, connection resets,
// hangs) a test can switch on while it runs.
package registrytest

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"maps"
	"slices"

	"github.com/hoviyat/hoviyat/registry"
)

// Fixtures are the records an adapter under test is loaded with. A plain
// value: not safe for concurrent modification, but Run and NewServer copy
// what they need, so the caller may reuse or change it afterwards.
type Fixtures struct {
	// People are the civil-registry records. National IDs must be
	// canonical and distinct.
	People []registry.Person
	// Mobiles maps each registered mobile number to its one owner.
	Mobiles map[registry.Mobile]registry.NationalID
}

// DefaultFixtures returns a small, varied set: Persian names, a leap-year
// Esfand 30 birth, a deceased person without a photo, a non-native
// citizen, an ID that pads from 8 digits, and a person without a mobile.
// Each call returns fresh values the caller may modify.
func DefaultFixtures() Fixtures {
	d := func(y, m, dd int) registry.Date { return registry.Date{Year: y, Month: m, Day: dd} }
	return Fixtures{
		People: []registry.Person{
			{NationalID: "0499370899", FirstName: "سارا", LastName: "احمدی", FatherName: "رضا",
				Gender: registry.Female, BirthDate: d(1370, 1, 15), Alive: true, Native: true, Photo: Photo(1)},
			{NationalID: "0790419904", FirstName: "علی", LastName: "رضایی", FatherName: "حسن",
				Gender: registry.Male, BirthDate: d(1380, 6, 31), Alive: true, Native: true, Photo: Photo(2)},
			{NationalID: "1583250689", FirstName: "مریم", LastName: "کریمی", FatherName: "محمد",
				Gender: registry.Female, BirthDate: d(1399, 12, 30), Alive: true, Native: true, Photo: Photo(3)},
			{NationalID: "0013542419", FirstName: "حسین", LastName: "مرادی", FatherName: "علی",
				Gender: registry.Male, BirthDate: d(1340, 11, 20), Alive: false, Native: true},
			{NationalID: "0068415941", FirstName: "کریم", LastName: "حیدری", FatherName: "",
				Gender: registry.Male, BirthDate: d(1375, 3, 1), Alive: true, Native: false, Photo: Photo(5)},
		},
		Mobiles: map[registry.Mobile]registry.NationalID{
			"09121234567": "0499370899",
			"09351234567": "0499370899", // a second line of the same person
			"09191234567": "0790419904",
			"09901234567": "1583250689",
			"09381234567": "0068415941",
		},
	}
}

// Clone returns a deep copy of fx.
func (fx Fixtures) Clone() Fixtures {
	out := Fixtures{People: slices.Clone(fx.People), Mobiles: maps.Clone(fx.Mobiles)}
	for i := range out.People {
		out.People[i].Photo = slices.Clone(out.People[i].Photo)
	}
	return out
}

// Validate reports fixtures that could not be loaded into a conforming
// adapter: non-canonical IDs or mobiles, duplicate people, impossible
// dates, unknown genders.
func (fx Fixtures) Validate() error {
	var errs []error
	seen := make(map[registry.NationalID]bool)
	for i, p := range fx.People {
		switch {
		case !p.NationalID.Valid():
			errs = append(errs, fmt.Errorf("person %d: national ID %q is not canonical", i, p.NationalID))
		case seen[p.NationalID]:
			errs = append(errs, fmt.Errorf("person %d: duplicate national ID %s", i, p.NationalID))
		}
		seen[p.NationalID] = true
		if err := p.BirthDate.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("person %d: %w", i, err))
		}
		if p.Gender != registry.Male && p.Gender != registry.Female {
			errs = append(errs, fmt.Errorf("person %d: unknown gender %q", i, p.Gender))
		}
	}
	for m, id := range fx.Mobiles {
		if !m.Valid() {
			errs = append(errs, fmt.Errorf("mobile %q is not canonical", m))
		}
		if !id.Valid() {
			errs = append(errs, fmt.Errorf("owner %q of %s is not canonical", id, m))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("registrytest: invalid fixtures: %w", err)
	}
	return nil
}

// Photo returns a small deterministic JPEG (a 48×64 gradient that depends on
// seed), standing in for a registry photo where the pixels do not matter.
func Photo(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 48, 64))
	for y := range 64 {
		for x := range 48 {
			img.Set(x, y, color.RGBA{R: uint8(x*5 + seed*37), G: uint8(y*4 + seed*11), B: uint8(seed * 53), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		panic("registrytest: " + err.Error()) // encoding to memory cannot fail
	}
	return buf.Bytes()
}
