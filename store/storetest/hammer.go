package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
)

// HammerConfig configures Hammer. Zero fields take the documented
// defaults. It is a plain value; Hammer copies it.
type HammerConfig struct {
	// NationalID every worker submits for. Required.
	NationalID string
	// Workers is the number of goroutines, each with its own session
	// (default 200).
	Workers int
	// MaxAttempts is the failed-attempt limit (default 3).
	MaxAttempts int
	// Prefix makes session and attempt IDs unique; processes hammering
	// one database need different prefixes. Required.
	Prefix string
	// Now is the time passed to the store (sessions and leases last an
	// hour from it, so no lease expires). Default: the wall clock.
	Now time.Time
	// Ready, when set, is called after the sessions are created; the
	// workers start when it returns (an error aborts Hammer). Several
	// processes use it as a start barrier (see SpawnHammers).
	Ready func(ctx context.Context) error
	// Spread: each worker then waits a random time in [0, Spread) before
	// reserving, so that reservations follow one another as well as
	// collide (default 40 ms).
	Spread time.Duration
	// ApproveOdds is the probability that a reserved attempt is approved
	// rather than rejected (default 0.25).
	ApproveOdds float64
	// Hold is the longest a worker holds its reservation before finishing
	// (a random time in [0, Hold); default 1 ms).
	Hold time.Duration
}

// HammerResult counts what the workers of one Hammer call saw. It is a
// plain value (JSON-encodable, to pass between processes); Add is not
// safe for concurrent use.
type HammerResult struct {
	Workers  int
	Reserved int
	// Approved and Rejected count finished attempts by outcome.
	Approved int
	Rejected int
	// Refused counts refused reservations by error code.
	Refused map[kyc.ErrorCode]int
	// MaxInFlight is the most attempts this process held reserved at one
	// time; the store's invariant makes it at most 1.
	MaxInFlight int
	// Problems lists invariant violations and unexpected errors.
	Problems []string
	// Started and Ended bound the reservations in wall-clock time, so that
	// callers running several processes can check that they overlapped.
	Started, Ended time.Time
}

// Add merges o into r (for results from several processes).
func (r *HammerResult) Add(o HammerResult) {
	r.Workers += o.Workers
	r.Reserved += o.Reserved
	r.Approved += o.Approved
	r.Rejected += o.Rejected
	r.MaxInFlight = max(r.MaxInFlight, o.MaxInFlight)
	r.Problems = append(r.Problems, o.Problems...)
	if r.Refused == nil {
		r.Refused = map[kyc.ErrorCode]int{}
	}
	for k, v := range o.Refused {
		r.Refused[k] += v
	}
}

// Hammer runs cfg.Workers goroutines that each create a session for one
// national ID, reserve an attempt and finish it approved or rejected
// (counted) at random. Every refusal must be one of ErrAttemptInProgress,
// ErrLocked, ErrAlreadyVerified and ErrAttemptsExhausted; every finish of
// a successful reservation must succeed; at most one attempt may be in
// flight at a time. Violations are listed in HammerResult.Problems; the
// error is for set-up failures only. Check the stored state afterwards
// with CheckNationalID.
func Hammer(ctx context.Context, st kyc.Store, cfg HammerConfig) (HammerResult, error) {
	if cfg.NationalID == "" || cfg.Prefix == "" {
		return HammerResult{}, errors.New("storetest: Hammer needs NationalID and Prefix")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 200
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	if cfg.Spread <= 0 {
		cfg.Spread = 40 * time.Millisecond
	}
	if cfg.ApproveOdds <= 0 {
		cfg.ApproveOdds = 0.25
	}
	if cfg.Hold <= 0 {
		cfg.Hold = time.Millisecond
	}
	now := cfg.Now.UTC().Truncate(time.Microsecond)

	sessions := make([]string, cfg.Workers)
	for i := range sessions {
		sessions[i] = fmt.Sprintf("%s-s%d", cfg.Prefix, i)
		if err := st.CreateSession(ctx, kyc.SessionRecord{ID: sessions[i], NationalID: cfg.NationalID, Challenge: "c",
			Nonce: sessions[i], CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return HammerResult{}, fmt.Errorf("storetest: Hammer: create session: %w", err)
		}
	}
	// Warm the store's connection pool, so that the first reservations
	// do not wait for connections while another process races ahead.
	var warm sync.WaitGroup
	for range min(cfg.Workers, 32) {
		warm.Go(func() { _, _ = st.Applicant(ctx, cfg.NationalID) })
	}
	warm.Wait()
	if cfg.Ready != nil {
		if err := cfg.Ready(ctx); err != nil {
			return HammerResult{}, fmt.Errorf("storetest: Hammer: ready: %w", err)
		}
	}

	var (
		mu       sync.Mutex
		res      = HammerResult{Workers: cfg.Workers, Refused: map[kyc.ErrorCode]int{}}
		inflight atomic.Int32
		gate     = make(chan struct{})
		wg       sync.WaitGroup
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		res.Problems = append(res.Problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for i := range cfg.Workers {
		wg.Go(func() {
			<-gate
			time.Sleep(time.Duration(rand.Int64N(int64(cfg.Spread))))
			id := fmt.Sprintf("%s-a%d", cfg.Prefix, i)
			_, err := st.ReserveAttempt(ctx, kyc.Reservation{AttemptID: id, SessionID: sessions[i], NationalID: cfg.NationalID,
				MaxAttempts: cfg.MaxAttempts, Now: now, LeaseUntil: now.Add(time.Hour),
				Event: kyc.AuditEvent{Kind: kyc.AuditAttemptReserved, Actor: "applicant", Time: now}})
			if err != nil {
				code, ok := refusalCode(err)
				if !ok {
					problem("reservation %s: unexpected error %v", id, err)
					return
				}
				mu.Lock()
				res.Refused[code]++
				mu.Unlock()
				return
			}
			n := inflight.Add(1)
			mu.Lock()
			res.Reserved++
			res.MaxInFlight = max(res.MaxInFlight, int(n))
			mu.Unlock()
			if n > 1 {
				problem("%d attempts in flight at once (%s)", n, id)
			}
			time.Sleep(time.Duration(rand.Int64N(int64(cfg.Hold))))
			outcome, counted := kyc.Rejected, true
			if rand.Float64() < cfg.ApproveOdds {
				outcome, counted = kyc.Approved, false
			}
			// Leave the slot before finishing: once the finish commits
			// another worker may reserve at once.
			inflight.Add(-1)
			_, err = st.FinishAttempt(ctx, kyc.Finish{AttemptID: id, NationalID: cfg.NationalID, Outcome: outcome,
				Reasons: reasonsFor(outcome), Counted: counted, MaxAttempts: cfg.MaxAttempts, Now: now,
				Event: kyc.AuditEvent{Kind: kyc.AuditAttemptDecided, Actor: "system", Time: now}})
			if err != nil {
				problem("finish %s: %v", id, err)
				return
			}
			mu.Lock()
			if outcome == kyc.Approved {
				res.Approved++
			} else {
				res.Rejected++
			}
			mu.Unlock()
		})
	}
	res.Started = time.Now()
	close(gate)
	wg.Wait()
	res.Ended = time.Now()
	return res, ctx.Err()
}

// refusalCode returns the code of an expected refusal.
func refusalCode(err error) (kyc.ErrorCode, bool) {
	for _, s := range []*kyc.Error{kyc.ErrAttemptInProgress, kyc.ErrLocked, kyc.ErrAlreadyVerified, kyc.ErrAttemptsExhausted} {
		if errors.Is(err, s) {
			return s.Code, true
		}
	}
	return "", false
}

// CheckNationalID checks the stored state of a national ID that Hammer
// calls (possibly in several processes, their results merged with
// HammerResult.Add and passed here) left behind: failed attempts at most
// maxAttempts and equal to the counted attempts, locked exactly when the
// limit is reached, at most one approval and verified exactly then, no
// attempt left in flight, one session per attempt, counts that agree with
// what the workers saw, and a valid audit chain. A zero res skips the
// comparison with the workers' counts.
func CheckNationalID(ctx context.Context, st kyc.Store, nid string, maxAttempts int, res HammerResult) error {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	app, err := st.Applicant(ctx, nid)
	if err != nil {
		return fmt.Errorf("storetest: Applicant: %w", err)
	}
	atts, err := st.Attempts(ctx, nid)
	if err != nil {
		return fmt.Errorf("storetest: Attempts: %w", err)
	}
	approved, counted := 0, 0
	sessions := map[string]bool{}
	for _, a := range atts {
		if sessions[a.SessionID] {
			bad("session %s reserved twice", a.SessionID)
		}
		sessions[a.SessionID] = true
		if a.State != kyc.AttemptDecided {
			bad("attempt %s left %s", a.ID, a.State)
		}
		if a.Outcome == kyc.Approved {
			approved++
		}
		if a.Counted {
			counted++
		}
	}
	if approved > 1 {
		bad("%d approved attempts", approved)
	}
	if counted > maxAttempts || app.FailedAttempts > maxAttempts {
		bad("%d counted attempts, FailedAttempts %d, limit %d", counted, app.FailedAttempts, maxAttempts)
	}
	if app.FailedAttempts != counted {
		bad("FailedAttempts %d but %d counted attempts", app.FailedAttempts, counted)
	}
	if (approved == 1) != (app.State == kyc.StateVerified) {
		bad("state %s with %d approvals", app.State, approved)
	}
	if approved == 0 && (app.FailedAttempts >= maxAttempts) != (app.State == kyc.StateLocked) {
		bad("state %s with %d failures of %d", app.State, app.FailedAttempts, maxAttempts)
	}
	if app.InflightAttempt != "" {
		bad("attempt %s still in flight", app.InflightAttempt)
	}
	if res.Workers > 0 {
		if res.Reserved != len(atts) || res.Approved != approved || res.Rejected != counted {
			bad("workers saw %d reservations (%d approved, %d rejected), the store has %d attempts (%d approved, %d counted)",
				res.Reserved, res.Approved, res.Rejected, len(atts), approved, counted)
		}
		refused := 0
		for _, n := range res.Refused {
			refused += n
		}
		if res.Reserved+refused+len(res.Problems) != res.Workers {
			bad("%d workers but %d reservations, %d refusals and %d problems", res.Workers, res.Reserved, refused, len(res.Problems))
		}
		if res.MaxInFlight > 1 {
			bad("%d attempts in flight at once", res.MaxInFlight)
		}
	}
	if err := VerifyAudit(ctx, st); err != nil {
		bad("audit: %v", err)
	}
	if len(probs) > 0 {
		return fmt.Errorf("storetest: national ID %s: %s", nid, strings.Join(probs, "; "))
	}
	return nil
}
