package kyc

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// AuditKind names an audited step. Stable strings.
type AuditKind string

// Audited steps.
const (
	AuditInquiry         AuditKind = "inquiry"
	AuditOTPSent         AuditKind = "otp_sent"
	AuditOTPConfirmed    AuditKind = "otp_confirmed"
	AuditOTPFailed       AuditKind = "otp_failed"
	AuditSessionBegun    AuditKind = "session_begun"
	AuditAttemptReserved AuditKind = "attempt_reserved"
	AuditFeeCharged      AuditKind = "fee_charged"
	AuditAttemptDecided  AuditKind = "attempt_decided"
	AuditAttemptVoid     AuditKind = "attempt_void"
	AuditReviewResolved  AuditKind = "review_resolved"
	AuditSubmitRefused   AuditKind = "submit_refused"
	AuditDocSubmitted    AuditKind = "representative_doc_submitted"
	AuditDocReviewed     AuditKind = "representative_doc_reviewed"
)

// AuditEvent is one entry of the hash-chained audit log. Each event
// carries the hash of the previous one, so editing or deleting an event
// breaks the chain (see VerifyAuditChain).
type AuditEvent struct {
	// Seq is assigned by the store: 1, 2, 3, ... without gaps.
	Seq  int64
	Time time.Time
	Kind AuditKind
	// NationalID is stored in full (the log is evidence); mask it before
	// showing it elsewhere.
	NationalID string
	SessionID  string
	AttemptID  string
	// Actor is "applicant", "system" or an operator ID.
	Actor string
	// Data is a small JSON object with step details (no biometric data).
	Data []byte
	// PrevHash is the previous event's Hash (nil for Seq 1).
	PrevHash []byte
	// Hash is SHA-256 over PrevHash and the canonical encoding of the
	// other fields.
	Hash []byte
}

// SealAudit sets ev.Seq, ev.PrevHash and ev.Hash for appending ev after an
// event with hash prev. Stores call it inside the appending transaction.
// Time is truncated to microseconds (what SQL databases keep) in UTC.
func SealAudit(ev *AuditEvent, seq int64, prev []byte) {
	ev.Seq = seq
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	ev.PrevHash = append([]byte(nil), prev...)
	ev.Hash = auditHash(*ev)
}

func auditHash(ev AuditEvent) []byte {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(ev.Seq))
	field(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(ev.Time.UTC().Truncate(time.Microsecond).UnixMicro()))
	field(n[:])
	field([]byte(ev.Kind))
	field([]byte(ev.NationalID))
	field([]byte(ev.SessionID))
	field([]byte(ev.AttemptID))
	field([]byte(ev.Actor))
	field(ev.Data)
	field(ev.PrevHash)
	return h.Sum(nil)
}

// ErrAuditBroken reports a broken audit chain; the *AuditChainError says
// where.
var ErrAuditBroken = errors.New("kyc: audit chain broken")

// AuditChainError says where and how an audit chain is broken.
type AuditChainError struct {
	// Seq is the first event found inconsistent (or the missing Seq).
	Seq int64
	// Problem is "gap", "prev_hash", "hash" or "head".
	Problem string
}

// Error implements the error interface; branch on the fields or with errors.Is/As, not on this text.
func (e *AuditChainError) Error() string {
	return fmt.Sprintf("kyc: audit chain broken at seq %d: %s", e.Seq, e.Problem)
}

// Is matches ErrAuditBroken.
func (e *AuditChainError) Is(target error) bool { return target == ErrAuditBroken }

// VerifyAuditChain checks events, which must start at Seq 1 (or at
// from.Seq+1 after a previously verified event from), for gaps, edited
// fields and broken links. headSeq and headHash, when headSeq > 0, are the
// chain head the store or an outside witness recorded; a mismatch reveals
// deletion at the tail.
func VerifyAuditChain(events []AuditEvent, from *AuditEvent, headSeq int64, headHash []byte) error {
	var prevSeq int64
	var prev []byte
	if from != nil {
		prevSeq, prev = from.Seq, from.Hash
	}
	for _, ev := range events {
		if ev.Seq != prevSeq+1 {
			return &AuditChainError{Seq: prevSeq + 1, Problem: "gap"}
		}
		if !bytes.Equal(ev.PrevHash, prev) {
			return &AuditChainError{Seq: ev.Seq, Problem: "prev_hash"}
		}
		if !bytes.Equal(auditHash(ev), ev.Hash) {
			return &AuditChainError{Seq: ev.Seq, Problem: "hash"}
		}
		prevSeq, prev = ev.Seq, ev.Hash
	}
	if headSeq > 0 && (headSeq != prevSeq || !bytes.Equal(headHash, prev)) {
		return &AuditChainError{Seq: prevSeq + 1, Problem: "head"}
	}
	return nil
}

// HashString formats an audit hash for display.
func HashString(h []byte) string { return hex.EncodeToString(h) }
