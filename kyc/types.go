package kyc

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

// Outcome of an attempt: Approved, Rejected, Review or Locked.
type Outcome = policy.Outcome

// Outcomes, re-exported from policy for convenience.
const (
	Approved = policy.Approved
	Rejected = policy.Rejected
	Review   = policy.Review
	Locked   = policy.Locked
)

// Reason is a stable reason code with Persian and English messages.
type Reason = reason.Code

// Representative is the kind of person acting for an applicant.
type Representative = policy.Representative

// Representative kinds, re-exported from policy.
const (
	Guardian  = policy.Guardian
	Custodian = policy.Custodian
	Attorney  = policy.Attorney
)

// Applicant is what the host knows about the person verifying: the
// registration data and the request's client IP.
type Applicant struct {
	// NationalID in any accepted form (Persian digits, dashes); the SDK
	// normalises it.
	NationalID string
	// BirthDate in the Solar Hijri calendar.
	BirthDate registry.Date
	// Mobile in any accepted form.
	Mobile string
	// IP is the client's address as the host determined it (see
	// policy/geoip.ClientIP for the trusted-proxy rule). A zero Addr is an
	// unknown location, refused unless the policy allows unknown
	// countries.
	IP netip.Addr
	// Representative is set when someone acts for the applicant.
	Representative Representative
}

// Eligibility is the answer of Inquire.
type Eligibility struct {
	NationalID string        `json:"national_id"`
	Eligible   bool          `json:"eligible"`
	Reasons    []reason.Code `json:"reasons,omitempty"`
	// InPersonRequired: the applicant must go to a service centre.
	InPersonRequired bool           `json:"in_person_required"`
	AttemptsLeft     int            `json:"attempts_left"`
	State            ApplicantState `json:"state"`
	// FirstName and LastName from the registry, to greet the applicant.
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

// OTPTicket describes a sent OTP (never the code).
type OTPTicket struct {
	// Mobile is masked, e.g. "0912***4567".
	Mobile    string    `json:"mobile"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Session is a verification session: the applicant records the video
// while reading Challenge aloud, and submits it before ExpiresAt. A
// session accepts one upload.
type Session struct {
	ID         string    `json:"id"`
	NationalID string    `json:"national_id"`
	Challenge  string    `json:"challenge"`
	Nonce      string    `json:"nonce"`
	HeadTurn   string    `json:"head_turn,omitempty"`
	ExpiresAt  time.Time `json:"expires_at"`
	// AttemptsLeft before this session's upload.
	AttemptsLeft int `json:"attempts_left"`
}

// Decision is the result of Submit or Review. A rejection is a Decision
// with reasons, not an error.
type Decision struct {
	AttemptID  string        `json:"attempt_id,omitempty"`
	SessionID  string        `json:"session_id,omitempty"`
	NationalID string        `json:"national_id"`
	Outcome    Outcome       `json:"outcome"`
	Reasons    []reason.Code `json:"reasons,omitempty"`
	// Counted reports whether this attempt used up one of the uploads.
	Counted          bool `json:"counted"`
	InPersonRequired bool `json:"in_person_required"`
	AttemptsUsed     int  `json:"attempts_used"`
	AttemptsLeft     int  `json:"attempts_left"`
	// Liveness and match summaries (nil when not run).
	Liveness *LivenessSummary `json:"liveness,omitempty"`
	Match    *MatchSummary    `json:"match,omitempty"`
	// Fee is the confirmed charge that paid for this attempt (taken for it,
	// or carried over from an attempt that could not be decided); nil when
	// there is none.
	Fee        *ChargeRecord `json:"fee,omitempty"`
	EvidenceID string        `json:"evidence_id,omitempty"`
	DecidedAt  time.Time     `json:"decided_at"`
	Review     *ReviewRecord `json:"review,omitempty"`
}

// LivenessSummary is the liveness part of a Decision.
type LivenessSummary struct {
	Verdict  string             `json:"verdict"`
	Score    float64            `json:"score"`
	Quality  []reason.Code      `json:"quality,omitempty"`
	Measures map[string]float64 `json:"measures,omitempty"`
}

// MatchSummary is the face-match part of a Decision.
type MatchSummary struct {
	Similarity float64 `json:"similarity"`
	Decision   string  `json:"decision"`
	Threshold  float64 `json:"threshold"`
	Model      string  `json:"model"`
}

// Message is a reason with its texts in one language.
type Message struct {
	Code Reason `json:"code"`
	Text string `json:"text"`
	Hint string `json:"hint"`
}

// Messages returns the reasons of d with their texts in lang.
func (d Decision) Messages(lang reason.Lang) []Message { return messages(d.Reasons, lang) }

// Messages returns the reasons of e with their texts in lang.
func (e Eligibility) Messages(lang reason.Lang) []Message { return messages(e.Reasons, lang) }

func messages(rs []reason.Code, lang reason.Lang) []Message {
	out := make([]Message, 0, len(rs))
	for _, r := range rs {
		out = append(out, Message{Code: r, Text: r.Message(lang), Hint: r.Hint(lang)})
	}
	return out
}

// Status is the remote-verification status of a national ID.
type Status struct {
	NationalID       string         `json:"national_id"`
	State            ApplicantState `json:"state"`
	AttemptsUsed     int            `json:"attempts_used"`
	AttemptsLeft     int            `json:"attempts_left"`
	InPersonRequired bool           `json:"in_person_required"`
	// InProgress reports an attempt being processed now.
	InProgress bool `json:"in_progress"`
	// Last is the most recent decided attempt, if any.
	Last *Decision `json:"last,omitempty"`
}

// DocState is the state of a representative document. Persisted.
type DocState string

// Document states: pending -> approved | rejected.
const (
	DocPending  DocState = "pending"
	DocApproved DocState = "approved"
	DocRejected DocState = "rejected"
)

// RepresentativeDoc is a document proving that someone may act for an
// applicant (guardianship ruling, custody order, power of attorney). Such
// applicants verify in person; the SDK keeps the document's life cycle so
// operators can process it.
type RepresentativeDoc struct {
	ID         string
	NationalID string
	Kind       Representative
	// DocType is the host's document type, e.g. "power_of_attorney".
	DocType   string
	ExpiresAt time.Time
	// EvidenceID is the vault object holding the file.
	EvidenceID string
	State      DocState
	OperatorID string
	Note       string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// OTPSender delivers one-time codes (SMS). It must be safe for concurrent
// use.
type OTPSender interface {
	Send(ctx context.Context, mobile registry.Mobile, code string, ttl time.Duration) error
}

// Charge is a fee request. ChargeID is the idempotency key.
type Charge struct {
	// ChargeID identifies the fee (ChargeRecord.ID). It is recorded before
	// the Charger is called and stays the same when an attempt that could
	// not be decided hands the fee on to the applicant's next attempt, so
	// the same fee may be requested again, from another process too.
	ChargeID string
	// AttemptID is the attempt the fee pays for now; information only (it
	// changes when the fee is carried over).
	AttemptID  string
	NationalID string
	Amount     int64
	Currency   string
}

// Charger collects the per-attempt fee. Charges are never refunded. It
// must be safe for concurrent use and idempotent per ChargeID: a Charger
// must return the same reference, without charging again, for a ChargeID
// it has already charged (pass ChargeID to the payment provider as its
// idempotency key). An error means the fee may or may not have been
// taken: the attempt is void and the applicant's next attempt asks for the
// same ChargeID again. A Charger whose provider also remembers refusals
// under a key must itself decide when a refused fee may be tried afresh.
type Charger interface {
	Charge(ctx context.Context, c Charge) (ref string, err error)
}

// Vault stores evidence: the video and the decision record, encrypted at
// rest. It must be safe for concurrent use. vault.Vault implements it.
type Vault interface {
	Put(ctx context.Context, id string, video io.Reader, record []byte) error
}

// Locator maps an IP to an ISO 3166-1 alpha-2 country code ("" when
// unknown). policy/geoip implements it. It must be safe for concurrent use.
type Locator interface {
	Country(ctx context.Context, ip netip.Addr) (string, error)
}

func parseEnum[T ~string](kind string, s string, valid ...T) (T, error) {
	for _, v := range valid {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("kyc: unknown %s %q", kind, s)
}

// ParseApplicantState parses a stored state.
func ParseApplicantState(s string) (ApplicantState, error) {
	return parseEnum("applicant state", s, StateActive, StateReview, StateVerified, StateLocked)
}

// Value implements driver.Valuer.
func (s ApplicantState) Value() (driver.Value, error) {
	if _, err := ParseApplicantState(string(s)); err != nil {
		return nil, err
	}
	return string(s), nil
}

// Scan implements sql.Scanner; unknown values are an error.
func (s *ApplicantState) Scan(src any) error {
	v, err := scanEnum(src, ParseApplicantState)
	*s = v
	return err
}

// UnmarshalJSON rejects unknown states.
func (s *ApplicantState) UnmarshalJSON(b []byte) error {
	return unmarshalEnum(b, s, ParseApplicantState)
}

// ParseAttemptState parses a stored attempt state.
func ParseAttemptState(s string) (AttemptState, error) {
	return parseEnum("attempt state", s, AttemptReserved, AttemptDecided, AttemptVoid, AttemptAbandoned)
}

// Value implements driver.Valuer.
func (s AttemptState) Value() (driver.Value, error) {
	if _, err := ParseAttemptState(string(s)); err != nil {
		return nil, err
	}
	return string(s), nil
}

// Scan implements sql.Scanner; unknown values are an error.
func (s *AttemptState) Scan(src any) error {
	v, err := scanEnum(src, ParseAttemptState)
	*s = v
	return err
}

// UnmarshalJSON rejects unknown states.
func (s *AttemptState) UnmarshalJSON(b []byte) error {
	return unmarshalEnum(b, s, ParseAttemptState)
}

// ParseDocState parses a stored document state.
func ParseDocState(s string) (DocState, error) {
	return parseEnum("document state", s, DocPending, DocApproved, DocRejected)
}

// Value implements driver.Valuer.
func (s DocState) Value() (driver.Value, error) {
	if _, err := ParseDocState(string(s)); err != nil {
		return nil, err
	}
	return string(s), nil
}

// Scan implements sql.Scanner; unknown values are an error.
func (s *DocState) Scan(src any) error {
	v, err := scanEnum(src, ParseDocState)
	*s = v
	return err
}

// UnmarshalJSON rejects unknown states.
func (s *DocState) UnmarshalJSON(b []byte) error {
	return unmarshalEnum(b, s, ParseDocState)
}

func scanEnum[T ~string](src any, parse func(string) (T, error)) (T, error) {
	switch v := src.(type) {
	case string:
		return parse(v)
	case []byte:
		return parse(string(v))
	default:
		return "", fmt.Errorf("kyc: cannot scan %T into an enum", src)
	}
}

func unmarshalEnum[T ~string](b []byte, dst *T, parse func(string) (T, error)) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("kyc: %w", err)
	}
	v, err := parse(s)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}
