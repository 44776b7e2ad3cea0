package vault

import (
	"errors"
	"fmt"
)

// Code is a stable identifier of a vault error. Callers branch on it with
// errors.Is against the Err* sentinels, or read it from *Error. Codes are
// plain strings, safe to share.
type Code string

// Error codes.
const (
	// CodeInvalidID: the object ID is empty, too long or has characters
	// outside [A-Za-z0-9._-] (or starts with a dot).
	CodeInvalidID Code = "invalid_id"
	// CodeInvalidKey: a master key or key ring specification is unusable
	// (wrong length, bad base64, duplicate or unknown ID, no active key).
	CodeInvalidKey Code = "invalid_key"
	// CodeInvalidConfig: Config is unusable.
	CodeInvalidConfig Code = "invalid_config"
	// CodeNotFound: no object with that ID.
	CodeNotFound Code = "not_found"
	// CodeExists: an object (or the tombstone of a shredded one) already
	// has that ID; objects are write-once.
	CodeExists Code = "exists"
	// CodeShredded: the object was crypto-shredded and cannot be read.
	CodeShredded Code = "shredded"
	// CodeTampered: stored bytes failed authentication or parsing: the
	// ciphertext, the record, a header or the wrapped key was changed,
	// truncated, reordered or swapped.
	CodeTampered Code = "tampered"
	// CodeUnknownKey: the object's data key is wrapped by a master key
	// whose ID is not in the key ring.
	CodeUnknownKey Code = "unknown_key"
	// CodeWrongKey: the key ring holds a master key under the object's key
	// ID, but its fingerprint differs from the one that wrapped the object
	// (the ring was configured with other bytes under that ID).
	CodeWrongKey Code = "wrong_key"
	// CodeTooLarge: the video or record exceeds the configured maximum.
	CodeTooLarge Code = "too_large"
	// CodeClosed: the Vault was closed.
	CodeClosed Code = "closed"
	// CodeIO: the backend failed (disk full, permission denied, ...).
	CodeIO Code = "io"
)

// Error is the vault's error type. errors.Is(err, ErrXxx) matches on Code;
// Unwrap reaches the cause (an *os.PathError, context.Canceled, ...). The
// vault never modifies an Error after returning it, so errors may be
// shared between goroutines.
type Error struct {
	Code Code
	// ID is the object the error concerns, when there is one.
	ID  string
	Msg string
	Err error
}

// Error implements the error interface; branch on the fields or with errors.Is/As, not on this text.
func (e *Error) Error() string {
	s := "vault: "
	if e.Msg != "" {
		s += e.Msg
	} else {
		s += string(e.Code)
	}
	if e.ID != "" {
		s += fmt.Sprintf(" (object %q)", e.ID)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches a target *Error whose non-empty fields (Code, ID) equal e's.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	if t.Code != "" && t.Code != e.Code {
		return false
	}
	if t.ID != "" && t.ID != e.ID {
		return false
	}
	return true
}

// Sentinels. Compare with errors.Is; never modify them.
var (
	ErrInvalidID     = &Error{Code: CodeInvalidID, Msg: "invalid object ID"}
	ErrInvalidKey    = &Error{Code: CodeInvalidKey, Msg: "invalid master key"}
	ErrInvalidConfig = &Error{Code: CodeInvalidConfig, Msg: "invalid config"}
	ErrNotFound      = &Error{Code: CodeNotFound, Msg: "object not found"}
	ErrExists        = &Error{Code: CodeExists, Msg: "object already exists"}
	ErrShredded      = &Error{Code: CodeShredded, Msg: "object was shredded"}
	ErrTampered      = &Error{Code: CodeTampered, Msg: "tampering detected"}
	ErrUnknownKey    = &Error{Code: CodeUnknownKey, Msg: "master key not in key ring"}
	ErrWrongKey      = &Error{Code: CodeWrongKey, Msg: "master key does not match the one that wrapped the object"}
	ErrTooLarge      = &Error{Code: CodeTooLarge, Msg: "too large"}
	ErrClosed        = &Error{Code: CodeClosed, Msg: "vault closed"}
	ErrIO            = &Error{Code: CodeIO, Msg: "storage failed"}
)

// newErr returns a copy of sentinel with an object ID, a cause and an
// optional message; the sentinel itself is never modified.
func newErr(sentinel *Error, id string, cause error, format string, args ...any) *Error {
	c := *sentinel
	c.ID = id
	c.Err = cause
	if format != "" {
		c.Msg = sentinel.Msg + ": " + fmt.Sprintf(format, args...)
	}
	return &c
}

// Wrap returns a copy of sentinel carrying id, cause err and an optional
// message. Backend implementations use it to report ErrNotFound and
// ErrExists, e.g. vault.Wrap(vault.ErrNotFound, id, err, "").
func Wrap(sentinel *Error, id string, err error, format string, args ...any) error {
	return newErr(sentinel, id, err, format, args...)
}

// tampered reports a failed parse or authentication of stored bytes.
func tampered(format string, args ...any) *Error {
	return newErr(ErrTampered, "", nil, format, args...)
}

// withID returns err with id set when err is a vault *Error without one.
func withID(err error, id string) error {
	if e, ok := err.(*Error); ok && e.ID == "" {
		c := *e
		c.ID = id
		return &c
	}
	return err
}
