package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
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

func TestMigrateIdempotentAndIncremental(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, db := newStore(t, dialect{}, sqlstore.Config{KeepDB: true})
	require.NoError(t, st.Migrate(ctx))
	v, err := st.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, v)

	// A later build adds 0002: only it is applied.
	migs := fstest.MapFS{"0002_extra.sql": {Data: []byte(`CREATE TABLE extra (id INTEGER PRIMARY KEY);`)}}
	base, err := fs.ReadFile(sqlite.Dialect{}.Migrations(), "0001_init.sql")
	require.NoError(t, err)
	migs["0001_init.sql"] = &fstest.MapFile{Data: base}
	st2, err := sqlstore.New(ctx, db, dialect{migs: migs}, sqlstore.Config{KeepDB: true})
	require.NoError(t, err)
	v, err = st2.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, v)
	_, err = db.ExecContext(ctx, `INSERT INTO extra (id) VALUES (1)`)
	assert.NoError(t, err)

	// The older build still opens the newer database.
	_, err = sqlstore.New(ctx, db, dialect{}, sqlstore.Config{KeepDB: true})
	assert.NoError(t, err)
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
