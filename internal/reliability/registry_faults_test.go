package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/httpreg"
	"github.com/hoviyat/hoviyat/registry/registrytest"
	"github.com/hoviyat/hoviyat/store/storetest"
)

// registryRig is a Verifier whose civil registry and mobile-ownership
// service are two fixture HTTP servers reached through registry/httpreg,
// with a SQLite store; everything else is a kyctest fake.
type registryRig struct {
	h      *kyctest.Harness
	client *httpreg.Client
	civil  *registrytest.Server
	mobile *registrytest.Server
	// breakerClock drives the client's circuit breaker.
	breakerClock *kyctest.Clock
}

// Client settings of the fault scenarios: short timeouts so a run stays
// fast; three attempts per call.
const (
	regTimeout     = 200 * time.Millisecond
	regMaxAttempts = 3
)

func newRegistryRig(t testing.TB, breakerThreshold int, fee int64) *registryRig {
	t.Helper()
	r := &registryRig{
		civil:        registrytest.NewServer(registrytest.Fixtures{}),
		mobile:       registrytest.NewServer(registrytest.Fixtures{}),
		breakerClock: kyctest.NewClock(time.Now()),
	}
	t.Cleanup(r.civil.Close)
	t.Cleanup(r.mobile.Close)
	var err error
	r.client, err = httpreg.New(httpreg.Config{
		BaseURL: r.civil.URL, MobileBaseURL: r.mobile.URL,
		Timeout: regTimeout, MaxAttempts: regMaxAttempts,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
		BreakerThreshold: breakerThreshold, BreakerCooldown: time.Minute,
		Now: r.breakerClock.Now,
	})
	require.NoError(t, err)
	r.h, err = kyctest.New(kyctest.Options{Store: openSQLite(t), Fee: fee, Configure: func(c *kyc.Config) {
		c.Registry, c.Mobiles = r.client, r.client
		c.Matcher = refMatcher{c.Matcher}
		c.RegistryTimeout = 5 * time.Second
	}})
	require.NoError(t, err)
	return r
}

// person registers a fresh adult with a JPEG photo and a mobile on the
// fixture servers and returns the applicant.
func (r *registryRig) person(t testing.TB) kyc.Applicant {
	t.Helper()
	id := registry.NationalID(storetest.NationalID())
	birth := registry.Date{Year: 1370, Month: 1, Day: 15}
	m := registry.Mobile("0912" + string(id)[3:10])
	require.NoError(t, r.civil.Registry().Add(registry.Person{NationalID: id, FirstName: "سارا", LastName: "احمدی",
		FatherName: "رضا", Gender: registry.Female, BirthDate: birth, Alive: true, Native: true, Photo: registrytest.Photo(1)}))
	require.NoError(t, r.mobile.Registry().SetMobile(id, m))
	return kyc.Applicant{NationalID: string(id), BirthDate: birth, Mobile: string(m), IP: kyctest.IranIP}
}

// session confirms the OTP and begins a session while the servers are
// healthy.
func (r *registryRig) session(t *testing.T, ctx context.Context, a kyc.Applicant) kyc.Session {
	t.Helper()
	require.NoError(t, r.h.ConfirmOTP(ctx, a))
	s, err := r.h.Verifier.Begin(ctx, a)
	require.NoError(t, err)
	return s
}

// requireDependencyError checks that err names dep at both levels: the kyc
// error's Dependency and the registry error's Dependency and Kind.
func requireDependencyError(t *testing.T, err error, dep registry.Dependency, kind string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, kyc.ErrDependency)
	var ke *kyc.Error
	require.True(t, errors.As(err, &ke))
	assert.Equal(t, string(dep), ke.Dependency)
	var re *registry.Error
	require.True(t, errors.As(err, &re), "no *registry.Error in %v", err)
	assert.Equal(t, dep, re.Dependency)
	assert.Equal(t, kind, re.Kind, "%v", err)
	assert.ErrorIs(t, err, registry.ErrUnavailable)
	assert.Contains(t, err.Error(), string(dep), "the message names the dependency")
}

// TestRegistryFaultsDoNotConsumeAttempts injects each registry fault
// while an applicant submits: the Submit fails with an error naming the
// dependency and the kind of failure, nothing is reserved, counted or
// charged, the session stays usable, and the same session is approved
// once the fault is gone. Faults the retries absorb end in an approval
// straight away.
func TestRegistryFaultsDoNotConsumeAttempts(t *testing.T) {
	ctx := context.Background()
	r := newRegistryRig(t, 1000, 5000) // breaker out of the way here
	type fault struct {
		name   string
		server func() *registrytest.Server
		inject func(s *registrytest.Server)
		// ctxTimeout, when set, bounds the caller's context.
		ctxTimeout time.Duration
		dep        registry.Dependency
		kind       string // "" means the retries absorb the fault
	}
	civil := func() *registrytest.Server { return r.civil }
	mobile := func() *registrytest.Server { return r.mobile }
	status := func(n, code int) func(*registrytest.Server) {
		return func(s *registrytest.Server) {
			s.Inject(n, registrytest.Fault{Kind: registrytest.FaultStatus, Status: code})
		}
	}
	faults := []fault{
		{"5xx burst longer than the retries", civil, status(regMaxAttempts, 503), 0, registry.DepCivilRegistry, registry.KindStatus},
		{"5xx burst the retries absorb", civil, status(regMaxAttempts-1, 502), 0, registry.DepCivilRegistry, ""},
		{"malformed JSON", civil, func(s *registrytest.Server) { s.Inject(1, registrytest.Fault{Kind: registrytest.FaultMalformed}) },
			0, registry.DepCivilRegistry, registry.KindMalformed},
		{"connection resets", civil, func(s *registrytest.Server) {
			s.Inject(regMaxAttempts, registrytest.Fault{Kind: registrytest.FaultReset})
		},
			0, registry.DepCivilRegistry, registry.KindNetwork},
		{"one reset the retries absorb", civil, func(s *registrytest.Server) { s.Inject(1, registrytest.Fault{Kind: registrytest.FaultReset}) },
			0, registry.DepCivilRegistry, ""},
		{"hanging server", civil, func(s *registrytest.Server) {
			s.Inject(regMaxAttempts, registrytest.Fault{Kind: registrytest.FaultHang})
		},
			0, registry.DepCivilRegistry, registry.KindTimeout},
		{"slower than the timeout", civil, func(s *registrytest.Server) { s.SetLatency(2 * regTimeout) },
			0, registry.DepCivilRegistry, registry.KindTimeout},
		{"slow within the timeout", civil, func(s *registrytest.Server) { s.SetLatency(regTimeout / 2) },
			0, registry.DepCivilRegistry, ""},
		{"caller deadline before the registry answers", civil, func(s *registrytest.Server) { s.SetLatency(regTimeout / 2) },
			regTimeout / 4, registry.DepCivilRegistry, registry.KindTimeout},
		{"mobile ownership 5xx", mobile, status(regMaxAttempts, 500), 0, registry.DepMobileOwnership, registry.KindStatus},
		{"mobile ownership malformed", mobile, func(s *registrytest.Server) { s.Inject(1, registrytest.Fault{Kind: registrytest.FaultMalformed}) },
			0, registry.DepMobileOwnership, registry.KindMalformed},
		{"mobile ownership resets", mobile, func(s *registrytest.Server) {
			s.Inject(regMaxAttempts, registrytest.Fault{Kind: registrytest.FaultReset})
		},
			0, registry.DepMobileOwnership, registry.KindNetwork},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			a := r.person(t)
			s := r.session(t, ctx, a)
			srv := f.server()
			f.inject(srv)
			defer srv.Clear()
			before := srv.Stats().Requests

			callCtx := func() (context.Context, context.CancelFunc) {
				if f.ctxTimeout > 0 {
					return context.WithTimeout(ctx, f.ctxTimeout)
				}
				return ctx, func() {}
			}
			sctx, cancel := callCtx()
			start := time.Now()
			d, err := r.h.Verifier.Submit(sctx, s.ID, kyctest.LiveVideo(a.NationalID))
			took := time.Since(start)
			cancel()
			requests := srv.Stats().Requests - before
			if f.kind == "" {
				require.NoError(t, err)
				assert.Equal(t, kyc.Approved, d.Outcome)
				figures(t, "registry_fault", "fault", f.name, "outcome", d.Outcome, "submit", took, "requests", requests)
				return
			}
			requireDependencyError(t, err, f.dep, f.kind)
			if f.ctxTimeout > 0 {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Less(t, took, f.ctxTimeout+regTimeout, "the caller's deadline bounds the wait")
			}
			figures(t, "registry_fault", "fault", f.name, "error_kind", f.kind, "time_to_error", took, "requests", requests)

			// Nothing was reserved, counted or charged; the session is
			// still unused.
			checkNoAttemptUsed(t, ctx, r.h.Verifier, r.h.Store, a.NationalID)
			amount, n := r.h.Charger.Total(a.NationalID)
			assert.Zero(t, n, "no fee for an SDK-side failure")
			assert.Zero(t, amount)
			rec, err := r.h.Store.Session(ctx, s.ID)
			require.NoError(t, err)
			assert.True(t, rec.UsedAt.IsZero(), "the session must stay usable")

			// Inquiry under the same fault names the dependency too.
			f.inject(srv)
			ictx, cancel := callCtx()
			_, err = r.h.Verifier.Inquire(ictx, a)
			cancel()
			requireDependencyError(t, err, f.dep, f.kind)
			srv.Clear()

			// The fault is gone: the same session is decided, once.
			d, err = r.h.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(a.NationalID))
			require.NoError(t, err)
			assert.Equal(t, kyc.Approved, d.Outcome)
			atts, err := r.h.Store.Attempts(ctx, a.NationalID)
			require.NoError(t, err)
			require.Len(t, atts, 1)
			assert.Equal(t, kyc.AttemptDecided, atts[0].State)
			_, n = r.h.Charger.Total(a.NationalID)
			assert.Equal(t, 1, n, "charged once, for the decided attempt")
		})
	}
	require.NoError(t, r.h.Verifier.VerifyAudit(ctx))
}

// TestRegistryBreakerOpensAndRecovers drives the civil registry's circuit
// breaker through a Verifier: a hanging registry costs every Submit the
// full timeout and retries until the breaker opens; then Submits fail fast
// without a request; after the cool-down one probe closes it again and
// the waiting applicant is approved. No attempt is consumed throughout.
func TestRegistryBreakerOpensAndRecovers(t *testing.T) {
	ctx := context.Background()
	const threshold = 3
	r := newRegistryRig(t, threshold, 0)
	a := r.person(t)
	s := r.session(t, ctx, a)
	require.Equal(t, httpreg.BreakerClosed, r.client.BreakerState(registry.DepCivilRegistry))

	r.civil.InjectAlways(registrytest.Fault{Kind: registrytest.FaultHang})
	submit := func() (time.Duration, int64, error) {
		before := r.civil.Stats().Requests
		start := time.Now()
		_, err := r.h.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(a.NationalID))
		return time.Since(start), r.civil.Stats().Requests - before, err
	}
	// Closed: each attempt waits for its timeout; the threshold-th
	// consecutive failure opens the breaker.
	closedTook, closedReq, err := submit()
	requireDependencyError(t, err, registry.DepCivilRegistry, registry.KindTimeout)
	assert.EqualValues(t, threshold, closedReq, "one request per attempt until the breaker opens")
	assert.GreaterOrEqual(t, closedTook, threshold*regTimeout)
	require.Equal(t, httpreg.BreakerOpen, r.client.BreakerState(registry.DepCivilRegistry))

	// Open: fail fast, no request reaches the registry.
	var open []time.Duration
	for range 20 {
		took, req, err := submit()
		requireDependencyError(t, err, registry.DepCivilRegistry, registry.KindCircuitOpen)
		assert.Zero(t, req, "an open breaker sends nothing")
		open = append(open, took)
	}
	checkNoAttemptUsed(t, ctx, r.h.Verifier, r.h.Store, a.NationalID)

	// Still open just before the cool-down; half-open after it. The
	// registry recovers; one probe closes the breaker.
	r.breakerClock.Advance(time.Minute - time.Second)
	_, req, err := submit()
	requireDependencyError(t, err, registry.DepCivilRegistry, registry.KindCircuitOpen)
	assert.Zero(t, req)
	r.civil.Clear()
	r.breakerClock.Advance(time.Second)
	require.Equal(t, httpreg.BreakerHalfOpen, r.client.BreakerState(registry.DepCivilRegistry))
	start := time.Now()
	d, err := r.h.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(a.NationalID))
	recovered := time.Since(start)
	require.NoError(t, err)
	assert.Equal(t, kyc.Approved, d.Outcome)
	assert.Equal(t, httpreg.BreakerClosed, r.client.BreakerState(registry.DepCivilRegistry))
	st, err := r.h.Verifier.Status(ctx, a.NationalID)
	require.NoError(t, err)
	assert.Equal(t, kyc.StateVerified, st.State)
	assert.Zero(t, st.AttemptsUsed)
	require.NoError(t, r.h.Verifier.VerifyAudit(ctx))

	figures(t, "registry_breaker",
		"closed_time_to_error", closedTook, "closed_requests", closedReq,
		"open_time_to_error_p50", pct(open, 50), "open_time_to_error_p95", pct(open, 95),
		"speedup_p50", fmt.Sprintf("%.0fx", float64(closedTook)/float64(max(pct(open, 50), time.Microsecond))),
		"recovered_submit", recovered)
}

// TestSDKSideFailuresAfterReservation: a detector, matcher, vault or
// charger failure after the attempt was reserved voids it (not counted),
// keeps the fee recorded for the next attempt (carried over under the same
// charge ID, never charged twice, also when the provider charged but its
// answer was lost) and says which dependency failed.
func TestSDKSideFailuresAfterReservation(t *testing.T) {
	ctx := context.Background()
	h, err := kyctest.New(kyctest.Options{Store: openSQLite(t), Fee: 7000})
	require.NoError(t, err)
	boom := errors.New("injected failure")
	cases := []struct {
		dep    string
		faults *kyctest.Faults
		charge bool // whether the fee was taken before the failure
	}{
		{"detector", &h.Detector.Faults, true},
		{"matcher", &h.Matcher.Faults, true},
		{"vault", &h.Vault.Faults, true},
		{"charge", &h.Charger.Faults, false},
		{"charge_answer_lost", &h.Charger.ReplyFaults, true},
	}
	for _, c := range cases {
		t.Run(c.dep, func(t *testing.T) {
			a, err := h.AddPerson(kyctest.PersonSpec{NationalID: storetest.NationalID()})
			require.NoError(t, err)
			require.NoError(t, h.ConfirmOTP(ctx, a))
			c.faults.FailNext(1, boom)
			_, err = h.Resubmit(ctx, a, kyctest.LiveVideo(a.NationalID))
			require.Error(t, err)
			var ke *kyc.Error
			require.True(t, errors.As(err, &ke))
			if strings.HasPrefix(c.dep, "charge") {
				assert.ErrorIs(t, err, kyc.ErrCharge)
			} else {
				assert.ErrorIs(t, err, kyc.ErrDependency)
				assert.Equal(t, c.dep, ke.Dependency)
			}
			assert.ErrorIs(t, err, boom)

			s, err := h.Verifier.Status(ctx, a.NationalID)
			require.NoError(t, err)
			assert.Zero(t, s.AttemptsUsed)
			assert.False(t, s.InProgress)
			atts, err := h.Store.Attempts(ctx, a.NationalID)
			require.NoError(t, err)
			require.Len(t, atts, 1)
			assert.Equal(t, kyc.AttemptVoid, atts[0].State)
			assert.False(t, atts[0].Counted)
			_, charges := h.Charger.Total(a.NationalID)
			assert.Equal(t, map[bool]int{true: 1, false: 0}[c.charge], charges)

			d, err := h.Resubmit(ctx, a, kyctest.LiveVideo(a.NationalID))
			require.NoError(t, err)
			assert.Equal(t, kyc.Approved, d.Outcome)
			require.NotNil(t, d.Fee)
			amount, charges := h.Charger.Total(a.NationalID)
			assert.Equal(t, 1, charges, "one fee in all: carried over, not charged twice")
			assert.EqualValues(t, 7000, amount)
			require.NotNil(t, atts[0].Charge, "the fee is recorded with the reservation")
			assert.Equal(t, atts[0].Charge.ID, d.Fee.ID, "the void attempt's fee pays for the next one")
			assert.Equal(t, kyctest.Ref(d.Fee.ID), d.Fee.Ref)
		})
	}
	require.NoError(t, h.Verifier.VerifyAudit(ctx))
}
