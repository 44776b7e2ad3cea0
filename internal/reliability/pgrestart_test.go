package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
)

// pgServer is a private throw-away PostgreSQL server (scripts/pg.sh on a
// port and directory of its own), so restarting it disturbs no other test.
type pgServer struct {
	env []string
	dsn string
}

// startPrivatePG starts a server; it is stopped and removed at cleanup.
// Without the PostgreSQL binaries the test is skipped outside CI.
func startPrivatePG(t *testing.T) *pgServer {
	t.Helper()
	script, err := filepath.Abs("../../scripts/pg.sh")
	require.NoError(t, err)
	if _, err := exec.LookPath("initdb"); err != nil {
		if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) == 0 {
			if os.Getenv("CI") == "true" {
				t.Fatal("PostgreSQL server binaries not found (CI=true)")
			}
			t.Skip("PostgreSQL server binaries not found")
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &pgServer{env: append(os.Environ(), fmt.Sprintf("HOVIYAT_PG_PORT=%d", port),
		fmt.Sprintf("HOVIYAT_PG_DIR=/tmp/hoviyat-pg-rel-%d-%d", os.Getpid(), port))}
	out, err := s.run(script, "start")
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { _, _ = s.run(script, "stop") })
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "export HOVIYAT_PG_DSN="); ok {
			s.dsn = strings.Trim(v, "'")
		}
	}
	require.NotEmpty(t, s.dsn, "pg.sh printed no DSN: %s", out)
	s.env = append(s.env, "PGSCRIPT="+script)
	return s
}

func (s *pgServer) run(script, verb string) (string, error) {
	cmd := exec.Command(script, verb)
	cmd.Env = s.env
	var out strings.Builder
	cmd.Stdout = &out
	err := cmd.Run() // stderr: pg_ctl's progress, not needed
	return out.String(), err
}

// restart does an immediate restart (pg_ctl -m immediate: every backend
// is killed without a checkpoint, then crash recovery runs).
func (s *pgServer) restart(t *testing.T) {
	t.Helper()
	var script string
	for _, e := range s.env {
		if v, ok := strings.CutPrefix(e, "PGSCRIPT="); ok {
			script = v
		}
	}
	out, err := s.run(script, "restart")
	require.NoError(t, err, "%s", out)
}

// submission is one decision a client was given.
type submission struct {
	attemptID string
	outcome   kyc.Outcome
	counted   bool
}

// TestPostgresRestartUnderLoad restarts PostgreSQL (immediate mode) while
// 32 goroutines run ceremonies against it. Calls during the outage fail
// with errors naming the store; nothing they reserved is counted; after
// the lease every stuck reservation is abandoned by the next attempt;
// every decision a client was given is in the database as given; the
// invariants hold, the provider took one charge per decided attempt (a fee
// whose confirmation the outage cut off is asked for again under its own
// charge ID) and the audit chain verifies.
//
// The store's sessions set synchronous_commit=on: the throw-away server
// runs with it off, and an immediate restart then loses commits already
// acknowledged (PostgreSQL's documented trade-off), which no application
// can survive.
func TestPostgresRestartUnderLoad(t *testing.T) {
	ctx := context.Background()
	srv := startPrivatePG(t)
	const people, workers = 300, 32
	schema := randomSchema("rel_restart_")
	dsn := srv.dsn + "&synchronous_commit=on"
	openPG(t, dsn, schema)
	ids := nids(people)
	cfg := nodeConfig{Store: "postgres:" + dsn, Schema: schema, NIDs: ids, Fee: 2000,
		ChargeLog: filepath.Join(t.TempDir(), "charges.log"), MaxConns: 16}
	st, err := openStore(ctx, cfg)
	require.NoError(t, err)
	defer st.Close()
	n, err := newNode(cfg, st, func(c *kyc.Config) { c.MaxConcurrent = 8 })
	require.NoError(t, err)
	var wg sync.WaitGroup
	var confirmErr atomic.Value
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < len(ids); i += 16 {
				if err := n.ConfirmOTP(ctx, n.applicants[ids[i]]); err != nil {
					confirmErr.Store(err)
				}
			}
		})
	}
	wg.Wait()
	require.Nil(t, confirmErr.Load())

	var (
		mu          sync.Mutex
		given       []submission
		ok, storeEr atomic.Int64
		other       []string
		firstErr    time.Time
		lastErr     time.Time
	)
	stop := make(chan struct{})
	storeErr := func(err error) bool {
		var ke *kyc.Error
		return errors.As(err, &ke) && ke.Code == kyc.CodeDependency && ke.Dependency == "store"
	}
	noteErr := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if storeErr(err) {
			storeEr.Add(1)
			if firstErr.IsZero() {
				firstErr = now
			}
			lastErr = now
			return
		}
		if len(other) < 20 {
			other = append(other, err.Error())
		}
	}
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(7, uint64(w)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := ids[rng.IntN(len(ids))]
				s, err := n.Verifier.Begin(ctx, n.applicants[id])
				if errors.Is(err, kyc.ErrNotEligible) {
					continue
				}
				if err != nil {
					noteErr(err)
					time.Sleep(5 * time.Millisecond)
					continue
				}
				vs := kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: id, Delay: time.Duration(10+rng.IntN(40)) * time.Millisecond}
				if rng.IntN(4) == 0 {
					vs.Behaviour = kyctest.Live
				}
				d, err := n.Verifier.Submit(ctx, s.ID, kyctest.Video(vs))
				switch {
				case errors.Is(err, kyc.ErrAttemptInProgress):
				case err != nil:
					noteErr(err)
				default:
					ok.Add(1)
					mu.Lock()
					if d.AttemptID != "" {
						given = append(given, submission{d.AttemptID, d.Outcome, d.Counted})
					}
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	okBefore := ok.Load()
	restartBegan := time.Now()
	srv.restart(t)
	restartDone := time.Now()
	// Keep going until well after the restart, then stop.
	time.Sleep(2500 * time.Millisecond)
	close(stop)
	wg.Wait()
	end := time.Now()
	okAfter := ok.Load() - okBefore

	require.Empty(t, other, "errors other than the store's during the outage")
	require.Positive(t, storeEr.Load(), "the restart was not noticed (no store error)")
	require.Positive(t, okAfter, "no decision after the restart")
	mu.Lock()
	recoveredIn := time.Duration(0)
	if !lastErr.IsZero() {
		recoveredIn = lastErr.Sub(restartDone)
	}
	mu.Unlock()

	// Every decision a client was given is stored exactly as given.
	for _, g := range given {
		a, err := st.Attempt(ctx, g.attemptID)
		require.NoError(t, err, "decision %s lost", g.attemptID)
		assert.Equal(t, kyc.AttemptDecided, a.State, g.attemptID)
		assert.Equal(t, g.outcome, a.Outcome, g.attemptID)
		assert.Equal(t, g.counted, a.Counted, g.attemptID)
	}

	// Restart of the application: after the lease, one live submission
	// per active national ID takes over any stuck reservation.
	before := checkStormState(t, ctx, st, ids)
	n.Clock.Advance(cfg.lease() + time.Second)
	recovered := 0
	for _, id := range ids {
		app, err := st.Applicant(ctx, id)
		require.NoError(t, err)
		if app.State != kyc.StateActive {
			continue
		}
		s, err := n.Verifier.Begin(ctx, n.applicants[id])
		require.NoError(t, err)
		d, err := n.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(id))
		require.NoError(t, err)
		require.Equal(t, kyc.Approved, d.Outcome)
		recovered++
	}
	tl := checkInvariants(t, ctx, st, ids, 3, true)
	decidedByClients := len(given) + recovered
	ambiguous := tl.Decided - decidedByClients
	assert.GreaterOrEqual(t, ambiguous, 0)

	// Fees: a charge whose confirmation (or whose attempt's release) the
	// outage interrupted stayed recorded, pending or confirmed, and was
	// carried over; the provider took one charge per decided attempt.
	log := chargeLog(t, cfg.ChargeLog)
	ff := checkCharges(t, log, tl, ids)
	assert.Zero(t, ff.Floating, "every ID's last attempt is decided after the recovery")
	assert.Equal(t, tl.Decided, ff.Taken, "one charge per decided attempt")

	figures(t, "pg_restart", "workers", workers, "people", people, "run", end.Sub(start),
		"restart_call", restartDone.Sub(restartBegan), "store_errors", storeEr.Load(),
		"errors_from_restart_to_last", recoveredIn, "errors_window", lastErr.Sub(firstErr),
		"decisions_before_restart", okBefore, "decisions_after_restart", okAfter,
		"decisions_checked_in_db", len(given), "reserved_left_by_outage", before.Reserved,
		"void", tl.Void, "abandoned", tl.Abandoned, "counted", tl.Counted, "approved", tl.Approved,
		"committed_but_client_saw_error", ambiguous, "pending_fees_at_restart", before.pendingFees,
		"charges_taken", ff.Taken, "charges_recorded", tl.Charges, "charge_requests_replayed", ff.Replayed)
}
