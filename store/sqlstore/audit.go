package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
)

// The audit log is the table audit (one row per event, seq the primary
// key) plus a one-row table audit_head holding the last seq and hash.
// Every append locks the head row (FOR UPDATE, or SQLite's write lock)
// inside the transaction of the state change it records, so sequence
// numbers have no gaps and the chain has no forks across processes. The
// head row also lets VerifyAuditChain detect a deleted tail.

// appendAudit seals ev after the current head and stores it, inside tx.
// A zero ev.Time is stamped with the wall clock.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, ev kyc.AuditEvent) (kyc.AuditEvent, error) {
	var seq int64
	var prev []byte
	if err := tx.QueryRowContext(ctx, s.q(`SELECT seq, hash FROM audit_head WHERE id = 1`+s.d.ForUpdate())).
		Scan(&seq, bytesCol{&prev}); err != nil {
		return ev, err
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	kyc.SealAudit(&ev, seq+1, prev)
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit
	(seq, at, kind, national_id, session_id, attempt_id, actor, data, prev_hash, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		ev.Seq, s.d.Time(ev.Time), string(ev.Kind), ev.NationalID, ev.SessionID, ev.AttemptID, ev.Actor,
		nullBytes(ev.Data), nullBytes(ev.PrevHash), ev.Hash); err != nil {
		return ev, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), ev.Seq, ev.Hash); err != nil {
		return ev, err
	}
	return ev, nil
}

// eventFor fills the empty identifying fields of a step's event from the
// step itself; an event without a Kind is not appended (nil).
func eventFor(ev kyc.AuditEvent, nationalID, sessionID, attemptID string) *kyc.AuditEvent {
	if ev.Kind == "" {
		return nil
	}
	if ev.NationalID == "" {
		ev.NationalID = nationalID
	}
	if ev.SessionID == "" {
		ev.SessionID = sessionID
	}
	if ev.AttemptID == "" {
		ev.AttemptID = attemptID
	}
	return &ev
}

// AppendAudit implements kyc.Store. ev.Kind is required.
func (s *Store) AppendAudit(ctx context.Context, ev kyc.AuditEvent) (kyc.AuditEvent, error) {
	if ev.Kind == "" {
		return ev, invalid("audit event needs a kind")
	}
	var out kyc.AuditEvent
	err := s.tx(ctx, "append audit", func(tx *sql.Tx) error {
		var err error
		out, err = s.appendAudit(ctx, tx, ev)
		return err
	})
	return out, err
}

// Audit implements kyc.Store. A limit <= 0 means no limit.
func (s *Store) Audit(ctx context.Context, after int64, limit int) ([]kyc.AuditEvent, error) {
	query := `SELECT seq, at, kind, national_id, session_id, attempt_id, actor, data, prev_hash, hash
FROM audit WHERE seq > ? ORDER BY seq`
	args := []any{after}
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}
	var out []kyc.AuditEvent
	err := s.retry(ctx, "read audit", func() error {
		out = nil
		rows, err := s.db.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ev kyc.AuditEvent
			var kind string
			if err := rows.Scan(&ev.Seq, timeCol{&ev.Time}, &kind, &ev.NationalID, &ev.SessionID, &ev.AttemptID,
				&ev.Actor, bytesCol{&ev.Data}, bytesCol{&ev.PrevHash}, bytesCol{&ev.Hash}); err != nil {
				return err
			}
			ev.Kind = kyc.AuditKind(kind)
			out = append(out, ev)
		}
		return rows.Err()
	})
	return out, err
}

// AuditHead implements kyc.Store from the audit_head row, which moves with
// every append: a deleted tail is then visible to VerifyAuditChain.
func (s *Store) AuditHead(ctx context.Context) (int64, []byte, error) {
	var seq int64
	var hash []byte
	err := s.retry(ctx, "read audit head", func() error {
		return s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, bytesCol{&hash})
	})
	if seq == 0 {
		hash = nil
	}
	return seq, hash, err
}
