package policy

import (
	"errors"
	"fmt"
)

// Sentinel errors of the package. Match them with errors.Is.
var (
	// ErrInvalidConfig matches every *ConfigError.
	ErrInvalidConfig = errors.New("policy: invalid config")
	// ErrUnknownOutcome: a stored or decoded Outcome is not one of the
	// four outcomes.
	ErrUnknownOutcome = errors.New("policy: unknown outcome")
	// ErrBirthAfterToday: Age was asked for a birth date later than today.
	ErrBirthAfterToday = errors.New("policy: birth date is after today")
)

// ConfigError reports an invalid Config field. It is safe to share; nothing
// mutates it after New returns it.
type ConfigError struct {
	// Field is the Config field name, e.g. "MaxUploads".
	Field string
	// Value is the offending value as text.
	Value string
	Why   string
	// Err is the underlying cause, if any.
	Err error
}

// Error implements the error interface; branch on the fields or with errors.Is/As, not on this text.
func (e *ConfigError) Error() string {
	s := fmt.Sprintf("policy: invalid config: %s %q: %s", e.Field, e.Value, e.Why)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalidConfig) true for every *ConfigError.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }
