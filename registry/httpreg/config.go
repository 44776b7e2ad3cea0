package httpreg

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for zero Config fields.
const (
	DefaultTimeout          = 3 * time.Second
	DefaultMaxAttempts      = 3
	DefaultBackoffBase      = 100 * time.Millisecond
	DefaultBackoffMax       = 1 * time.Second
	DefaultBreakerThreshold = 5
	DefaultBreakerCooldown  = 30 * time.Second
	DefaultMaxResponseBytes = 4 << 20
	DefaultUserAgent        = "hoviyat-httpreg/1"
)

// ErrInvalidConfig is wrapped by New's errors.
var ErrInvalidConfig = errors.New("httpreg: invalid config")

// Config configures a Client. Zero values mean the documented defaults.
// New copies it; later changes to the caller's value have no effect. A
// Config is a plain value: do not modify one while New reads it.
//
// With the defaults, one call takes at most about 3 attempts × 3 s plus
// two backoff sleeps (≤ 100 ms, ≤ 200 ms) — unless the caller's ctx
// deadline comes first, which always wins.
type Config struct {
	// BaseURL is the civil registry's base URL, e.g.
	// "https://registry.example/api" (http or https; the protocol paths
	// are appended). Required.
	BaseURL string
	// MobileBaseURL is the mobile-ownership service's base URL. Default:
	// BaseURL.
	MobileBaseURL string
	// HTTPClient sends the requests. Default: a client on a clone of
	// http.DefaultTransport. Its own Timeout, if any, also applies; leave
	// it zero and use Timeout.
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt, reading the body included.
	// Default 3 s. The caller's ctx deadline, if earlier, wins.
	Timeout time.Duration
	// MaxAttempts is the number of HTTP attempts per call, first included.
	// Default 3; 1 disables retries.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the sleep before retry n (n = 1,
	// 2, ...): a uniformly random duration in [0, min(BackoffMax,
	// BackoffBase·2^(n-1))) ("full jitter"). Defaults 100 ms and 1 s.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// BreakerThreshold is the number of consecutive failed attempts that
	// opens a dependency's breaker. Default 5; negative disables the
	// breaker.
	BreakerThreshold int
	// BreakerCooldown is how long an open breaker refuses calls before it
	// lets a probe through. Default 30 s.
	BreakerCooldown time.Duration
	// MaxResponseBytes caps a response body; a larger one is malformed.
	// Default 4 MiB (a registry photo is tens of KiB).
	MaxResponseBytes int64
	// Authorize, if set, is called on every attempt's request before it is
	// sent, e.g. to add an Authorization header. It must be safe for
	// concurrent use. Its error ends the call (kind network, not retried).
	Authorize func(req *http.Request) error
	// UserAgent is sent with every request. Default "hoviyat-httpreg/1".
	UserAgent string
	// Now is the breaker's clock. Default time.Now. Timeouts and backoff
	// sleeps use real timers because they race the caller's ctx.
	Now func() time.Time
	// Rand returns a uniform float in [0, 1) for backoff jitter. It must be
	// safe for concurrent use. Default math/rand/v2.Float64.
	Rand func() float64
}

// withDefaults validates c and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if c.BaseURL == "" {
		return bad("BaseURL is required")
	}
	if c.MobileBaseURL == "" {
		c.MobileBaseURL = c.BaseURL
	}
	for _, u := range []*string{&c.BaseURL, &c.MobileBaseURL} {
		p, err := url.Parse(*u)
		if err != nil {
			return bad("%v", err)
		}
		if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return bad("base URL %q: want http(s)://host[/path]", *u)
		}
		if p.RawQuery != "" || p.Fragment != "" {
			return bad("base URL %q: no query or fragment allowed", *u)
		}
		*u = strings.TrimRight(*u, "/")
	}
	switch {
	case c.Timeout < 0, c.BackoffBase < 0, c.BackoffMax < 0, c.BreakerCooldown < 0:
		return bad("durations must not be negative")
	case c.MaxAttempts < 0:
		return bad("MaxAttempts must not be negative")
	case c.MaxResponseBytes < 0:
		return bad("MaxResponseBytes must not be negative")
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.BackoffMax < c.BackoffBase {
		return bad("BackoffMax %v is below BackoffBase %v", c.BackoffMax, c.BackoffBase)
	}
	if c.BreakerThreshold == 0 {
		c.BreakerThreshold = DefaultBreakerThreshold
	}
	if c.BreakerCooldown == 0 {
		c.BreakerCooldown = DefaultBreakerCooldown
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	return c, nil
}
