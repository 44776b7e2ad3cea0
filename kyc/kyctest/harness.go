package kyctest

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/store/memory"
)

// Tehran is the Asia/Tehran location (the policy embeds tzdata).
var Tehran = mustTehran()

func mustTehran() *time.Location {
	loc, err := time.LoadLocation("Asia/Tehran")
	if err != nil {
		panic("kyctest: " + err.Error())
	}
	return loc
}

// Start is the harness clock's default start: 4 Azar 1405, 10:00 Tehran.
var Start = time.Date(2026, 11, 25, 10, 0, 0, 0, Tehran)

// Options configure a Harness. Zero values mean: in-memory store, Sejam
// policy defaults, no fee, the clock at Start.
type Options struct {
	// Store to use; default store/memory.
	Store kyc.Store
	// Policy configuration; its Now is replaced by the harness clock.
	Policy policy.Config
	// Fee per attempt (charged through the fake Charger when > 0).
	Fee int64
	// Now is the clock's start time; default Start.
	Now time.Time
	// Configure, if set, edits the Verifier's Config last.
	Configure func(*kyc.Config)
}

// Harness is a Verifier wired to fakes, for host tests and examples. Its
// fields are the fakes, exposed so tests can inject faults and inspect
// what happened. Safe for concurrent use.
type Harness struct {
	Verifier *kyc.Verifier
	Clock    *Clock
	Registry *Registry
	Detector *Detector
	Matcher  *Matcher
	OTP      *OTPSender
	Charger  *Charger
	Locator  *Locator
	Vault    *Vault
	Store    kyc.Store
}

// New builds a Harness.
func New(o Options) (*Harness, error) {
	start := o.Now
	if start.IsZero() {
		start = Start
	}
	h := &Harness{
		Clock: NewClock(start), Registry: NewRegistry(), Detector: &Detector{}, Matcher: &Matcher{},
		OTP: &OTPSender{}, Charger: &Charger{}, Locator: &Locator{}, Vault: &Vault{}, Store: o.Store,
	}
	if h.Store == nil {
		h.Store = memory.New()
	}
	pc := o.Policy
	pc.Now = h.Clock.Now
	pol, err := policy.New(pc)
	if err != nil {
		return nil, err
	}
	cfg := kyc.Config{
		Registry: h.Registry, Mobiles: h.Registry, Detector: h.Detector, Matcher: h.Matcher, Policy: pol,
		Store: h.Store, Vault: h.Vault, Locator: h.Locator, OTP: h.OTP, Fee: o.Fee, Now: h.Clock.Now,
	}
	if o.Fee > 0 {
		cfg.Charger = h.Charger
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	v, err := kyc.New(cfg)
	if err != nil {
		return nil, err
	}
	h.Verifier = v
	return h, nil
}

// PersonSpec describes a registry person to add. Zero fields get adult,
// native, alive defaults.
type PersonSpec struct {
	NationalID string
	// BirthDate defaults to 1370/01/15 (35 years old at Start).
	BirthDate registry.Date
	Mobile    string
	FirstName string
	LastName  string
	Dead      bool
	Foreign   bool
	// Photo defaults to Photo(NationalID).
	Photo []byte
}

// AddPerson adds a person to the fake registry, registers the mobile to
// them, and returns the matching Applicant connecting from IranIP.
func (h *Harness) AddPerson(s PersonSpec) (kyc.Applicant, error) {
	id, err := registry.ParseNationalID(s.NationalID)
	if err != nil {
		return kyc.Applicant{}, err
	}
	if s.BirthDate.IsZero() {
		s.BirthDate = registry.Date{Year: 1370, Month: 1, Day: 15}
	}
	if s.Mobile == "" {
		s.Mobile = "0912" + string(id)[3:10]
	}
	m, err := registry.ParseMobile(s.Mobile)
	if err != nil {
		return kyc.Applicant{}, err
	}
	if s.FirstName == "" {
		s.FirstName, s.LastName = "آزمون", "کاربر"
	}
	h.Registry.Add(registry.Person{
		NationalID: id, FirstName: s.FirstName, LastName: s.LastName, FatherName: "پدر",
		Gender: registry.Male, BirthDate: s.BirthDate, Alive: !s.Dead, Native: !s.Foreign, Photo: s.Photo,
	}, m)
	return kyc.Applicant{NationalID: string(id), BirthDate: s.BirthDate, Mobile: string(m), IP: IranIP}, nil
}

// ConfirmOTP sends an OTP to the applicant and confirms it with the code
// the fake SMS gateway captured.
func (h *Harness) ConfirmOTP(ctx context.Context, a kyc.Applicant) error {
	if _, err := h.Verifier.SendOTP(ctx, a); err != nil {
		return err
	}
	m, err := registry.ParseMobile(a.Mobile)
	if err != nil {
		return err
	}
	return h.Verifier.ConfirmOTP(ctx, a.NationalID, h.OTP.LastCode(m))
}

// Verify runs the whole ceremony for a: Inquire, OTP, Begin and Submit of
// video. If the inquiry says no, it returns an error matching
// kyc.ErrNotEligible carrying the reasons.
func (h *Harness) Verify(ctx context.Context, a kyc.Applicant, video io.Reader) (kyc.Decision, error) {
	el, err := h.Verifier.Inquire(ctx, a)
	if err != nil {
		return kyc.Decision{}, err
	}
	if !el.Eligible {
		return kyc.Decision{}, fmt.Errorf("kyctest: inquiry refused: %v: %w", el.Reasons, kyc.ErrNotEligible)
	}
	if !h.Verifier.Policy().SkipOTP() {
		if err := h.ConfirmOTP(ctx, a); err != nil {
			return kyc.Decision{}, err
		}
	}
	s, err := h.Verifier.Begin(ctx, a)
	if err != nil {
		return kyc.Decision{}, err
	}
	return h.Verifier.Submit(ctx, s.ID, video)
}

// Resubmit begins a new session for a (OTP already confirmed) and submits
// video.
func (h *Harness) Resubmit(ctx context.Context, a kyc.Applicant, video io.Reader) (kyc.Decision, error) {
	s, err := h.Verifier.Begin(ctx, a)
	if err != nil {
		return kyc.Decision{}, err
	}
	return h.Verifier.Submit(ctx, s.ID, video)
}
