package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/reason"
)

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// ParseOutcome parses a stored outcome strictly: an unknown value is an
// error, never a zero default.
func ParseOutcome(s string) (kyc.Outcome, error) {
	switch o := kyc.Outcome(s); o {
	case kyc.Approved, kyc.Rejected, kyc.Review, kyc.Locked:
		return o, nil
	}
	return "", fmt.Errorf("sqlstore: unknown outcome %q", s)
}

// encodeReasons stores reason codes as a JSON array (NULL when none).
// Unknown codes are refused, so that nothing unreadable is written.
func encodeReasons(rs []reason.Code) (any, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	for _, r := range rs {
		if !r.Known() {
			return nil, invalid("unknown reason code %q", r)
		}
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decodeReasons reads what encodeReasons wrote; unknown codes are errors.
func decodeReasons(s string) ([]reason.Code, error) {
	if s == "" {
		return nil, nil
	}
	var rs []reason.Code
	if err := json.Unmarshal([]byte(s), &rs); err != nil {
		return nil, fmt.Errorf("sqlstore: stored reasons: %w", err)
	}
	return rs, nil
}

const applicantCols = `national_id, state, failed_attempts, inflight_attempt, inflight_lease_until, review_attempt, verified_at, locked_at, updated_at`

func scanApplicant(r scanner) (kyc.ApplicantRecord, error) {
	var a kyc.ApplicantRecord
	err := r.Scan(&a.NationalID, &a.State, &a.FailedAttempts, strCol{&a.InflightAttempt},
		timeCol{&a.InflightLeaseUntil}, strCol{&a.ReviewAttempt}, timeCol{&a.VerifiedAt},
		timeCol{&a.LockedAt}, timeCol{&a.UpdatedAt})
	return a, err
}

// attemptSelect reads attempts with their charge (at most one: charges
// are unique per attempt).
const attemptSelect = `SELECT a.id, a.national_id, a.session_id, a.state, a.outcome, a.reasons, a.counted,
	a.lease_until, a.evidence_id, a.decision, a.void_cause, a.created_at, a.decided_at,
	a.review_operator, a.review_approved, a.review_note, a.review_at,
	c.id, c.national_id, c.amount, c.currency, c.ref, c.created_at, c.confirmed_at
FROM attempts a LEFT JOIN charges c ON c.attempt_id = a.id`

func scanAttempt(r scanner) (kyc.AttemptRecord, error) {
	var (
		a                  kyc.AttemptRecord
		outcome, reasons   string
		revOp, revNote     string
		revApproved        sql.NullBool
		revAt, chCreated   time.Time
		chConfirmed        time.Time
		chID, chNID, chCur string
		chRef              string
		chAmount           sql.NullInt64
	)
	err := r.Scan(&a.ID, &a.NationalID, &a.SessionID, &a.State, strCol{&outcome}, strCol{&reasons},
		&a.Counted, timeCol{&a.LeaseUntil}, strCol{&a.EvidenceID}, bytesCol{&a.Decision},
		strCol{&a.VoidCause}, timeCol{&a.CreatedAt}, timeCol{&a.DecidedAt},
		strCol{&revOp}, &revApproved, strCol{&revNote}, timeCol{&revAt},
		strCol{&chID}, strCol{&chNID}, &chAmount, strCol{&chCur}, strCol{&chRef}, timeCol{&chCreated},
		timeCol{&chConfirmed})
	if err != nil {
		return a, err
	}
	if outcome != "" {
		if a.Outcome, err = ParseOutcome(outcome); err != nil {
			return a, err
		}
	}
	if a.Reasons, err = decodeReasons(reasons); err != nil {
		return a, err
	}
	if revApproved.Valid {
		a.Review = &kyc.ReviewRecord{OperatorID: revOp, Approved: revApproved.Bool, Note: revNote, At: revAt}
	}
	if chID != "" {
		a.Charge = &kyc.ChargeRecord{ID: chID, NationalID: chNID, AttemptID: a.ID, Amount: chAmount.Int64,
			Currency: chCur, Ref: chRef, CreatedAt: chCreated, ConfirmedAt: chConfirmed}
	}
	return a, nil
}

func (s *Store) attemptTx(ctx context.Context, q querier, id string) (kyc.AttemptRecord, error) {
	a, err := scanAttempt(q.QueryRowContext(ctx, s.q(attemptSelect+` WHERE a.id = ?`), id))
	if err == sql.ErrNoRows {
		return a, kyc.Wrap(kyc.ErrAttemptNotFound, nil, "attempt %s not found", id)
	}
	return a, err
}

func (s *Store) attemptList(ctx context.Context, q querier, query string, args ...any) ([]kyc.AttemptRecord, error) {
	rows, err := q.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kyc.AttemptRecord
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
