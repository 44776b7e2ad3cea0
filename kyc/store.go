package kyc

import (
	"context"
	"time"

	"github.com/hoviyat/hoviyat/reason"
)

// ApplicantState is the remote-verification state of a national ID. It is
// persisted; an unknown value is an error when scanned or decoded.
type ApplicantState string

// Applicant states.
const (
	// StateActive: may verify (within the attempt limit).
	StateActive ApplicantState = "active"
	// StateReview: the last attempt waits for an operator; no new attempt
	// until it is resolved.
	StateReview ApplicantState = "review"
	// StateVerified: verified remotely; never again.
	StateVerified ApplicantState = "verified"
	// StateLocked: out of attempts; in person only.
	StateLocked ApplicantState = "locked"
)

// AttemptState is the life-cycle state of one upload attempt. Persisted.
type AttemptState string

// Attempt states.
const (
	// AttemptReserved: in progress, holding the national ID's single
	// in-flight slot until LeaseUntil.
	AttemptReserved AttemptState = "reserved"
	// AttemptDecided: finished with an Outcome.
	AttemptDecided AttemptState = "decided"
	// AttemptVoid: the SDK could not decide (error); not counted.
	AttemptVoid AttemptState = "void"
	// AttemptAbandoned: its process died and the lease expired; not counted.
	AttemptAbandoned AttemptState = "abandoned"
)

// ApplicantRecord is the stored state of one national ID.
type ApplicantRecord struct {
	NationalID string
	State      ApplicantState
	// FailedAttempts counts decided attempts that failed (rejected, or a
	// review the operator rejected). Void and abandoned attempts never
	// count.
	FailedAttempts int
	// InflightAttempt is the reserved attempt's ID, "" when none.
	InflightAttempt string
	// InflightLeaseUntil is when the in-flight reservation may be taken
	// over by another reservation.
	InflightLeaseUntil time.Time
	// ReviewAttempt is the attempt waiting for an operator in StateReview.
	ReviewAttempt string
	VerifiedAt    time.Time
	LockedAt      time.Time
	UpdatedAt     time.Time
}

// OTPRecord is a one-time code sent to a mobile number. Only a hash of the
// code is stored.
type OTPRecord struct {
	NationalID string
	Mobile     string
	// Hash is HMAC-SHA256 of the code under a per-record Salt.
	Hash      []byte
	Salt      []byte
	ExpiresAt time.Time
	// Tries counts confirmation attempts, including the successful one.
	Tries       int
	MaxTries    int
	ConfirmedAt time.Time
	CreatedAt   time.Time
}

// SessionRecord is a verification session with its challenge.
type SessionRecord struct {
	ID         string
	NationalID string
	Challenge  string
	Nonce      string
	HeadTurn   string
	// BirthDate is the applicant's Solar Hijri birth date ("1370/01/15"),
	// kept so Submit can re-check the registry.
	BirthDate string
	Mobile    string
	// IP the session was begun from (may be empty).
	IP        string
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is set when an attempt reserved the session (single use).
	UsedAt time.Time
}

// AttemptRecord is one upload attempt.
type AttemptRecord struct {
	ID         string
	NationalID string
	SessionID  string
	State      AttemptState
	// Outcome and Reasons are set when State is AttemptDecided.
	Outcome Outcome
	Reasons []reason.Code
	// Counted reports whether the attempt counted as a failed upload.
	Counted    bool
	LeaseUntil time.Time
	// Charge is the fee record attached to this attempt, if any.
	Charge *ChargeRecord
	// EvidenceID is the vault object holding the video and the decision
	// record.
	EvidenceID string
	// Decision is the JSON decision record (also in the vault).
	Decision []byte
	// VoidCause says why a void attempt could not be decided.
	VoidCause string
	CreatedAt time.Time
	DecidedAt time.Time
	Review    *ReviewRecord
}

// ChargeRecord is one fee, recorded before it is charged. A charge is
// never refunded.
//
// Its life: the Verifier records it pending (Ref empty) in the same
// transaction as the attempt's reservation, then asks the Charger for it
// with ID as the idempotency key, then confirms it (Store.AttachCharge
// sets Ref and ConfirmedAt). When its attempt is void or abandoned,
// pending or confirmed, the charge is carried over to the applicant's next
// attempt instead of recording a new one: a confirmed charge pays for that
// attempt as it is, a pending one is asked for again under the same ID, so
// a provider that did take the money answers the same reference instead
// of charging twice.
type ChargeRecord struct {
	// ID is the charge's identifier and the Charger's idempotency key
	// (Charge.ChargeID). It never changes, also when the charge moves.
	ID         string
	NationalID string
	// AttemptID is the attempt the charge currently pays for.
	AttemptID string
	Amount    int64
	Currency  string
	// Ref is the payment provider's reference; "" while the charge is
	// pending (see Pending).
	Ref string
	// CreatedAt is when the charge was recorded (pending).
	CreatedAt time.Time
	// ConfirmedAt is when Ref was recorded; zero while pending (and on
	// charges recorded before confirmation times were kept).
	ConfirmedAt time.Time
}

// Pending reports whether the charge is recorded but not confirmed: the
// Charger may or may not have taken it, and no reference is known.
func (c ChargeRecord) Pending() bool { return c.Ref == "" }

// ReviewRecord is an operator's resolution of a review attempt.
type ReviewRecord struct {
	OperatorID string
	Approved   bool
	Note       string
	At         time.Time
}

// Reservation asks the store to reserve an attempt.
type Reservation struct {
	AttemptID  string
	SessionID  string
	NationalID string
	// MaxAttempts is the failed-attempt limit (the policy's MaxUploads).
	MaxAttempts int
	// AllowReverification lets a verified national ID reserve again
	// (policy AllowReverification; off by default).
	AllowReverification bool
	Now                 time.Time
	LeaseUntil          time.Time
	// Charge, when the attempt has a fee, is the pending charge to record
	// with the reservation: ID, Amount, Currency and CreatedAt set, Ref
	// empty; NationalID and AttemptID may be left empty (they are the
	// reservation's). The store ignores it when a charge is carried over
	// from a void or abandoned attempt. Nil when there is no fee.
	Charge *ChargeRecord
	// Event is appended to the audit log in the same transaction.
	Event AuditEvent
}

// CheckCharge checks the reservation's pending charge as every Store
// must before recording it: nil, or an ID, CreatedAt, a non-negative
// amount, no Ref or ConfirmedAt, and the reservation's national and
// attempt IDs when they are set. Errors wrap ErrInvalidInput.
func (r Reservation) CheckCharge() error {
	c := r.Charge
	var msg string
	switch {
	case c == nil:
		return nil
	case c.ID == "" || c.CreatedAt.IsZero() || c.Amount < 0:
		msg = "a reservation's charge needs an ID, CreatedAt and a non-negative amount"
	case !c.Pending() || !c.ConfirmedAt.IsZero():
		msg = "a reservation's charge must be pending (no Ref, no ConfirmedAt)"
	case c.NationalID != "" && c.NationalID != r.NationalID:
		msg = "the reservation's charge is for another national ID"
	case c.AttemptID != "" && c.AttemptID != r.AttemptID:
		msg = "the reservation's charge is for another attempt"
	default:
		return nil
	}
	return Wrap(ErrInvalidInput, nil, "store: %s", msg)
}

// Finish records the decision of a reserved attempt.
type Finish struct {
	AttemptID  string
	NationalID string
	Outcome    Outcome
	Reasons    []reason.Code
	// Counted marks a failed upload (rejected or locked outcome).
	Counted bool
	// MaxAttempts as in Reservation; the store locks the national ID when
	// the failed count reaches it.
	MaxAttempts int
	EvidenceID  string
	Decision    []byte
	Now         time.Time
	Event       AuditEvent
}

// Release voids a reserved attempt that could not be decided.
type Release struct {
	AttemptID  string
	NationalID string
	Cause      string
	Now        time.Time
	Event      AuditEvent
}

// Resolution is an operator's decision on a review attempt.
type Resolution struct {
	AttemptID   string
	Approve     bool
	OperatorID  string
	Note        string
	MaxAttempts int
	// Reasons replace the attempt's reasons when rejecting.
	Reasons []reason.Code
	Now     time.Time
	Event   AuditEvent
}

// Store persists the ceremony's state. Every method is atomic; the
// attempt methods enforce the invariants with transactions and unique
// constraints in the database, so that several processes sharing one
// database need no other coordination:
//
//   - at most one reserved attempt per national ID at a time;
//   - a session reserves at most one attempt, ever;
//   - a national ID is approved at most once (when AllowReverification is
//     off, which the Verifier checks before reserving);
//   - FailedAttempts never exceeds MaxAttempts and reaching it locks;
//   - an attempt holds at most one charge, recorded (pending) with its
//     reservation; a charge moves only from a void or abandoned attempt
//     to the same national ID's next reservation, keeping its ID.
//
// Implementations must be safe for concurrent use. Conformance:
// store/storetest.Run.
type Store interface {
	// Applicant returns the record of nationalID, or a zero record with
	// State StateActive when none exists (not an error).
	Applicant(ctx context.Context, nationalID string) (ApplicantRecord, error)

	// PutOTP stores rec, replacing any earlier OTP of the national ID.
	PutOTP(ctx context.Context, rec OTPRecord) error
	// TryOTP atomically increments the tries of the national ID's OTP and
	// returns the record after the increment, or ErrOTPNotFound. It does
	// not compare codes; a record whose Tries exceeds MaxTries must be
	// treated as exhausted by the caller.
	TryOTP(ctx context.Context, nationalID string, now time.Time) (OTPRecord, error)
	// ConfirmOTP marks the OTP confirmed if it is still the same record
	// (same Salt) and not yet confirmed.
	ConfirmOTP(ctx context.Context, nationalID string, salt []byte, now time.Time) error
	// OTP returns the current OTP record of the national ID, or
	// ErrOTPNotFound.
	OTP(ctx context.Context, nationalID string) (OTPRecord, error)

	// CreateSession stores a new session. IDs are unique.
	CreateSession(ctx context.Context, s SessionRecord) error
	// Session returns a session, or ErrSessionNotFound.
	Session(ctx context.Context, id string) (SessionRecord, error)

	// ReserveAttempt, in one transaction: checks the session exists
	// (ErrSessionNotFound), belongs to r.NationalID (ErrSessionNotFound),
	// is unused (ErrSessionUsed) and unexpired at r.Now
	// (ErrSessionExpired), and marks it used; checks the applicant is not
	// verified unless r.AllowReverification (ErrAlreadyVerified), locked (ErrLocked), in review
	// (ErrInReview), out of attempts (ErrAttemptsExhausted) and has no
	// reserved attempt whose lease is still running at r.Now
	// (ErrAttemptInProgress); an expired reservation is marked
	// AttemptAbandoned; creates the applicant row if missing; inserts the
	// attempt in AttemptReserved; attaches the attempt's charge: the
	// oldest charge left by a void or abandoned attempt of the same
	// national ID, pending or confirmed, is moved to the new attempt (and
	// r.Charge ignored), otherwise r.Charge, if set, is inserted pending
	// (a pending r.Charge is required: a Ref is ErrInvalidInput, and so is
	// an ID already taken); and appends r.Event. The returned record's
	// Charge is the charge that now belongs to the attempt (nil when none).
	// On any error nothing changes (the session stays unused, no charge is
	// recorded).
	ReserveAttempt(ctx context.Context, r Reservation) (AttemptRecord, error)
	// AttachCharge confirms the pending charge c.ID: it sets its Ref to
	// c.Ref and its ConfirmedAt to c.ConfirmedAt, whatever the state of the
	// attempt the charge belongs to now (the money is taken; the record
	// must not be lost). Only ID, Ref, ConfirmedAt and, when set,
	// NationalID (which must match) are read: the charge may have moved to
	// a later attempt since it was reserved. Confirming again with the same
	// Ref is a no-op; a different Ref is ErrInvalidInput (the charge keeps
	// its first reference); an unknown ID is ErrChargeNotFound; an empty
	// Ref or a zero ConfirmedAt is ErrInvalidInput.
	AttachCharge(ctx context.Context, c ChargeRecord) error
	// FinishAttempt, in one transaction: requires the attempt to be the
	// applicant's in-flight attempt (ErrLeaseLost otherwise); sets its
	// outcome; updates the applicant (approved -> verified; counted ->
	// FailedAttempts+1 and locked when it reaches f.MaxAttempts; review ->
	// StateReview with ReviewAttempt); clears the in-flight slot; appends
	// f.Event. It returns the updated applicant.
	FinishAttempt(ctx context.Context, f Finish) (ApplicantRecord, error)
	// ReleaseAttempt voids a reserved attempt (not counted) and clears the
	// in-flight slot if it still holds it. Releasing an attempt that is no
	// longer reserved is ErrLeaseLost.
	ReleaseAttempt(ctx context.Context, r Release) error
	// ResolveReview applies an operator's decision to an attempt in review:
	// approve -> the applicant is verified; reject -> the attempt is
	// counted, reasons replaced, and the applicant is locked when the
	// failed count reaches MaxAttempts. ErrNotInReview if the attempt is
	// not the applicant's review attempt.
	ResolveReview(ctx context.Context, r Resolution) (ApplicantRecord, AttemptRecord, error)
	// Attempt returns one attempt, or ErrAttemptNotFound.
	Attempt(ctx context.Context, id string) (AttemptRecord, error)
	// Attempts returns the national ID's attempts, oldest first.
	Attempts(ctx context.Context, nationalID string) ([]AttemptRecord, error)
	// Reviews returns up to limit attempts waiting for an operator, oldest
	// first.
	Reviews(ctx context.Context, limit int) ([]AttemptRecord, error)

	// AppendAudit appends ev to the hash chain (assigning Seq, PrevHash
	// and Hash with SealAudit inside the transaction) and returns it.
	AppendAudit(ctx context.Context, ev AuditEvent) (AuditEvent, error)
	// Audit returns up to limit events with Seq > after, in order.
	Audit(ctx context.Context, after int64, limit int) ([]AuditEvent, error)
	// AuditHead returns the last event's Seq and Hash (0, nil when empty).
	AuditHead(ctx context.Context) (int64, []byte, error)

	// PutRepresentativeDoc inserts a document, or replaces the one with
	// the same ID when that one is not approved (ErrDocumentApproved).
	PutRepresentativeDoc(ctx context.Context, d RepresentativeDoc) error
	// SetRepresentativeDocState moves a pending document to approved or
	// rejected (ErrDocumentNotPending otherwise).
	SetRepresentativeDocState(ctx context.Context, id string, state DocState, operatorID, note string, now time.Time) error
	// RepresentativeDocs returns the national ID's documents.
	RepresentativeDocs(ctx context.Context, nationalID string) ([]RepresentativeDoc, error)
}
