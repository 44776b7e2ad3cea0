// Package postgres is the kyc.Store for several replicas of a host
// application sharing one PostgreSQL database, over the pgx driver's
// database/sql adapter (github.com/jackc/pgx/v5/stdlib).
//
// Replicas need no other coordination: every attempt transaction locks
// the applicant row (SELECT ... FOR UPDATE) and claims the in-flight slot
// with a conditional UPDATE, unique constraints and partial unique indexes
// back the invariants, the audit chain is appended behind a locked head
// row, and serialization failures and deadlocks (SQLSTATE 40001, 40P01)
// are retried a bounded number of times. Concurrent migrators (two
// replicas starting at once) are serialized with pg_advisory_xact_lock.
//
//	st, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.WithSchema("kyc"))
//	if err != nil { ... }
//	defer st.Close()
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hoviyat/hoviyat/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the pg_advisory_xact_lock key that serializes
// migrators ("hoviyat" in ASCII).
const migrationLock int64 = 0x686f7669796174

// Option configures Open and OpenDB. Options are applied once, in order.
type Option func(*options)

type options struct {
	schema   string
	maxConns int
	store    sqlstore.Config
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// WithSchema keeps the store's tables in schema (created if missing) by
// setting every connection's search_path to it. Tests use it to isolate
// runs in one database. Names are lower-case identifiers ([a-z_][a-z0-9_]*).
// Open only: with OpenDB the caller sets the search_path.
func WithSchema(schema string) Option { return func(o *options) { o.schema = schema } }

// WithMaxOpenConns bounds the connection pool Open creates (default 10).
func WithMaxOpenConns(n int) Option { return func(o *options) { o.maxConns = n } }

// WithRetry sets the bound and back-off of the retry on serialization
// failures and deadlocks (see sqlstore.Config; defaults 8 retries from
// 2 ms to 100 ms).
func WithRetry(maxRetries int, base, max time.Duration) Option {
	return func(o *options) {
		o.store.MaxRetries, o.store.RetryBase, o.store.RetryMax = maxRetries, base, max
	}
}

// Open connects to the database at dsn (a pgx connection string or URL),
// migrates it and returns a Store safe for concurrent use. Close closes
// the pool.
func Open(ctx context.Context, dsn string, opts ...Option) (*sqlstore.Store, error) {
	o := options{maxConns: 10}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	if o.schema != "" {
		if !identRE.MatchString(o.schema) {
			return nil, fmt.Errorf("postgres: schema name %q: want [a-z_][a-z0-9_]*", o.schema)
		}
		cfg.RuntimeParams["search_path"] = o.schema
	}
	db := stdlib.OpenDB(*cfg)
	if o.maxConns > 0 {
		db.SetMaxOpenConns(o.maxConns)
		db.SetMaxIdleConns(o.maxConns)
	}
	st, err := sqlstore.New(ctx, db, Dialect{Schema: o.schema}, o.store)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return st, nil
}

// OpenDB migrates db, a pgx-backed *sql.DB the caller configured (pool,
// search_path), and returns a Store over it. Close leaves db open.
// WithSchema is refused here.
func OpenDB(ctx context.Context, db *sql.DB, opts ...Option) (*sqlstore.Store, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.schema != "" {
		return nil, errors.New("postgres: OpenDB: WithSchema applies to Open only; set search_path on db")
	}
	cfg := o.store
	cfg.KeepDB = true
	st, err := sqlstore.New(ctx, db, Dialect{}, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return st, nil
}

// Dialect is the sqlstore.Dialect of PostgreSQL. Schema, when set, is
// created by PrepareMigration. It is immutable and safe for concurrent
// use.
type Dialect struct {
	Schema string
}

var _ sqlstore.Dialect = Dialect{}

// Name returns "postgres".
func (Dialect) Name() string { return "postgres" }

// Rebind turns the "?" placeholders into $1, $2, ... (the store's queries
// have no "?" inside literals).
func (Dialect) Rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// ForUpdate returns " FOR UPDATE".
func (Dialect) ForUpdate() string { return " FOR UPDATE" }

// Time passes t as a time.Time for a timestamptz column.
func (Dialect) Time(t time.Time) any { return t }

// Retryable reports serialization failures (40001) and deadlocks (40P01).
func (Dialect) Retryable(err error) bool {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return false
	}
	return e.Code == "40001" || e.Code == "40P01"
}

// UniqueViolation reports SQLSTATE 23505 and returns the constraint name.
func (Dialect) UniqueViolation(err error) (string, bool) {
	var e *pgconn.PgError
	if !errors.As(err, &e) || e.Code != "23505" {
		return "", false
	}
	return e.ConstraintName, true
}

// Migrations returns the embedded PostgreSQL migrations.
func (Dialect) Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return sub
}

// PrepareMigration takes a transaction-scoped advisory lock, so a second
// migrator waits until the first commits and then finds nothing to do,
// and creates the schema when one is configured.
func (d Dialect) PrepareMigration(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return err
	}
	if d.Schema == "" {
		return nil
	}
	name := pgx.Identifier{d.Schema}.Sanitize()
	if _, err := tx.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+name); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `SET LOCAL search_path TO `+name)
	return err
}
