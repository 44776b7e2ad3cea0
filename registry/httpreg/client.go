package httpreg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/hoviyat/hoviyat/registry"
)

// Compile-time checks.
var (
	_ registry.CivilRegistry   = (*Client)(nil)
	_ registry.MobileOwnership = (*Client)(nil)
)

// Client calls a civil registry and a mobile-ownership service over HTTP
// (see the package documentation for the protocol). It is safe for
// concurrent use; share one per process so the breakers see all traffic.
type Client struct {
	cfg       Config
	lookupURL string
	ownURL    string
	civil     *breaker
	mobile    *breaker
}

// New returns a Client for cfg. It returns an error wrapping
// ErrInvalidConfig when cfg is unusable.
func New(cfg Config) (*Client, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Client{
		cfg:       c,
		lookupURL: c.BaseURL + LookupPath,
		ownURL:    c.MobileBaseURL + OwnershipPath,
		civil:     newBreaker(c.BreakerThreshold, c.BreakerCooldown, c.Now),
		mobile:    newBreaker(c.BreakerThreshold, c.BreakerCooldown, c.Now),
	}, nil
}

// BreakerState returns the state of dep's circuit breaker, for health
// checks and metrics. An open breaker whose cool-down has passed reports
// BreakerHalfOpen.
func (c *Client) BreakerState(dep registry.Dependency) BreakerState {
	if dep == registry.DepMobileOwnership {
		return c.mobile.current()
	}
	return c.civil.current()
}

// Lookup asks the civil registry for the person with id and birth. See
// registry.CivilRegistry. An id that is not canonical or an impossible
// birth date is refused before any request, with an error wrapping
// registry.ErrInvalidNationalID or a *registry.ErrInvalidDate.
func (c *Client) Lookup(ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
	if !id.Valid() {
		return registry.Person{}, fmt.Errorf("httpreg: lookup: national ID %s is not canonical: %w", id.Masked(), registry.ErrInvalidNationalID)
	}
	if err := birth.Validate(); err != nil {
		return registry.Person{}, fmt.Errorf("httpreg: lookup: %w", err)
	}
	body, err := json.Marshal(LookupRequest{NationalID: id, BirthDate: birth})
	if err != nil {
		return registry.Person{}, fmt.Errorf("httpreg: lookup: %w", err)
	}
	var p registry.Person
	err = c.call(ctx, registry.DepCivilRegistry, c.civil, c.lookupURL, body, func(status int, resp []byte) *attemptError {
		if status == http.StatusNotFound && decodeError(resp) == ErrorCodeNotFound {
			return &attemptError{kind: registry.KindNotFound, result: resultSuccess}
		}
		if status != http.StatusOK {
			return nil // the caller classifies statuses
		}
		var err error
		if p, err = decodePerson(resp, id, birth); err != nil {
			return &attemptError{kind: registry.KindMalformed, err: fmt.Errorf("httpreg: lookup response: %w", err), result: resultFailure}
		}
		return nil
	})
	if err != nil {
		return registry.Person{}, err
	}
	return p, nil
}

// Owns asks the mobile-ownership service whether mobile is registered to
// id. See registry.MobileOwnership. Non-canonical arguments are refused
// before any request with an error wrapping registry.ErrInvalidNationalID
// or registry.ErrInvalidMobile.
func (c *Client) Owns(ctx context.Context, id registry.NationalID, mobile registry.Mobile) (bool, error) {
	if !id.Valid() {
		return false, fmt.Errorf("httpreg: ownership: national ID %s is not canonical: %w", id.Masked(), registry.ErrInvalidNationalID)
	}
	if !mobile.Valid() {
		return false, fmt.Errorf("httpreg: ownership: mobile %s is not canonical: %w", mobile.Masked(), registry.ErrInvalidMobile)
	}
	body, err := json.Marshal(OwnershipRequest{NationalID: id, Mobile: mobile})
	if err != nil {
		return false, fmt.Errorf("httpreg: ownership: %w", err)
	}
	var owned bool
	err = c.call(ctx, registry.DepMobileOwnership, c.mobile, c.ownURL, body, func(status int, resp []byte) *attemptError {
		if status != http.StatusOK {
			return nil
		}
		var err error
		if owned, err = decodeOwnership(resp); err != nil {
			return &attemptError{kind: registry.KindMalformed, err: fmt.Errorf("httpreg: ownership response: %w", err), result: resultFailure}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return owned, nil
}

// attemptError is one attempt's failure, before it becomes a
// *registry.Error.
type attemptError struct {
	kind   string
	status int
	err    error
	retry  bool
	result result
	// final: the caller's ctx is done; stop without another attempt.
	final bool
}

// errAttemptTimeout is the cause of an attempt's own deadline, to tell it
// from the caller's.
var errAttemptTimeout = errors.New("httpreg: attempt timed out")

// call runs the retry loop. decode sees every complete response: it
// returns nil to accept a 200 (or to let call classify another status), or
// an attemptError.
func (c *Client) call(ctx context.Context, dep registry.Dependency, br *breaker, url string, body []byte,
	decode func(status int, body []byte) *attemptError) error {
	var last *attemptError
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return c.finish(dep, callerDone(ctx, last), attempt-1)
		}
		t, ok := br.allow()
		if !ok {
			err := &attemptError{kind: registry.KindCircuitOpen, err: errors.New("httpreg: circuit breaker open")}
			if last != nil {
				err.err = fmt.Errorf("httpreg: circuit breaker opened (last attempt: %w)", last.err)
			}
			return c.finish(dep, err, attempt-1)
		}
		ae := c.attempt(ctx, url, body, decode)
		br.record(t, attemptResult(ae))
		if ae == nil {
			return nil
		}
		last = ae
		if ae.final || !ae.retry || attempt >= c.cfg.MaxAttempts {
			return c.finish(dep, ae, attempt)
		}
		d := c.backoff(attempt)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= d {
			// No time left for another attempt: report this one's failure
			// now rather than sleep into the deadline.
			return c.finish(dep, ae, attempt)
		}
		if err := sleep(ctx, d); err != nil {
			return c.finish(dep, callerDone(ctx, last), attempt)
		}
	}
}

func attemptResult(ae *attemptError) result {
	if ae == nil {
		return resultSuccess
	}
	return ae.result
}

// callerDone describes the caller's finished ctx, mentioning the last
// attempt's failure if there was one.
func callerDone(ctx context.Context, last *attemptError) *attemptError {
	err := ctx.Err()
	kind := registry.KindCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		kind = registry.KindTimeout
	}
	if last != nil && last.err != nil {
		err = fmt.Errorf("%w (last attempt: %v)", err, last.err)
	}
	return &attemptError{kind: kind, err: err, final: true}
}

// finish turns an attemptError into the *registry.Error the caller sees.
func (c *Client) finish(dep registry.Dependency, ae *attemptError, attempts int) error {
	err := ae.err
	if attempts > 1 && err != nil {
		err = fmt.Errorf("httpreg: after %d attempts: %w", attempts, err)
	}
	return &registry.Error{Dependency: dep, Kind: ae.kind, Status: ae.status, Err: err}
}

// attempt sends one request and classifies the outcome.
func (c *Client) attempt(ctx context.Context, url string, body []byte, decode func(int, []byte) *attemptError) *attemptError {
	actx, cancel := context.WithTimeoutCause(ctx, c.cfg.Timeout, errAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &attemptError{kind: registry.KindNetwork, err: fmt.Errorf("httpreg: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if c.cfg.Authorize != nil {
		if err := c.cfg.Authorize(req); err != nil {
			return &attemptError{kind: registry.KindNetwork, err: fmt.Errorf("httpreg: authorize: %w", err)}
		}
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return c.transportError(ctx, actx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
	if err != nil {
		return c.transportError(ctx, actx, err)
	}
	if int64(len(data)) > c.cfg.MaxResponseBytes {
		return &attemptError{kind: registry.KindMalformed, result: resultFailure,
			err: fmt.Errorf("httpreg: response larger than %d bytes", c.cfg.MaxResponseBytes)}
	}
	if resp.StatusCode == http.StatusOK {
		if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			return &attemptError{kind: registry.KindMalformed, result: resultFailure,
				err: fmt.Errorf("httpreg: response content type %q, want application/json", resp.Header.Get("Content-Type"))}
		}
	}
	if ae := decode(resp.StatusCode, data); ae != nil {
		return ae
	}
	switch s := resp.StatusCode; {
	case s == http.StatusOK:
		return nil
	case s >= 500:
		return &attemptError{kind: registry.KindStatus, status: s, retry: true, result: resultFailure, err: statusError(s, data)}
	default:
		// The service answered; it is up, but refused this request.
		return &attemptError{kind: registry.KindStatus, status: s, result: resultSuccess, err: statusError(s, data)}
	}
}

func statusError(status int, body []byte) error {
	if code := decodeError(body); code != "" {
		return fmt.Errorf("httpreg: HTTP %d %q", status, code)
	}
	return fmt.Errorf("httpreg: HTTP %d", status)
}

// transportError classifies a failure to send or read: the caller's ctx,
// the attempt's own timeout, or the network.
func (c *Client) transportError(ctx, actx context.Context, err error) *attemptError {
	if ctx.Err() != nil {
		return callerDone(ctx, nil)
	}
	if errors.Is(context.Cause(actx), errAttemptTimeout) {
		return &attemptError{kind: registry.KindTimeout, retry: true, result: resultFailure,
			err: fmt.Errorf("httpreg: attempt timed out after %v: %w", c.cfg.Timeout, context.DeadlineExceeded)}
	}
	return &attemptError{kind: registry.KindNetwork, retry: true, result: resultFailure, err: fmt.Errorf("httpreg: %w", err)}
}

// backoff returns the full-jitter sleep before retry n (n >= 1).
func (c *Client) backoff(n int) time.Duration {
	ceiling := c.cfg.BackoffMax
	if n-1 < 62 {
		if d := c.cfg.BackoffBase << (n - 1); d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return time.Duration(c.cfg.Rand() * float64(ceiling))
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
