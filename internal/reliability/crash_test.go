package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
)

// blockingDetector announces each Detect call on the helper's stdout and
// then blocks until its context ends: the process is killed while its
// attempt is reserved and charged.
type blockingDetector struct{ out *lineWriter }

func (d blockingDetector) Detect(ctx context.Context, v liveness.Video, ch liveness.Challenge) (liveness.Result, error) {
	d.out.line("detecting %s", ch.Nonce)
	<-ctx.Done()
	return liveness.Result{}, ctx.Err()
}

// childCrash begins a session for the first person and submits; the
// detector blocks, so the process sits with a reserved, charged attempt
// until the parent kills it.
func childCrash(ctx context.Context, spec childSpec, out *lineWriter) error {
	st, err := openStore(ctx, spec.Node)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := newNode(spec.Node, st, func(c *kyc.Config) { c.Detector = blockingDetector{out: out} })
	if err != nil {
		return err
	}
	a := n.applicants[spec.Node.NIDs[0]]
	s, err := n.Verifier.Begin(ctx, a)
	if err != nil {
		return err
	}
	out.line("session %s", s.ID)
	_, err = n.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(a.NationalID))
	return fmt.Errorf("Submit returned (%v) instead of blocking", err)
}

// crashBackends returns the stores the crash scenarios run on: SQLite, and
// PostgreSQL (HOVIYAT_PG_DSN) in a fresh schema.
func crashBackends(t *testing.T) map[string]func(t *testing.T, ids []string) nodeConfig {
	return map[string]func(t *testing.T, ids []string) nodeConfig{
		"sqlite": sqliteNodeConfig,
		"postgres": func(t *testing.T, ids []string) nodeConfig {
			dsn := pgDSN(t)
			schema := randomSchema("rel_crash_")
			openPG(t, dsn, schema) // creates the schema; dropped at cleanup
			return nodeConfig{Store: "postgres:" + dsn, Schema: schema, NIDs: ids}
		},
	}
}

// TestKilledMidSubmit kills (SIGKILL) a process whose Submit holds a
// reserved, charged attempt, then "restarts": the reservation blocks the
// national ID until its lease runs out, is then abandoned (not counted),
// its fee pays for the next attempt (charged once in all), the national
// ID is approved exactly once among concurrent retries, and the audit
// chain is intact.
func TestKilledMidSubmit(t *testing.T) {
	for name, backend := range crashBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ids := nids(1)
			nid := ids[0]
			cfg := backend(t, ids)
			cfg.Fee = 9000
			cfg.ChargeLog = filepath.Join(t.TempDir(), "charges.log")
			st, err := openStore(ctx, cfg)
			require.NoError(t, err)
			defer st.Close()
			p, err := newNode(cfg, st, nil)
			require.NoError(t, err)
			require.NoError(t, p.confirmAll(ctx))

			c := startChild(t, childSpec{Mode: "crash", Node: cfg})
			sid := c.expect(t, "session ", 30*time.Second)
			c.expect(t, "detecting ", 30*time.Second)
			atts, err := st.Attempts(ctx, nid)
			require.NoError(t, err)
			require.Len(t, atts, 1)
			dead := atts[0]
			require.Equal(t, kyc.AttemptReserved, dead.State, "the attempt is reserved while the detector runs")
			require.Equal(t, sid, dead.SessionID)
			require.NotNil(t, dead.Charge, "the fee is charged before the analysis")
			require.Len(t, chargeLog(t, cfg.ChargeLog), 1)

			killedAt := time.Now()
			c.kill(t)

			// Restarted, within the lease: the slot is still held.
			s, err := p.Verifier.Status(ctx, nid)
			require.NoError(t, err)
			assert.True(t, s.InProgress, "the dead attempt holds the slot until its lease ends")
			assert.Zero(t, s.AttemptsUsed)
			ses, err := p.Verifier.Begin(ctx, p.applicants[nid])
			require.NoError(t, err)
			_, err = p.Verifier.Submit(ctx, ses.ID, kyctest.LiveVideo(nid))
			require.ErrorIs(t, err, kyc.ErrAttemptInProgress)
			rec, err := st.Session(ctx, ses.ID)
			require.NoError(t, err)
			assert.True(t, rec.UsedAt.IsZero(), "a refused reservation leaves the session unused")

			// After the lease: concurrent retries, one approval.
			p.Clock.Advance(cfg.lease() + time.Second)
			s, err = p.Verifier.Status(ctx, nid)
			require.NoError(t, err)
			assert.False(t, s.InProgress)
			const retries = 6
			var wg sync.WaitGroup
			decisions := make([]kyc.Decision, retries)
			errs := make([]error, retries)
			sessions := []string{ses.ID}
			for range retries - 1 {
				ss, err := p.Verifier.Begin(ctx, p.applicants[nid])
				require.NoError(t, err)
				sessions = append(sessions, ss.ID)
			}
			for i := range retries {
				wg.Go(func() {
					decisions[i], errs[i] = p.Verifier.Submit(ctx, sessions[i], kyctest.LiveVideo(nid))
				})
			}
			wg.Wait()
			approved, inProgress, refused := 0, 0, 0
			var winner kyc.Decision
			for i := range retries {
				switch {
				case errors.Is(errs[i], kyc.ErrAttemptInProgress):
					inProgress++
				case errs[i] != nil:
					t.Errorf("retry %d: %v", i, errs[i])
				case decisions[i].Outcome == kyc.Approved:
					approved++
					winner = decisions[i]
				default:
					assert.False(t, decisions[i].Counted)
					assert.Contains(t, decisions[i].Reasons, reason.AlreadyVerified)
					refused++
				}
			}
			require.Equal(t, 1, approved, "exactly one approval")
			require.NotNil(t, winner.Fee)
			assert.Equal(t, "ref-"+dead.ID, winner.Fee.Ref, "the dead attempt's fee pays for the approved one")

			old, err := st.Attempt(ctx, dead.ID)
			require.NoError(t, err)
			assert.Equal(t, kyc.AttemptAbandoned, old.State)
			assert.False(t, old.Counted)
			tl := checkInvariants(t, ctx, st, ids, 3, true)
			assert.Equal(t, 1, tl.Approved)
			assert.Equal(t, 1, tl.Abandoned)
			assert.Zero(t, tl.Counted)
			assert.Equal(t, 1, tl.Charges)
			assert.Len(t, chargeLog(t, cfg.ChargeLog), 1, "charged once in all")
			figures(t, "kill_mid_submit", "backend", name, "lease", cfg.lease(),
				"retries_after_lease", retries, "approved", approved, "in_progress", inProgress,
				"already_verified", refused, "abandoned", tl.Abandoned, "counted", tl.Counted,
				"charges", len(chargeLog(t, cfg.ChargeLog)), "recovery_wall_time", time.Since(killedAt))
		})
	}
}

// childStorm runs concurrent ceremonies (begin + submit) over the node's
// people until it is killed: a quarter of the videos are live, the rest
// spoofs, each with a random detector delay.
func childStorm(ctx context.Context, spec childSpec, out *lineWriter) error {
	st, err := openStore(ctx, spec.Node)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := newNode(spec.Node, st, nil)
	if err != nil {
		return err
	}
	out.line("running")
	var wg sync.WaitGroup
	for w := range spec.Workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(spec.Seed, uint64(w)))
			for {
				id := spec.Node.NIDs[rng.IntN(len(spec.Node.NIDs))]
				s, err := n.Verifier.Begin(ctx, n.applicants[id])
				if err != nil {
					if !errors.Is(err, kyc.ErrNotEligible) {
						fmt.Fprintln(os.Stderr, "begin:", err)
					}
					time.Sleep(time.Millisecond)
					continue
				}
				vs := kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: id, Delay: time.Duration(rng.IntN(40)) * time.Millisecond}
				if rng.IntN(4) == 0 {
					vs.Behaviour = kyctest.Live
				}
				if _, err := n.Verifier.Submit(ctx, s.ID, kyctest.Video(vs)); err != nil && !errors.Is(err, kyc.ErrAttemptInProgress) {
					fmt.Fprintln(os.Stderr, "submit:", err)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// TestKillStorm kills a process running concurrent submissions at random
// moments, round after round (each round's clock a lease later than the
// last, so the next round finds the previous round's reservations
// expired), then recovers every national ID: whatever instant the
// processes died at, the invariants hold and every fee is accounted for.
func TestKillStorm(t *testing.T) {
	rounds, people, workers := 4, 160, 16
	if full() {
		rounds, people = 20, 800
	}
	for name, backend := range crashBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ids := nids(people)
			cfg := backend(t, ids)
			cfg.Fee = 5000
			cfg.ChargeLog = filepath.Join(t.TempDir(), "charges.log")
			st, err := openStore(ctx, cfg)
			require.NoError(t, err)
			defer st.Close()
			p, err := newNode(cfg, st, nil)
			require.NoError(t, err)
			require.NoError(t, p.confirmAll(ctx))

			step := cfg.lease() + time.Second
			var lifetimes []time.Duration
			for r := range rounds {
				rc := cfg
				rc.Now = kyctest.Start.Add(time.Duration(r) * step)
				c := startChild(t, childSpec{Mode: "storm", Node: rc, Workers: workers, Seed: uint64(r + 1)})
				c.expect(t, "running", 30*time.Second)
				life := time.Duration(50+rand.IntN(400)) * time.Millisecond
				time.Sleep(life)
				c.kill(t)
				lifetimes = append(lifetimes, life)
			}

			// Restart after the last lease: recover every active ID with
			// one more (live) submission.
			p.Clock.Set(kyctest.Start.Add(time.Duration(rounds) * step))
			before := checkStormState(t, ctx, st, ids)
			recovered := 0
			for _, id := range ids {
				app, err := st.Applicant(ctx, id)
				require.NoError(t, err)
				if app.State != kyc.StateActive {
					continue
				}
				s, err := p.Verifier.Begin(ctx, p.applicants[id])
				require.NoError(t, err)
				d, err := p.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(id))
				require.NoError(t, err)
				require.Equal(t, kyc.Approved, d.Outcome, "%s", id)
				recovered++
			}
			tl := checkInvariants(t, ctx, st, ids, 3, true)
			assert.Equal(t, people, tl.Verified+tl.Locked, "every ID ends verified or locked")

			// Fees: every charge the provider took is attached in the
			// store, except ones taken in the instant between charging
			// and recording (the provider's idempotency key, the attempt
			// ID, reconciles those).
			log := chargeLog(t, cfg.ChargeLog)
			unrecorded := 0
			for att := range log {
				if _, ok := tl.chargeRefs[att]; !ok {
					unrecorded++
				}
			}
			for ref := range tl.chargeRefs {
				_, ok := log[ref]
				assert.True(t, ok, "charge of %s not in the provider's log", ref)
			}
			assert.Equal(t, len(log), tl.Charges+unrecorded)
			assert.Less(t, unrecorded, rounds+1, "at most one unrecorded charge per kill")
			figures(t, "kill_storm", "backend", name, "rounds", rounds, "people", people, "workers", workers,
				"kill_after_p50", pct(lifetimes, 50),
				"reserved_at_restart", before.Reserved, "attempts", tl.Attempts, "decided", tl.Decided,
				"void", tl.Void, "abandoned", tl.Abandoned, "counted", tl.Counted, "approved", tl.Approved,
				"locked", tl.Locked, "recovered_ids", recovered, "charges_taken", len(log), "charges_recorded", tl.Charges,
				"charges_unrecorded", unrecorded)
		})
	}
}

// checkStormState counts the state the killed processes left (reserved
// attempts included) before recovery.
func checkStormState(t *testing.T, ctx context.Context, st kyc.Store, ids []string) tally {
	t.Helper()
	var tl tally
	for _, id := range ids {
		atts, err := st.Attempts(ctx, id)
		require.NoError(t, err)
		for _, a := range atts {
			tl.Attempts++
			if a.State == kyc.AttemptReserved {
				tl.Reserved++
			}
		}
	}
	return tl
}
