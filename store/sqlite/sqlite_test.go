package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/store/sqlite"
	"github.com/hoviyat/hoviyat/store/sqlstore"
	"github.com/hoviyat/hoviyat/store/storetest"
)

// helperEnv selects the helper-process mode of the test binary: the
// value is a JSON helperArgs.
const helperEnv = "HOVIYAT_SQLITE_HELPER"

type helperArgs struct {
	Path, NationalID, Prefix string
	Workers                  int
}

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" {
		os.Exit(helperMain(v))
	}
	os.Exit(m.Run())
}

// helperMain opens the database named in v and runs the child side of
// storetest.SpawnHammers.
func helperMain(v string) int {
	var a helperArgs
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := sqlite.Open(ctx, a.Path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer st.Close()
	if err := storetest.ChildHammer(ctx, st, storetest.HammerConfig{NationalID: a.NationalID, Workers: a.Workers,
		MaxAttempts: 3, Prefix: a.Prefix, Spread: 100 * time.Millisecond, Hold: 5 * time.Millisecond}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

func open(t testing.TB) (*sqlstore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kyc.db")
	st, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st, path
}

func TestConformance(t *testing.T) {
	t.Parallel()
	st, _ := open(t)
	require.NoError(t, storetest.Run(context.Background(), st))
}

func TestConcurrentOneNationalID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := open(t)
	nid := storetest.NationalID()
	res, err := storetest.Hammer(ctx, st, storetest.HammerConfig{NationalID: nid, Workers: 200, MaxAttempts: 3, Prefix: "g"})
	require.NoError(t, err)
	assert.Empty(t, res.Problems)
	assert.LessOrEqual(t, res.MaxInFlight, 1)
	assert.LessOrEqual(t, res.Approved, 1)
	assert.LessOrEqual(t, res.Rejected, 3)
	assert.Positive(t, res.Reserved)
	assert.NoError(t, storetest.CheckNationalID(ctx, st, nid, 3, res))
	t.Logf("200 goroutines: %+v", res)
}

// TestTwoProcesses runs the hammer from two OS processes (this test binary
// re-executed in helper mode) on one new file, released at the same
// moment, and checks the invariants on what they left.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	nid := storetest.NationalID()
	results, err := storetest.SpawnHammers(ctx, 2, helperEnv, func(i int) string {
		b, _ := json.Marshal(helperArgs{Path: path, NationalID: nid, Prefix: fmt.Sprintf("p%d", i), Workers: 100})
		return string(b)
	})
	require.NoError(t, err)
	checkProcesses(t, results)
	st, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer st.Close()
	var total storetest.HammerResult
	for _, r := range results {
		total.Add(r)
	}
	assert.NoError(t, storetest.CheckNationalID(ctx, st, nid, 3, total))
}

// checkProcesses asserts that the helpers' reservation windows overlapped
// and that they saw no problem.
func checkProcesses(t *testing.T, results []storetest.HammerResult) {
	t.Helper()
	require.Len(t, results, 2)
	a, b := results[0], results[1]
	assert.True(t, a.Started.Before(b.Ended) && b.Started.Before(a.Ended),
		"the processes' windows overlap: %v-%v and %v-%v", a.Started, a.Ended, b.Started, b.Ended)
	for i, r := range results {
		assert.Empty(t, r.Problems, "process %d", i)
		t.Logf("process %d: reserved %d, approved %d, rejected %d, refused %v, max in flight %d, window %v",
			i, r.Reserved, r.Approved, r.Rejected, r.Refused, r.MaxInFlight, r.Ended.Sub(r.Started))
	}
	assert.Positive(t, a.Reserved+b.Reserved)
}

func TestAuditTamper(t *testing.T) {
	t.Parallel()
	st, _ := open(t)
	db := st.DB()
	err := storetest.CheckAuditTamper(context.Background(), st, storetest.Tamper{
		EditData: func(ctx context.Context, seq int64) error {
			_, err := db.ExecContext(ctx, `UPDATE audit SET data = CAST('{"i":99}' AS BLOB) WHERE seq = ?`, seq)
			return err
		},
		Delete: func(ctx context.Context, seq int64) error {
			_, err := db.ExecContext(ctx, `DELETE FROM audit WHERE seq = ?`, seq)
			return err
		},
	})
	assert.NoError(t, err)
}

// TestUnknownStoredEnums writes values the schema's CHECK constraints
// forbid (with the checks switched off, as a foreign writer might) and
// expects reads to fail rather than default.
func TestUnknownStoredEnums(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := open(t)
	now := time.Now()
	nid := storetest.NationalID()
	require.NoError(t, st.CreateSession(ctx, kyc.SessionRecord{ID: "s1", NationalID: nid, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	_, err := st.ReserveAttempt(ctx, kyc.Reservation{AttemptID: "a1", SessionID: "s1", NationalID: nid, MaxAttempts: 3, Now: now, LeaseUntil: now.Add(time.Minute)})
	require.NoError(t, err)

	conn, err := st.DB().Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `PRAGMA ignore_check_constraints = ON`)
	require.NoError(t, err)

	tests := []struct {
		name, sql string
		read      func() error
	}{
		{"applicant state", `UPDATE applicants SET state = 'frozen'`, func() error { _, err := st.Applicant(ctx, nid); return err }},
		{"attempt state", `UPDATE attempts SET state = 'paused'`, func() error { _, err := st.Attempt(ctx, "a1"); return err }},
		{"attempt outcome", `UPDATE attempts SET state = 'decided', outcome = 'maybe'`, func() error { _, err := st.Attempt(ctx, "a1"); return err }},
		{"reason code", `UPDATE attempts SET state = 'decided', outcome = 'rejected', reasons = '["no_such_reason"]'`, func() error { _, err := st.Attempt(ctx, "a1"); return err }},
	}
	for _, tt := range tests {
		_, err := conn.ExecContext(ctx, tt.sql)
		require.NoError(t, err, tt.name)
		err = tt.read()
		assert.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), "unknown", tt.name)
	}
}

// TestConcurrentOpen: several processes' worth of Opens migrating one new
// file at once all succeed and leave one schema version.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	migs, err := sqlstore.Migrations(sqlite.Dialect{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	stores := make([]*sqlstore.Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(ctx, path) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err)
		v, err := stores[i].SchemaVersion(ctx)
		require.NoError(t, err)
		assert.Equal(t, migs[len(migs)-1].Version, v)
	}
	var n int
	require.NoError(t, stores[0].DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n))
	assert.Equal(t, len(migs), n, "each migration recorded once")
	for _, st := range stores {
		require.NoError(t, st.Close())
	}
}

func TestCloseIdempotent(t *testing.T) {
	t.Parallel()
	st, _ := open(t)
	require.NoError(t, st.Close())
	require.NoError(t, st.Close())
	_, err := st.Applicant(context.Background(), "0499370899")
	assert.ErrorIs(t, err, kyc.ErrClosed)
}

func TestOpenRejectsMemoryAndURIs(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		_, err := sqlite.Open(context.Background(), p)
		assert.Error(t, err, p)
	}
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	st, _ := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := st.Applicant(ctx, "0499370899")
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, kyc.ErrDependency)
}

func TestRetryableAndUnique(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, path := open(t)
	d := sqlite.Dialect{}
	// A second connection with no busy timeout that holds the write lock
	// makes the store's connection see SQLITE_BUSY.
	other, err := sqlite.Open(ctx, path, sqlite.WithBusyTimeout(0))
	require.NoError(t, err)
	defer other.Close()
	tx, err := st.DB().BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock
	require.NoError(t, err)
	_, err = other.DB().ExecContext(ctx, `INSERT INTO audit_head (id, seq) VALUES (2, 0)`)
	require.Error(t, err)
	assert.True(t, d.Retryable(err), "busy is retryable: %v", err)
	require.NoError(t, tx.Rollback())

	_, err = st.DB().ExecContext(ctx, `INSERT INTO audit_head (id, seq) VALUES (1, 0)`)
	what, ok := d.UniqueViolation(err)
	assert.True(t, ok, "%v", err)
	assert.Equal(t, "audit_head.id", what)
	assert.False(t, d.Retryable(err))
}

func BenchmarkReserveFinish(b *testing.B) {
	st, _ := open(b)
	storetest.BenchReserveFinish(b, st)
}
