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

// blockingCharger charges through the provider, announces it, and then
// blocks for good: the process dies after the money was taken and before
// the store confirmed the charge (it is recorded pending).
type blockingCharger struct {
	inner kyc.Charger
	out   *lineWriter
}

func (c blockingCharger) Charge(ctx context.Context, ch kyc.Charge) (string, error) {
	if _, err := c.inner.Charge(ctx, ch); err != nil {
		return "", err
	}
	c.out.line("charged %s", ch.ChargeID)
	select {}
}

// childCrash begins a session for the first person and submits; the
// detector (or the charger) blocks, so the process sits in the middle of
// Submit until the parent kills it.
func childCrash(ctx context.Context, spec childSpec, out *lineWriter) error {
	st, err := openStore(ctx, spec.Node)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := newNode(spec.Node, st, func(c *kyc.Config) {
		if spec.CrashIn == "charger" {
			c.Charger = blockingCharger{inner: c.Charger, out: out}
			return
		}
		c.Detector = blockingDetector{out: out}
	})
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

// TestKilledMidSubmit kills (SIGKILL) a process in the middle of Submit,
// then "restarts": the reservation blocks the national ID until its lease
// runs out, is then abandoned (not counted), the national ID is approved
// exactly once among concurrent retries, and the audit chain is intact.
// The provider takes one charge in all: killed in the detector (reserved,
// charged and confirmed), the dead attempt's confirmed fee pays for the
// next attempt without asking the provider; killed inside the charger (the
// provider took the fee, the store holds it pending), the next attempt
// asks again under the same charge ID and the provider answers the same
// reference without charging (see checkCharges).
func TestKilledMidSubmit(t *testing.T) {
	for name, backend := range crashBackends(t) {
		for _, crashIn := range []string{"detector", "charger"} {
			t.Run(name+"/"+crashIn, func(t *testing.T) {
				killedMidSubmit(t, name, crashIn, backend)
			})
		}
	}
}

func killedMidSubmit(t *testing.T, name, crashIn string, backend func(t *testing.T, ids []string) nodeConfig) {
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

	c := startChild(t, childSpec{Mode: "crash", Node: cfg, CrashIn: crashIn})
	sid := c.expect(t, "session ", 30*time.Second)
	charged := ""
	if crashIn == "charger" {
		charged = c.expect(t, "charged ", 30*time.Second)
	} else {
		c.expect(t, "detecting ", 30*time.Second)
	}
	atts, err := st.Attempts(ctx, nid)
	require.NoError(t, err)
	require.Len(t, atts, 1)
	dead := atts[0]
	require.Equal(t, kyc.AttemptReserved, dead.State, "the attempt is reserved")
	require.Equal(t, sid, dead.SessionID)
	require.NotNil(t, dead.Charge, "the fee is recorded with the reservation")
	if crashIn == "charger" {
		require.True(t, dead.Charge.Pending(), "killed before the store confirmed the fee")
		require.Equal(t, dead.Charge.ID, charged, "the provider was asked for the recorded charge ID")
	} else {
		require.False(t, dead.Charge.Pending(), "the fee is confirmed before the analysis")
	}
	require.Len(t, chargeLog(t, cfg.ChargeLog).Charges, 1)

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

	old, err := st.Attempt(ctx, dead.ID)
	require.NoError(t, err)
	assert.Equal(t, kyc.AttemptAbandoned, old.State)
	assert.False(t, old.Counted)
	tl := checkInvariants(t, ctx, st, ids, 3, true)
	assert.Equal(t, 1, tl.Approved)
	assert.Equal(t, 1, tl.Abandoned)
	assert.Zero(t, tl.Counted)
	assert.Equal(t, 1, tl.Charges)
	log := chargeLog(t, cfg.ChargeLog)
	ff := checkCharges(t, log, tl, ids)
	assert.Zero(t, ff.Floating, "the dead attempt's fee moved to the approved one")
	assert.Equal(t, dead.Charge.ID, winner.Fee.ID, "the dead attempt's fee pays for the approved one")
	assert.Equal(t, "ref-"+dead.Charge.ID, winner.Fee.Ref, "the provider's reference for that charge ID")
	assert.Len(t, log.Charges, 1, "charged once in all")
	if crashIn == "charger" {
		assert.Equal(t, 1, log.Replays[dead.Charge.ID], "asked again under the same charge ID, not charged")
	} else {
		assert.Zero(t, ff.Replayed, "a confirmed fee is not asked for again")
	}
	figures(t, "kill_mid_submit", "backend", name, "killed_in", crashIn, "lease", cfg.lease(),
		"retries_after_lease", retries, "approved", approved, "in_progress", inProgress,
		"already_verified", refused, "abandoned", tl.Abandoned, "counted", tl.Counted,
		"charges_taken", ff.Taken, "charge_requests_replayed", ff.Replayed, "recovery_wall_time", time.Since(killedAt))
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

			// Fees: whatever instant the processes died at, the provider
			// took one charge per decided attempt and no other (every
			// charge left by a dead attempt, pending or confirmed, was
			// carried over by the recovery and asked for again under its
			// own ID).
			log := chargeLog(t, cfg.ChargeLog)
			ff := checkCharges(t, log, tl, ids)
			assert.Zero(t, ff.Floating, "every ID's last attempt is decided after the recovery")
			assert.Equal(t, tl.Decided, ff.Taken, "one charge per decided attempt")
			figures(t, "kill_storm", "backend", name, "rounds", rounds, "people", people, "workers", workers,
				"kill_after_p50", pct(lifetimes, 50),
				"reserved_at_restart", before.Reserved, "pending_fees_at_restart", before.pendingFees,
				"attempts", tl.Attempts, "decided", tl.Decided,
				"void", tl.Void, "abandoned", tl.Abandoned, "counted", tl.Counted, "approved", tl.Approved,
				"locked", tl.Locked, "recovered_ids", recovered, "charges_taken", ff.Taken, "charges_recorded", tl.Charges,
				"charge_requests_replayed", ff.Replayed)
		})
	}
}

// checkStormState counts the state the killed processes left (reserved
// attempts and pending fees included) before recovery.
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
			if a.Charge != nil && a.Charge.Pending() {
				tl.pendingFees++
			}
		}
	}
	return tl
}
