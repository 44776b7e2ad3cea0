package postgres_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/store/postgres"
	"github.com/hoviyat/hoviyat/store/sqlstore"
	"github.com/hoviyat/hoviyat/store/storetest"
)

// helperEnv selects the helper-process mode of the test binary: the
// value is a JSON helperArgs.
const helperEnv = "HOVIYAT_PG_HELPER"

type helperArgs struct {
	DSN, Schema, NationalID, Prefix string
	Workers                         int
}

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" {
		os.Exit(helperMain(v))
	}
	os.Exit(m.Run())
}

// helperMain opens the schema named in v (migrating it, concurrently with
// the other helper) and runs the child side of storetest.SpawnHammers.
func helperMain(v string) int {
	var a helperArgs
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := postgres.Open(ctx, a.DSN, postgres.WithSchema(a.Schema), postgres.WithMaxOpenConns(20))
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

// dsn returns HOVIYAT_PG_DSN; without it the test is skipped, or fails
// when CI=true (CI must run the PostgreSQL proof).
func dsn(t testing.TB) string {
	t.Helper()
	v := os.Getenv("HOVIYAT_PG_DSN")
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HOVIYAT_PG_DSN is not set and CI=true: the PostgreSQL store must be tested (scripts/pg.sh start)")
		}
		t.Skip("HOVIYAT_PG_DSN not set (eval \"$(./scripts/pg.sh start)\")")
	}
	return v
}

// schema returns a fresh schema name and drops it when the test ends.
func schema(t testing.TB) (string, string) {
	t.Helper()
	d := dsn(t)
	name := fmt.Sprintf("hv_store_test_%d_%d", time.Now().UnixNano()%1e9, rand.IntN(1e6))
	t.Cleanup(func() {
		db, err := sql.Open("pgx", d)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+name+` CASCADE`); err != nil {
			t.Logf("drop schema %s: %v", name, err)
		}
	})
	return d, name
}

func open(t testing.TB) *sqlstore.Store {
	t.Helper()
	d, s := schema(t)
	st, err := postgres.Open(context.Background(), d, postgres.WithSchema(s))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	t.Parallel()
	st := open(t)
	require.NoError(t, storetest.Run(context.Background(), st))
}

func TestConcurrentOneNationalID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := open(t)
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
// re-executed in helper mode) against one new schema: both migrate it at
// once, then are released at the same moment.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, s := schema(t)
	nid := storetest.NationalID()
	results, err := storetest.SpawnHammers(ctx, 2, helperEnv, func(i int) string {
		b, _ := json.Marshal(helperArgs{DSN: d, Schema: s, NationalID: nid, Prefix: fmt.Sprintf("p%d", i), Workers: 100})
		return string(b)
	})
	require.NoError(t, err)
	require.Len(t, results, 2)
	a, b := results[0], results[1]
	assert.True(t, a.Started.Before(b.Ended) && b.Started.Before(a.Ended),
		"the processes' windows overlap: %v-%v and %v-%v", a.Started, a.Ended, b.Started, b.Ended)
	var total storetest.HammerResult
	for i, r := range results {
		assert.Empty(t, r.Problems, "process %d", i)
		t.Logf("process %d: reserved %d, approved %d, rejected %d, refused %v, max in flight %d, window %v",
			i, r.Reserved, r.Approved, r.Rejected, r.Refused, r.MaxInFlight, r.Ended.Sub(r.Started))
		total.Add(r)
	}
	st, err := postgres.Open(ctx, d, postgres.WithSchema(s))
	require.NoError(t, err)
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	require.NoError(t, err)
	migs, err := sqlstore.Migrations(postgres.Dialect{})
	require.NoError(t, err)
	assert.Equal(t, migs[len(migs)-1].Version, v)
	assert.Positive(t, total.Reserved)
	assert.NoError(t, storetest.CheckNationalID(ctx, st, nid, 3, total))
}

func TestAuditTamper(t *testing.T) {
	t.Parallel()
	st := open(t)
	db := st.DB()
	err := storetest.CheckAuditTamper(context.Background(), st, storetest.Tamper{
		EditData: func(ctx context.Context, seq int64) error {
			_, err := db.ExecContext(ctx, `UPDATE audit SET data = convert_to('{"i":99}', 'UTF8') WHERE seq = $1`, seq)
			return err
		},
		Delete: func(ctx context.Context, seq int64) error {
			_, err := db.ExecContext(ctx, `DELETE FROM audit WHERE seq = $1`, seq)
			return err
		},
	})
	assert.NoError(t, err)
}

// TestUnknownStoredEnums drops the schema's CHECK constraints (as a
// careless migration might), writes unknown values and expects reads to
// fail rather than default.
func TestUnknownStoredEnums(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := open(t)
	now := time.Now()
	nid := storetest.NationalID()
	require.NoError(t, st.CreateSession(ctx, kyc.SessionRecord{ID: "s1", NationalID: nid, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	_, err := st.ReserveAttempt(ctx, kyc.Reservation{AttemptID: "a1", SessionID: "s1", NationalID: nid, MaxAttempts: 3, Now: now, LeaseUntil: now.Add(time.Minute)})
	require.NoError(t, err)
	for _, c := range []string{
		`ALTER TABLE applicants DROP CONSTRAINT applicants_state_check`,
		`ALTER TABLE attempts DROP CONSTRAINT attempts_state_check`,
		`ALTER TABLE attempts DROP CONSTRAINT attempts_outcome_check`,
		`ALTER TABLE attempts DROP CONSTRAINT attempts_decided_check`,
	} {
		_, err := st.DB().ExecContext(ctx, c)
		require.NoError(t, err, c)
	}
	tests := []struct {
		name, sql string
		read      func() error
	}{
		{"applicant state", `UPDATE applicants SET state = 'frozen'`, func() error { _, err := st.Applicant(ctx, nid); return err }},
		{"attempt state", `UPDATE attempts SET state = 'paused'`, func() error { _, err := st.Attempt(ctx, "a1"); return err }},
		{"attempt outcome", `UPDATE attempts SET state = 'decided', outcome = 'maybe'`, func() error { _, err := st.Attempt(ctx, "a1"); return err }},
		{"reason code", `UPDATE attempts SET outcome = 'rejected', reasons = '["no_such_reason"]'`, func() error { _, err := st.Attempt(ctx, "a1"); return err }},
	}
	for _, tt := range tests {
		_, err := st.DB().ExecContext(ctx, tt.sql)
		require.NoError(t, err, tt.name)
		err = tt.read()
		assert.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), "unknown", tt.name)
	}
}

// TestConcurrentOpen: four stores migrating one new schema at once all
// succeed (the advisory lock serializes them) and record it once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, s := schema(t)
	var wg sync.WaitGroup
	stores := make([]*sqlstore.Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(ctx, d, postgres.WithSchema(s)) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err)
		defer stores[i].Close()
	}
	migs, err := sqlstore.Migrations(postgres.Dialect{})
	require.NoError(t, err)
	var n int
	require.NoError(t, stores[0].DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n))
	assert.Equal(t, len(migs), n, "each migration recorded once")
}

func TestOpenDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, s := schema(t)
	// The caller owns db and its search_path.
	st0, err := postgres.Open(ctx, d, postgres.WithSchema(s))
	require.NoError(t, err)
	require.NoError(t, st0.Close())
	db, err := sql.Open("pgx", d+"&search_path="+s)
	require.NoError(t, err)
	defer db.Close()
	st, err := postgres.OpenDB(ctx, db)
	require.NoError(t, err)
	_, err = st.AppendAudit(ctx, kyc.AuditEvent{Kind: kyc.AuditInquiry, NationalID: "0499370899"})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	require.NoError(t, st.Close())
	assert.NoError(t, db.PingContext(ctx), "Close leaves a caller's db open")
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit`).Scan(&n))
	assert.Equal(t, 1, n)
	_, err = postgres.OpenDB(ctx, db, postgres.WithSchema("x"))
	assert.Error(t, err)
}

func TestCloseIdempotent(t *testing.T) {
	t.Parallel()
	st := open(t)
	require.NoError(t, st.Close())
	require.NoError(t, st.Close())
	_, err := st.Applicant(context.Background(), "0499370899")
	assert.ErrorIs(t, err, kyc.ErrClosed)
}

func TestBadSchemaName(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(context.Background(), "postgres://u@127.0.0.1:1/x", postgres.WithSchema(`a"; DROP TABLE x; --`))
	assert.Error(t, err)
}

func TestRebind(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT ? , ?", "SELECT $1 , $2"},
		{"a=? AND b IN (?, ?)", "a=$1 AND b IN ($2, $3)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, postgres.Dialect{}.Rebind(tt.in))
	}
}

// TestRetryableErrors provokes a real serialization failure and a real
// deadlock and checks that the dialect classifies them as retryable, and a
// unique violation as not.
func TestRetryableErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := open(t)
	db := st.DB()
	d := postgres.Dialect{}
	_, err := db.ExecContext(ctx, `CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0), (2, 0)`)
	require.NoError(t, err)

	// Serialization failure: two serializable transactions update one row.
	tx1, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	require.NoError(t, err)
	tx2, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	require.NoError(t, err)
	_, err = tx1.ExecContext(ctx, `SELECT v FROM t WHERE id = 1`)
	require.NoError(t, err)
	_, err = tx2.ExecContext(ctx, `SELECT v FROM t WHERE id = 1`)
	require.NoError(t, err)
	_, err = tx1.ExecContext(ctx, `UPDATE t SET v = 1 WHERE id = 1`)
	require.NoError(t, err)
	require.NoError(t, tx1.Commit())
	_, err = tx2.ExecContext(ctx, `UPDATE t SET v = 2 WHERE id = 1`)
	require.Error(t, err)
	assert.True(t, d.Retryable(err), "serialization failure: %v", err)
	_ = tx2.Rollback()

	// Deadlock: each transaction locks one row, then the other's.
	a, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	b, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = a.ExecContext(ctx, `UPDATE t SET v = 3 WHERE id = 1`)
	require.NoError(t, err)
	_, err = b.ExecContext(ctx, `UPDATE t SET v = 3 WHERE id = 2`)
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		_, err := a.ExecContext(ctx, `UPDATE t SET v = 4 WHERE id = 2`)
		if err != nil {
			_ = a.Rollback() // the victim releases its locks so b can go on
		}
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	_, errB := b.ExecContext(ctx, `UPDATE t SET v = 4 WHERE id = 1`)
	if errB != nil {
		_ = b.Rollback()
	}
	errA := <-errc
	_ = a.Rollback()
	_ = b.Rollback()
	deadlock := errA
	if errB != nil {
		deadlock = errB
	}
	require.Error(t, deadlock, "one of the two transactions is the deadlock victim")
	assert.True(t, d.Retryable(deadlock), "deadlock: %v", deadlock)

	_, err = db.ExecContext(ctx, `INSERT INTO t VALUES (1, 0)`)
	what, ok := d.UniqueViolation(err)
	assert.True(t, ok)
	assert.Equal(t, "t_pkey", what)
	assert.False(t, d.Retryable(err))
}

func BenchmarkReserveFinish(b *testing.B) {
	st := open(b)
	storetest.BenchReserveFinish(b, st)
}
