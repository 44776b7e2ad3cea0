package policy

import (
	"time"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

// Config configures a Policy. The zero value is the Sejam rule set; every
// field documents its default. Booleans are phrased so that false is the
// strict default.
type Config struct {
	// MinAge in full Solar Hijri years on "today" in Location. Default 18.
	MinAge int
	// MaxUploads is the number of failed video uploads after which the
	// national ID is locked. Default 3.
	MaxUploads int
	// AllowedCountries are ISO 3166-1 alpha-2 codes. Default ["IR"].
	AllowedCountries []string
	// AllowUnknownCountry admits applicants whose IP has no country in the
	// GeoIP database. Default false (strict: denied with location_unknown).
	AllowUnknownCountry bool
	// AllowNonNative admits non-native citizens. Default false.
	AllowNonNative bool
	// AllowRepresentatives admits applicants acting through a guardian,
	// custodian or attorney. Default false (in person only).
	AllowRepresentatives bool
	// AllowReverification permits a second remote verification of a
	// verified national ID. Default false (once per national ID, ever).
	AllowReverification bool
	// SkipMobileOwnership disables the Shahkar-style check. Default false.
	SkipMobileOwnership bool
	// SkipOTP disables the OTP requirement. Default false.
	SkipOTP bool
	// Location is the time zone of "today" for age. Default Asia/Tehran
	// (embedded tzdata).
	Location *time.Location
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Decision thresholds; see Decide.
	Decision DecisionConfig
}

// DecisionConfig tunes Decide.
type DecisionConfig struct {
	// RejectUncertainLiveness rejects instead of sending an uncertain
	// liveness verdict to review. Default false (review).
	RejectUncertainLiveness bool
	// RejectUncertainMatch rejects instead of sending an uncertain face
	// match to review. Default false (review).
	RejectUncertainMatch bool
}

// Policy is a compiled, immutable rule set, safe for concurrent use.
type Policy struct {
	cfg Config
}

// Stage is the step of the ceremony a check is made for.
type Stage int

// Stages. OTP confirmation is required from StageBegin on.
const (
	StageInquiry Stage = iota
	StageBegin
	StageSubmit
)

// Representative is the kind of person acting for the applicant.
type Representative string

// Representatives.
const (
	NoRepresentative Representative = ""
	Guardian         Representative = "guardian"  // ولی
	Custodian        Representative = "custodian" // قیم
	Attorney         Representative = "attorney"  // وکیل
)

// Facts are what the SDK knows about an applicant when checking them.
type Facts struct {
	Stage Stage
	// Person is the registry record; nil when the registry found no
	// person with that national ID and birth date.
	Person *registry.Person
	// Representative acting for the applicant, if any.
	Representative Representative
	// Country is the ISO code of the applicant's IP; "" when unknown.
	// CountryChecked is false when no IP was given (the check is skipped).
	Country        string
	CountryChecked bool
	// MobileOwned is the Shahkar-style answer.
	MobileOwned bool
	// OTPConfirmed reports a confirmed OTP for this applicant's mobile.
	OTPConfirmed bool
	// State of the national ID in the store.
	Verified       bool
	Locked         bool
	InReview       bool
	FailedAttempts int
}

// Verdict is the answer of Evaluate. A "no" is a Verdict with reasons,
// never an error.
type Verdict struct {
	Eligible bool          `json:"eligible"`
	Reasons  []reason.Code `json:"reasons,omitempty"`
	// InPersonRequired reports that the applicant must go to a centre.
	InPersonRequired bool `json:"in_person_required"`
	// Age in full Solar Hijri years (0 when unknown).
	Age int `json:"age"`
	// AttemptsLeft is MaxUploads minus the failed attempts (never < 0).
	AttemptsLeft int `json:"attempts_left"`
}

// Outcome is the result of one verification attempt. It is persisted; an
// unknown value is an error when scanned or decoded.
type Outcome string

// Outcomes.
const (
	Approved Outcome = "approved"
	Rejected Outcome = "rejected"
	Review   Outcome = "review"
	Locked   Outcome = "locked"
)

// Evidence is what the vision pipeline measured for one attempt.
type Evidence struct {
	Liveness liveness.Result
	// Match is nil when matching was not run (quality or liveness failed)
	// or could not run (MatchErr set).
	Match *facematch.Score
	// ReferenceUnusable reports that the registry photo had no usable face.
	ReferenceUnusable bool
	// FailedBefore is the number of failed attempts before this one.
	FailedBefore int
}

// Judgement is the answer of Decide.
type Judgement struct {
	Outcome Outcome       `json:"outcome"`
	Reasons []reason.Code `json:"reasons,omitempty"`
	// Counted reports whether the attempt counts as a failed upload.
	Counted          bool `json:"counted"`
	InPersonRequired bool `json:"in_person_required"`
}

// New compiles cfg (copied; the caller's value is not kept). TODO(policy helper).
func New(cfg Config) (*Policy, error) { return &Policy{cfg: cfg}, nil }

// Evaluate checks f. TODO(policy helper).
func (p *Policy) Evaluate(f Facts) Verdict { panic("unimplemented") }

// Decide fuses e into an outcome. TODO(policy helper).
func (p *Policy) Decide(e Evidence) Judgement { panic("unimplemented") }

// MaxUploads returns the configured limit.
func (p *Policy) MaxUploads() int { return p.cfg.MaxUploads }
