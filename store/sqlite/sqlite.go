// Package sqlite is the embedded default kyc.Store: one SQLite file, over
// the pure-Go driver modernc.org/sqlite (no cgo, so the core builds with
// CGO_ENABLED=0).
//
// The file is opened in WAL mode with a busy timeout and foreign keys on,
// and every write transaction begins with BEGIN IMMEDIATE (the driver's
// _txlock=immediate), so it holds SQLite's single write lock from its
// first statement: the check-then-write of an attempt reservation is
// atomic, across goroutines and across processes opening the same file.
// SQLITE_BUSY that outlasts the busy timeout is retried a bounded number
// of times. Several processes on one machine may share the file; for
// several machines use store/postgres.
//
//	st, err := sqlite.Open(ctx, "/var/lib/hoviyat/kyc.db")
//	if err != nil { ... }
//	defer st.Close()
//	v, err := kyc.New(kyc.Config{Store: st, ...})
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hoviyat/hoviyat/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Option configures Open. Options are applied once, in order, by Open.
type Option func(*options)

type options struct {
	busyTimeout time.Duration
	syncNormal  bool
	maxConns    int
	store       sqlstore.Config
}

// WithBusyTimeout sets how long a statement waits for another
// connection's lock before SQLITE_BUSY (default 5 s); the store then
// retries the transaction a bounded number of times.
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithSynchronousNormal trades durability for speed: in WAL mode a commit
// is then not synced to disk, and a power loss (not a process crash) may
// lose the last transactions. The default, FULL, syncs every commit.
func WithSynchronousNormal() Option { return func(o *options) { o.syncNormal = true } }

// WithMaxOpenConns bounds the connection pool (default 8). Writers are
// serialized by SQLite anyway; more connections help concurrent readers.
func WithMaxOpenConns(n int) Option { return func(o *options) { o.maxConns = n } }

// WithRetry sets the bound and back-off of the retry on SQLITE_BUSY (see
// sqlstore.Config; defaults 8 retries from 2 ms to 100 ms).
func WithRetry(maxRetries int, base, max time.Duration) Option {
	return func(o *options) {
		o.store.MaxRetries, o.store.RetryBase, o.store.RetryMax = maxRetries, base, max
	}
}

// Open opens (creating if needed) the SQLite database at path and
// migrates it. path is a file name; ":memory:" is refused because every
// pooled connection would see its own empty database. The returned Store
// is safe for concurrent use; Close it when done.
func Open(ctx context.Context, path string, opts ...Option) (*sqlstore.Store, error) {
	o := options{busyTimeout: 5 * time.Second, maxConns: 8}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqlite: open %q: want a plain file path", path)
	}
	if o.maxConns <= 0 {
		o.maxConns = 1
	}
	db, err := sql.Open("sqlite", DSN(path, o.busyTimeout, o.syncNormal))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(o.maxConns)
	db.SetMaxIdleConns(o.maxConns)
	st, err := sqlstore.New(ctx, db, Dialect{}, o.store)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return st, nil
}

// DSN returns the modernc.org/sqlite data source name Open uses for path:
// WAL, busy timeout, foreign keys, synchronous FULL (or NORMAL) and
// BEGIN IMMEDIATE transactions.
func DSN(path string, busyTimeout time.Duration, syncNormal bool) string {
	sync := "FULL"
	if syncNormal {
		sync = "NORMAL"
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Set("_txlock", "immediate")
	// Without a "file:" prefix the driver opens path as a plain file name
	// and reads the parameters after "?".
	return path + "?" + q.Encode()
}

// Dialect is the sqlstore.Dialect of SQLite. It is stateless and safe for
// concurrent use. Its ForUpdate and PrepareMigration rely on every
// transaction beginning IMMEDIATE: give sqlstore.New a *sql.DB opened with
// DSN (which sets _txlock=immediate), or use Open.
type Dialect struct{}

var _ sqlstore.Dialect = Dialect{}

// Name returns "sqlite".
func (Dialect) Name() string { return "sqlite" }

// Rebind returns query unchanged: SQLite takes "?".
func (Dialect) Rebind(query string) string { return query }

// ForUpdate returns "": a write transaction holds the database's write
// lock from BEGIN IMMEDIATE, so reads inside it cannot go stale.
func (Dialect) ForUpdate() string { return "" }

// Time stores t as microseconds since the Unix epoch, which sorts and
// compares correctly in SQL.
func (Dialect) Time(t time.Time) any { return t.UnixMicro() }

// Retryable reports SQLITE_BUSY and SQLITE_LOCKED (and their extended
// codes).
func (Dialect) Retryable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// UniqueViolation reports SQLITE_CONSTRAINT_UNIQUE and _PRIMARYKEY and
// returns the "table.column" list SQLite names.
func (Dialect) UniqueViolation(err error) (string, bool) {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return "", false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		// "... UNIQUE constraint failed: attempts.session_id (2067)"
		msg := e.Error()
		if i := strings.LastIndex(msg, "failed: "); i >= 0 {
			msg = msg[i+len("failed: "):]
		}
		if i := strings.LastIndex(msg, " ("); i >= 0 {
			msg = msg[:i]
		}
		return msg, true
	}
	return "", false
}

// Migrations returns the embedded SQLite migrations.
func (Dialect) Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return sub
}

// PrepareMigration does nothing: the migration transaction began with
// BEGIN IMMEDIATE and so already excludes every other writer, in this
// process and in others.
func (Dialect) PrepareMigration(context.Context, *sql.Tx) error { return nil }
