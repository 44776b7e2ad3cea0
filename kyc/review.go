package kyc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

// ReviewInput is an operator's final call on an attempt in review.
type ReviewInput struct {
	// Approve verifies the applicant; false rejects the attempt, which
	// then counts as a failed upload.
	Approve bool
	// OperatorID identifies the operator; required.
	OperatorID string
	// Note is kept with the decision and in the audit log.
	Note string
	// Reasons, when rejecting, say why (default operator_rejected).
	Reasons []reason.Code
}

// Review applies an operator's decision to an attempt whose outcome was
// review (Sejam's human final check). Approving verifies the national ID;
// rejecting counts the attempt and locks the national ID when it was the
// last allowed one. Errors: ErrAttemptNotFound, ErrNotInReview.
func (v *Verifier) Review(ctx context.Context, attemptID string, in ReviewInput) (Decision, error) {
	if err := v.enter(); err != nil {
		return Decision{}, err
	}
	defer v.wg.Done()
	if strings.TrimSpace(in.OperatorID) == "" {
		return Decision{}, ErrInvalidInput.with(nil, "OperatorID is required")
	}
	reasons := in.Reasons
	if in.Approve {
		reasons = nil
	} else if len(reasons) == 0 {
		reasons = []reason.Code{reason.OperatorRejected}
	}
	for _, r := range reasons {
		if !r.Known() {
			return Decision{}, ErrInvalidInput.with(nil, "unknown reason code %q", r)
		}
	}
	att, err := v.cfg.Store.Attempt(ctx, attemptID)
	if err != nil {
		if errors.Is(err, ErrAttemptNotFound) {
			return Decision{}, err
		}
		return Decision{}, v.depErr(ctx, "store", err)
	}
	now := v.now()
	rec, att, err := v.cfg.Store.ResolveReview(ctx, Resolution{
		AttemptID: attemptID, Approve: in.Approve, OperatorID: in.OperatorID, Note: in.Note,
		MaxAttempts: v.pol.MaxUploads(), Reasons: reasons, Now: now,
		Event: AuditEvent{Time: now, Kind: AuditReviewResolved, NationalID: att.NationalID, SessionID: att.SessionID,
			AttemptID: attemptID, Actor: in.OperatorID,
			Data: auditData(map[string]any{"approve": in.Approve, "reasons": reasons, "note": in.Note})},
	})
	if err != nil {
		var ke *Error
		if errors.As(err, &ke) {
			return Decision{}, err
		}
		return Decision{}, v.depErr(ctx, "store", err)
	}
	d := v.decisionOf(att, rec)
	if v.cfg.Observer != nil {
		v.cfg.Observer.ObserveDecision(d)
	}
	return d, nil
}

// PendingReviews returns up to limit decisions waiting for an operator,
// oldest first.
func (v *Verifier) PendingReviews(ctx context.Context, limit int) ([]Decision, error) {
	if limit <= 0 {
		limit = 100
	}
	atts, err := v.cfg.Store.Reviews(ctx, limit)
	if err != nil {
		return nil, v.depErr(ctx, "store", err)
	}
	out := make([]Decision, 0, len(atts))
	for _, a := range atts {
		rec, err := v.cfg.Store.Applicant(ctx, a.NationalID)
		if err != nil {
			return nil, v.depErr(ctx, "store", err)
		}
		out = append(out, v.decisionOf(a, rec))
	}
	return out, nil
}

// RepresentativeDocInput is a document proving someone may act for an
// applicant.
type RepresentativeDocInput struct {
	// ID replaces an existing, not yet approved document when set.
	ID         string
	NationalID string
	Kind       Representative
	DocType    string
	ExpiresAt  time.Time
	// File is the scanned document; it is stored encrypted in the vault.
	File io.Reader
}

// SubmitRepresentativeDoc stores a representative document in state
// pending (or replaces a pending or rejected one with the same ID). An
// approved document cannot be replaced (ErrDocumentApproved).
// Representatives still verify in person: the document supports that
// visit; it does not enable remote verification.
func (v *Verifier) SubmitRepresentativeDoc(ctx context.Context, in RepresentativeDocInput) (RepresentativeDoc, error) {
	id, err := registry.ParseNationalID(in.NationalID)
	if err != nil {
		return RepresentativeDoc{}, ErrInvalidInput.with(err, "invalid national ID")
	}
	switch in.Kind {
	case Guardian, Custodian, Attorney:
	default:
		return RepresentativeDoc{}, ErrInvalidInput.with(nil, "unknown representative kind %q", in.Kind)
	}
	if strings.TrimSpace(in.DocType) == "" || in.File == nil {
		return RepresentativeDoc{}, ErrInvalidInput.with(nil, "DocType and File are required")
	}
	now := v.now()
	if !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(now) {
		return RepresentativeDoc{}, ErrInvalidInput.with(nil, "document already expired")
	}
	docID := in.ID
	if docID == "" {
		if docID, err = newID(v.cfg.Rand, "doc_"); err != nil {
			return RepresentativeDoc{}, ErrInternal.with(err, "")
		}
	} else {
		existing, err := v.cfg.Store.RepresentativeDocs(ctx, string(id))
		if err != nil {
			return RepresentativeDoc{}, v.depErr(ctx, "store", err)
		}
		for _, d := range existing {
			if d.ID == docID && d.State == DocApproved {
				return RepresentativeDoc{}, ErrDocumentApproved
			}
		}
	}
	doc := RepresentativeDoc{ID: docID, NationalID: string(id), Kind: in.Kind, DocType: in.DocType,
		ExpiresAt: in.ExpiresAt, EvidenceID: docID + "_" + now.UTC().Format("20060102T150405.000000"),
		State: DocPending, CreatedAt: now, UpdatedAt: now}
	meta, _ := json.Marshal(map[string]any{"kind": doc.Kind, "doc_type": doc.DocType, "national_id": doc.NationalID,
		"expires_at": doc.ExpiresAt, "submitted_at": now})
	if err := v.cfg.Vault.Put(ctx, doc.EvidenceID, in.File, meta); err != nil {
		return RepresentativeDoc{}, v.depErr(ctx, "vault", err)
	}
	if err := v.cfg.Store.PutRepresentativeDoc(ctx, doc); err != nil {
		var ke *Error
		if errors.As(err, &ke) {
			return RepresentativeDoc{}, err
		}
		return RepresentativeDoc{}, v.depErr(ctx, "store", err)
	}
	v.audit(ctx, AuditEvent{Kind: AuditDocSubmitted, NationalID: doc.NationalID, Actor: "applicant",
		Data: auditData(map[string]any{"doc_id": doc.ID, "kind": doc.Kind, "doc_type": doc.DocType})})
	return doc, nil
}

// ReviewRepresentativeDoc approves or rejects a pending document
// (ErrDocumentNotPending otherwise).
func (v *Verifier) ReviewRepresentativeDoc(ctx context.Context, docID string, approve bool, operatorID, note string) error {
	if strings.TrimSpace(operatorID) == "" {
		return ErrInvalidInput.with(nil, "operatorID is required")
	}
	state := DocRejected
	if approve {
		state = DocApproved
	}
	if err := v.cfg.Store.SetRepresentativeDocState(ctx, docID, state, operatorID, note, v.now()); err != nil {
		var ke *Error
		if errors.As(err, &ke) {
			return err
		}
		return v.depErr(ctx, "store", err)
	}
	v.audit(ctx, AuditEvent{Kind: AuditDocReviewed, Actor: operatorID,
		Data: auditData(map[string]any{"doc_id": docID, "state": state, "note": note})})
	return nil
}

// RepresentativeDocs lists a national ID's representative documents.
func (v *Verifier) RepresentativeDocs(ctx context.Context, nationalID string) ([]RepresentativeDoc, error) {
	id, err := registry.ParseNationalID(nationalID)
	if err != nil {
		return nil, ErrInvalidInput.with(err, "invalid national ID")
	}
	docs, err := v.cfg.Store.RepresentativeDocs(ctx, string(id))
	if err != nil {
		return nil, v.depErr(ctx, "store", err)
	}
	return docs, nil
}
