package kyc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

// Verifier runs the remote verification ceremony: Inquire, SendOTP and
// ConfirmOTP, Begin, Submit, Status and operator Review. It is safe for
// concurrent use by many goroutines and, through a shared Store, by many
// processes.
type Verifier struct {
	cfg    Config
	pol    *policy.Policy
	now    func() time.Time
	slots  chan struct{}
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// New validates cfg and returns a Verifier.
func New(cfg Config) (*Verifier, error) {
	cfg.setDefaults()
	if cfg.Policy == nil {
		p, err := policy.New(policy.Config{})
		if err != nil {
			return nil, err
		}
		cfg.Policy = p
	}
	missing := func(what string) error {
		return ErrInvalidInput.with(nil, "config: %s is required", what)
	}
	switch {
	case cfg.Registry == nil:
		return nil, missing("Registry")
	case cfg.Mobiles == nil && !cfg.Policy.SkipMobileOwnership():
		return nil, missing("Mobiles (or a policy with SkipMobileOwnership)")
	case cfg.Detector == nil:
		return nil, missing("Detector")
	case cfg.Matcher == nil:
		return nil, missing("Matcher")
	case cfg.Store == nil:
		return nil, missing("Store")
	case cfg.Vault == nil:
		return nil, missing("Vault")
	case cfg.Locator == nil:
		return nil, missing("Locator")
	case cfg.OTP == nil && !cfg.Policy.SkipOTP():
		return nil, missing("OTP (or a policy with SkipOTP)")
	case cfg.Fee < 0:
		return nil, ErrInvalidInput.with(nil, "config: Fee must not be negative")
	case cfg.Fee > 0 && cfg.Charger == nil:
		return nil, missing("Charger (Fee > 0)")
	case cfg.AttemptLease <= cfg.AnalysisTimeout:
		return nil, ErrInvalidInput.with(nil, "config: AttemptLease (%v) must exceed AnalysisTimeout (%v)", cfg.AttemptLease, cfg.AnalysisTimeout)
	case cfg.SessionTTL < 0 || cfg.OTPTTL < 0 || cfg.OTPMaxTries < 0 || cfg.MaxVideoBytes < 0 || cfg.MaxConcurrent < 0:
		return nil, ErrInvalidInput.with(nil, "config: durations and limits must not be negative")
	case cfg.ChallengeWords < 0 || cfg.ChallengeDigits < 0 || cfg.ChallengeWords+cfg.ChallengeDigits == 0:
		return nil, ErrInvalidInput.with(nil, "config: the challenge needs words or digits")
	}
	v := &Verifier{cfg: cfg, pol: cfg.Policy, slots: make(chan struct{}, cfg.MaxConcurrent)}
	v.now = cfg.Now
	if v.now == nil {
		v.now = cfg.Policy.Now
	}
	return v, nil
}

// Policy returns the rule set in force.
func (v *Verifier) Policy() *policy.Policy { return v.pol }

// Close stops accepting calls and waits for running Submits to finish. It
// is idempotent. It does not close the Store, Vault or adapters, which the
// host owns.
func (v *Verifier) Close() error {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	v.wg.Wait()
	return nil
}

// enter registers a running call; it fails after Close.
func (v *Verifier) enter() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	v.wg.Add(1)
	return nil
}

func (v *Verifier) observe(stage string, start time.Time, err error) {
	if v.cfg.Observer != nil {
		v.cfg.Observer.ObserveStage(stage, time.Since(start), err)
	}
}

// parsed is an Applicant with normalised identifiers.
type parsed struct {
	Applicant
	id     registry.NationalID
	mobile registry.Mobile
}

func (v *Verifier) parse(a Applicant) (parsed, error) {
	id, err := registry.ParseNationalID(a.NationalID)
	if err != nil {
		return parsed{}, ErrInvalidInput.with(err, "invalid national ID")
	}
	p := parsed{Applicant: a, id: id}
	p.NationalID = string(id)
	if a.Mobile != "" || !v.pol.SkipMobileOwnership() || !v.pol.SkipOTP() {
		m, err := registry.ParseMobile(a.Mobile)
		if err != nil {
			return parsed{}, ErrInvalidInput.with(err, "invalid mobile number")
		}
		p.mobile = m
		p.Mobile = string(m)
	}
	if err := a.BirthDate.Validate(); err != nil {
		return parsed{}, ErrInvalidInput.with(err, "invalid birth date")
	}
	switch a.Representative {
	case policy.NoRepresentative, Guardian, Custodian, Attorney:
	default:
		return parsed{}, ErrInvalidInput.with(nil, "unknown representative kind %q", a.Representative)
	}
	return p, nil
}

// facts gathers what the policy needs: registry record, mobile ownership,
// country and stored state. person is nil when the registry has no match.
func (v *Verifier) facts(ctx context.Context, p parsed, stage policy.Stage) (policy.Facts, *registry.Person, ApplicantRecord, error) {
	f := policy.Facts{Stage: stage, Representative: p.Representative}
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, v.cfg.RegistryTimeout)
	person, err := v.cfg.Registry.Lookup(rctx, p.id, p.BirthDate)
	cancel()
	v.observe("registry", start, err)
	var pp *registry.Person
	switch {
	case err == nil:
		pp = &person
	case errors.Is(err, registry.ErrNotFound):
	default:
		return f, nil, ApplicantRecord{}, v.depErr(ctx, "civil_registry", err)
	}
	f.Person = pp
	if pp != nil && !v.pol.SkipMobileOwnership() {
		start = time.Now()
		rctx, cancel := context.WithTimeout(ctx, v.cfg.RegistryTimeout)
		owned, err := v.cfg.Mobiles.Owns(rctx, p.id, p.mobile)
		cancel()
		v.observe("mobile_ownership", start, err)
		if err != nil {
			return f, nil, ApplicantRecord{}, v.depErr(ctx, "mobile_ownership", err)
		}
		f.MobileOwned = owned
	}
	f.CountryChecked = true
	if p.IP.IsValid() {
		c, err := v.cfg.Locator.Country(ctx, p.IP)
		if err != nil {
			return f, nil, ApplicantRecord{}, v.depErr(ctx, "geoip", err)
		}
		f.Country = c
	}
	rec, err := v.cfg.Store.Applicant(ctx, p.NationalID)
	if err != nil {
		return f, nil, ApplicantRecord{}, v.depErr(ctx, "store", err)
	}
	f.Verified = rec.State == StateVerified
	f.Locked = rec.State == StateLocked
	f.InReview = rec.State == StateReview
	f.FailedAttempts = rec.FailedAttempts
	return f, pp, rec, nil
}

// depErr wraps a dependency failure; a cancelled or expired caller context
// is reported as such rather than blamed on the dependency.
func (v *Verifier) depErr(ctx context.Context, dep string, err error) error {
	if ctx.Err() != nil {
		return ErrDependency.with(errors.Join(ctx.Err(), err), "%s call cancelled", dep).withDep(dep)
	}
	var ke *Error
	if errors.As(err, &ke) {
		return err
	}
	return ErrDependency.with(err, "%s failed", dep).withDep(dep)
}

func (e *Error) withDep(dep string) *Error {
	e.Dependency = dep
	return e
}

func (v *Verifier) audit(ctx context.Context, ev AuditEvent) {
	if ev.Time.IsZero() {
		ev.Time = v.now()
	}
	if _, err := v.cfg.Store.AppendAudit(context.WithoutCancel(ctx), ev); err != nil {
		v.cfg.Logger.Error("kyc: audit append failed", "kind", ev.Kind, "err", err)
	}
}

func auditData(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{}`)
	}
	return b
}

// Inquire reports whether the applicant may verify remotely, before
// anything is charged. A "no" is an Eligibility with reasons; an error
// means the SDK could not decide (invalid input, a registry down).
func (v *Verifier) Inquire(ctx context.Context, a Applicant) (Eligibility, error) {
	if err := v.enter(); err != nil {
		return Eligibility{}, err
	}
	defer v.wg.Done()
	start := time.Now()
	el, err := v.inquire(ctx, a)
	v.observe("inquiry", start, err)
	return el, err
}

func (v *Verifier) inquire(ctx context.Context, a Applicant) (Eligibility, error) {
	p, err := v.parse(a)
	if err != nil {
		return Eligibility{}, err
	}
	f, person, rec, err := v.facts(ctx, p, policy.StageInquiry)
	if err != nil {
		return Eligibility{}, err
	}
	vd := v.pol.EvaluateAt(f, v.now())
	el := Eligibility{
		NationalID: p.NationalID, Eligible: vd.Eligible, Reasons: vd.Reasons,
		InPersonRequired: vd.InPersonRequired, AttemptsLeft: vd.AttemptsLeft, State: rec.State,
	}
	if el.State == "" {
		el.State = StateActive
	}
	if person != nil && vd.Eligible {
		el.FirstName, el.LastName = person.FirstName, person.LastName
	}
	v.audit(ctx, AuditEvent{Kind: AuditInquiry, NationalID: p.NationalID, Actor: "applicant",
		Data: auditData(map[string]any{"eligible": vd.Eligible, "reasons": vd.Reasons, "country": f.Country})})
	return el, nil
}

func notEligible(vd policy.Verdict) error {
	e := ErrNotEligible.with(nil, "not eligible: %v", vd.Reasons)
	e.Reasons = vd.Reasons
	if len(vd.Reasons) > 0 {
		e.Reason = vd.Reasons[0]
	}
	return e
}

// SendOTP checks the applicant's eligibility (mobile ownership included)
// and sends a fresh 6-digit code to their mobile. Only a salted hash of
// the code is stored. A code cannot be resent within OTPResendInterval.
// An ineligible applicant gets an error matching ErrNotEligible whose
// Reasons say why.
func (v *Verifier) SendOTP(ctx context.Context, a Applicant) (OTPTicket, error) {
	if err := v.enter(); err != nil {
		return OTPTicket{}, err
	}
	defer v.wg.Done()
	start := time.Now()
	t, err := v.sendOTP(ctx, a)
	v.observe("otp_send", start, err)
	return t, err
}

func (v *Verifier) sendOTP(ctx context.Context, a Applicant) (OTPTicket, error) {
	if v.pol.SkipOTP() {
		return OTPTicket{}, ErrInvalidInput.with(nil, "OTP is disabled by the policy")
	}
	p, err := v.parse(a)
	if err != nil {
		return OTPTicket{}, err
	}
	f, _, _, err := v.facts(ctx, p, policy.StageInquiry)
	if err != nil {
		return OTPTicket{}, err
	}
	now := v.now()
	if vd := v.pol.EvaluateAt(f, now); !vd.Eligible {
		return OTPTicket{}, notEligible(vd)
	}
	prev, err := v.cfg.Store.OTP(ctx, p.NationalID)
	switch {
	case err == nil:
		if now.Sub(prev.CreatedAt) < v.cfg.OTPResendInterval {
			return OTPTicket{}, ErrOTPResendTooSoon.with(nil, "wait %v before requesting a new code",
				(v.cfg.OTPResendInterval - now.Sub(prev.CreatedAt)).Round(time.Second))
		}
	case errors.Is(err, ErrOTPNotFound):
	default:
		return OTPTicket{}, v.depErr(ctx, "store", err)
	}
	code, err := newOTPCode(v.cfg.Rand, 6)
	if err != nil {
		return OTPTicket{}, ErrInternal.with(err, "")
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(v.cfg.Rand, salt); err != nil {
		return OTPTicket{}, ErrInternal.with(err, "random")
	}
	rec := OTPRecord{
		NationalID: p.NationalID, Mobile: p.Mobile, Hash: v.otpHash(salt, code), Salt: salt,
		ExpiresAt: now.Add(v.cfg.OTPTTL), MaxTries: v.cfg.OTPMaxTries, CreatedAt: now,
	}
	if err := v.cfg.Store.PutOTP(ctx, rec); err != nil {
		return OTPTicket{}, v.depErr(ctx, "store", err)
	}
	if err := v.cfg.OTP.Send(ctx, p.mobile, code, v.cfg.OTPTTL); err != nil {
		return OTPTicket{}, v.depErr(ctx, "otp_sender", err)
	}
	v.audit(ctx, AuditEvent{Kind: AuditOTPSent, NationalID: p.NationalID, Actor: "system",
		Data: auditData(map[string]any{"mobile": p.mobile.Masked(), "expires_at": rec.ExpiresAt})})
	return OTPTicket{Mobile: p.mobile.Masked(), ExpiresAt: rec.ExpiresAt}, nil
}

func (v *Verifier) otpHash(salt []byte, code string) []byte {
	m := hmac.New(sha256.New, append(append([]byte(nil), salt...), v.cfg.OTPSecret...))
	m.Write([]byte(code))
	return m.Sum(nil)
}

// ConfirmOTP checks code against the national ID's current OTP. Each call
// uses one of OTPMaxTries tries, counted atomically in the Store before
// comparing (in constant time), so concurrent guesses cannot exceed the
// limit. Errors: ErrOTPNotFound, ErrOTPExpired, ErrOTPTooManyTries,
// ErrOTPMismatch.
func (v *Verifier) ConfirmOTP(ctx context.Context, nationalID, code string) error {
	if err := v.enter(); err != nil {
		return err
	}
	defer v.wg.Done()
	id, err := registry.ParseNationalID(nationalID)
	if err != nil {
		return ErrInvalidInput.with(err, "invalid national ID")
	}
	code = registry.NormalizeDigits(code)
	now := v.now()
	rec, err := v.cfg.Store.TryOTP(ctx, string(id), now)
	if err != nil {
		if errors.Is(err, ErrOTPNotFound) {
			return err
		}
		return v.depErr(ctx, "store", err)
	}
	fail := func(e *Error) error {
		v.audit(ctx, AuditEvent{Kind: AuditOTPFailed, NationalID: string(id), Actor: "applicant",
			Data: auditData(map[string]any{"code": e.Code, "tries": rec.Tries})})
		return e
	}
	switch {
	case !rec.ConfirmedAt.IsZero():
		return nil
	case now.After(rec.ExpiresAt):
		return fail(ErrOTPExpired)
	case rec.Tries > rec.MaxTries:
		return fail(ErrOTPTooManyTries)
	}
	if subtle.ConstantTimeCompare(v.otpHash(rec.Salt, code), rec.Hash) != 1 {
		return fail(ErrOTPMismatch.with(nil, "wrong OTP (%d tries left)", max(0, rec.MaxTries-rec.Tries)))
	}
	if err := v.cfg.Store.ConfirmOTP(ctx, string(id), rec.Salt, now); err != nil {
		return v.depErr(ctx, "store", err)
	}
	v.audit(ctx, AuditEvent{Kind: AuditOTPConfirmed, NationalID: string(id), Actor: "applicant"})
	return nil
}

// otpConfirmed reports whether the applicant has a confirmed OTP for
// mobile that is recent enough to begin a session.
func (v *Verifier) otpConfirmed(ctx context.Context, p parsed) (bool, error) {
	if v.pol.SkipOTP() {
		return true, nil
	}
	rec, err := v.cfg.Store.OTP(ctx, p.NationalID)
	if errors.Is(err, ErrOTPNotFound) {
		return false, nil
	}
	if err != nil {
		return false, v.depErr(ctx, "store", err)
	}
	return !rec.ConfirmedAt.IsZero() && rec.Mobile == p.Mobile &&
		v.now().Sub(rec.ConfirmedAt) <= v.cfg.OTPConfirmedTTL, nil
}

// Begin starts a session: it re-checks eligibility (OTP confirmed
// included) and returns a random Persian challenge text to read aloud
// while recording. The session accepts one upload before ExpiresAt. An
// ineligible applicant gets an error matching ErrNotEligible.
func (v *Verifier) Begin(ctx context.Context, a Applicant) (Session, error) {
	if err := v.enter(); err != nil {
		return Session{}, err
	}
	defer v.wg.Done()
	start := time.Now()
	s, err := v.begin(ctx, a)
	v.observe("begin", start, err)
	return s, err
}

func (v *Verifier) begin(ctx context.Context, a Applicant) (Session, error) {
	p, err := v.parse(a)
	if err != nil {
		return Session{}, err
	}
	f, _, _, err := v.facts(ctx, p, policy.StageBegin)
	if err != nil {
		return Session{}, err
	}
	if f.OTPConfirmed, err = v.otpConfirmed(ctx, p); err != nil {
		return Session{}, err
	}
	now := v.now()
	vd := v.pol.EvaluateAt(f, now)
	if !vd.Eligible {
		return Session{}, notEligible(vd)
	}
	text, err := newChallenge(v.cfg.Rand, v.cfg.ChallengeWords, v.cfg.ChallengeDigits)
	if err != nil {
		return Session{}, ErrInternal.with(err, "")
	}
	id, err := newID(v.cfg.Rand, "ses_")
	if err != nil {
		return Session{}, ErrInternal.with(err, "")
	}
	nonce, err := newID(v.cfg.Rand, "")
	if err != nil {
		return Session{}, ErrInternal.with(err, "")
	}
	turn := ""
	if v.cfg.HeadTurn {
		k, err := randomInt(v.cfg.Rand, 2)
		if err != nil {
			return Session{}, ErrInternal.with(err, "")
		}
		turn = [...]string{"left", "right"}[k]
	}
	rec := SessionRecord{
		ID: id, NationalID: p.NationalID, Challenge: text, Nonce: nonce, HeadTurn: turn,
		BirthDate: p.BirthDate.String(), Mobile: p.Mobile, CreatedAt: now, ExpiresAt: now.Add(v.cfg.SessionTTL),
	}
	if p.IP.IsValid() {
		rec.IP = p.IP.String()
	}
	if err := v.cfg.Store.CreateSession(ctx, rec); err != nil {
		return Session{}, v.depErr(ctx, "store", err)
	}
	v.audit(ctx, AuditEvent{Kind: AuditSessionBegun, NationalID: p.NationalID, SessionID: id, Actor: "applicant",
		Data: auditData(map[string]any{"expires_at": rec.ExpiresAt, "head_turn": turn})})
	return Session{ID: id, NationalID: p.NationalID, Challenge: text, Nonce: nonce, HeadTurn: turn,
		ExpiresAt: rec.ExpiresAt, AttemptsLeft: vd.AttemptsLeft}, nil
}

// Status returns the verification status of a national ID.
func (v *Verifier) Status(ctx context.Context, nationalID string) (Status, error) {
	id, err := registry.ParseNationalID(nationalID)
	if err != nil {
		return Status{}, ErrInvalidInput.with(err, "invalid national ID")
	}
	rec, err := v.cfg.Store.Applicant(ctx, string(id))
	if err != nil {
		return Status{}, v.depErr(ctx, "store", err)
	}
	st := Status{NationalID: string(id), State: rec.State, AttemptsUsed: rec.FailedAttempts,
		AttemptsLeft: max(0, v.pol.MaxUploads()-rec.FailedAttempts)}
	if st.State == "" {
		st.State = StateActive
	}
	st.InPersonRequired = st.State == StateLocked
	st.InProgress = rec.InflightAttempt != "" && v.now().Before(rec.InflightLeaseUntil)
	atts, err := v.cfg.Store.Attempts(ctx, string(id))
	if err != nil {
		return Status{}, v.depErr(ctx, "store", err)
	}
	for i := len(atts) - 1; i >= 0; i-- {
		if atts[i].State == AttemptDecided {
			d := v.decisionOf(atts[i], rec)
			st.Last = &d
			break
		}
	}
	return st, nil
}

// decisionOf rebuilds a Decision from a stored attempt.
func (v *Verifier) decisionOf(a AttemptRecord, rec ApplicantRecord) Decision {
	d := Decision{
		AttemptID: a.ID, SessionID: a.SessionID, NationalID: a.NationalID, Outcome: a.Outcome,
		Reasons: a.Reasons, Counted: a.Counted, AttemptsUsed: rec.FailedAttempts,
		AttemptsLeft: max(0, v.pol.MaxUploads()-rec.FailedAttempts), EvidenceID: a.EvidenceID,
		DecidedAt: a.DecidedAt, Review: a.Review,
	}
	if a.Charge != nil && !a.Charge.Pending() {
		d.Fee = a.Charge
	}
	d.InPersonRequired = rec.State == StateLocked || reason.AnyInPerson(d.Reasons)
	var dr decisionRecord
	if len(a.Decision) > 0 && json.Unmarshal(a.Decision, &dr) == nil {
		d.Liveness, d.Match = dr.Liveness, dr.Match
	}
	return d
}

// VerifyAudit reads the whole audit log and checks its hash chain against
// the store's head. A broken chain is an error matching ErrAuditBroken.
func (v *Verifier) VerifyAudit(ctx context.Context) error {
	headSeq, headHash, err := v.cfg.Store.AuditHead(ctx)
	if err != nil {
		return v.depErr(ctx, "store", err)
	}
	var from *AuditEvent
	var after int64
	for {
		evs, err := v.cfg.Store.Audit(ctx, after, 1000)
		if err != nil {
			return v.depErr(ctx, "store", err)
		}
		if len(evs) == 0 {
			break
		}
		if err := VerifyAuditChain(evs, from, 0, nil); err != nil {
			return err
		}
		last := evs[len(evs)-1]
		from, after = &last, last.Seq
	}
	if from == nil {
		if headSeq != 0 {
			return &AuditChainError{Seq: 1, Problem: "head"}
		}
		return nil
	}
	return VerifyAuditChain(nil, from, headSeq, headHash)
}
