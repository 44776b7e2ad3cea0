package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
)

// How the attempt invariants are enforced in the database:
//
//   - Every attempt transaction first locks the applicant row (SELECT ...
//     FOR UPDATE on PostgreSQL; SQLite transactions hold the database write
//     lock from BEGIN IMMEDIATE), so check-then-write is atomic across
//     processes. Locks are always taken in the order session, applicant,
//     attempts, charges, audit head, which rules out deadlocks between
//     the store's own transactions (a retry covers the rest).
//   - The slot is claimed with a conditional UPDATE of the applicant row
//     (inflight_attempt NULL or its lease expired, state allows, failed
//     count below the limit); 0 rows means another transaction won.
//   - A partial unique index allows one attempt in state 'reserved' per
//     national ID, a unique attempts.session_id lets a session reserve
//     once, and a partial unique index allows one first-time approval
//     (outcome 'approved' and not a reverification) per national ID.
//   - The session is marked used by a conditional UPDATE (used_at IS NULL).

// applicantForUpdate reads and locks the applicant row; ok is false when
// there is none.
func (s *Store) applicantForUpdate(ctx context.Context, tx *sql.Tx, nationalID string) (kyc.ApplicantRecord, bool, error) {
	a, err := scanApplicant(tx.QueryRowContext(ctx,
		s.q(`SELECT `+applicantCols+` FROM applicants WHERE national_id = ?`+s.d.ForUpdate()), nationalID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

// ReserveAttempt implements kyc.Store. r.AttemptID, SessionID, NationalID,
// Now, a LeaseUntil after Now and a positive MaxAttempts are required
// (ErrInvalidInput). A reservation by an already verified applicant (only
// with AllowReverification) is recorded as a reverification.
func (s *Store) ReserveAttempt(ctx context.Context, r kyc.Reservation) (kyc.AttemptRecord, error) {
	if r.AttemptID == "" || r.SessionID == "" || r.NationalID == "" {
		return kyc.AttemptRecord{}, invalid("reservation needs attempt, session and national IDs")
	}
	if r.Now.IsZero() || !r.LeaseUntil.After(r.Now) || r.MaxAttempts <= 0 {
		return kyc.AttemptRecord{}, invalid("reservation needs Now, a LeaseUntil after it and MaxAttempts > 0")
	}
	if err := r.CheckCharge(); err != nil {
		return kyc.AttemptRecord{}, err
	}
	now, lease := utc(r.Now), utc(r.LeaseUntil)
	var out kyc.AttemptRecord
	err := s.tx(ctx, "reserve attempt", func(tx *sql.Tx) error {
		// The session: unused, unexpired, the applicant's; marked used.
		n, err := rowsAffected(tx.ExecContext(ctx, s.q(`UPDATE sessions SET used_at = ?
WHERE id = ? AND national_id = ? AND used_at IS NULL AND expires_at > ?`),
			s.tv(now), r.SessionID, r.NationalID, s.tv(now)))
		if err != nil {
			return err
		}
		if n == 0 {
			return s.sessionRefusal(ctx, tx, r.SessionID, r.NationalID)
		}

		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO applicants (national_id, state, failed_attempts, updated_at)
VALUES (?, 'active', 0, ?) ON CONFLICT (national_id) DO NOTHING`), r.NationalID, s.tv(now)); err != nil {
			return err
		}
		a, _, err := s.applicantForUpdate(ctx, tx, r.NationalID)
		if err != nil {
			return err
		}
		if err := refusal(a, r); err != nil {
			return err
		}
		reverify := a.State == kyc.StateVerified

		// An expired reservation is abandoned (not counted).
		if a.InflightAttempt != "" {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE attempts SET state = 'abandoned', decided_at = ?
WHERE id = ? AND state = 'reserved'`), s.tv(now), a.InflightAttempt); err != nil {
				return err
			}
		}
		states := []any{kyc.StateActive, kyc.StateActive}
		if r.AllowReverification {
			states[1] = kyc.StateVerified
		}
		n, err = rowsAffected(tx.ExecContext(ctx, s.q(`UPDATE applicants
SET inflight_attempt = ?, inflight_lease_until = ?, updated_at = ?
WHERE national_id = ? AND (inflight_attempt IS NULL OR inflight_lease_until <= ?)
	AND failed_attempts < ? AND state IN (?, ?)`),
			r.AttemptID, s.tv(lease), s.tv(now), r.NationalID, s.tv(now), r.MaxAttempts, states[0], states[1]))
		if err != nil {
			return err
		}
		if n != 1 { // unreachable while the row is locked; kept as the database-side guard
			return kyc.Wrap(kyc.ErrAttemptInProgress, nil, "another attempt holds the slot")
		}

		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO attempts
	(id, national_id, session_id, state, counted, reverification, lease_until, created_at)
VALUES (?, ?, ?, 'reserved', ?, ?, ?, ?)`),
			r.AttemptID, r.NationalID, r.SessionID, false, reverify, s.tv(lease), s.tv(now))
		if what, ok := s.d.UniqueViolation(err); ok {
			return reserveConflict(what, r)
		}
		if err != nil {
			return err
		}

		// A charge left on a void or abandoned attempt, pending or
		// confirmed, pays for this one; otherwise the reservation's
		// pending charge is recorded.
		var chargeID string
		err = tx.QueryRowContext(ctx, s.q(`SELECT c.id FROM charges c JOIN attempts a ON a.id = c.attempt_id
WHERE c.national_id = ? AND a.state IN ('void', 'abandoned') ORDER BY c.created_at, c.id LIMIT 1`), r.NationalID).Scan(&chargeID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if c := r.Charge; c != nil {
				_, err := tx.ExecContext(ctx, s.q(`INSERT INTO charges (id, national_id, attempt_id, amount, currency, ref, created_at)
VALUES (?, ?, ?, ?, ?, '', ?)`), c.ID, r.NationalID, r.AttemptID, c.Amount, c.Currency, s.tv(c.CreatedAt))
				if _, ok := s.d.UniqueViolation(err); ok {
					return invalid("charge ID %s already exists", c.ID)
				}
				if err != nil {
					return err
				}
			}
		case err != nil:
			return err
		default:
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE charges SET attempt_id = ? WHERE id = ?`), r.AttemptID, chargeID); err != nil {
				return err
			}
		}

		if ev := eventFor(r.Event, r.NationalID, r.SessionID, r.AttemptID); ev != nil {
			if _, err := s.appendAudit(ctx, tx, *ev); err != nil {
				return err
			}
		}
		out, err = s.attemptTx(ctx, tx, r.AttemptID)
		return err
	})
	return out, err
}

// sessionRefusal explains why the session UPDATE matched no row.
func (s *Store) sessionRefusal(ctx context.Context, tx *sql.Tx, id, nationalID string) error {
	x, err := scanSession(tx.QueryRowContext(ctx, s.q(`SELECT `+sessionCols+` FROM sessions WHERE id = ?`), id))
	if err != nil {
		return err
	}
	switch {
	case x.NationalID != nationalID:
		return kyc.Wrap(kyc.ErrSessionNotFound, nil, "session not found for this national ID")
	case !x.UsedAt.IsZero():
		return kyc.Wrap(kyc.ErrSessionUsed, nil, "session %s already used", id)
	default:
		return kyc.Wrap(kyc.ErrSessionExpired, nil, "session %s expired", id)
	}
}

// refusal applies the applicant checks of ReserveAttempt, in the
// contract's order.
func refusal(a kyc.ApplicantRecord, r kyc.Reservation) error {
	switch {
	case a.State == kyc.StateVerified && !r.AllowReverification:
		return kyc.Wrap(kyc.ErrAlreadyVerified, nil, "")
	case a.State == kyc.StateLocked:
		return kyc.Wrap(kyc.ErrLocked, nil, "")
	case a.State == kyc.StateReview:
		return kyc.Wrap(kyc.ErrInReview, nil, "")
	case a.FailedAttempts >= r.MaxAttempts:
		return kyc.Wrap(kyc.ErrAttemptsExhausted, nil, "")
	case a.InflightAttempt != "" && a.InflightLeaseUntil.After(utc(r.Now)):
		return kyc.Wrap(kyc.ErrAttemptInProgress, nil, "")
	}
	return nil
}

// reserveConflict maps a unique violation of the attempt insert.
func reserveConflict(what string, r kyc.Reservation) error {
	switch {
	case strings.Contains(what, "session"):
		return kyc.Wrap(kyc.ErrSessionUsed, nil, "session %s already reserved an attempt", r.SessionID)
	case strings.Contains(what, "national_id") || strings.Contains(what, "one_reserved"):
		return kyc.Wrap(kyc.ErrAttemptInProgress, nil, "")
	default:
		return invalid("attempt ID %s already exists", r.AttemptID)
	}
}

// AttachCharge implements kyc.Store: it confirms the pending charge c.ID
// with c.Ref and c.ConfirmedAt, whichever attempt it belongs to now and
// whatever that attempt's state (the money is taken; the record must not
// be lost). Confirming again with the same Ref is a no-op; another Ref is
// ErrInvalidInput; an unknown charge is ErrChargeNotFound.
func (s *Store) AttachCharge(ctx context.Context, c kyc.ChargeRecord) error {
	if c.ID == "" || c.Ref == "" || c.ConfirmedAt.IsZero() {
		return invalid("confirming a charge needs its ID, a Ref and ConfirmedAt")
	}
	return s.tx(ctx, "confirm charge", func(tx *sql.Tx) error {
		var nid, ref string
		err := tx.QueryRowContext(ctx, s.q(`SELECT national_id, ref FROM charges WHERE id = ?`+s.d.ForUpdate()), c.ID).Scan(&nid, &ref)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return kyc.Wrap(kyc.ErrChargeNotFound, nil, "charge %s not found", c.ID)
		case err != nil:
			return err
		case c.NationalID != "" && c.NationalID != nid:
			return invalid("charge %s belongs to another national ID", c.ID)
		case ref == c.Ref:
			return nil // confirmed already, with the same reference
		case ref != "":
			return invalid("charge %s is already confirmed with another reference", c.ID)
		}
		n, err := rowsAffected(tx.ExecContext(ctx, s.q(`UPDATE charges SET ref = ?, confirmed_at = ? WHERE id = ? AND ref = ''`),
			c.Ref, s.tv(c.ConfirmedAt), c.ID))
		if err != nil {
			return err
		}
		if n != 1 { // unreachable while the row is locked
			return invalid("charge %s was confirmed concurrently", c.ID)
		}
		return nil
	})
}

// FinishAttempt implements kyc.Store. The attempt must be the applicant's
// in-flight attempt (ErrLeaseLost otherwise, also when it does not exist);
// a lease that expired without anyone taking over still finishes. Input
// rules (ErrInvalidInput): a known outcome, MaxAttempts > 0, Now set, and
// Counted only with Rejected or Locked.
//
// Applicant update: Approved -> verified; Counted -> FailedAttempts+1
// (capped at MaxAttempts) and locked when it reaches MaxAttempts; Locked
// outcome -> locked; Review -> review with ReviewAttempt. A verified
// applicant (a reverification) stays verified whatever the outcome.
func (s *Store) FinishAttempt(ctx context.Context, f kyc.Finish) (kyc.ApplicantRecord, error) {
	if _, err := ParseOutcome(string(f.Outcome)); err != nil {
		return kyc.ApplicantRecord{}, invalid("unknown outcome %q", f.Outcome)
	}
	if f.AttemptID == "" || f.NationalID == "" || f.MaxAttempts <= 0 || f.Now.IsZero() {
		return kyc.ApplicantRecord{}, invalid("finish needs attempt and national IDs, MaxAttempts > 0 and Now")
	}
	if f.Counted && f.Outcome != kyc.Rejected && f.Outcome != kyc.Locked {
		return kyc.ApplicantRecord{}, invalid("only a rejected or locked outcome is counted")
	}
	reasons, err := encodeReasons(f.Reasons)
	if err != nil {
		return kyc.ApplicantRecord{}, err
	}
	now := utc(f.Now)
	var out kyc.ApplicantRecord
	err = s.tx(ctx, "finish attempt", func(tx *sql.Tx) error {
		a, ok, err := s.applicantForUpdate(ctx, tx, f.NationalID)
		if err != nil {
			return err
		}
		if !ok || a.InflightAttempt != f.AttemptID {
			return kyc.Wrap(kyc.ErrLeaseLost, nil, "attempt %s no longer holds the slot", f.AttemptID)
		}
		n, err := rowsAffected(tx.ExecContext(ctx, s.q(`UPDATE attempts SET state = 'decided', outcome = ?, reasons = ?,
	counted = ?, evidence_id = ?, decision = ?, decided_at = ?
WHERE id = ? AND national_id = ? AND state = 'reserved'`),
			string(f.Outcome), reasons, f.Counted, nullStr(f.EvidenceID), nullBytes(f.Decision), s.tv(now),
			f.AttemptID, f.NationalID))
		if _, ok := s.d.UniqueViolation(err); ok {
			return kyc.Wrap(kyc.ErrAlreadyVerified, nil, "national ID already approved once")
		}
		if err != nil {
			return err
		}
		if n != 1 {
			return kyc.Wrap(kyc.ErrLeaseLost, nil, "attempt %s is no longer reserved", f.AttemptID)
		}
		next := finished(a, f.Outcome, f.Counted, f.AttemptID, f.MaxAttempts, now)
		if err := s.writeApplicant(ctx, tx, next, f.AttemptID); err != nil {
			return err
		}
		if ev := eventFor(f.Event, f.NationalID, "", f.AttemptID); ev != nil {
			if _, err := s.appendAudit(ctx, tx, *ev); err != nil {
				return err
			}
		}
		out = next
		return nil
	})
	return out, err
}

// finished computes the applicant after an attempt decided with outcome.
// It is shared by FinishAttempt and ResolveReview (the memory store has its
// own copy of the same rules).
func finished(a kyc.ApplicantRecord, outcome kyc.Outcome, counted bool, attemptID string, maxAttempts int, now time.Time) kyc.ApplicantRecord {
	a.InflightAttempt, a.InflightLeaseUntil = "", time.Time{}
	a.UpdatedAt = now
	if a.ReviewAttempt == attemptID {
		a.ReviewAttempt = ""
	}
	if outcome == kyc.Approved {
		a.State = kyc.StateVerified
		a.VerifiedAt = now
		return a
	}
	if counted {
		a.FailedAttempts = min(a.FailedAttempts+1, maxAttempts)
	}
	if a.State == kyc.StateVerified {
		return a
	}
	switch {
	case (counted && a.FailedAttempts >= maxAttempts) || outcome == kyc.Locked:
		a.State, a.LockedAt, a.ReviewAttempt = kyc.StateLocked, now, ""
	case outcome == kyc.Review:
		a.State, a.ReviewAttempt = kyc.StateReview, attemptID
	default:
		a.State = kyc.StateActive
	}
	return a
}

// writeApplicant stores the computed applicant; the in-flight or review
// slot it replaces must still be held by attemptID.
func (s *Store) writeApplicant(ctx context.Context, tx *sql.Tx, a kyc.ApplicantRecord, attemptID string) error {
	n, err := rowsAffected(tx.ExecContext(ctx, s.q(`UPDATE applicants SET state = ?, failed_attempts = ?,
	inflight_attempt = ?, inflight_lease_until = ?, review_attempt = ?, verified_at = ?, locked_at = ?, updated_at = ?
WHERE national_id = ? AND (inflight_attempt = ? OR review_attempt = ?)`),
		a.State, a.FailedAttempts, nullStr(a.InflightAttempt), s.tv(a.InflightLeaseUntil), nullStr(a.ReviewAttempt),
		s.tv(a.VerifiedAt), s.tv(a.LockedAt), s.tv(a.UpdatedAt), a.NationalID, attemptID, attemptID))
	if err != nil {
		return err
	}
	if n != 1 {
		return kyc.Wrap(kyc.ErrLeaseLost, nil, "attempt %s lost the applicant's slot", attemptID)
	}
	return nil
}

// ReleaseAttempt implements kyc.Store. ErrAttemptNotFound when the attempt
// does not exist for r.NationalID; ErrLeaseLost when it is no longer
// reserved.
func (s *Store) ReleaseAttempt(ctx context.Context, r kyc.Release) error {
	if r.AttemptID == "" || r.NationalID == "" || r.Now.IsZero() {
		return invalid("release needs attempt and national IDs and Now")
	}
	now := utc(r.Now)
	return s.tx(ctx, "release attempt", func(tx *sql.Tx) error {
		if _, _, err := s.applicantForUpdate(ctx, tx, r.NationalID); err != nil {
			return err
		}
		n, err := rowsAffected(tx.ExecContext(ctx, s.q(`UPDATE attempts SET state = 'void', void_cause = ?, decided_at = ?
WHERE id = ? AND national_id = ? AND state = 'reserved'`), nullStr(r.Cause), s.tv(now), r.AttemptID, r.NationalID))
		if err != nil {
			return err
		}
		if n == 0 {
			var state kyc.AttemptState
			err := tx.QueryRowContext(ctx, s.q(`SELECT state FROM attempts WHERE id = ? AND national_id = ?`),
				r.AttemptID, r.NationalID).Scan(&state)
			if errors.Is(err, sql.ErrNoRows) {
				return kyc.Wrap(kyc.ErrAttemptNotFound, nil, "attempt %s not found", r.AttemptID)
			}
			if err != nil {
				return err
			}
			return kyc.Wrap(kyc.ErrLeaseLost, nil, "attempt %s is %s, not reserved", r.AttemptID, state)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE applicants SET inflight_attempt = NULL, inflight_lease_until = NULL,
	updated_at = ? WHERE national_id = ? AND inflight_attempt = ?`), s.tv(now), r.NationalID, r.AttemptID); err != nil {
			return err
		}
		if ev := eventFor(r.Event, r.NationalID, "", r.AttemptID); ev != nil {
			if _, err := s.appendAudit(ctx, tx, *ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// ResolveReview implements kyc.Store. ErrAttemptNotFound when the attempt
// does not exist, ErrNotInReview when it is not the applicant's review
// attempt. The attempt's Outcome becomes the final one (Approved, or
// Rejected — Locked when the rejection locks the applicant) and its Review
// records the operator; the review outcome stays visible through Review.
// Rejecting with no Reasons keeps the attempt's reasons.
func (s *Store) ResolveReview(ctx context.Context, r kyc.Resolution) (kyc.ApplicantRecord, kyc.AttemptRecord, error) {
	if r.AttemptID == "" || r.OperatorID == "" || r.MaxAttempts <= 0 || r.Now.IsZero() {
		return kyc.ApplicantRecord{}, kyc.AttemptRecord{}, invalid("resolution needs an attempt, an operator, MaxAttempts > 0 and Now")
	}
	reasons, err := encodeReasons(r.Reasons)
	if err != nil {
		return kyc.ApplicantRecord{}, kyc.AttemptRecord{}, err
	}
	now := utc(r.Now)
	var app kyc.ApplicantRecord
	var att kyc.AttemptRecord
	err = s.tx(ctx, "resolve review", func(tx *sql.Tx) error {
		var nid string
		err := tx.QueryRowContext(ctx, s.q(`SELECT national_id FROM attempts WHERE id = ?`), r.AttemptID).Scan(&nid)
		if errors.Is(err, sql.ErrNoRows) {
			return kyc.Wrap(kyc.ErrAttemptNotFound, nil, "attempt %s not found", r.AttemptID)
		}
		if err != nil {
			return err
		}
		a, ok, err := s.applicantForUpdate(ctx, tx, nid)
		if err != nil {
			return err
		}
		if !ok || a.State != kyc.StateReview || a.ReviewAttempt != r.AttemptID {
			return kyc.Wrap(kyc.ErrNotInReview, nil, "attempt %s is not waiting for review", r.AttemptID)
		}
		outcome := kyc.Approved
		if !r.Approve {
			outcome = kyc.Rejected
		}
		next := finished(a, outcome, !r.Approve, r.AttemptID, r.MaxAttempts, now)
		if next.State == kyc.StateLocked {
			outcome = kyc.Locked
		}
		n, err := rowsAffected(tx.ExecContext(ctx, s.q(`UPDATE attempts SET outcome = ?, counted = ?,
	reasons = COALESCE(?, reasons), review_operator = ?, review_approved = ?, review_note = ?, review_at = ?
WHERE id = ? AND state = 'decided' AND outcome = 'review'`),
			string(outcome), !r.Approve, reasons, r.OperatorID, r.Approve, nullStr(r.Note), s.tv(now), r.AttemptID))
		if _, ok := s.d.UniqueViolation(err); ok {
			return kyc.Wrap(kyc.ErrAlreadyVerified, nil, "national ID already approved once")
		}
		if err != nil {
			return err
		}
		if n != 1 {
			return kyc.Wrap(kyc.ErrNotInReview, nil, "attempt %s has no review outcome", r.AttemptID)
		}
		if err := s.writeApplicant(ctx, tx, next, r.AttemptID); err != nil {
			return err
		}
		if ev := eventFor(r.Event, nid, "", r.AttemptID); ev != nil {
			if ev.Actor == "" {
				ev.Actor = r.OperatorID
			}
			if _, err := s.appendAudit(ctx, tx, *ev); err != nil {
				return err
			}
		}
		app = next
		att, err = s.attemptTx(ctx, tx, r.AttemptID)
		return err
	})
	return app, att, err
}

// Attempt implements kyc.Store.
func (s *Store) Attempt(ctx context.Context, id string) (kyc.AttemptRecord, error) {
	var a kyc.AttemptRecord
	err := s.retry(ctx, "read attempt", func() error {
		var err error
		a, err = s.attemptTx(ctx, s.db, id)
		return err
	})
	return a, err
}

// Attempts implements kyc.Store, oldest first (creation time, then
// insertion order).
func (s *Store) Attempts(ctx context.Context, nationalID string) ([]kyc.AttemptRecord, error) {
	var out []kyc.AttemptRecord
	err := s.retry(ctx, "read attempts", func() error {
		var err error
		out, err = s.attemptList(ctx, s.db, attemptSelect+` WHERE a.national_id = ? ORDER BY a.created_at, a.seq`, nationalID)
		return err
	})
	return out, err
}

// Reviews implements kyc.Store: decided attempts whose outcome is review
// and that no operator has resolved, oldest decision first. A limit <= 0
// means no limit.
func (s *Store) Reviews(ctx context.Context, limit int) ([]kyc.AttemptRecord, error) {
	query := attemptSelect + ` WHERE a.outcome = 'review' AND a.state = 'decided' ORDER BY a.decided_at, a.seq`
	args := []any{}
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}
	var out []kyc.AttemptRecord
	err := s.retry(ctx, "read reviews", func() error {
		var err error
		out, err = s.attemptList(ctx, s.db, query, args...)
		return err
	})
	return out, err
}
