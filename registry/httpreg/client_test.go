package httpreg_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/httpreg"
	"github.com/hoviyat/hoviyat/registry/registrytest"
)

// fakeClock drives the breakers' cool-down.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 21, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testConfig keeps the fault tests fast: short attempt timeout, tiny
// backoff, a breaker that stays out of the way unless a test sets it.
func testConfig(base string, clock *fakeClock) httpreg.Config {
	return httpreg.Config{
		BaseURL:          base,
		Timeout:          250 * time.Millisecond,
		MaxAttempts:      3,
		BackoffBase:      time.Millisecond,
		BackoffMax:       4 * time.Millisecond,
		BreakerThreshold: 1000,
		BreakerCooldown:  30 * time.Second,
		Now:              clock.Now,
		Rand:             func() float64 { return 0.5 },
	}
}

type env struct {
	srv    *registrytest.Server
	client *httpreg.Client
	clock  *fakeClock
	fx     registrytest.Fixtures
}

func newEnv(t *testing.T, edit func(*httpreg.Config)) *env {
	t.Helper()
	fx := registrytest.DefaultFixtures()
	srv := registrytest.NewServer(fx)
	t.Cleanup(srv.Close)
	clock := newFakeClock()
	cfg := testConfig(srv.URL, clock)
	if edit != nil {
		edit(&cfg)
	}
	c, err := httpreg.New(cfg)
	require.NoError(t, err)
	return &env{srv: srv, client: c, clock: clock, fx: fx}
}

func (e *env) lookup(ctx context.Context) (registry.Person, error) {
	p := e.fx.People[0]
	return e.client.Lookup(ctx, p.NationalID, p.BirthDate)
}

// requireKind asserts err is a *registry.Error of dep and kind.
func requireKind(t *testing.T, err error, dep registry.Dependency, kind string) *registry.Error {
	t.Helper()
	var re *registry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, dep, re.Dependency, "dependency")
	assert.Equal(t, kind, re.Kind, "kind of %v", err)
	if kind == registry.KindNotFound {
		assert.ErrorIs(t, err, registry.ErrNotFound)
	} else {
		assert.ErrorIs(t, err, registry.ErrUnavailable)
		assert.NotErrorIs(t, err, registry.ErrNotFound)
	}
	assert.Contains(t, err.Error(), string(dep))
	return re
}

func TestConformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	require.NoError(t, registrytest.Run(t.Context(), e.client, e.client, e.fx))
	st := e.srv.Stats()
	assert.Positive(t, st.Lookups)
	assert.Positive(t, st.Ownerships)
	assert.Zero(t, st.Rejected, "the client sent a request the server refused")
}

// TestConformanceSeparateBaseURLs serves the two dependencies from two
// servers and checks each goes to its own.
func TestConformanceSeparateBaseURLs(t *testing.T) {
	t.Parallel()
	fx := registrytest.DefaultFixtures()
	civil, mobile := registrytest.NewServer(fx), registrytest.NewServer(fx)
	defer civil.Close()
	defer mobile.Close()
	cfg := testConfig(civil.URL+"/", newFakeClock()) // a trailing slash is fine
	cfg.MobileBaseURL = mobile.URL
	c, err := httpreg.New(cfg)
	require.NoError(t, err)
	require.NoError(t, registrytest.Run(t.Context(), c, c, fx))
	assert.Zero(t, civil.Stats().Ownerships)
	assert.Zero(t, mobile.Stats().Lookups)
	assert.Positive(t, civil.Stats().Lookups)
	assert.Positive(t, mobile.Stats().Ownerships)
}

func TestRetries(t *testing.T) {
	t.Parallel()
	fault := func(k registrytest.FaultKind) registrytest.Fault { return registrytest.Fault{Kind: k} }
	tests := []struct {
		name         string
		fault        registrytest.Fault
		n            int
		wantKind     string // "" means success
		wantRequests int64
		wantStatus   int
	}{
		{"5xx burst then success", registrytest.Fault{Kind: registrytest.FaultStatus, Status: 503}, 2, "", 3, 0},
		{"5xx burst exhausts attempts", registrytest.Fault{Kind: registrytest.FaultStatus, Status: 500}, 3, registry.KindStatus, 3, 500},
		{"502 once", registrytest.Fault{Kind: registrytest.FaultStatus, Status: 502}, 1, "", 2, 0},
		{"4xx is not retried", registrytest.Fault{Kind: registrytest.FaultStatus, Status: 429}, 1, registry.KindStatus, 1, 429},
		{"malformed JSON is not retried", fault(registrytest.FaultMalformed), 1, registry.KindMalformed, 1, 0},
		{"reset then success", fault(registrytest.FaultReset), 2, "", 3, 0},
		{"resets exhaust attempts", fault(registrytest.FaultReset), 3, registry.KindNetwork, 3, 0},
		{"hang then success", fault(registrytest.FaultHang), 1, "", 2, 0},
		{"hangs exhaust attempts", fault(registrytest.FaultHang), 3, registry.KindTimeout, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			e.srv.Inject(tt.n, tt.fault)
			p, err := e.lookup(t.Context())
			assert.Equal(t, tt.wantRequests, e.srv.Stats().Requests, "requests")
			if tt.wantKind == "" {
				require.NoError(t, err)
				assert.Equal(t, e.fx.People[0], p)
				return
			}
			re := requireKind(t, err, registry.DepCivilRegistry, tt.wantKind)
			assert.Equal(t, tt.wantStatus, re.Status)
			assert.Zero(t, p.NationalID)
			if tt.wantRequests > 1 {
				assert.Contains(t, err.Error(), "after 3 attempts")
			}
			if tt.wantKind == registry.KindTimeout {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
			}
		})
	}
}

func TestOwnsFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.srv.Inject(1, registrytest.Fault{Kind: registrytest.FaultStatus})
	ok, err := e.client.Owns(t.Context(), "0499370899", "09121234567")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.EqualValues(t, 2, e.srv.Stats().Requests)

	e.srv.Inject(1, registrytest.Fault{Kind: registrytest.FaultMalformed})
	ok, err = e.client.Owns(t.Context(), "0499370899", "09121234567")
	assert.False(t, ok)
	requireKind(t, err, registry.DepMobileOwnership, registry.KindMalformed)
}

func TestSlowResponses(t *testing.T) {
	t.Parallel()
	t.Run("slow but within the timeout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.srv.SetLatency(50 * time.Millisecond)
		_, err := e.lookup(t.Context())
		require.NoError(t, err)
		assert.EqualValues(t, 1, e.srv.Stats().Requests)
	})
	t.Run("slower than the timeout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *httpreg.Config) { c.Timeout = 60 * time.Millisecond; c.MaxAttempts = 2 })
		e.srv.SetLatency(time.Second)
		_, err := e.lookup(t.Context())
		requireKind(t, err, registry.DepCivilRegistry, registry.KindTimeout)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.EqualValues(t, 2, e.srv.Stats().Requests)
		assert.Zero(t, e.srv.Stats().Lookups, "no request was answered")
	})
}

// TestParentDeadlineWins: a caller deadline shorter than the attempt
// timeout ends the call as a timeout and starts no further attempt.
func TestParentDeadlineWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *httpreg.Config) { c.Timeout = 20 * time.Second; c.MaxAttempts = 5 })
	e.srv.InjectAlways(registrytest.Fault{Kind: registrytest.FaultHang})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.lookup(ctx)
	elapsed := time.Since(start)
	requireKind(t, err, registry.DepCivilRegistry, registry.KindTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.EqualValues(t, 1, e.srv.Stats().Requests)
	assert.Less(t, elapsed, 10*time.Second, "the 20 s attempt timeout was used instead of the caller's deadline")
}

// TestCancelStopsRetries cancels the caller's ctx during an attempt and
// during a backoff sleep: the call returns kind canceled without another
// attempt.
func TestCancelStopsRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault registrytest.Fault
		edit  func(*httpreg.Config)
	}{
		{"during an attempt", registrytest.Fault{Kind: registrytest.FaultHang},
			func(c *httpreg.Config) { c.Timeout = 20 * time.Second }},
		{"during a backoff sleep", registrytest.Fault{Kind: registrytest.FaultStatus},
			func(c *httpreg.Config) {
				c.BackoffBase, c.BackoffMax = 20*time.Second, 20*time.Second
				c.Rand = func() float64 { return 0.99 }
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.edit)
			e.srv.InjectAlways(tt.fault)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, err := e.lookup(ctx)
				done <- err
			}()
			require.Eventually(t, func() bool { return e.srv.Stats().Requests == 1 }, 5*time.Second, time.Millisecond)
			time.Sleep(20 * time.Millisecond) // let the attempt settle (into the backoff sleep)
			cancel()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Lookup did not return after cancellation")
			}
			requireKind(t, err, registry.DepCivilRegistry, registry.KindCanceled)
			assert.ErrorIs(t, err, context.Canceled)
			assert.EqualValues(t, 1, e.srv.Stats().Requests)
		})
	}
}

// TestNoSleepPastDeadline: when the backoff would end after the caller's
// deadline, the call reports the last failure at once.
func TestNoSleepPastDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *httpreg.Config) {
		c.BackoffBase, c.BackoffMax = 30*time.Second, 30*time.Second
		c.Rand = func() float64 { return 0.9 }
	})
	e.srv.InjectAlways(registrytest.Fault{Kind: registrytest.FaultStatus, Status: 503})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := e.lookup(ctx)
	re := requireKind(t, err, registry.DepCivilRegistry, registry.KindStatus)
	assert.Equal(t, 503, re.Status)
	assert.NoError(t, ctx.Err(), "the call waited for the deadline")
	assert.EqualValues(t, 1, e.srv.Stats().Requests)
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *httpreg.Config) { c.BreakerThreshold = 3; c.MaxAttempts = 1 })
	ctx := t.Context()
	e.srv.InjectAlways(registrytest.Fault{Kind: registrytest.FaultStatus, Status: 503})

	for range 3 {
		_, err := e.lookup(ctx)
		requireKind(t, err, registry.DepCivilRegistry, registry.KindStatus)
	}
	assert.Equal(t, httpreg.BreakerOpen, e.client.BreakerState(registry.DepCivilRegistry))
	assert.Equal(t, httpreg.BreakerClosed, e.client.BreakerState(registry.DepMobileOwnership))

	// Open: fail fast without calling the server.
	before := e.srv.Stats().Requests
	_, err := e.lookup(ctx)
	requireKind(t, err, registry.DepCivilRegistry, registry.KindCircuitOpen)
	assert.Equal(t, before, e.srv.Stats().Requests, "an open breaker called the server")

	// The other dependency has its own breaker.
	e.srv.Clear()
	ok, err := e.client.Owns(ctx, "0499370899", "09121234567")
	require.NoError(t, err)
	assert.True(t, ok)
	_, err = e.lookup(ctx)
	requireKind(t, err, registry.DepCivilRegistry, registry.KindCircuitOpen)

	// After the cool-down one probe goes through and closes it.
	e.clock.Advance(29 * time.Second)
	assert.Equal(t, httpreg.BreakerOpen, e.client.BreakerState(registry.DepCivilRegistry))
	e.clock.Advance(time.Second)
	assert.Equal(t, httpreg.BreakerHalfOpen, e.client.BreakerState(registry.DepCivilRegistry))
	_, err = e.lookup(ctx)
	require.NoError(t, err)
	assert.Equal(t, httpreg.BreakerClosed, e.client.BreakerState(registry.DepCivilRegistry))

	// A failed probe re-opens it for another cool-down.
	e.srv.InjectAlways(registrytest.Fault{Kind: registrytest.FaultReset})
	for range 3 {
		_, err = e.lookup(ctx)
		requireKind(t, err, registry.DepCivilRegistry, registry.KindNetwork)
	}
	e.clock.Advance(30 * time.Second)
	before = e.srv.Stats().Requests
	_, err = e.lookup(ctx)
	requireKind(t, err, registry.DepCivilRegistry, registry.KindNetwork)
	assert.Equal(t, before+1, e.srv.Stats().Requests, "exactly one probe")
	assert.Equal(t, httpreg.BreakerOpen, e.client.BreakerState(registry.DepCivilRegistry))
	_, err = e.lookup(ctx)
	requireKind(t, err, registry.DepCivilRegistry, registry.KindCircuitOpen)
	assert.Equal(t, before+1, e.srv.Stats().Requests)
}

// TestBreakerStopsRetries: the breaker opening in the middle of a call's
// retries ends the call with circuit_open, mentioning the last failure.
func TestBreakerStopsRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *httpreg.Config) { c.BreakerThreshold = 2; c.MaxAttempts = 5 })
	e.srv.InjectAlways(registrytest.Fault{Kind: registrytest.FaultStatus, Status: 500})
	_, err := e.lookup(t.Context())
	requireKind(t, err, registry.DepCivilRegistry, registry.KindCircuitOpen)
	assert.Contains(t, err.Error(), "HTTP 500")
	assert.EqualValues(t, 2, e.srv.Stats().Requests)
}

// TestBreakerHalfOpenOneProbe: while the probe is in flight, other calls
// fail fast.
func TestBreakerHalfOpenOneProbe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *httpreg.Config) { c.BreakerThreshold = 1; c.MaxAttempts = 1; c.Timeout = 5 * time.Second })
	e.srv.Inject(1, registrytest.Fault{Kind: registrytest.FaultStatus})
	_, err := e.lookup(t.Context())
	requireKind(t, err, registry.DepCivilRegistry, registry.KindStatus)
	e.clock.Advance(time.Minute)

	e.srv.SetLatency(300 * time.Millisecond)
	probe := make(chan error, 1)
	go func() {
		_, err := e.lookup(t.Context())
		probe <- err
	}()
	require.Eventually(t, func() bool { return e.srv.Stats().Requests == 2 }, 5*time.Second, time.Millisecond)
	_, err = e.lookup(t.Context())
	requireKind(t, err, registry.DepCivilRegistry, registry.KindCircuitOpen)
	require.NoError(t, <-probe)
	assert.Equal(t, httpreg.BreakerClosed, e.client.BreakerState(registry.DepCivilRegistry))
	assert.EqualValues(t, 2, e.srv.Stats().Requests)
}

// TestBreaker4xxIsHealthy: a refused request shows the service is up and
// does not count towards opening the breaker.
func TestBreaker4xxIsHealthy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *httpreg.Config) { c.BreakerThreshold = 2; c.MaxAttempts = 1 })
	e.srv.InjectAlways(registrytest.Fault{Kind: registrytest.FaultStatus, Status: 400})
	for range 5 {
		_, err := e.lookup(t.Context())
		requireKind(t, err, registry.DepCivilRegistry, registry.KindStatus)
	}
	assert.Equal(t, httpreg.BreakerClosed, e.client.BreakerState(registry.DepCivilRegistry))
	e.srv.Clear()
	_, err := e.client.Lookup(t.Context(), "0790419904", registry.Date{Year: 1300, Month: 1, Day: 1})
	requireKind(t, err, registry.DepCivilRegistry, registry.KindNotFound)
	assert.Equal(t, httpreg.BreakerClosed, e.client.BreakerState(registry.DepCivilRegistry))
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	t.Run("header added", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *httpreg.Config) {
			c.Authorize = func(r *http.Request) error { r.Header.Set("Authorization", "Bearer s3cret"); return nil }
		})
		e.srv.RequireHeader("Authorization", "Bearer s3cret")
		_, err := e.lookup(t.Context())
		require.NoError(t, err)
	})
	t.Run("missing header is a 401, not retried", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.srv.RequireHeader("Authorization", "Bearer s3cret")
		_, err := e.lookup(t.Context())
		re := requireKind(t, err, registry.DepCivilRegistry, registry.KindStatus)
		assert.Equal(t, http.StatusUnauthorized, re.Status)
		assert.Contains(t, err.Error(), `"unauthorized"`)
		assert.EqualValues(t, 1, e.srv.Stats().Requests)
	})
	t.Run("hook error", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("token service down")
		e := newEnv(t, func(c *httpreg.Config) { c.Authorize = func(*http.Request) error { return boom } })
		_, err := e.lookup(t.Context())
		requireKind(t, err, registry.DepCivilRegistry, registry.KindNetwork)
		assert.ErrorIs(t, err, boom)
		assert.Zero(t, e.srv.Stats().Requests)
	})
}

func TestInvalidArguments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, err := e.client.Lookup(t.Context(), "68415941", registry.Date{Year: 1370, Month: 1, Day: 1})
	assert.ErrorIs(t, err, registry.ErrInvalidNationalID)
	_, err = e.client.Lookup(t.Context(), "0499370899", registry.Date{Year: 1370, Month: 7, Day: 31})
	var de *registry.ErrInvalidDate
	assert.ErrorAs(t, err, &de)
	_, err = e.client.Owns(t.Context(), "0499370898", "09121234567")
	assert.ErrorIs(t, err, registry.ErrInvalidNationalID)
	_, err = e.client.Owns(t.Context(), "0499370899", "9121234567")
	assert.ErrorIs(t, err, registry.ErrInvalidMobile)
	assert.Zero(t, e.srv.Stats().Requests)
}

// TestResponseChecks uses hand-written servers for answers the fixture
// server never gives.
func TestResponseChecks(t *testing.T) {
	t.Parallel()
	okBody := `{"national_id":"0499370899","first_name":"a","last_name":"b","gender":"female","birth_date":"1370/01/15","alive":true,"native":true}`
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		maxBytes    int64
		wantKind    string
		wantStatus  int
	}{
		{"ok", 200, "application/json; charset=utf-8", okBody, 0, "", 0},
		{"wrong content type", 200, "text/html", okBody, 0, registry.KindMalformed, 0},
		{"no content type", 200, "", okBody, 0, registry.KindMalformed, 0},
		{"too large", 200, "application/json", okBody, 64, registry.KindMalformed, 0},
		{"unknown field", 200, "application/json", okBody[:len(okBody)-1] + `,"extra":1}`, 0, registry.KindMalformed, 0},
		{"another person", 200, "application/json", `{"national_id":"0790419904"` + okBody[len(`{"national_id":"0499370899"`):], 0, registry.KindMalformed, 0},
		{"not found", 404, "application/json", `{"error":"not_found"}`, 0, registry.KindNotFound, 0},
		{"bare 404 from a proxy", 404, "text/plain", "404 page not found", 0, registry.KindStatus, 404},
		{"404 with another code", 404, "application/json", `{"error":"no_such_route"}`, 0, registry.KindStatus, 404},
		{"403", 403, "application/json", `{"error":"forbidden","message":"ip not allowed"}`, 0, registry.KindStatus, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hits int
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				hits++
				mu.Unlock()
				assert.Equal(t, httpreg.DefaultUserAgent, r.Header.Get("User-Agent"))
				assert.Equal(t, httpreg.LookupPath, r.URL.Path)
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				} else {
					w.Header()["Content-Type"] = nil // no sniffing
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			cfg := testConfig(srv.URL, newFakeClock())
			cfg.MaxResponseBytes = tt.maxBytes
			c, err := httpreg.New(cfg)
			require.NoError(t, err)
			p, err := c.Lookup(t.Context(), "0499370899", registry.Date{Year: 1370, Month: 1, Day: 15})
			if tt.wantKind == "" {
				require.NoError(t, err)
				assert.Equal(t, "a", p.FirstName)
				return
			}
			re := requireKind(t, err, registry.DepCivilRegistry, tt.wantKind)
			assert.Equal(t, tt.wantStatus, re.Status)
			mu.Lock()
			assert.Equal(t, 1, hits, "not retried")
			mu.Unlock()
		})
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  httpreg.Config
	}{
		{"no base URL", httpreg.Config{}},
		{"bad scheme", httpreg.Config{BaseURL: "ftp://x"}},
		{"no host", httpreg.Config{BaseURL: "http://"}},
		{"query", httpreg.Config{BaseURL: "http://x/?a=1"}},
		{"bad mobile URL", httpreg.Config{BaseURL: "http://x", MobileBaseURL: "x"}},
		{"negative timeout", httpreg.Config{BaseURL: "http://x", Timeout: -1}},
		{"negative attempts", httpreg.Config{BaseURL: "http://x", MaxAttempts: -1}},
		{"negative size", httpreg.Config{BaseURL: "http://x", MaxResponseBytes: -1}},
		{"backoff max below base", httpreg.Config{BaseURL: "http://x", BackoffBase: time.Second, BackoffMax: time.Millisecond}},
	}
	for _, tt := range tests {
		c, err := httpreg.New(tt.cfg)
		assert.ErrorIs(t, err, httpreg.ErrInvalidConfig, tt.name)
		assert.Nil(t, c, tt.name)
	}
	c, err := httpreg.New(httpreg.Config{BaseURL: "https://registry.example/api"})
	require.NoError(t, err)
	assert.Equal(t, httpreg.BreakerClosed, c.BreakerState(registry.DepCivilRegistry))
	c, err = httpreg.New(httpreg.Config{BaseURL: "https://registry.example", BreakerThreshold: -1})
	require.NoError(t, err)
	assert.Equal(t, httpreg.BreakerDisabled, c.BreakerState(registry.DepMobileOwnership))
}

// TestBreakerDisabled: with the breaker off, failures never fail fast.
func TestBreakerDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *httpreg.Config) { c.BreakerThreshold = -1; c.MaxAttempts = 1 })
	e.srv.InjectAlways(registrytest.Fault{Kind: registrytest.FaultStatus})
	for range 10 {
		_, err := e.lookup(t.Context())
		requireKind(t, err, registry.DepCivilRegistry, registry.KindStatus)
	}
	assert.EqualValues(t, 10, e.srv.Stats().Requests)
}
