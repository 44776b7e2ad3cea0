package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
)

// Config tunes the engine. The zero value means the documented defaults.
// It is a plain value: New copies it.
type Config struct {
	// MaxRetries bounds how many times a transaction that hit a transient
	// conflict (Dialect.Retryable) is run again. Default 8; negative
	// means no retry.
	MaxRetries int
	// RetryBase is the first back-off delay; it doubles up to RetryMax,
	// with full jitter. Defaults 2 ms and 100 ms.
	RetryBase time.Duration
	RetryMax  time.Duration
	// KeepDB makes Close leave the *sql.DB open (the caller owns it).
	KeepDB bool
}

func (c Config) withDefaults() Config {
	if c.MaxRetries == 0 {
		c.MaxRetries = 8
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 2 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 100 * time.Millisecond
	}
	if c.RetryMax < c.RetryBase {
		c.RetryMax = c.RetryBase
	}
	return c
}

// Store is a kyc.Store over database/sql. It is safe for concurrent use by
// many goroutines, and several Stores (in several processes) may share one
// database: every invariant of kyc.Store is enforced inside database
// transactions (row locks or an exclusive write lock, conditional updates
// and unique constraints), never by locks in this process.
type Store struct {
	db  *sql.DB
	d   Dialect
	cfg Config

	queries sync.Map // query with "?" -> rebound query

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ kyc.Store = (*Store)(nil)

// New migrates db to the dialect's latest schema (see Migrate) and returns
// a Store over it. cfg is copied.
func New(ctx context.Context, db *sql.DB, d Dialect, cfg Config) (*Store, error) {
	if db == nil || d == nil {
		return nil, errors.New("sqlstore: nil db or dialect")
	}
	s := &Store{db: db, d: d, cfg: cfg.withDefaults()}
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// DB returns the underlying database, for health checks and tests. Writing
// to the store's tables directly bypasses its invariants.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.d }

// Close closes the database (unless Config.KeepDB). It is idempotent; the
// Store's methods fail with kyc.ErrClosed afterwards.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if !s.cfg.KeepDB {
			s.closeErr = s.db.Close()
		}
	})
	return s.closeErr
}

// q rebinds a query once and caches it.
func (s *Store) q(query string) string {
	if v, ok := s.queries.Load(query); ok {
		return v.(string)
	}
	r := s.d.Rebind(query)
	s.queries.Store(query, r)
	return r
}

// errClosed is returned after Close.
func errClosed() error { return kyc.Wrap(kyc.ErrClosed, nil, "store closed") }

// depErr wraps a database failure as a kyc dependency error naming the
// store, keeping the cause reachable (errors.Is(err, context.Canceled)
// still works).
func depErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ke *kyc.Error
	if errors.As(err, &ke) {
		return err
	}
	return &kyc.Error{Code: kyc.CodeDependency, Dependency: "store", Msg: op, Err: err}
}

// invalid returns a kyc.ErrInvalidInput.
func invalid(format string, args ...any) error {
	return kyc.Wrap(kyc.ErrInvalidInput, nil, "store: "+format, args...)
}

// retry runs fn until it succeeds, fails with a non-retryable error, the
// retry budget is spent or ctx ends. Domain errors (*kyc.Error) are never
// retried.
func (s *Store) retry(ctx context.Context, op string, fn func() error) error {
	if s.closed.Load() {
		return errClosed()
	}
	delay := s.cfg.RetryBase
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return depErr(op, err)
		}
		err := fn()
		if err == nil {
			return nil
		}
		var ke *kyc.Error
		if errors.As(err, &ke) || !s.d.Retryable(err) || n >= s.cfg.MaxRetries {
			if n > 0 && s.d.Retryable(err) {
				err = fmt.Errorf("%w (after %d retries)", err, n)
			}
			return depErr(op, err)
		}
		sleep := time.Duration(rand.Int64N(int64(delay)) + 1)
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return depErr(op, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, s.cfg.RetryMax)
	}
}

// tx runs fn in a transaction, retried as a whole on transient conflicts.
// fn must not keep anything outside the transaction that a retry would
// duplicate: it is simply run again.
func (s *Store) tx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	return s.retry(ctx, op, func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// utc returns t in UTC truncated to microseconds, the precision every
// backend keeps, so that what is returned equals what is read back.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// tv encodes a time argument: NULL for the zero time.
func (s *Store) tv(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.d.Time(utc(t))
}

// nullStr encodes "" as NULL.
func nullStr(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// nullBytes encodes an empty slice as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// timeCol scans a time column written by Dialect.Time: an integer of
// microseconds since the Unix epoch or a time.Time. NULL is the zero time.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = utc(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}

// strCol scans a nullable text column into a string ("" for NULL).
type strCol struct{ s *string }

// Scan implements sql.Scanner.
func (c strCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.s = ""
	case string:
		*c.s = v
	case []byte:
		*c.s = string(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a string", src)
	}
	return nil
}

// bytesCol scans a nullable blob column (nil for NULL), copying the
// driver's buffer.
type bytesCol struct{ b *[]byte }

// Scan implements sql.Scanner.
func (c bytesCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.b = nil
	case []byte:
		*c.b = append([]byte(nil), v...)
	case string:
		*c.b = []byte(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into bytes", src)
	}
	return nil
}

// rowsAffected returns the count of a result, or an error.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
