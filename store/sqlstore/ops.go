package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
)

// Applicant implements kyc.Store: the record, or a zero record with the
// national ID and StateActive when there is none.
func (s *Store) Applicant(ctx context.Context, nationalID string) (kyc.ApplicantRecord, error) {
	var a kyc.ApplicantRecord
	err := s.retry(ctx, "read applicant", func() error {
		var err error
		a, err = scanApplicant(s.db.QueryRowContext(ctx,
			s.q(`SELECT `+applicantCols+` FROM applicants WHERE national_id = ?`), nationalID))
		if errors.Is(err, sql.ErrNoRows) {
			a, err = kyc.ApplicantRecord{NationalID: nationalID, State: kyc.StateActive}, nil
		}
		return err
	})
	return a, err
}

// PutOTP implements kyc.Store: rec replaces any earlier OTP of its
// national ID, tries and confirmation included.
func (s *Store) PutOTP(ctx context.Context, rec kyc.OTPRecord) error {
	if rec.NationalID == "" || len(rec.Hash) == 0 || len(rec.Salt) == 0 || rec.ExpiresAt.IsZero() {
		return invalid("OTP needs a national ID, hash, salt and expiry")
	}
	return s.retry(ctx, "put OTP", func() error {
		_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO otps
	(national_id, mobile, hash, salt, expires_at, tries, max_tries, confirmed_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (national_id) DO UPDATE SET mobile = excluded.mobile, hash = excluded.hash,
	salt = excluded.salt, expires_at = excluded.expires_at, tries = excluded.tries,
	max_tries = excluded.max_tries, confirmed_at = excluded.confirmed_at, created_at = excluded.created_at`),
			rec.NationalID, rec.Mobile, rec.Hash, rec.Salt, s.tv(rec.ExpiresAt), rec.Tries, rec.MaxTries,
			s.tv(rec.ConfirmedAt), s.tv(rec.CreatedAt))
		return err
	})
}

const otpCols = `national_id, mobile, hash, salt, expires_at, tries, max_tries, confirmed_at, created_at`

func scanOTP(r scanner) (kyc.OTPRecord, error) {
	var o kyc.OTPRecord
	err := r.Scan(&o.NationalID, &o.Mobile, bytesCol{&o.Hash}, bytesCol{&o.Salt}, timeCol{&o.ExpiresAt},
		&o.Tries, &o.MaxTries, timeCol{&o.ConfirmedAt}, timeCol{&o.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return o, kyc.Wrap(kyc.ErrOTPNotFound, nil, "no OTP for this national ID")
	}
	return o, err
}

// TryOTP implements kyc.Store with a single UPDATE ... RETURNING, so
// concurrent tries are each counted exactly once. now is not needed: the
// caller compares ExpiresAt.
func (s *Store) TryOTP(ctx context.Context, nationalID string, now time.Time) (kyc.OTPRecord, error) {
	var o kyc.OTPRecord
	err := s.retry(ctx, "try OTP", func() error {
		var err error
		o, err = scanOTP(s.db.QueryRowContext(ctx,
			s.q(`UPDATE otps SET tries = tries + 1 WHERE national_id = ? RETURNING `+otpCols), nationalID))
		return err
	})
	return o, err
}

// ConfirmOTP implements kyc.Store. Errors: ErrOTPNotFound when the national
// ID has no OTP; ErrOTPExpired when the OTP was replaced by a newer one
// (other Salt) or is already confirmed (a code is single use).
func (s *Store) ConfirmOTP(ctx context.Context, nationalID string, salt []byte, now time.Time) error {
	if now.IsZero() {
		return invalid("ConfirmOTP needs now")
	}
	return s.tx(ctx, "confirm OTP", func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, s.q(`UPDATE otps SET confirmed_at = ?
WHERE national_id = ? AND salt = ? AND confirmed_at IS NULL`), s.tv(now), nationalID, salt))
		if err != nil || n == 1 {
			return err
		}
		o, err := scanOTP(tx.QueryRowContext(ctx, s.q(`SELECT `+otpCols+` FROM otps WHERE national_id = ?`), nationalID))
		if err != nil {
			return err
		}
		if !bytes.Equal(o.Salt, salt) {
			return kyc.Wrap(kyc.ErrOTPExpired, nil, "OTP was replaced by a newer one")
		}
		return kyc.Wrap(kyc.ErrOTPExpired, nil, "OTP already confirmed")
	})
}

// OTP implements kyc.Store.
func (s *Store) OTP(ctx context.Context, nationalID string) (kyc.OTPRecord, error) {
	var o kyc.OTPRecord
	err := s.retry(ctx, "read OTP", func() error {
		var err error
		o, err = scanOTP(s.db.QueryRowContext(ctx, s.q(`SELECT `+otpCols+` FROM otps WHERE national_id = ?`), nationalID))
		return err
	})
	return o, err
}

// CreateSession implements kyc.Store. A duplicate ID is ErrInvalidInput.
func (s *Store) CreateSession(ctx context.Context, rec kyc.SessionRecord) error {
	if rec.ID == "" || rec.NationalID == "" || rec.ExpiresAt.IsZero() || rec.CreatedAt.IsZero() {
		return invalid("session needs an ID, national ID, creation and expiry times")
	}
	return s.retry(ctx, "create session", func() error {
		_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO sessions
	(id, national_id, challenge, nonce, head_turn, birth_date, mobile, ip, created_at, expires_at, used_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			rec.ID, rec.NationalID, rec.Challenge, rec.Nonce, rec.HeadTurn, rec.BirthDate, rec.Mobile, rec.IP,
			s.tv(rec.CreatedAt), s.tv(rec.ExpiresAt), s.tv(rec.UsedAt))
		if _, ok := s.d.UniqueViolation(err); ok {
			return invalid("session ID %s already exists", rec.ID)
		}
		return err
	})
}

const sessionCols = `id, national_id, challenge, nonce, head_turn, birth_date, mobile, ip, created_at, expires_at, used_at`

func scanSession(r scanner) (kyc.SessionRecord, error) {
	var x kyc.SessionRecord
	err := r.Scan(&x.ID, &x.NationalID, &x.Challenge, &x.Nonce, &x.HeadTurn, &x.BirthDate, &x.Mobile, &x.IP,
		timeCol{&x.CreatedAt}, timeCol{&x.ExpiresAt}, timeCol{&x.UsedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return x, kyc.Wrap(kyc.ErrSessionNotFound, nil, "session not found")
	}
	return x, err
}

// Session implements kyc.Store.
func (s *Store) Session(ctx context.Context, id string) (kyc.SessionRecord, error) {
	var x kyc.SessionRecord
	err := s.retry(ctx, "read session", func() error {
		var err error
		x, err = scanSession(s.db.QueryRowContext(ctx, s.q(`SELECT `+sessionCols+` FROM sessions WHERE id = ?`), id))
		return err
	})
	return x, err
}

// PutRepresentativeDoc implements kyc.Store. The document is stored as
// pending (an empty State means pending; any other State is
// ErrInvalidInput, since only SetRepresentativeDocState moves it on). A
// replacement keeps the original CreatedAt, must have the same national
// ID, and is refused with ErrDocumentApproved once the stored document is
// approved.
func (s *Store) PutRepresentativeDoc(ctx context.Context, d kyc.RepresentativeDoc) error {
	if d.ID == "" || d.NationalID == "" {
		return invalid("document needs an ID and a national ID")
	}
	if !validKind(d.Kind) {
		return invalid("unknown representative kind %q", d.Kind)
	}
	if d.State != "" && d.State != kyc.DocPending {
		return invalid("a new document is pending, not %q", d.State)
	}
	if d.CreatedAt.IsZero() {
		return invalid("document needs CreatedAt")
	}
	updated := d.UpdatedAt
	if updated.IsZero() {
		updated = d.CreatedAt
	}
	return s.tx(ctx, "put representative document", func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, s.q(`INSERT INTO rep_docs
	(id, national_id, kind, doc_type, expires_at, evidence_id, state, operator_id, note, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, ?, ?)
ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, doc_type = excluded.doc_type,
	expires_at = excluded.expires_at, evidence_id = excluded.evidence_id, state = 'pending',
	operator_id = NULL, note = NULL, updated_at = excluded.updated_at
WHERE rep_docs.state <> 'approved' AND rep_docs.national_id = excluded.national_id`),
			d.ID, d.NationalID, string(d.Kind), d.DocType, s.tv(d.ExpiresAt), d.EvidenceID,
			s.tv(d.CreatedAt), s.tv(updated)))
		if err != nil || n == 1 {
			return err
		}
		var state kyc.DocState
		var nid string
		if err := tx.QueryRowContext(ctx, s.q(`SELECT state, national_id FROM rep_docs WHERE id = ?`), d.ID).
			Scan(&state, &nid); err != nil {
			return err
		}
		if state == kyc.DocApproved {
			return kyc.Wrap(kyc.ErrDocumentApproved, nil, "document %s is approved and cannot be replaced", d.ID)
		}
		return invalid("document %s belongs to another national ID", d.ID)
	})
}

// SetRepresentativeDocState implements kyc.Store: pending -> approved or
// rejected only.
func (s *Store) SetRepresentativeDocState(ctx context.Context, id string, state kyc.DocState, operatorID, note string, now time.Time) error {
	if state != kyc.DocApproved && state != kyc.DocRejected {
		return invalid("a document moves to approved or rejected, not %q", state)
	}
	if now.IsZero() {
		return invalid("SetRepresentativeDocState needs now")
	}
	return s.tx(ctx, "set representative document state", func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, s.q(`UPDATE rep_docs SET state = ?, operator_id = ?, note = ?, updated_at = ?
WHERE id = ? AND state = 'pending'`), state, nullStr(operatorID), nullStr(note), s.tv(now), id))
		if err != nil || n == 1 {
			return err
		}
		var cur kyc.DocState
		err = tx.QueryRowContext(ctx, s.q(`SELECT state FROM rep_docs WHERE id = ?`), id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return kyc.Wrap(kyc.ErrDocumentNotFound, nil, "document %s not found", id)
		}
		if err != nil {
			return err
		}
		return kyc.Wrap(kyc.ErrDocumentNotPending, nil, "document %s is %s", id, cur)
	})
}

// RepresentativeDocs implements kyc.Store, oldest first.
func (s *Store) RepresentativeDocs(ctx context.Context, nationalID string) ([]kyc.RepresentativeDoc, error) {
	var out []kyc.RepresentativeDoc
	err := s.retry(ctx, "read representative documents", func() error {
		out = nil
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, national_id, kind, doc_type, expires_at, evidence_id,
	state, operator_id, note, created_at, updated_at FROM rep_docs WHERE national_id = ? ORDER BY created_at, id`), nationalID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d kyc.RepresentativeDoc
			var kind string
			if err := rows.Scan(&d.ID, &d.NationalID, &kind, &d.DocType, timeCol{&d.ExpiresAt}, &d.EvidenceID,
				&d.State, strCol{&d.OperatorID}, strCol{&d.Note}, timeCol{&d.CreatedAt}, timeCol{&d.UpdatedAt}); err != nil {
				return err
			}
			d.Kind = kyc.Representative(kind)
			if !validKind(d.Kind) {
				return errors.New("sqlstore: unknown stored representative kind " + kind)
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

// validKind reports a known representative kind (not the empty "none").
func validKind(k kyc.Representative) bool {
	switch k {
	case kyc.Guardian, kyc.Custodian, kyc.Attorney:
		return true
	}
	return false
}
