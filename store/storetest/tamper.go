package storetest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
)

// Tamper edits a store's audit log behind its back, the way someone with
// access to the database could. A SQL backend implements it with raw SQL.
// CheckAuditTamper calls its functions from one goroutine.
type Tamper struct {
	// EditData changes the stored data (any field but the hashes) of the
	// event with seq.
	EditData func(ctx context.Context, seq int64) error
	// Delete removes the event with seq.
	Delete func(ctx context.Context, seq int64) error
}

// CheckAuditTamper appends events to st, which must hold no audit events
// yet, and proves with kyc.VerifyAuditChain (over Audit and AuditHead)
// that deleting the last event, editing an event and deleting an event in
// the middle are each detected, at the right place. It leaves st's audit
// log broken: use a store of its own.
func CheckAuditTamper(ctx context.Context, st kyc.Store, t Tamper) error {
	if seq, _, err := st.AuditHead(ctx); err != nil || seq != 0 {
		return fmt.Errorf("storetest: CheckAuditTamper needs an empty audit log (head %d, %v)", seq, err)
	}
	base := time.Now()
	for i := range 6 {
		if _, err := st.AppendAudit(ctx, kyc.AuditEvent{Time: base.Add(time.Duration(i) * time.Second), Kind: kyc.AuditInquiry,
			NationalID: "0499370899", Actor: "applicant", Data: fmt.Appendf(nil, `{"i":%d}`, i)}); err != nil {
			return fmt.Errorf("storetest: AppendAudit: %w", err)
		}
	}
	if err := VerifyAudit(ctx, st); err != nil {
		return fmt.Errorf("storetest: untouched log does not verify: %w", err)
	}
	steps := []struct {
		what    string
		do      func() error
		seq     int64
		problem string
	}{
		{"deleting the last event", func() error { return t.Delete(ctx, 6) }, 6, "head"},
		{"editing event 4", func() error { return t.EditData(ctx, 4) }, 4, "hash"},
		{"deleting event 2", func() error { return t.Delete(ctx, 2) }, 2, "gap"},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("storetest: %s: %w", s.what, err)
		}
		err := VerifyAudit(ctx, st)
		var ce *kyc.AuditChainError
		if !errors.As(err, &ce) || !errors.Is(err, kyc.ErrAuditBroken) {
			return fmt.Errorf("storetest: %s went undetected (%v)", s.what, err)
		}
		if ce.Seq != s.seq || ce.Problem != s.problem {
			return fmt.Errorf("storetest: %s detected as %q at %d, want %q at %d", s.what, ce.Problem, ce.Seq, s.problem, s.seq)
		}
	}
	return nil
}
