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

// fileCharger is a kyc.Charger whose charges are appended to a file, one
// line per charge, so they survive the process (a real payment provider
// remembers charges too). Idempotent per attempt within a process. Safe
// for concurrent use.
type fileCharger struct {
	path string
	mu   sync.Mutex
	seen map[string]bool
}

func (c *fileCharger) Charge(ctx context.Context, ch kyc.Charge) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if !c.seen[ch.AttemptID] {
		f, err := os.OpenFile(c.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return "", err
		}
		_, err = fmt.Fprintf(f, "%s %s %d\n", ch.AttemptID, ch.NationalID, ch.Amount)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
		c.seen[ch.AttemptID] = true
	}
	return "ref-" + ch.AttemptID, nil
}

// chargeLog reads a fileCharger's file: attempt ID -> national ID.
func chargeLog(t testing.TB, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out
	}
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		require.Len(t, fs, 3, "charge line %q", sc.Text())
		_, dup := out[fs[0]]
		require.False(t, dup, "attempt %s charged twice", fs[0])
		out[fs[0]] = fs[1]
	}
	require.NoError(t, sc.Err())
	return out
}

// tally counts what the store holds for a set of national IDs.
type tally struct {
	IDs, Attempts, Decided, Counted, Approved, Void, Abandoned, Reserved int
	Locked, Verified                                                     int
	// Charges is the number of distinct charge records attached.
	Charges int
	// ChargeAttempts maps each charge record's original attempt (its ID
	// prefix in the fake charger's ref) to the attempt paying with it.
	chargeRefs map[string]string
}

// checkInvariants checks, for every national ID in ids, what must hold
// after any faults once abandoned reservations are recovered: nothing
// reserved; at most maxAttempts counted attempts, equal to FailedAttempts
// and only decided ones; at most one approval and verified exactly then;
// locked exactly at the limit without approval; one session per attempt;
// with a fee, every decided attempt paid by exactly one charge and no
// charge attached to two attempts. Then the audit chain. It returns the
// totals.
func checkInvariants(t *testing.T, ctx context.Context, st kyc.Store, ids []string, maxAttempts int, fee bool) tally {
	t.Helper()
	tl := tally{IDs: len(ids), chargeRefs: map[string]string{}}
	charges := map[string]string{} // charge ID -> attempt
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
				prev, dup := charges[a.Charge.ID]
				require.False(t, dup, "%s: charge %s attached to %s and %s", id, a.Charge.ID, prev, a.ID)
				charges[a.Charge.ID] = a.ID
				require.Equal(t, a.ID, a.Charge.AttemptID, "%s: charge %s says it pays for %s", id, a.Charge.ID, a.Charge.AttemptID)
				tl.chargeRefs[strings.TrimPrefix(a.Charge.Ref, "ref-")] = a.ID
			}
			if fee && a.State == kyc.AttemptDecided {
				require.NotNil(t, a.Charge, "%s: decided attempt %s has no fee", id, a.ID)
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
	tl.Charges = len(charges)
	require.NoError(t, storetest.VerifyAudit(ctx, st), "audit chain")
	return tl
}

// checkChargesReconcilable compares the payment provider's log (a
// fileCharger's) with the store after checkInvariants: every charge the
// store holds is in the log, and every charge in the log is either in the
// store or was taken for an attempt the store shows void or abandoned
// without a charge record: the process died (or the store failed) between
// charging and recording. The host finds those by attempt ID, the
// charge's idempotency key, to refund or credit them. It returns how many
// charges are unrecorded.
func checkChargesReconcilable(t *testing.T, ctx context.Context, st kyc.Store, log map[string]string, tl tally) int {
	t.Helper()
	for ref := range tl.chargeRefs {
		_, ok := log[ref]
		require.True(t, ok, "charge of %s is not in the provider's log", ref)
	}
	unrecorded := 0
	for att, nid := range log {
		if _, ok := tl.chargeRefs[att]; ok {
			continue
		}
		unrecorded++
		a, err := st.Attempt(ctx, att)
		require.NoError(t, err, "provider charged %s, which the store does not know", att)
		require.Equal(t, nid, a.NationalID)
		require.Contains(t, []kyc.AttemptState{kyc.AttemptAbandoned, kyc.AttemptVoid}, a.State,
			"unrecorded charge of %s: attempt %s", att, a.State)
		require.Nil(t, a.Charge)
	}
	require.Equal(t, len(log), tl.Charges+unrecorded)
	return unrecorded
}

// sqliteNode returns a node config on a fresh SQLite file.
func sqliteNodeConfig(t *testing.T, ids []string) nodeConfig {
	return nodeConfig{Store: "sqlite:" + filepath.Join(t.TempDir(), "kyc.db"), NIDs: ids}
}
