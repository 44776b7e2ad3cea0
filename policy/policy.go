package policy

import (
	"fmt"
	"strings"
	"sync"
	"time"
	// Embedded zone data so Asia/Tehran loads on hosts without
	// /usr/share/zoneinfo (distroless images, Windows).
	_ "time/tzdata"

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

// Policy is a compiled, immutable rule set, safe for concurrent use. Build
// it with New; the zero Policy is not usable.
type Policy struct {
	// cfg is the caller's Config copied, with defaults filled in. Its
	// AllowedCountries slice is owned by the Policy and never handed out.
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

// Defaults of Config. A zero field means its default.
const (
	DefaultMinAge     = 18
	DefaultMaxUploads = 3
	DefaultCountry    = "IR"
	DefaultLocation   = "Asia/Tehran"
)

// tehran loads Asia/Tehran once; time/tzdata makes it available even where
// the system has no zone files.
var tehran = sync.OnceValues(func() (*time.Location, error) {
	return time.LoadLocation(DefaultLocation)
})

// New compiles cfg into a Policy. cfg is copied (the caller's slices are not
// kept), zero fields take their documented defaults, and an invalid field
// is an error wrapping ErrInvalidConfig (a *ConfigError says which field).
func New(cfg Config) (*Policy, error) {
	c := cfg
	switch {
	case c.MinAge < 0:
		return nil, &ConfigError{Field: "MinAge", Value: fmt.Sprint(c.MinAge), Why: "must not be negative"}
	case c.MinAge == 0:
		c.MinAge = DefaultMinAge
	}
	switch {
	case c.MaxUploads < 0:
		return nil, &ConfigError{Field: "MaxUploads", Value: fmt.Sprint(c.MaxUploads), Why: "must not be negative"}
	case c.MaxUploads == 0:
		c.MaxUploads = DefaultMaxUploads
	}
	countries, err := normaliseCountries(cfg.AllowedCountries)
	if err != nil {
		return nil, err
	}
	c.AllowedCountries = countries
	if c.Location == nil {
		loc, err := tehran()
		if err != nil {
			return nil, &ConfigError{Field: "Location", Value: DefaultLocation, Why: "cannot load time zone", Err: err}
		}
		c.Location = loc
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Policy{cfg: c}, nil
}

// normaliseCountries returns a fresh, upper-cased, de-duplicated copy of in
// ([DefaultCountry] when in is empty).
func normaliseCountries(in []string) ([]string, error) {
	if len(in) == 0 {
		return []string{DefaultCountry}, nil
	}
	out := make([]string, 0, len(in))
	for _, raw := range in {
		cc := strings.ToUpper(strings.TrimSpace(raw))
		if !isAlpha2(cc) {
			return nil, &ConfigError{Field: "AllowedCountries", Value: raw, Why: "want an ISO 3166-1 alpha-2 code such as IR"}
		}
		dup := false
		for _, have := range out {
			dup = dup || have == cc
		}
		if !dup {
			out = append(out, cc)
		}
	}
	return out, nil
}

func isAlpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// Config returns the effective configuration (defaults filled in). The
// returned value is a copy; changing it does not change p.
func (p *Policy) Config() Config {
	c := p.cfg
	c.AllowedCountries = p.AllowedCountries()
	return c
}

// MinAge returns the minimum age in full Solar Hijri years.
func (p *Policy) MinAge() int { return p.cfg.MinAge }

// MaxUploads returns the number of failed uploads after which a national ID
// is locked.
func (p *Policy) MaxUploads() int { return p.cfg.MaxUploads }

// AllowedCountries returns a copy of the allowed ISO country codes, upper
// case.
func (p *Policy) AllowedCountries() []string {
	return append([]string(nil), p.cfg.AllowedCountries...)
}

// CountryAllowed reports whether the ISO code cc (any case) is allowed. The
// empty code is never allowed; see AllowUnknownCountry.
func (p *Policy) CountryAllowed(cc string) bool {
	for _, a := range p.cfg.AllowedCountries {
		if strings.EqualFold(a, cc) {
			return true
		}
	}
	return false
}

// AllowUnknownCountry reports whether an IP without a country is admitted.
func (p *Policy) AllowUnknownCountry() bool { return p.cfg.AllowUnknownCountry }

// AllowNonNative reports whether non-native citizens are admitted.
func (p *Policy) AllowNonNative() bool { return p.cfg.AllowNonNative }

// AllowRepresentatives reports whether applicants acting through a
// representative are admitted remotely.
func (p *Policy) AllowRepresentatives() bool { return p.cfg.AllowRepresentatives }

// AllowReverification reports whether a verified national ID may verify
// remotely again.
func (p *Policy) AllowReverification() bool { return p.cfg.AllowReverification }

// SkipMobileOwnership reports whether the mobile-ownership check is off.
func (p *Policy) SkipMobileOwnership() bool { return p.cfg.SkipMobileOwnership }

// SkipOTP reports whether the OTP requirement is off.
func (p *Policy) SkipOTP() bool { return p.cfg.SkipOTP }

// Location returns the time zone of "today" (Asia/Tehran by default).
func (p *Policy) Location() *time.Location { return p.cfg.Location }

// Now returns the current time from the configured clock.
func (p *Policy) Now() time.Time { return p.cfg.Now() }

// Decision returns the thresholds Decide uses.
func (p *Policy) Decision() DecisionConfig { return p.cfg.Decision }

// Today returns the Solar Hijri date of now in the policy's Location. It
// fails only for instants outside the calendar library's range (Solar
// Hijri years 1..3177).
func (p *Policy) Today(now time.Time) (registry.Date, error) {
	return dateIn(now, p.cfg.Location)
}

// AttemptsLeft returns MaxUploads minus failed, never below zero (a
// negative failed count is read as zero).
func (p *Policy) AttemptsLeft(failed int) int {
	return max(0, p.cfg.MaxUploads-max(0, failed))
}

// String returns the stage's name.
func (s Stage) String() string {
	switch s {
	case StageInquiry:
		return "inquiry"
	case StageBegin:
		return "begin"
	case StageSubmit:
		return "submit"
	}
	return fmt.Sprintf("stage(%d)", int(s))
}

// Valid reports whether r is NoRepresentative or one of the known kinds.
// Evaluate treats every non-empty value, known or not, as a representative.
func (r Representative) Valid() bool {
	switch r {
	case NoRepresentative, Guardian, Custodian, Attorney:
		return true
	}
	return false
}
