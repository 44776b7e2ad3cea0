package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/store/postgres"
	"github.com/hoviyat/hoviyat/store/sqlite"
	"github.com/hoviyat/hoviyat/store/sqlstore"
)

var errTransient = errors.New("transient")

// dialect is SQLite with a fake transient error and replaceable
// migrations.
type dialect struct {
	sqlite.Dialect
	migs fs.FS
}

func (d dialect) Retryable(err error) bool {
	return errors.Is(err, errTransient) || d.Dialect.Retryable(err)
}

func (d dialect) Migrations() fs.FS {
	if d.migs != nil {
		return d.migs
	}
	return d.Dialect.Migrations()
}

func newStore(t *testing.T, d sqlstore.Dialect, cfg sqlstore.Config) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := sql.Open("sqlite", sqlite.DSN(path, time.Second, true))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	st, err := sqlstore.New(context.Background(), db, d, cfg)
	require.NoError(t, err)
	return st, db
}

func TestRetry(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t, dialect{}, sqlstore.Config{MaxRetries: 3, RetryBase: time.Millisecond, RetryMax: 2 * time.Millisecond})
	ctx := context.Background()
	tests := []struct {
		name      string
		failFirst int
		err       error
		wantCalls int
		wantErr   error
	}{
		{"succeeds at once", 0, nil, 1, nil},
		{"succeeds after two transient failures", 2, errTransient, 3, nil},
		{"gives up after MaxRetries", 100, errTransient, 4, errTransient},
		{"never retries a domain error", 100, kyc.ErrSessionUsed, 1, kyc.ErrSessionUsed},
		{"never retries other errors", 100, sql.ErrConnDone, 1, sql.ErrConnDone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := st.Retry(ctx, func() error {
				calls++
				if calls <= tt.failFirst {
					return tt.err
				}
				return nil
			})
			assert.Equal(t, tt.wantCalls, calls)
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.wantErr)
			if !errors.Is(tt.wantErr, kyc.ErrSessionUsed) {
				assert.ErrorIs(t, err, kyc.ErrDependency, "driver errors are dependency errors")
			}
		})
	}
}

func TestRetryRespectsContext(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t, dialect{}, sqlstore.Config{MaxRetries: 1000, RetryBase: 50 * time.Millisecond, RetryMax: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	calls := 0
	err := st.Retry(ctx, func() error { calls++; return errTransient })
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second, "the back-off ends with ctx")
	assert.Less(t, calls, 1000)
}

// latest returns the highest migration version of d.
func latest(t *testing.T, d sqlstore.Dialect) int {
	t.Helper()
	migs, err := sqlstore.Migrations(d)
	require.NoError(t, err)
	require.NotEmpty(t, migs)
	return migs[len(migs)-1].Version
}

func TestMigrateIdempotentAndIncremental(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, db := newStore(t, dialect{}, sqlstore.Config{KeepDB: true})
	require.NoError(t, st.Migrate(ctx))
	v, err := st.SchemaVersion(ctx)
	require.NoError(t, err)
	last := latest(t, dialect{})
	assert.Equal(t, last, v)

	// A later build adds one more: only it is applied.
	migs := fstest.MapFS{fmt.Sprintf("%04d_extra.sql", last+1): {Data: []byte(`CREATE TABLE extra (id INTEGER PRIMARY KEY);`)}}
	base, err := sqlstore.Migrations(sqlite.Dialect{})
	require.NoError(t, err)
	for _, m := range base {
		migs[m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
	}
	st2, err := sqlstore.New(ctx, db, dialect{migs: migs}, sqlstore.Config{KeepDB: true})
	require.NoError(t, err)
	v, err = st2.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, last+1, v)
	_, err = db.ExecContext(ctx, `INSERT INTO extra (id) VALUES (1)`)
	assert.NoError(t, err)

	// The older build still opens the newer database.
	_, err = sqlstore.New(ctx, db, dialect{}, sqlstore.Config{KeepDB: true})
	assert.NoError(t, err)
}

// upTo is a dialect limited to the migrations up to version max.
type upTo struct {
	sqlstore.Dialect
	max int
}

func (d upTo) Migrations() fs.FS {
	all, err := sqlstore.Migrations(d.Dialect)
	if err != nil {
		panic(err)
	}
	out := fstest.MapFS{}
	for _, m := range all {
		if m.Version <= d.max {
			out[m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
		}
	}
	return out
}

// TestChargeConfirmationMigration upgrades a database written by a build
// that recorded charges only once charged (schema version 1): its charges
// read back confirmed at their creation; a row an older replica inserts
// after the upgrade (no confirmed_at) reads back confirmed too; and a
// pending row (empty ref) cannot carry a confirmation time.
func TestChargeConfirmationMigration(t *testing.T) {
	t.Parallel()
	backends := map[string]func(t *testing.T) (*sql.DB, sqlstore.Dialect){
		"sqlite": func(t *testing.T) (*sql.DB, sqlstore.Dialect) {
			db, err := sql.Open("sqlite", sqlite.DSN(filepath.Join(t.TempDir(), "t.db"), time.Second, true))
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			return db, sqlite.Dialect{}
		},
		"postgres": pgSchema,
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, d := open(t)
			old, err := sqlstore.New(ctx, db, upTo{d, 1}, sqlstore.Config{KeepDB: true})
			require.NoError(t, err)
			v, err := old.SchemaVersion(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, v)

			created := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
			exec := func(q string, args ...any) error {
				_, err := db.ExecContext(ctx, d.Rebind(q), args...)
				return err
			}
			attempt := func(id string) {
				require.NoError(t, exec(`INSERT INTO sessions (id, national_id, challenge, nonce, head_turn, birth_date, mobile, ip, created_at, expires_at)
VALUES (?, '0499370899', 'c', ?, '', '1370/01/15', '09121234567', '', ?, ?)`, "s-"+id, "n-"+id, d.Time(created), d.Time(created.Add(time.Hour))))
				require.NoError(t, exec(`INSERT INTO attempts (id, national_id, session_id, state, outcome, counted, reverification, lease_until, created_at, decided_at)
VALUES (?, '0499370899', ?, 'decided', 'rejected', ?, ?, ?, ?, ?)`, id, "s-"+id, true, false, d.Time(created), d.Time(created), d.Time(created)))
			}
			require.NoError(t, exec(`INSERT INTO applicants (national_id, state, failed_attempts, updated_at) VALUES ('0499370899', 'active', 2, ?)`, d.Time(created)))
			attempt("a1")
			require.NoError(t, exec(`INSERT INTO charges (id, national_id, attempt_id, amount, currency, ref, created_at)
VALUES ('c1', '0499370899', 'a1', 5000, 'IRR', 'ref-old', ?)`, d.Time(created)))

			st, err := sqlstore.New(ctx, db, d, sqlstore.Config{KeepDB: true})
			require.NoError(t, err)
			v, err = st.SchemaVersion(ctx)
			require.NoError(t, err)
			assert.Equal(t, latest(t, d), v)
			a, err := st.Attempt(ctx, "a1")
			require.NoError(t, err)
			require.NotNil(t, a.Charge)
			assert.Equal(t, "ref-old", a.Charge.Ref)
			assert.False(t, a.Charge.Pending())
			assert.True(t, a.Charge.ConfirmedAt.Equal(created), "confirmed at its creation: %v", a.Charge.ConfirmedAt)
			assert.NoError(t, st.AttachCharge(ctx, kyc.ChargeRecord{ID: "c1", Ref: "ref-old", ConfirmedAt: created.Add(time.Hour)}),
				"confirming a migrated charge with its reference is a no-op")
			assert.ErrorIs(t, st.AttachCharge(ctx, kyc.ChargeRecord{ID: "c1", Ref: "ref-new", ConfirmedAt: created}), kyc.ErrInvalidInput)

			// An older replica's insert, after the upgrade.
			attempt("a2")
			require.NoError(t, exec(`INSERT INTO charges (id, national_id, attempt_id, amount, currency, ref, created_at)
VALUES ('c2', '0499370899', 'a2', 5000, 'IRR', 'ref-2', ?)`, d.Time(created)))
			a, err = st.Attempt(ctx, "a2")
			require.NoError(t, err)
			require.NotNil(t, a.Charge)
			assert.False(t, a.Charge.Pending())
			assert.True(t, a.Charge.ConfirmedAt.IsZero())

			// A pending charge has no confirmation time.
			attempt("a3")
			assert.Error(t, exec(`INSERT INTO charges (id, national_id, attempt_id, amount, currency, ref, created_at, confirmed_at)
VALUES ('c3', '0499370899', 'a3', 5000, 'IRR', '', ?, ?)`, d.Time(created), d.Time(created)))
		})
	}
}

func TestMigrationsNaming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fs   fstest.MapFS
		want []int
		bad  bool
	}{
		{"ordered by version", fstest.MapFS{"0010_b.sql": {}, "0002_a.sql": {}, "README": {}}, []int{2, 10}, false},
		{"no version", fstest.MapFS{"init.sql": {}}, nil, true},
		{"duplicate version", fstest.MapFS{"0001_a.sql": {}, "1_b.sql": {}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			migs, err := sqlstore.Migrations(dialect{migs: tt.fs})
			if tt.bad {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			var got []int
			for _, m := range migs {
				got = append(got, m.Version)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := sql.Open("sqlite", sqlite.DSN(path, time.Second, true))
	require.NoError(t, err)
	defer db.Close()
	migs := fstest.MapFS{
		"0001_ok.sql":  {Data: []byte(`CREATE TABLE a (id INTEGER);`)},
		"0002_bad.sql": {Data: []byte(`CREATE TABLE b (id INTEGER); THIS IS NOT SQL;`)},
	}
	_, err = sqlstore.New(ctx, db, dialect{migs: migs}, sqlstore.Config{})
	require.Error(t, err)
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name IN ('a', 'b', 'schema_migrations')`).Scan(&n))
	assert.Equal(t, 0, n, "nothing of a failed migration run stays")
}

func TestParseOutcome(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"approved", "rejected", "review", "locked"} {
		o, err := sqlstore.ParseOutcome(s)
		assert.NoError(t, err)
		assert.Equal(t, s, string(o))
	}
	for _, s := range []string{"", "Approved", "maybe"} {
		_, err := sqlstore.ParseOutcome(s)
		assert.Error(t, err, s)
	}
}

// pgSchema opens $HOVIYAT_PG_DSN with a fresh schema as its search path
// (dropped at cleanup) and returns it with the PostgreSQL dialect. Without
// the variable the test is skipped, or fails when CI=true.
func pgSchema(t *testing.T) (*sql.DB, sqlstore.Dialect) {
	t.Helper()
	dsn := os.Getenv("HOVIYAT_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HOVIYAT_PG_DSN is not set and CI=true (scripts/pg.sh start)")
		}
		t.Skip("HOVIYAT_PG_DSN not set (eval \"$(./scripts/pg.sh start)\")")
	}
	schema := fmt.Sprintf("hv_sqlstore_test_%d_%d", time.Now().UnixNano()%1e9, rand.IntN(1e6))
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
		_ = db.Close()
	})
	return db, postgres.Dialect{Schema: schema}
}
