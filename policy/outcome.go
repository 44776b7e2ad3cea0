package policy

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// Valid reports whether o is one of Approved, Rejected, Review, Locked.
func (o Outcome) Valid() bool {
	switch o {
	case Approved, Rejected, Review, Locked:
		return true
	}
	return false
}

// String returns the outcome as stored.
func (o Outcome) String() string { return string(o) }

// ParseOutcome parses a stored outcome. Anything but the four exact,
// lower-case values is an error wrapping ErrUnknownOutcome.
func ParseOutcome(s string) (Outcome, error) {
	if o := Outcome(s); o.Valid() {
		return o, nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownOutcome, s)
}

// Value implements driver.Valuer; an invalid outcome is an error, so
// garbage is never written.
func (o Outcome) Value() (driver.Value, error) {
	if !o.Valid() {
		return nil, fmt.Errorf("%w %q", ErrUnknownOutcome, string(o))
	}
	return string(o), nil
}

// Scan implements sql.Scanner. It accepts TEXT as string or []byte; NULL,
// other types and unknown values are errors and leave o unchanged.
func (o *Outcome) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case nil:
		return fmt.Errorf("%w: NULL", ErrUnknownOutcome)
	default:
		return fmt.Errorf("policy: cannot scan %T into an Outcome", src)
	}
	v, err := ParseOutcome(s)
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// MarshalJSON encodes o as a JSON string; an invalid outcome is an error.
func (o Outcome) MarshalJSON() ([]byte, error) {
	if !o.Valid() {
		return nil, fmt.Errorf("%w %q", ErrUnknownOutcome, string(o))
	}
	return json.Marshal(string(o))
}

// UnmarshalJSON decodes a JSON string; an unknown value (or a non-string)
// is an error and leaves o unchanged.
func (o *Outcome) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("policy: outcome: %w", err)
	}
	v, err := ParseOutcome(s)
	if err != nil {
		return err
	}
	*o = v
	return nil
}
