package kyc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

// SubmitOption adjusts one Submit call.
type SubmitOption func(*submitOptions)

type submitOptions struct {
	ip netip.Addr
}

// WithClientIP gives the uploading client's IP; the domestic-access rule
// is re-checked with it. Without it, the IP the session was begun from is
// used.
func WithClientIP(ip netip.Addr) SubmitOption {
	return func(o *submitOptions) { o.ip = ip }
}

// decisionRecord is the JSON record stored with the video in the vault and
// in the attempt row: what was decided, on which evidence, with which
// models and thresholds. It holds no face images or embeddings.
type decisionRecord struct {
	Version    int              `json:"version"`
	AttemptID  string           `json:"attempt_id"`
	SessionID  string           `json:"session_id"`
	NationalID string           `json:"national_id"`
	Challenge  string           `json:"challenge"`
	Nonce      string           `json:"nonce"`
	HeadTurn   string           `json:"head_turn,omitempty"`
	Outcome    Outcome          `json:"outcome"`
	Reasons    []reason.Code    `json:"reasons,omitempty"`
	Counted    bool             `json:"counted"`
	Liveness   *LivenessSummary `json:"liveness,omitempty"`
	Match      *MatchSummary    `json:"match,omitempty"`
	// LivenessDetail and MatchDetail keep the full evidence, thresholds,
	// model versions and timings for follow-up.
	LivenessDetail *liveness.Result `json:"liveness_detail,omitempty"`
	MatchDetail    *facematch.Score `json:"match_detail,omitempty"`
	Video          videoInfo        `json:"video"`
	Fee            *ChargeRecord    `json:"fee,omitempty"`
	MaxUploads     int              `json:"max_uploads"`
	FailedBefore   int              `json:"failed_before"`
	DecidedAt      time.Time        `json:"decided_at"`
}

type videoInfo struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Submit verifies the video recorded for session sessionID and returns the
// decision. In order it: checks the session; spools the upload to a
// private temp file (at most MaxVideoBytes); re-checks the policy; waits
// for an analysis slot; reserves the attempt atomically in the Store (the
// session becomes used); charges the fee (or reuses one carried over from
// an attempt that failed on the SDK side); runs the liveness Detector and
// the face Matcher; decides with the policy; stores the encrypted video and
// decision record in the Vault; and records the decision and audit events.
//
// A rejection is a Decision with reasons and a nil error. An error means
// no decision was made and no attempt was counted: invalid input, an
// unusable video (ErrVideoRejected, with the reason to show), a session
// that is unknown, expired or used, a dependency failure or a cancelled
// context. If the applicant is no longer eligible, Submit returns a
// Decision with the policy reasons and Counted false.
func (v *Verifier) Submit(ctx context.Context, sessionID string, video io.Reader, opts ...SubmitOption) (Decision, error) {
	if err := v.enter(); err != nil {
		return Decision{}, err
	}
	defer v.wg.Done()
	start := time.Now()
	d, err := v.submit(ctx, sessionID, video, opts)
	v.observe("submit", start, err)
	if err == nil && v.cfg.Observer != nil {
		v.cfg.Observer.ObserveDecision(d)
	}
	return d, err
}

func (v *Verifier) submit(ctx context.Context, sessionID string, video io.Reader, opts []SubmitOption) (Decision, error) {
	var o submitOptions
	for _, fn := range opts {
		fn(&o)
	}
	if video == nil {
		return Decision{}, ErrInvalidInput.with(nil, "video reader is nil")
	}
	sess, err := v.cfg.Store.Session(ctx, sessionID)
	if err != nil {
		if errors.Is(err, ErrSessionNotFound) {
			return Decision{}, err
		}
		return Decision{}, v.depErr(ctx, "store", err)
	}
	now := v.now()
	switch {
	case !sess.UsedAt.IsZero():
		return Decision{}, ErrSessionUsed
	case !now.Before(sess.ExpiresAt):
		return Decision{}, ErrSessionExpired
	}

	// Spool the upload before anything is reserved: a truncated or
	// oversized upload costs the applicant nothing.
	t0 := time.Now()
	sp, err := v.spool(ctx, video)
	v.observe("spool", t0, err)
	if err != nil {
		return Decision{}, err
	}
	defer sp.remove()

	// Re-check the policy with fresh registry answers.
	birth, err := registry.ParseDate(sess.BirthDate)
	if err != nil {
		return Decision{}, ErrInternal.with(err, "stored session has a bad birth date")
	}
	p := parsed{Applicant: Applicant{NationalID: sess.NationalID, BirthDate: birth, Mobile: sess.Mobile},
		id: registry.NationalID(sess.NationalID), mobile: registry.Mobile(sess.Mobile)}
	switch {
	case o.ip.IsValid():
		p.IP = o.ip
	case sess.IP != "":
		if ip, err := netip.ParseAddr(sess.IP); err == nil {
			p.IP = ip
		}
	}
	f, person, rec, err := v.facts(ctx, p, policy.StageSubmit)
	if err != nil {
		return Decision{}, err
	}
	f.OTPConfirmed = true // the session exists only after a confirmed OTP
	vd := v.pol.EvaluateAt(f, now)
	if !vd.Eligible {
		return v.refused(ctx, sess, rec, vd.Reasons), nil
	}
	if len(person.Photo) == 0 {
		// Without a registry photo nothing can be matched; an operator
		// must look. This is still an attempt, decided as review below.
		v.cfg.Logger.Warn("kyc: registry has no photo", "national_id", registry.NationalID(sess.NationalID).Masked())
	}

	// Wait for an analysis slot before reserving, so queueing does not
	// eat into the attempt's lease.
	t0 = time.Now()
	select {
	case v.slots <- struct{}{}:
	case <-ctx.Done():
		v.observe("queue", t0, ctx.Err())
		return Decision{}, ErrDependency.with(ctx.Err(), "cancelled while queued for analysis").withDep("queue")
	}
	v.observe("queue", t0, nil)
	defer func() { <-v.slots }()

	return v.attempt(ctx, sess, person, sp, rec)
}

// refused returns the not-counted decision for an applicant who is no
// longer eligible at upload time.
func (v *Verifier) refused(ctx context.Context, sess SessionRecord, rec ApplicantRecord, reasons []reason.Code) Decision {
	out := Rejected
	if rec.State == StateLocked {
		out = Locked
	}
	d := Decision{SessionID: sess.ID, NationalID: sess.NationalID, Outcome: out, Reasons: reasons,
		InPersonRequired: reason.AnyInPerson(reasons) || rec.State == StateLocked,
		AttemptsUsed:     rec.FailedAttempts, AttemptsLeft: max(0, v.pol.MaxUploads()-rec.FailedAttempts),
		DecidedAt: v.now()}
	v.audit(ctx, AuditEvent{Kind: AuditSubmitRefused, NationalID: sess.NationalID, SessionID: sess.ID, Actor: "system",
		Data: auditData(map[string]any{"reasons": reasons})})
	return d
}

// attempt runs one reserved attempt to a decision.
func (v *Verifier) attempt(ctx context.Context, sess SessionRecord, person *registry.Person, sp *spooled, rec ApplicantRecord) (Decision, error) {
	attemptID, err := newID(v.cfg.Rand, "att_")
	if err != nil {
		return Decision{}, ErrInternal.with(err, "")
	}
	now := v.now()
	// The fee is recorded, pending, with the reservation, before anything
	// is charged: whatever happens next, the store knows the charge ID the
	// Charger may have been asked for (unless a charge carried over from
	// an undecided attempt pays for this one: the store keeps that one).
	var pending *ChargeRecord
	if v.cfg.Fee > 0 {
		cid, err := newID(v.cfg.Rand, "chg_")
		if err != nil {
			return Decision{}, ErrInternal.with(err, "")
		}
		pending = &ChargeRecord{ID: cid, NationalID: sess.NationalID, AttemptID: attemptID, Amount: v.cfg.Fee,
			Currency: v.cfg.Currency, CreatedAt: now}
	}
	t0 := time.Now()
	att, err := v.cfg.Store.ReserveAttempt(ctx, Reservation{
		AttemptID: attemptID, SessionID: sess.ID, NationalID: sess.NationalID,
		MaxAttempts: v.pol.MaxUploads(), AllowReverification: v.pol.AllowReverification(),
		Now: now, LeaseUntil: now.Add(v.cfg.AttemptLease), Charge: pending,
		Event: AuditEvent{Time: now, Kind: AuditAttemptReserved, NationalID: sess.NationalID, SessionID: sess.ID,
			AttemptID: attemptID, Actor: "system", Data: auditData(map[string]any{"video_bytes": sp.size})},
	})
	v.observe("store", t0, err)
	if err != nil {
		// The state changed since the policy check (another replica
		// decided): report it as data like the policy check would.
		switch {
		case errors.Is(err, ErrAlreadyVerified):
			return v.refused(ctx, sess, rec, []reason.Code{reason.AlreadyVerified}), nil
		case errors.Is(err, ErrLocked):
			rec.State = StateLocked
			return v.refused(ctx, sess, rec, []reason.Code{reason.Locked}), nil
		case errors.Is(err, ErrAttemptsExhausted):
			return v.refused(ctx, sess, rec, []reason.Code{reason.AttemptsExhausted}), nil
		case errors.Is(err, ErrInReview):
			return v.refused(ctx, sess, rec, []reason.Code{reason.InReview}), nil
		}
		var ke *Error
		if errors.As(err, &ke) {
			return Decision{}, err
		}
		return Decision{}, v.depErr(ctx, "store", err)
	}
	// From here on every error path voids the reservation.
	fail := func(cause string, err error) (Decision, error) {
		v.release(ctx, att, cause)
		return Decision{}, err
	}

	charge, err := v.collect(ctx, att, pending)
	if err != nil {
		cause := "store"
		if errors.Is(err, ErrCharge) {
			cause = "charge"
		}
		return fail(cause, err)
	}

	actx, cancel := context.WithTimeout(ctx, v.cfg.AnalysisTimeout)
	defer cancel()
	t0 = time.Now()
	lr, err := v.cfg.Detector.Detect(actx, sp.video, liveness.Challenge{Text: sess.Challenge, Nonce: sess.Nonce, HeadTurn: liveness.HeadTurn(sess.HeadTurn)})
	v.observe("detect", t0, err)
	if err != nil {
		var ie *liveness.InputError
		if errors.As(err, &ie) {
			e := ErrVideoRejected.with(err, "video unusable: %s", ie.Code)
			e.Reason = ie.Code
			return fail("video", e)
		}
		return fail("detector", v.depErr(actx, "detector", err))
	}

	ev := policy.Evidence{Liveness: lr, FailedBefore: rec.FailedAttempts}
	if len(lr.Quality) == 0 && lr.Verdict != liveness.SpoofSuspected && lr.Verdict != liveness.NotJudged {
		if len(person.Photo) == 0 {
			ev.ReferenceUnusable = true
		} else {
			t0 = time.Now()
			sum := sha256.Sum256(person.Photo)
			sc, err := v.cfg.Matcher.Compare(actx, lr.Probes, facematch.Reference{
				Key: att.NationalID + ":" + hex.EncodeToString(sum[:8]), Photo: person.Photo})
			v.observe("match", t0, err)
			switch {
			case err == nil:
				ev.Match = &sc
			case errors.Is(err, facematch.ErrReferenceUnusable):
				ev.ReferenceUnusable = true
			case errors.Is(err, facematch.ErrNoProbes):
				// Live but no face good enough to match: Decide sends
				// a nil Match to review.
			default:
				return fail("matcher", v.depErr(actx, "matcher", err))
			}
		}
	}
	j := v.pol.Decide(ev)

	decidedAt := v.now()
	dr := decisionRecord{
		Version: 1, AttemptID: att.ID, SessionID: sess.ID, NationalID: att.NationalID,
		Challenge: sess.Challenge, Nonce: sess.Nonce, HeadTurn: sess.HeadTurn,
		Outcome: j.Outcome, Reasons: j.Reasons, Counted: j.Counted,
		Liveness: livenessSummary(lr), LivenessDetail: &lr, MatchDetail: ev.Match,
		Video: videoInfo{Bytes: sp.size, SHA256: sp.sum}, Fee: charge,
		MaxUploads: v.pol.MaxUploads(), FailedBefore: rec.FailedAttempts, DecidedAt: decidedAt,
	}
	if ev.Match != nil {
		dr.Match = matchSummary(*ev.Match)
	}
	record, err := json.Marshal(dr)
	if err != nil {
		return fail("internal", ErrInternal.with(err, "encoding the decision record"))
	}

	t0 = time.Now()
	r, err := sp.video.Open()
	if err == nil {
		err = v.cfg.Vault.Put(ctx, att.ID, r, record)
		r.Close()
	}
	v.observe("vault", t0, err)
	if err != nil {
		return fail("vault", v.depErr(ctx, "vault", err))
	}

	t0 = time.Now()
	after, err := v.cfg.Store.FinishAttempt(context.WithoutCancel(ctx), Finish{
		AttemptID: att.ID, NationalID: att.NationalID, Outcome: j.Outcome, Reasons: j.Reasons, Counted: j.Counted,
		MaxAttempts: v.pol.MaxUploads(), EvidenceID: att.ID, Decision: record, Now: decidedAt,
		Event: AuditEvent{Time: decidedAt, Kind: AuditAttemptDecided, NationalID: att.NationalID, SessionID: sess.ID,
			AttemptID: att.ID, Actor: "system", Data: auditData(map[string]any{
				"outcome": j.Outcome, "reasons": j.Reasons, "counted": j.Counted,
				"liveness": dr.Liveness, "match": dr.Match, "video_sha256": sp.sum})},
	})
	v.observe("store", t0, err)
	if err != nil {
		if errors.Is(err, ErrLeaseLost) {
			return Decision{}, err
		}
		return fail("store", v.depErr(ctx, "store", err))
	}
	d := Decision{
		AttemptID: att.ID, SessionID: sess.ID, NationalID: att.NationalID, Outcome: j.Outcome, Reasons: j.Reasons,
		Counted: j.Counted, InPersonRequired: j.InPersonRequired || after.State == StateLocked,
		AttemptsUsed: after.FailedAttempts, AttemptsLeft: max(0, v.pol.MaxUploads()-after.FailedAttempts),
		Liveness: dr.Liveness, Match: dr.Match, Fee: charge, EvidenceID: att.ID, DecidedAt: decidedAt,
	}
	return d, nil
}

// collect makes sure the attempt's fee is taken and confirmed, and
// returns the confirmed charge (nil when the attempt has none). A charge
// carried over already confirmed is reused as it is. A pending one (new,
// or carried over from an attempt that died or failed before confirming
// it) is asked of the Charger under its own ID, so a provider that did take
// it answers the same reference, then confirmed in the store. On error the
// charge stays pending on the attempt, which the caller voids: the next
// attempt inherits it and asks again under the same ID. proposed is the
// pending charge the reservation offered (nil without a fee).
func (v *Verifier) collect(ctx context.Context, att AttemptRecord, proposed *ChargeRecord) (*ChargeRecord, error) {
	c := att.Charge
	if c == nil || !c.Pending() {
		return c, nil
	}
	if v.cfg.Charger == nil {
		// A pending fee carried over from a configuration that charged;
		// this one collects nothing, so it is neither asked for nor shown.
		v.cfg.Logger.Warn("kyc: a pending fee was carried over but no Charger is configured; left pending",
			"attempt", att.ID, "charge", c.ID)
		return nil, nil
	}
	t0 := time.Now()
	ref, err := v.cfg.Charger.Charge(ctx, Charge{ChargeID: c.ID, AttemptID: att.ID, NationalID: att.NationalID,
		Amount: c.Amount, Currency: c.Currency})
	if err == nil && ref == "" {
		err = errors.New("the charger returned an empty reference")
	}
	v.observe("charge", t0, err)
	if err != nil {
		return nil, ErrCharge.with(err, "fee charge failed")
	}
	confirmed := *c
	// ConfirmedAt at the store's precision, so the Decision shows what a
	// later read of the attempt shows.
	confirmed.Ref, confirmed.ConfirmedAt = ref, v.now().UTC().Truncate(time.Microsecond)
	t0 = time.Now()
	err = v.cfg.Store.AttachCharge(context.WithoutCancel(ctx), confirmed)
	v.observe("store", t0, err)
	switch {
	case errors.Is(err, ErrInvalidInput):
		// Confirmed already under another reference: the Charger is not
		// idempotent per ChargeID. Not decided; an operator must look.
		v.cfg.Logger.Error("kyc: the charger answered another reference for a charge already confirmed",
			"attempt", att.ID, "charge", c.ID, "err", err)
		return nil, ErrCharge.with(err, "charge %s already confirmed under another reference", c.ID)
	case err != nil:
		// The money may be taken and the record says pending: the next
		// attempt asks again under the same ID and confirms then.
		return nil, v.depErr(ctx, "store", err)
	}
	v.audit(ctx, AuditEvent{Kind: AuditFeeCharged, NationalID: att.NationalID, AttemptID: att.ID, Actor: "system",
		Data: auditData(map[string]any{"charge_id": c.ID, "amount": c.Amount, "currency": c.Currency, "ref": ref,
			"carried_over": proposed == nil || proposed.ID != c.ID})})
	return &confirmed, nil
}

// release voids a reserved attempt after an SDK-side failure. It uses a
// fresh context: the caller's may be the reason for the failure.
func (v *Verifier) release(ctx context.Context, att AttemptRecord, cause string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	now := v.now()
	err := v.cfg.Store.ReleaseAttempt(rctx, Release{AttemptID: att.ID, NationalID: att.NationalID, Cause: cause, Now: now,
		Event: AuditEvent{Time: now, Kind: AuditAttemptVoid, NationalID: att.NationalID, SessionID: att.SessionID,
			AttemptID: att.ID, Actor: "system", Data: auditData(map[string]any{"cause": cause})}})
	if err != nil {
		// The lease will expire and the attempt will be abandoned (not
		// counted) by the next reservation.
		v.cfg.Logger.Error("kyc: releasing a void attempt failed; it will expire with its lease", "attempt", att.ID, "err", err)
	}
}

func livenessSummary(r liveness.Result) *LivenessSummary {
	return &LivenessSummary{Verdict: string(r.Verdict), Score: r.Score, Quality: r.Quality, Measures: r.Measures}
}

func matchSummary(s facematch.Score) *MatchSummary {
	return &MatchSummary{Similarity: s.Similarity, Decision: string(s.Decision), Threshold: s.Threshold, Model: s.Model}
}

// spooled is an upload copied to a private temp file.
type spooled struct {
	path  string
	size  int64
	sum   string
	video *liveness.FileVideo
}

func (s *spooled) remove() { os.Remove(s.path) }

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	h   hash.Hash
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	return n, err
}

// spool copies video into a 0600 temp file, enforcing MaxVideoBytes.
func (v *Verifier) spool(ctx context.Context, video io.Reader) (*spooled, error) {
	f, err := os.CreateTemp(v.cfg.TempDir, "hoviyat-upload-*.video")
	if err != nil {
		return nil, ErrInternal.with(err, "creating the upload spool file")
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return nil, ErrInternal.with(err, "")
	}
	cr := &ctxReader{ctx: ctx, r: io.LimitReader(video, v.cfg.MaxVideoBytes+1), h: sha256.New()}
	n, err := io.Copy(f, cr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ErrDependency.with(ctx.Err(), "upload cancelled").withDep("upload")
		}
		return nil, ErrInvalidInput.with(err, "reading the upload failed (truncated?)")
	}
	if n > v.cfg.MaxVideoBytes {
		e := ErrVideoRejected.with(nil, "video larger than %d bytes", v.cfg.MaxVideoBytes)
		e.Reason = reason.VideoTooLarge
		return nil, e
	}
	if n == 0 {
		e := ErrVideoRejected.with(nil, "empty video")
		e.Reason = reason.VideoInvalid
		return nil, e
	}
	if err := f.Close(); err != nil {
		return nil, ErrInternal.with(err, "")
	}
	fv, err := liveness.NewFileVideo(f.Name())
	if err != nil {
		return nil, ErrInternal.with(err, "")
	}
	ok = true
	return &spooled{path: f.Name(), size: n, sum: fmt.Sprintf("%x", cr.h.Sum(nil)), video: fv}, nil
}
