package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
	"time"
)

// Dialect is what the engine needs to know about one SQL database. The
// backends (store/sqlite, store/postgres) implement it; a host writing a
// backend for another database implements it too. A Dialect must be safe
// for concurrent use (the engine calls it from every goroutine).
//
// Queries are written with "?" placeholders and these column conventions:
// times are non-null UTC instants at microsecond precision (NULL for the
// zero time), booleans are Go bools, byte slices are blobs.
type Dialect interface {
	// Name names the backend in messages ("sqlite", "postgres").
	Name() string
	// Rebind rewrites the "?" placeholders of query into the database's
	// syntax. It is called on every query, so it should be cheap.
	Rebind(query string) string
	// ForUpdate is the clause appended to a SELECT that must lock the rows
	// it reads until the transaction ends (" FOR UPDATE"). It is "" for
	// databases whose write transactions already hold an exclusive lock
	// from BEGIN (SQLite with BEGIN IMMEDIATE).
	ForUpdate() string
	// Time encodes a non-zero time (already UTC and truncated to
	// microseconds) as a query argument.
	Time(t time.Time) any
	// Retryable reports whether err is a transient conflict after which
	// the whole transaction may be run again: a serialization failure or
	// a deadlock (PostgreSQL 40001, 40P01), a busy or locked database
	// (SQLite BUSY, LOCKED).
	Retryable(err error) bool
	// UniqueViolation reports whether err is a unique-constraint
	// violation, and returns what the database names (a constraint name
	// or "table.column").
	UniqueViolation(err error) (what string, ok bool)
	// Migrations returns the dialect's migration files, named
	// "NNNN_description.sql" at the root of the file system, applied in
	// version order.
	Migrations() fs.FS
	// PrepareMigration runs first inside the migration transaction. It
	// must serialize concurrent migrators (two replicas starting at once)
	// until the transaction ends, for example with pg_advisory_xact_lock,
	// and may create the schema the tables live in.
	PrepareMigration(ctx context.Context, tx *sql.Tx) error
}
