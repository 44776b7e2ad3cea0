package registry

import (
	"context"
	"errors"
	"fmt"
)

// Gender as recorded by the civil registry.
type Gender string

// Genders.
const (
	Male   Gender = "male"
	Female Gender = "female"
)

// Person is a civil-registry record.
type Person struct {
	NationalID NationalID `json:"national_id"`
	FirstName  string     `json:"first_name"`
	LastName   string     `json:"last_name"`
	FatherName string     `json:"father_name"`
	Gender     Gender     `json:"gender"`
	BirthDate  Date       `json:"birth_date"`
	// Alive is false when the registry records a death.
	Alive bool `json:"alive"`
	// Native is true for a native Iranian citizen (not a foreign national
	// or a naturalised record, as the registry defines it).
	Native bool `json:"native"`
	// Photo is the registry's face photo, JPEG (or PNG) bytes. It may be
	// empty when the registry has none.
	Photo []byte `json:"photo,omitempty"`
}

// CivilRegistry looks up a person by national ID and birth date, as Iran's
// civil registration inquiry does. Implementations must be safe for
// concurrent use.
type CivilRegistry interface {
	// Lookup returns the person whose national ID and birth date both
	// match. It returns an error wrapping ErrNotFound when no such person
	// exists or the birth date does not match (the two are deliberately
	// indistinguishable), and an error wrapping ErrUnavailable when the
	// registry could not answer.
	Lookup(ctx context.Context, id NationalID, birth Date) (Person, error)
}

// MobileOwnership checks that a mobile number is registered to a national
// ID (Shahkar-style). Implementations must be safe for concurrent use.
type MobileOwnership interface {
	// Owns reports whether mobile is registered to id. An error means the
	// service could not answer (wrapping ErrUnavailable), never "no".
	Owns(ctx context.Context, id NationalID, mobile Mobile) (bool, error)
}

// Sentinel errors of registry adapters. Match them with errors.Is.
var (
	// ErrNotFound: no person with that national ID and birth date.
	ErrNotFound = errors.New("registry: person not found")
	// ErrUnavailable: the dependency could not answer (timeout, 5xx,
	// malformed reply, circuit open, cancelled).
	ErrUnavailable = errors.New("registry: unavailable")
)

// Dependency names the outside service an error came from.
type Dependency string

// Dependencies.
const (
	DepCivilRegistry   Dependency = "civil_registry"
	DepMobileOwnership Dependency = "mobile_ownership"
)

// Error is the error type adapters return for a failed call. It says which
// dependency failed and why; errors.Is(err, ErrUnavailable) is true for
// every Error whose Kind is not KindNotFound.
type Error struct {
	Dependency Dependency
	// Kind is a short stable word: "timeout", "status", "malformed",
	// "circuit_open", "network", "canceled", "not_found".
	Kind string
	// Status is the HTTP status for Kind "status", else 0.
	Status int
	Err    error
}

// Error kinds.
const (
	KindTimeout     = "timeout"
	KindStatus      = "status"
	KindMalformed   = "malformed"
	KindCircuitOpen = "circuit_open"
	KindNetwork     = "network"
	KindCanceled    = "canceled"
	KindNotFound    = "not_found"
)

// Error implements the error interface; branch on the fields or with errors.Is/As, not on this text.
func (e *Error) Error() string {
	msg := fmt.Sprintf("registry: %s: %s", e.Dependency, e.Kind)
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) and errors.Is(err, ErrNotFound)
// work on an *Error.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Kind == KindNotFound
	case ErrUnavailable:
		return e.Kind != KindNotFound
	}
	return false
}
