package registrytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hoviyat/hoviyat/registry"
)

// SuiteError lists every check Run found failing. Run does not touch it
// after returning it.
type SuiteError struct {
	Failures []error
}

// Error implements the error interface; branch on the fields or with errors.Is/As, not on this text.
func (e *SuiteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "registrytest: %d conformance failure(s):", len(e.Failures))
	for _, f := range e.Failures {
		b.WriteString("\n\t")
		b.WriteString(f.Error())
	}
	return b.String()
}

// Unwrap returns the failures.
func (e *SuiteError) Unwrap() []error { return e.Failures }

// hangLimit is how long Run waits for one call before it reports a hang.
// It is a bound for "never returned", not a speed target.
const hangLimit = 10 * time.Second

// Concurrency of the concurrent check.
const (
	workers       = 8
	roundsPerWork = 3
)

// Run checks that civil and mobiles, loaded with fx, behave as the
// registry interfaces require. Either may be nil to check only the other.
// It returns nil or a *SuiteError listing every failure. The checks:
//
//   - every fixture person is found with their birth date, all fields equal
//     (photo bytes included), and changing the returned photo does not
//     change what the next lookup returns;
//   - a wrong birth date and unknown valid national IDs are not found:
//     errors.Is(err, registry.ErrNotFound), and not ErrUnavailable;
//   - every fixture mobile is owned by its owner and by nobody else, an
//     unregistered mobile by nobody, all with nil errors;
//   - calls from many goroutines at once give the same answers (run the
//     test with -race to catch data races too);
//   - with a cancelled ctx, and with a ctx whose deadline has passed, calls
//     return promptly with an error that matches ctx.Err() and
//     registry.ErrUnavailable, never a person, true, or ErrNotFound;
//   - an error that is a *registry.Error names the right dependency.
//
// ctx bounds the whole run.
func Run(ctx context.Context, civil registry.CivilRegistry, mobiles registry.MobileOwnership, fx Fixtures) error {
	if err := fx.Validate(); err != nil {
		return err
	}
	if civil == nil && mobiles == nil {
		return errors.New("registrytest: nothing to check: both adapters are nil")
	}
	fx = fx.Clone()
	s := &suite{fx: fx}
	if civil != nil {
		if len(fx.People) == 0 {
			s.failf("fixtures: no people to look up")
		}
		s.lookups(ctx, civil)
		s.notFound(ctx, civil)
	}
	if mobiles != nil {
		if len(fx.Mobiles) == 0 {
			s.failf("fixtures: no mobiles to check")
		}
		s.ownership(ctx, mobiles)
	}
	s.concurrent(ctx, civil, mobiles)
	s.cancellation(ctx, civil, mobiles)
	if len(s.failures) == 0 {
		return nil
	}
	return &SuiteError{Failures: s.failures}
}

type suite struct {
	fx       Fixtures
	mu       sync.Mutex
	failures []error
}

func (s *suite) failf(format string, args ...any) {
	s.mu.Lock()
	s.failures = append(s.failures, fmt.Errorf(format, args...))
	s.mu.Unlock()
}

// samePerson describes how got differs from want, or returns "".
func samePerson(got, want registry.Person) string {
	var diffs []string
	add := func(field string, g, w any) { diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w)) }
	if got.NationalID != want.NationalID {
		add("NationalID", got.NationalID, want.NationalID)
	}
	if got.FirstName != want.FirstName {
		add("FirstName", got.FirstName, want.FirstName)
	}
	if got.LastName != want.LastName {
		add("LastName", got.LastName, want.LastName)
	}
	if got.FatherName != want.FatherName {
		add("FatherName", got.FatherName, want.FatherName)
	}
	if got.Gender != want.Gender {
		add("Gender", got.Gender, want.Gender)
	}
	if got.BirthDate != want.BirthDate {
		add("BirthDate", got.BirthDate, want.BirthDate)
	}
	if got.Alive != want.Alive {
		add("Alive", got.Alive, want.Alive)
	}
	if got.Native != want.Native {
		add("Native", got.Native, want.Native)
	}
	if !bytes.Equal(got.Photo, want.Photo) {
		add("Photo", fmt.Sprintf("%d bytes", len(got.Photo)), fmt.Sprintf("%d bytes", len(want.Photo)))
	}
	return strings.Join(diffs, "; ")
}

func (s *suite) lookups(ctx context.Context, civil registry.CivilRegistry) {
	for _, want := range s.fx.People {
		id := want.NationalID.Masked()
		got, err := civil.Lookup(ctx, want.NationalID, want.BirthDate)
		if err != nil {
			s.failf("Lookup(%s, %s): unexpected error: %v", id, want.BirthDate, err)
			continue
		}
		if d := samePerson(got, want); d != "" {
			s.failf("Lookup(%s, %s): %s", id, want.BirthDate, d)
			continue
		}
		if len(got.Photo) == 0 {
			continue
		}
		for i := range got.Photo {
			got.Photo[i] ^= 0xff
		}
		again, err := civil.Lookup(ctx, want.NationalID, want.BirthDate)
		if err != nil {
			s.failf("Lookup(%s, %s) second time: unexpected error: %v", id, want.BirthDate, err)
			continue
		}
		if !bytes.Equal(again.Photo, want.Photo) {
			s.failf("Lookup(%s): changing a returned photo changed the stored one (return a copy)", id)
		}
	}
}

func (s *suite) notFound(ctx context.Context, civil registry.CivilRegistry) {
	check := func(what string, id registry.NationalID, birth registry.Date) {
		p, err := civil.Lookup(ctx, id, birth)
		switch {
		case err == nil:
			s.failf("Lookup(%s, %s) %s: found %s %s, want ErrNotFound", id.Masked(), birth, what, p.FirstName, p.LastName)
		case !errors.Is(err, registry.ErrNotFound):
			s.failf("Lookup(%s, %s) %s: error %v does not match registry.ErrNotFound", id.Masked(), birth, what, err)
		case errors.Is(err, registry.ErrUnavailable):
			s.failf("Lookup(%s, %s) %s: not-found error %v also matches ErrUnavailable", id.Masked(), birth, what, err)
		default:
			s.checkDependency("Lookup "+what, err, registry.DepCivilRegistry)
		}
	}
	for _, p := range s.fx.People {
		check("with the day after the birth date", p.NationalID, nextDay(p.BirthDate))
		wrongYear := p.BirthDate
		wrongYear.Year--
		if wrongYear.Validate() != nil { // Esfand 30 of a common year
			wrongYear.Day = 29
		}
		check("with the birth year minus one", p.NationalID, wrongYear)
	}
	for _, id := range s.unknownIDs(3) {
		check("of an unknown national ID", id, registry.Date{Year: 1370, Month: 1, Day: 15})
	}
}

func (s *suite) ownership(ctx context.Context, mobiles registry.MobileOwnership) {
	check := func(id registry.NationalID, m registry.Mobile, want bool) {
		got, err := mobiles.Owns(ctx, id, m)
		switch {
		case err != nil:
			s.failf("Owns(%s, %s): unexpected error: %v", id.Masked(), m.Masked(), err)
		case got != want:
			s.failf("Owns(%s, %s) = %v, want %v", id.Masked(), m.Masked(), got, want)
		}
	}
	ids := s.knownIDs()
	for m, owner := range s.fx.Mobiles {
		check(owner, m, true)
		for _, other := range ids {
			if other != owner {
				check(other, m, false)
				break
			}
		}
	}
	unknownMobile := s.unknownMobile()
	for _, id := range ids[:min(2, len(ids))] {
		check(id, unknownMobile, false)
	}
	for _, id := range s.unknownIDs(1) {
		for m := range s.fx.Mobiles {
			check(id, m, false)
			break
		}
	}
}

// concurrent repeats the lookups and ownership checks from many goroutines
// at once and reports the first wrong answer of each kind.
func (s *suite) concurrent(ctx context.Context, civil registry.CivilRegistry, mobiles registry.MobileOwnership) {
	var (
		wg       sync.WaitGroup
		once     [4]sync.Once
		failOnce = func(i int, format string, args ...any) {
			once[i].Do(func() { s.failf("concurrent: "+format, args...) })
		}
		unknown = s.unknownIDs(1)[0]
	)
	for w := range workers {
		wg.Go(func() {
			for r := range roundsPerWork {
				if civil != nil {
					for i, want := range s.fx.People {
						if (i+w+r)%2 == 1 { // vary the interleaving per worker
							continue
						}
						got, err := civil.Lookup(ctx, want.NationalID, want.BirthDate)
						if err != nil {
							failOnce(0, "Lookup(%s): %v", want.NationalID.Masked(), err)
						} else if d := samePerson(got, want); d != "" {
							failOnce(1, "Lookup(%s): %s", want.NationalID.Masked(), d)
						}
					}
					if _, err := civil.Lookup(ctx, unknown, registry.Date{Year: 1370, Month: 1, Day: 15}); !errors.Is(err, registry.ErrNotFound) {
						failOnce(2, "Lookup of an unknown ID: %v, want ErrNotFound", err)
					}
				}
				if mobiles != nil {
					for m, owner := range s.fx.Mobiles {
						if ok, err := mobiles.Owns(ctx, owner, m); err != nil || !ok {
							failOnce(3, "Owns(%s, %s) = %v, %v; want true, nil", owner.Masked(), m.Masked(), ok, err)
						}
					}
				}
			}
		})
	}
	wg.Wait()
}

func (s *suite) cancellation(ctx context.Context, civil registry.CivilRegistry, mobiles registry.MobileOwnership) {
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	expired, cancel2 := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel2()
	for _, c := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"a cancelled ctx", cancelled, context.Canceled},
		{"an expired ctx", expired, context.DeadlineExceeded},
	} {
		if civil != nil && len(s.fx.People) > 0 {
			p := s.fx.People[0]
			var (
				got registry.Person
				err error
			)
			if !s.bounded("Lookup with "+c.name, func() { got, err = civil.Lookup(c.ctx, p.NationalID, p.BirthDate) }) {
				continue
			}
			s.checkCtxErr("Lookup with "+c.name, err, c.want, registry.DepCivilRegistry)
			if got.NationalID != "" {
				s.failf("Lookup with %s returned a person", c.name)
			}
		}
		if mobiles != nil {
			for m, owner := range s.fx.Mobiles {
				var (
					ok  bool
					err error
				)
				if !s.bounded("Owns with "+c.name, func() { ok, err = mobiles.Owns(c.ctx, owner, m) }) {
					break
				}
				s.checkCtxErr("Owns with "+c.name, err, c.want, registry.DepMobileOwnership)
				if ok {
					s.failf("Owns with %s returned true", c.name)
				}
				break
			}
		}
	}
}

// bounded runs f and reports a failure if it does not return within
// hangLimit (leaving it running).
func (s *suite) bounded(what string, f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(hangLimit):
		s.failf("%s: did not return within %v", what, hangLimit)
		return false
	}
}

func (s *suite) checkCtxErr(what string, err, want error, dep registry.Dependency) {
	switch {
	case err == nil:
		s.failf("%s: nil error, want one matching %v", what, want)
	case !errors.Is(err, want):
		s.failf("%s: error %v does not match %v", what, err, want)
	case !errors.Is(err, registry.ErrUnavailable):
		s.failf("%s: error %v does not match registry.ErrUnavailable", what, err)
	case errors.Is(err, registry.ErrNotFound):
		s.failf("%s: error %v matches registry.ErrNotFound", what, err)
	default:
		s.checkDependency(what, err, dep)
	}
}

func (s *suite) checkDependency(what string, err error, dep registry.Dependency) {
	var re *registry.Error
	if errors.As(err, &re) && re.Dependency != dep {
		s.failf("%s: error names dependency %q, want %q", what, re.Dependency, dep)
	}
}

func (s *suite) knownIDs() []registry.NationalID {
	var ids []registry.NationalID
	seen := make(map[registry.NationalID]bool)
	add := func(id registry.NationalID) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, p := range s.fx.People {
		add(p.NationalID)
	}
	for _, id := range s.fx.Mobiles {
		add(id)
	}
	return ids
}

// unknownIDs returns n valid national IDs absent from the fixtures.
func (s *suite) unknownIDs(n int) []registry.NationalID {
	known := make(map[registry.NationalID]bool)
	for _, id := range s.knownIDs() {
		known[id] = true
	}
	var out []registry.NationalID
	for body := 987654320; len(out) < n; body -= 7919 {
		id := WithCheckDigit(fmt.Sprintf("%09d", body))
		if id.Valid() && !known[id] {
			out = append(out, id)
		}
	}
	return out
}

func (s *suite) unknownMobile() registry.Mobile {
	for i := 9999999; ; i-- {
		m := registry.Mobile(fmt.Sprintf("0999%07d", i))
		if _, taken := s.fx.Mobiles[m]; !taken {
			return m
		}
	}
}

// WithCheckDigit appends the check digit to a nine-digit body, for tests
// that need many valid national IDs. The result may still be invalid for
// another reason (repeated digits, zero middle); check it with Valid.
func WithCheckDigit(body string) registry.NationalID {
	if len(body) != 9 {
		return registry.NationalID(body)
	}
	sum := 0
	for i := range 9 {
		sum += int(body[i]-'0') * (10 - i)
	}
	r := sum % 11
	if r >= 2 {
		r = 11 - r
	}
	return registry.NationalID(body + string(rune('0'+r)))
}

// nextDay returns the day after d (d must be valid).
func nextDay(d registry.Date) registry.Date {
	if n := (registry.Date{Year: d.Year, Month: d.Month, Day: d.Day + 1}); n.Validate() == nil {
		return n
	}
	if d.Month < 12 {
		return registry.Date{Year: d.Year, Month: d.Month + 1, Day: 1}
	}
	return registry.Date{Year: d.Year + 1, Month: 1, Day: 1}
}
