package reliability_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/store/postgres"
	"github.com/hoviyat/hoviyat/store/sqlite"
	"github.com/hoviyat/hoviyat/store/sqlstore"
	"github.com/hoviyat/hoviyat/store/storetest"
)

// nodeConfig describes a Verifier wired to kyctest fakes over a shared
// SQL store: what every process of a multi-process scenario builds, so
// they agree on people, policy and clock. A plain JSON value.
type nodeConfig struct {
	// Store is "sqlite:PATH" or "postgres:DSN".
	Store string
	// Schema is the PostgreSQL schema.
	Schema string
	// NIDs are the registry's people (adult, native, alive, with the
	// kyctest photo and mobile 0912 + digits 4-10 of the ID).
	NIDs []string
	// Fee charged per attempt (0: none).
	Fee int64
	// ChargeLog, when set, records every charge in this file (one line
	// per charge), so that charges survive a killed process.
	ChargeLog string
	// Now is where the node's clock starts (default kyctest.Start).
	Now time.Time
	// Lease is the attempt lease (default 2 minutes; the analysis timeout
	// is half of it).
	Lease time.Duration
	// MaxConns caps the store's connections (0: the backend default).
	MaxConns int
	// Photo, when set, is a JPEG file used as every person's registry
	// photo (instead of the kyctest photo the fake matcher reads).
	Photo string
}

func (c nodeConfig) lease() time.Duration {
	if c.Lease == 0 {
		return 2 * time.Minute
	}
	return c.Lease
}

// openStore opens the node's store.
func openStore(ctx context.Context, c nodeConfig) (*sqlstore.Store, error) {
	switch {
	case strings.HasPrefix(c.Store, "sqlite:"):
		var opts []sqlite.Option
		if c.MaxConns > 0 {
			opts = append(opts, sqlite.WithMaxOpenConns(c.MaxConns))
		}
		return sqlite.Open(ctx, strings.TrimPrefix(c.Store, "sqlite:"), opts...)
	case strings.HasPrefix(c.Store, "postgres:"):
		opts := []postgres.Option{postgres.WithSchema(c.Schema)}
		if c.MaxConns > 0 {
			opts = append(opts, postgres.WithMaxOpenConns(c.MaxConns))
		}
		return postgres.Open(ctx, strings.TrimPrefix(c.Store, "postgres:"), opts...)
	}
	return nil, fmt.Errorf("bad store %q", c.Store)
}

// node is a Verifier of a scenario with the applicants of its people.
type node struct {
	*kyctest.Harness
	cfg        nodeConfig
	applicants map[string]kyc.Applicant
}

// newNode builds the Verifier; configure, if set, edits its Config last.
func newNode(c nodeConfig, st kyc.Store, configure func(*kyc.Config)) (*node, error) {
	now := c.Now
	if now.IsZero() {
		now = kyctest.Start
	}
	var charger kyc.Charger
	if c.ChargeLog != "" {
		charger = &fileCharger{path: c.ChargeLog}
	}
	h, err := kyctest.New(kyctest.Options{Store: st, Fee: c.Fee, Now: now, Configure: func(k *kyc.Config) {
		k.AttemptLease = c.lease()
		k.AnalysisTimeout = c.lease() / 2
		k.OTPConfirmedTTL = 24 * time.Hour
		k.SessionTTL = time.Hour
		if charger != nil {
			k.Charger = charger
		}
		if configure != nil {
			configure(k)
		}
	}})
	if err != nil {
		return nil, err
	}
	var photo []byte
	if c.Photo != "" {
		if photo, err = os.ReadFile(c.Photo); err != nil {
			return nil, err
		}
	}
	n := &node{Harness: h, cfg: c, applicants: map[string]kyc.Applicant{}}
	for _, id := range c.NIDs {
		a, err := h.AddPerson(kyctest.PersonSpec{NationalID: id, Photo: photo})
		if err != nil {
			return nil, err
		}
		n.applicants[id] = a
	}
	return n, nil
}

// confirmAll confirms an OTP for every person (one process does it for
// all, before the others start).
func (n *node) confirmAll(ctx context.Context) error {
	for _, id := range n.cfg.NIDs {
		if err := n.ConfirmOTP(ctx, n.applicants[id]); err != nil {
			return fmt.Errorf("confirm OTP of %s: %w", id, err)
		}
	}
	return nil
}

// nids returns n distinct random valid national IDs.
func nids(n int) []string {
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		id := storetest.NationalID()
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// fileCharger is a kyc.Charger standing for a payment provider that
// remembers charges across crashes: every request is appended to a file,
// one line each ("charge" when the fee is taken, "replay" when the charge
// ID was already taken: the same reference is answered and nothing is
// charged). It is idempotent per ChargeID across processes: each request
// reads the file under an exclusive flock, which the kernel releases when
// a process is killed. Safe for concurrent use.
type fileCharger struct {
	path string
	mu   sync.Mutex
}

func (c *fileCharger) Charge(ctx context.Context, ch kyc.Charge) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if ch.ChargeID == "" || strings.ContainsAny(ch.ChargeID+ch.AttemptID, " \n") {
		return "", fmt.Errorf("fileCharger: bad charge %+v", ch)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := os.OpenFile(c.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	kind := "charge"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) == 5 && fs[0] == "charge" && fs[1] == ch.ChargeID {
			kind = "replay"
			break
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if _, err := fmt.Fprintf(f, "%s %s %s %s %d\n", kind, ch.ChargeID, ch.AttemptID, ch.NationalID, ch.Amount); err != nil {
		return "", err
	}
	return "ref-" + ch.ChargeID, nil
}

// providerCharge is one fee the provider took.
type providerCharge struct {
	NationalID string
	// AttemptID is the attempt the first request named.
	AttemptID string
}

// providerLog is what a fileCharger's file says.
type providerLog struct {
	// Charges are the fees taken, by charge ID.
	Charges map[string]providerCharge
	// Replays counts the requests for a charge ID already taken, by
	// charge ID.
	Replays map[string]int
}

// replays returns the number of replayed requests.
func (l providerLog) replays() int {
	n := 0
	for _, r := range l.Replays {
		n += r
	}
	return n
}

// chargeLog reads a fileCharger's file. A charge ID taken twice fails the
// test (the provider must never charge one ID twice).
func chargeLog(t testing.TB, path string) providerLog {
	t.Helper()
	out := providerLog{Charges: map[string]providerCharge{}, Replays: map[string]int{}}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out
	}
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		require.Len(t, fs, 5, "charge line %q", sc.Text())
		switch fs[0] {
		case "charge":
			_, dup := out.Charges[fs[1]]
			require.False(t, dup, "charge %s taken twice", fs[1])
			out.Charges[fs[1]] = providerCharge{NationalID: fs[3], AttemptID: fs[2]}
		case "replay":
			pc, ok := out.Charges[fs[1]]
			require.True(t, ok, "replay of charge %s before it was taken", fs[1])
			require.Equal(t, pc.NationalID, fs[3], "charge %s asked for another applicant", fs[1])
			out.Replays[fs[1]]++
		default:
			t.Fatalf("charge line %q", sc.Text())
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// storedCharge is a charge record with the state of the attempt holding
// it.
type storedCharge struct {
	kyc.ChargeRecord
	State kyc.AttemptState
}

// tally counts what the store holds for a set of national IDs.
type tally struct {
	IDs, Attempts, Decided, Counted, Approved, Void, Abandoned, Reserved int
	Locked, Verified                                                     int
	// Charges is the number of distinct charge records attached.
	Charges int
	// charges are the charge records by ID; decided counts the decided
	// attempts per national ID.
	charges map[string]storedCharge
	decided map[string]int
	// pendingFees counts pending charge records (checkStormState).
	pendingFees int
}

// checkInvariants checks, for every national ID in ids, what must hold
// after any faults once abandoned reservations are recovered: nothing
// reserved; at most maxAttempts counted attempts, equal to FailedAttempts
// and only decided ones; at most one approval and verified exactly then;
// locked exactly at the limit without approval; one session per attempt;
// with a fee, every decided attempt paid by exactly one confirmed charge
// and no charge attached to two attempts. Then the audit chain. It
// returns the totals.
func checkInvariants(t *testing.T, ctx context.Context, st kyc.Store, ids []string, maxAttempts int, fee bool) tally {
	t.Helper()
	tl := tally{IDs: len(ids), charges: map[string]storedCharge{}, decided: map[string]int{}}
	for _, id := range ids {
		app, err := st.Applicant(ctx, id)
		require.NoError(t, err)
		atts, err := st.Attempts(ctx, id)
		require.NoError(t, err)
		approved, counted := 0, 0
		sessions := map[string]bool{}
		for _, a := range atts {
			tl.Attempts++
			require.False(t, sessions[a.SessionID], "%s: session %s reserved twice", id, a.SessionID)
			sessions[a.SessionID] = true
			switch a.State {
			case kyc.AttemptDecided:
				tl.Decided++
				tl.decided[id]++
			case kyc.AttemptVoid:
				tl.Void++
			case kyc.AttemptAbandoned:
				tl.Abandoned++
			case kyc.AttemptReserved:
				tl.Reserved++
			}
			require.NotEqual(t, kyc.AttemptReserved, a.State, "%s: attempt %s still reserved after recovery", id, a.ID)
			if a.Counted {
				require.Equal(t, kyc.AttemptDecided, a.State, "%s: a %s attempt was counted", id, a.State)
				counted++
			}
			if a.State == kyc.AttemptDecided && a.Outcome == kyc.Approved {
				approved++
			}
			if a.Charge != nil {
				prev, dup := tl.charges[a.Charge.ID]
				require.False(t, dup, "%s: charge %s attached to %s and %s", id, a.Charge.ID, prev.AttemptID, a.ID)
				require.Equal(t, a.ID, a.Charge.AttemptID, "%s: charge %s says it pays for %s", id, a.Charge.ID, a.Charge.AttemptID)
				require.Equal(t, id, a.Charge.NationalID, "%s: charge %s", id, a.Charge.ID)
				tl.charges[a.Charge.ID] = storedCharge{*a.Charge, a.State}
			}
			if fee && a.State == kyc.AttemptDecided {
				require.NotNil(t, a.Charge, "%s: decided attempt %s has no fee", id, a.ID)
				require.False(t, a.Charge.Pending(), "%s: decided attempt %s has a pending fee", id, a.ID)
			}
		}
		require.LessOrEqual(t, counted, maxAttempts, "%s: counted attempts", id)
		require.Equal(t, counted, app.FailedAttempts, "%s: FailedAttempts vs counted attempts", id)
		require.LessOrEqual(t, approved, 1, "%s: approvals", id)
		require.Equal(t, approved == 1, app.State == kyc.StateVerified, "%s: state %s with %d approvals", id, app.State, approved)
		if approved == 0 {
			require.Equal(t, counted >= maxAttempts, app.State == kyc.StateLocked, "%s: state %s with %d failures", id, app.State, counted)
		}
		require.Empty(t, app.InflightAttempt, "%s: in-flight slot still held", id)
		tl.Counted += counted
		tl.Approved += approved
		if app.State == kyc.StateLocked {
			tl.Locked++
		}
		if app.State == kyc.StateVerified {
			tl.Verified++
		}
	}
	tl.Charges = len(tl.charges)
	require.NoError(t, storetest.VerifyAudit(ctx, st), "audit chain")
	return tl
}

// feeFigures summarises checkCharges.
type feeFigures struct {
	// Taken is the number of charges the provider took; Replayed the
	// requests for a charge ID already taken (a charge asked for again
	// after a crash or failure, answered without charging).
	Taken, Replayed int
	// Floating counts charges left on a void or abandoned attempt (to be
	// carried over by the applicant's next attempt); Pending those of
	// them never confirmed.
	Floating, Pending int
}

// checkCharges compares the payment provider's log (a fileCharger's) with
// the store after checkInvariants (with a fee). It fails unless each
// applicant was charged at most once per decided attempt, plus at most one
// charge carried over, unused yet, from an attempt that was not decided:
//
//   - no charge ID was taken twice (chargeLog), and every request under
//     a charge ID named the same applicant;
//   - every charge the provider took is recorded in the store for the
//     same national ID, and every confirmed record was taken by the
//     provider under its ID, with the provider's reference;
//   - a pending record sits only on a void or abandoned attempt;
//   - per national ID, at most one charge sits on a void or abandoned
//     attempt, and the provider took at most (decided attempts + that one)
//     charges.
func checkCharges(t *testing.T, log providerLog, tl tally, ids []string) feeFigures {
	t.Helper()
	ff := feeFigures{Taken: len(log.Charges), Replayed: log.replays()}
	taken := map[string]int{}
	for id, pc := range log.Charges {
		rec, ok := tl.charges[id]
		require.True(t, ok, "the provider took charge %s (%s, attempt %s), which the store does not hold", id, pc.NationalID, pc.AttemptID)
		require.Equal(t, pc.NationalID, rec.NationalID, "charge %s", id)
		taken[pc.NationalID]++
	}
	floating := map[string]int{}
	for id, rec := range tl.charges {
		undecided := rec.State == kyc.AttemptVoid || rec.State == kyc.AttemptAbandoned
		if undecided {
			floating[rec.NationalID]++
			ff.Floating++
		}
		if rec.Pending() {
			require.True(t, undecided, "pending charge %s on a %s attempt %s", id, rec.State, rec.AttemptID)
			ff.Pending++
			continue
		}
		_, ok := log.Charges[id]
		require.True(t, ok, "charge %s is confirmed (%s) but the provider never took it", id, rec.Ref)
		require.Equal(t, "ref-"+id, rec.Ref, "charge %s: the provider's reference", id)
	}
	for _, id := range ids {
		require.LessOrEqual(t, floating[id], 1, "%s: charges left on undecided attempts", id)
		require.LessOrEqual(t, taken[id], tl.decided[id]+floating[id],
			"%s: charged %d times for %d decided attempts (+%d carried over): paid for an attempt that was not decided",
			id, taken[id], tl.decided[id], floating[id])
	}
	return ff
}

// sqliteNode returns a node config on a fresh SQLite file.
func sqliteNodeConfig(t *testing.T, ids []string) nodeConfig {
	return nodeConfig{Store: "sqlite:" + filepath.Join(t.TempDir(), "kyc.db"), NIDs: ids}
}
