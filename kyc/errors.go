package kyc

import (
	"errors"
	"fmt"

	"github.com/hoviyat/hoviyat/reason"
)

// ErrorCode is a stable identifier of an SDK error. Hosts branch on it
// with errors.Is against the Err* sentinels, or read it from *Error.
type ErrorCode string

// Error codes.
const (
	CodeInvalidInput      ErrorCode = "invalid_input"
	CodeSessionNotFound   ErrorCode = "session_not_found"
	CodeSessionExpired    ErrorCode = "session_expired"
	CodeSessionUsed       ErrorCode = "session_used"
	CodeAttemptInProgress ErrorCode = "attempt_in_progress"
	CodeAttemptNotFound   ErrorCode = "attempt_not_found"
	CodeNotInReview       ErrorCode = "not_in_review"
	CodeLeaseLost         ErrorCode = "lease_lost"
	CodeAlreadyVerified   ErrorCode = "already_verified"
	CodeLocked            ErrorCode = "locked"
	CodeInReview          ErrorCode = "in_review"
	CodeAttemptsExhausted ErrorCode = "attempts_exhausted"
	CodeNotEligible       ErrorCode = "not_eligible"
	CodeOTPNotFound       ErrorCode = "otp_not_found"
	CodeOTPExpired        ErrorCode = "otp_expired"
	CodeOTPMismatch       ErrorCode = "otp_mismatch"
	CodeOTPTooManyTries   ErrorCode = "otp_too_many_tries"
	CodeOTPResendTooSoon  ErrorCode = "otp_resend_too_soon"
	CodeVideoRejected     ErrorCode = "video_rejected"
	CodeDependency        ErrorCode = "dependency"
	CodeCharge            ErrorCode = "charge_failed"
	CodeChargeNotFound    ErrorCode = "charge_not_found"
	CodeDocumentApproved  ErrorCode = "document_approved"
	CodeDocumentNotFound  ErrorCode = "document_not_found"
	CodeDocumentPending   ErrorCode = "document_not_pending"
	CodeClosed            ErrorCode = "closed"
	CodeInternal          ErrorCode = "internal"
)

// Error is the SDK's error type: a stable Code, a message, optional
// reason codes (for input a host should explain to the applicant) and the
// cause. errors.Is(err, ErrXxx) matches on Code (and on Reason when the
// target sets one).
type Error struct {
	Code ErrorCode
	// Reason, when set, is the catalogue code to show the applicant (for
	// example reason.VideoTooShort for an unusable video).
	Reason reason.Code
	// Reasons lists every policy reason for CodeNotEligible.
	Reasons []reason.Code
	// Dependency names the outside service that failed for
	// CodeDependency ("civil_registry", "store", "vault", ...).
	Dependency string
	Msg        string
	Err        error
}

// Error implements the error interface; branch on the fields or with errors.Is/As, not on this text.
func (e *Error) Error() string {
	s := "kyc: " + e.Msg
	if e.Msg == "" {
		s = "kyc: " + string(e.Code)
	}
	if e.Dependency != "" {
		s += " (" + e.Dependency + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches a target *Error whose non-empty fields (Code, Reason,
// Dependency) all equal e's.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	if t.Code != "" && t.Code != e.Code {
		return false
	}
	if t.Reason != "" && t.Reason != e.Reason {
		return false
	}
	if t.Dependency != "" && t.Dependency != e.Dependency {
		return false
	}
	return true
}

// with returns a copy of the sentinel e with a cause and message; the
// sentinel itself is never modified.
func (e *Error) with(err error, format string, args ...any) *Error {
	c := *e
	c.Err = err
	if format != "" {
		c.Msg = fmt.Sprintf(format, args...)
	}
	return &c
}

// Sentinels. Compare with errors.Is; never modify them.
var (
	ErrInvalidInput       = &Error{Code: CodeInvalidInput, Msg: "invalid input"}
	ErrSessionNotFound    = &Error{Code: CodeSessionNotFound, Msg: "session not found"}
	ErrSessionExpired     = &Error{Code: CodeSessionExpired, Msg: "session expired"}
	ErrSessionUsed        = &Error{Code: CodeSessionUsed, Msg: "session already used"}
	ErrAttemptInProgress  = &Error{Code: CodeAttemptInProgress, Msg: "another attempt is in progress"}
	ErrAttemptNotFound    = &Error{Code: CodeAttemptNotFound, Msg: "attempt not found"}
	ErrNotInReview        = &Error{Code: CodeNotInReview, Msg: "attempt is not waiting for review"}
	ErrLeaseLost          = &Error{Code: CodeLeaseLost, Msg: "attempt reservation lost"}
	ErrAlreadyVerified    = &Error{Code: CodeAlreadyVerified, Msg: "national ID already verified"}
	ErrLocked             = &Error{Code: CodeLocked, Msg: "national ID locked"}
	ErrInReview           = &Error{Code: CodeInReview, Msg: "an attempt is waiting for review"}
	ErrAttemptsExhausted  = &Error{Code: CodeAttemptsExhausted, Msg: "no attempts left"}
	ErrNotEligible        = &Error{Code: CodeNotEligible, Msg: "not eligible"}
	ErrOTPNotFound        = &Error{Code: CodeOTPNotFound, Msg: "no OTP sent"}
	ErrOTPExpired         = &Error{Code: CodeOTPExpired, Msg: "OTP expired"}
	ErrOTPMismatch        = &Error{Code: CodeOTPMismatch, Msg: "wrong OTP"}
	ErrOTPTooManyTries    = &Error{Code: CodeOTPTooManyTries, Msg: "too many OTP tries"}
	ErrOTPResendTooSoon   = &Error{Code: CodeOTPResendTooSoon, Msg: "OTP resent too soon"}
	ErrVideoRejected      = &Error{Code: CodeVideoRejected, Msg: "video unusable"}
	ErrDependency         = &Error{Code: CodeDependency, Msg: "dependency failed"}
	ErrCharge             = &Error{Code: CodeCharge, Msg: "fee charge failed"}
	ErrChargeNotFound     = &Error{Code: CodeChargeNotFound, Msg: "charge not found"}
	ErrDocumentApproved   = &Error{Code: CodeDocumentApproved, Msg: "document already approved"}
	ErrDocumentNotFound   = &Error{Code: CodeDocumentNotFound, Msg: "document not found"}
	ErrDocumentNotPending = &Error{Code: CodeDocumentPending, Msg: "document is not pending"}
	ErrClosed             = &Error{Code: CodeClosed, Msg: "verifier closed"}
	ErrInternal           = &Error{Code: CodeInternal, Msg: "internal error"}
)

// ErrAttemptNotFound etc. are returned by Store implementations too; they
// wrap driver errors with Wrap so hosts can still reach the cause.

// Wrap returns a copy of sentinel with cause err and an optional message.
// Store implementations use it, e.g. kyc.Wrap(kyc.ErrSessionUsed, nil, "").
func Wrap(sentinel *Error, err error, format string, args ...any) error {
	return sentinel.with(err, format, args...)
}
