// Package memory is an in-memory civil registry and mobile-ownership
// service: fixtures for tests, demos and development, filled in code with
// Add and SetMobile or from a directory of JSON records and photos with
// LoadDir.
//
// # Directory format (LoadDir)
//
// Every regular file directly in the directory whose name ends in ".json"
// is one person (subdirectories are not read, so photos can live in them).
// Naming files "<national_id>.json" is the convention. A record:
//
//	{
//	  "national_id": "0499370899",
//	  "first_name": "Sara", "last_name": "Ahmadi", "father_name": "Reza",
//	  "gender": "female",
//	  "birth_date": "1370/01/15",
//	  "alive": true,
//	  "native": true,
//	  "photo": "photos/0499370899.jpg",
//	  "mobiles": ["09121234567"]
//	}
//
// The fields are those of registry.Person; national_id, birth_date and
// gender are required, alive and native are required too (a missing one
// is an error, not a silent false). Digits may be Persian or
// Arabic-Indic. "photo" is a file path: absolute, or relative to the photo
// root given with WithPhotoRoot (for example $HOVIYAT_DATA, so fixtures can
// use shared photos without copying them), or else relative to the
// directory. It may be omitted for a person without a photo. "mobiles"
// lists the numbers registered to the person. Unknown fields are an error,
// to catch typos. A directory loads completely or not at all.
package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/hoviyat/hoviyat/registry"
)

// Compile-time checks.
var (
	_ registry.CivilRegistry   = (*Registry)(nil)
	_ registry.MobileOwnership = (*Registry)(nil)
)

// Registry is an in-memory civil registry and mobile-ownership service.
// The zero value is not usable; call New. A Registry is safe for concurrent
// use: lookups may run while records are added.
//
// As in a real Shahkar-style service, each mobile number has at most one
// owner: SetMobile moves a number from its previous owner.
type Registry struct {
	mu      sync.RWMutex
	people  map[registry.NationalID]registry.Person
	mobiles map[registry.Mobile]registry.NationalID
}

// New returns an empty Registry.
func New() *Registry {
	return &Registry{
		people:  make(map[registry.NationalID]registry.Person),
		mobiles: make(map[registry.Mobile]registry.NationalID),
	}
}

// Add stores p, replacing any record with the same national ID. The
// photo is copied, so the caller may reuse p. It returns an error wrapping
// registry.ErrInvalidNationalID when p.NationalID is not canonical, a
// *registry.ErrInvalidDate for an impossible birth date, and an error for
// an unknown gender.
func (r *Registry) Add(p registry.Person) error {
	if err := validPerson(p); err != nil {
		return err
	}
	p.Photo = slices.Clone(p.Photo)
	r.mu.Lock()
	r.people[p.NationalID] = p
	r.mu.Unlock()
	return nil
}

// SetMobile registers mobile to id, taking it from any previous owner. The
// person need not exist: Shahkar knows subscribers the civil registry
// fixture may not. Both values must be canonical (see
// registry.ParseNationalID and registry.ParseMobile).
func (r *Registry) SetMobile(id registry.NationalID, mobile registry.Mobile) error {
	if err := validOwnership(id, mobile); err != nil {
		return err
	}
	r.mu.Lock()
	r.mobiles[mobile] = id
	r.mu.Unlock()
	return nil
}

// RemoveMobile unregisters mobile from whoever owns it. Removing an
// unregistered number is not an error.
func (r *Registry) RemoveMobile(mobile registry.Mobile) {
	r.mu.Lock()
	delete(r.mobiles, mobile)
	r.mu.Unlock()
}

// Len returns the number of people stored.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.people)
}

// Lookup returns a copy of the person whose national ID and birth date
// both match. An unknown ID and a wrong birth date return the same error,
// a *registry.Error of kind not_found (errors.Is registry.ErrNotFound). A
// done ctx returns a *registry.Error of kind canceled or timeout that
// wraps ctx.Err().
func (r *Registry) Lookup(ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
	if err := ctxErr(ctx, registry.DepCivilRegistry); err != nil {
		return registry.Person{}, err
	}
	r.mu.RLock()
	p, ok := r.people[id]
	r.mu.RUnlock()
	if !ok || p.BirthDate != birth {
		return registry.Person{}, notFound()
	}
	p.Photo = slices.Clone(p.Photo)
	return p, nil
}

// Owns reports whether mobile is registered to id. A done ctx returns
// false and an error as Lookup does.
func (r *Registry) Owns(ctx context.Context, id registry.NationalID, mobile registry.Mobile) (bool, error) {
	if err := ctxErr(ctx, registry.DepMobileOwnership); err != nil {
		return false, err
	}
	r.mu.RLock()
	owner, ok := r.mobiles[mobile]
	r.mu.RUnlock()
	return ok && owner == id, nil
}

// notFound is returned for both an unknown ID and a wrong birth date, so
// the two cannot be told apart. A fresh value each time: a caller that
// edits the error it got cannot change the next one.
func notFound() error {
	return &registry.Error{Dependency: registry.DepCivilRegistry, Kind: registry.KindNotFound}
}

func ctxErr(ctx context.Context, dep registry.Dependency) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	kind := registry.KindCanceled
	if err == context.DeadlineExceeded {
		kind = registry.KindTimeout
	}
	return &registry.Error{Dependency: dep, Kind: kind, Err: err}
}

func validPerson(p registry.Person) error {
	if !p.NationalID.Valid() {
		if _, err := registry.ParseNationalID(string(p.NationalID)); err != nil {
			return fmt.Errorf("memory: person: %w", err)
		}
		return fmt.Errorf("memory: person: national ID %s is not canonical: %w", p.NationalID.Masked(), registry.ErrInvalidNationalID)
	}
	if err := p.BirthDate.Validate(); err != nil {
		return fmt.Errorf("memory: person %s: birth date: %w", p.NationalID.Masked(), err)
	}
	if p.Gender != registry.Male && p.Gender != registry.Female {
		return fmt.Errorf("memory: person %s: unknown gender %q", p.NationalID.Masked(), p.Gender)
	}
	return nil
}

func validOwnership(id registry.NationalID, mobile registry.Mobile) error {
	if !id.Valid() {
		return fmt.Errorf("memory: mobile owner %s is not a canonical national ID: %w", id.Masked(), registry.ErrInvalidNationalID)
	}
	if !mobile.Valid() {
		return fmt.Errorf("memory: mobile %s is not canonical: %w", mobile.Masked(), registry.ErrInvalidMobile)
	}
	return nil
}
