// Package memory is an in-memory kyc.Store for tests and examples. It
// follows the same contract as the SQL stores (store/storetest passes on
// it) with one mutex in place of database transactions, so it only
// coordinates goroutines of one process and keeps nothing across
// restarts.
package memory

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/reason"
)

// Store is an in-memory kyc.Store. It is safe for concurrent use; every
// method runs under one mutex, which makes it atomic. Records are copied
// in and out, so callers may keep or change what they pass and get.
type Store struct {
	mu         sync.Mutex
	applicants map[string]kyc.ApplicantRecord
	otps       map[string]kyc.OTPRecord
	sessions   map[string]kyc.SessionRecord
	attempts   map[string]*attempt
	byNID      map[string][]string // attempt IDs per national ID, oldest first
	order      []string            // every attempt ID in insertion order
	charges    map[string]kyc.ChargeRecord
	docs       map[string]kyc.RepresentativeDoc
	audit      []kyc.AuditEvent
	closed     bool
}

type attempt struct {
	rec            kyc.AttemptRecord // Charge is kept in charges
	reverification bool
}

var _ kyc.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		applicants: map[string]kyc.ApplicantRecord{},
		otps:       map[string]kyc.OTPRecord{},
		sessions:   map[string]kyc.SessionRecord{},
		attempts:   map[string]*attempt{},
		byNID:      map[string][]string{},
		charges:    map[string]kyc.ChargeRecord{},
		docs:       map[string]kyc.RepresentativeDoc{},
	}
}

// Close marks the store closed; later calls fail with kyc.ErrClosed. It is
// idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// lock takes the mutex unless ctx is done or the store closed; on error
// the mutex is not held.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return &kyc.Error{Code: kyc.CodeDependency, Dependency: "store", Msg: "memory store", Err: err}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return kyc.Wrap(kyc.ErrClosed, nil, "store closed")
	}
	return nil
}

func invalid(format string, args ...any) error {
	return kyc.Wrap(kyc.ErrInvalidInput, nil, "store: "+format, args...)
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func cloneReasons(r []reason.Code) []reason.Code {
	if len(r) == 0 {
		return nil
	}
	return slices.Clone(r)
}

func validReasons(rs []reason.Code) error {
	for _, r := range rs {
		if !r.Known() {
			return invalid("unknown reason code %q", r)
		}
	}
	return nil
}

// out returns a copy of an attempt with its charge.
func (s *Store) out(a *attempt) kyc.AttemptRecord {
	r := a.rec
	r.Reasons = cloneReasons(r.Reasons)
	r.Decision = cloneBytes(r.Decision)
	if r.Review != nil {
		rv := *r.Review
		r.Review = &rv
	}
	r.Charge = nil
	for _, c := range s.charges {
		if c.AttemptID == r.ID {
			c := c
			r.Charge = &c
			break
		}
	}
	return r
}

func (s *Store) applicant(nid string) (kyc.ApplicantRecord, bool) {
	a, ok := s.applicants[nid]
	if !ok {
		return kyc.ApplicantRecord{NationalID: nid, State: kyc.StateActive}, false
	}
	return a, true
}

// Applicant implements kyc.Store.
func (s *Store) Applicant(ctx context.Context, nationalID string) (kyc.ApplicantRecord, error) {
	if err := s.lock(ctx); err != nil {
		return kyc.ApplicantRecord{}, err
	}
	defer s.mu.Unlock()
	a, _ := s.applicant(nationalID)
	return a, nil
}

func cloneOTP(o kyc.OTPRecord) kyc.OTPRecord {
	o.Hash, o.Salt = cloneBytes(o.Hash), cloneBytes(o.Salt)
	o.ExpiresAt, o.ConfirmedAt, o.CreatedAt = utc(o.ExpiresAt), utc(o.ConfirmedAt), utc(o.CreatedAt)
	return o
}

// PutOTP implements kyc.Store.
func (s *Store) PutOTP(ctx context.Context, rec kyc.OTPRecord) error {
	if rec.NationalID == "" || len(rec.Hash) == 0 || len(rec.Salt) == 0 || rec.ExpiresAt.IsZero() {
		return invalid("OTP needs a national ID, hash, salt and expiry")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.otps[rec.NationalID] = cloneOTP(rec)
	return nil
}

// TryOTP implements kyc.Store.
func (s *Store) TryOTP(ctx context.Context, nationalID string, now time.Time) (kyc.OTPRecord, error) {
	if err := s.lock(ctx); err != nil {
		return kyc.OTPRecord{}, err
	}
	defer s.mu.Unlock()
	o, ok := s.otps[nationalID]
	if !ok {
		return o, kyc.Wrap(kyc.ErrOTPNotFound, nil, "no OTP for this national ID")
	}
	o.Tries++
	s.otps[nationalID] = o
	return cloneOTP(o), nil
}

// ConfirmOTP implements kyc.Store with the SQL stores' errors:
// ErrOTPNotFound, or ErrOTPExpired for a replaced or already confirmed
// OTP.
func (s *Store) ConfirmOTP(ctx context.Context, nationalID string, salt []byte, now time.Time) error {
	if now.IsZero() {
		return invalid("ConfirmOTP needs now")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	o, ok := s.otps[nationalID]
	switch {
	case !ok:
		return kyc.Wrap(kyc.ErrOTPNotFound, nil, "no OTP for this national ID")
	case !bytes.Equal(o.Salt, salt):
		return kyc.Wrap(kyc.ErrOTPExpired, nil, "OTP was replaced by a newer one")
	case !o.ConfirmedAt.IsZero():
		return kyc.Wrap(kyc.ErrOTPExpired, nil, "OTP already confirmed")
	}
	o.ConfirmedAt = utc(now)
	s.otps[nationalID] = o
	return nil
}

// OTP implements kyc.Store.
func (s *Store) OTP(ctx context.Context, nationalID string) (kyc.OTPRecord, error) {
	if err := s.lock(ctx); err != nil {
		return kyc.OTPRecord{}, err
	}
	defer s.mu.Unlock()
	o, ok := s.otps[nationalID]
	if !ok {
		return o, kyc.Wrap(kyc.ErrOTPNotFound, nil, "no OTP for this national ID")
	}
	return cloneOTP(o), nil
}

// CreateSession implements kyc.Store.
func (s *Store) CreateSession(ctx context.Context, rec kyc.SessionRecord) error {
	if rec.ID == "" || rec.NationalID == "" || rec.ExpiresAt.IsZero() || rec.CreatedAt.IsZero() {
		return invalid("session needs an ID, national ID, creation and expiry times")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, dup := s.sessions[rec.ID]; dup {
		return invalid("session ID %s already exists", rec.ID)
	}
	rec.CreatedAt, rec.ExpiresAt, rec.UsedAt = utc(rec.CreatedAt), utc(rec.ExpiresAt), utc(rec.UsedAt)
	s.sessions[rec.ID] = rec
	return nil
}

// Session implements kyc.Store.
func (s *Store) Session(ctx context.Context, id string) (kyc.SessionRecord, error) {
	if err := s.lock(ctx); err != nil {
		return kyc.SessionRecord{}, err
	}
	defer s.mu.Unlock()
	x, ok := s.sessions[id]
	if !ok {
		return x, kyc.Wrap(kyc.ErrSessionNotFound, nil, "session not found")
	}
	return x, nil
}

// appendAudit seals ev after the last event; the caller holds the mutex.
func (s *Store) appendAudit(ev kyc.AuditEvent) kyc.AuditEvent {
	var prev []byte
	if n := len(s.audit); n > 0 {
		prev = s.audit[n-1].Hash
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Data = cloneBytes(ev.Data)
	kyc.SealAudit(&ev, int64(len(s.audit))+1, prev)
	if len(ev.PrevHash) == 0 {
		ev.PrevHash = nil
	}
	s.audit = append(s.audit, ev)
	return cloneEvent(ev)
}

func cloneEvent(ev kyc.AuditEvent) kyc.AuditEvent {
	ev.Data, ev.PrevHash, ev.Hash = cloneBytes(ev.Data), cloneBytes(ev.PrevHash), cloneBytes(ev.Hash)
	return ev
}

// eventFor fills the empty identifying fields of a step's event; an event
// without a Kind is not appended (nil).
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

// ReserveAttempt implements kyc.Store with the checks, order and input
// rules of the SQL stores.
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
	if err := s.lock(ctx); err != nil {
		return kyc.AttemptRecord{}, err
	}
	defer s.mu.Unlock()
	now, lease := utc(r.Now), utc(r.LeaseUntil)

	sess, ok := s.sessions[r.SessionID]
	switch {
	case !ok || sess.NationalID != r.NationalID:
		return kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrSessionNotFound, nil, "session not found for this national ID")
	case !sess.UsedAt.IsZero():
		return kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrSessionUsed, nil, "session %s already used", r.SessionID)
	case !sess.ExpiresAt.After(now):
		return kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrSessionExpired, nil, "session %s expired", r.SessionID)
	}
	a, _ := s.applicant(r.NationalID)
	switch {
	case a.State == kyc.StateVerified && !r.AllowReverification:
		return kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrAlreadyVerified, nil, "")
	case a.State == kyc.StateLocked:
		return kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrLocked, nil, "")
	case a.State == kyc.StateReview:
		return kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrInReview, nil, "")
	case a.FailedAttempts >= r.MaxAttempts:
		return kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrAttemptsExhausted, nil, "")
	case a.InflightAttempt != "" && a.InflightLeaseUntil.After(now):
		return kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrAttemptInProgress, nil, "")
	}
	if _, dup := s.attempts[r.AttemptID]; dup {
		return kyc.AttemptRecord{}, invalid("attempt ID %s already exists", r.AttemptID)
	}
	for _, x := range s.attempts {
		if x.rec.SessionID == r.SessionID {
			return kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrSessionUsed, nil, "session %s already reserved an attempt", r.SessionID)
		}
	}

	// Carry over the oldest charge left on a void or abandoned attempt
	// (the in-flight attempt about to be abandoned included).
	var carry *kyc.ChargeRecord
	for _, c := range s.charges {
		if c.NationalID != r.NationalID {
			continue
		}
		x, ok := s.attempts[c.AttemptID]
		if !ok {
			continue
		}
		undecided := x.rec.State == kyc.AttemptVoid || x.rec.State == kyc.AttemptAbandoned ||
			(x.rec.State == kyc.AttemptReserved && x.rec.ID == a.InflightAttempt)
		if undecided && (carry == nil || c.CreatedAt.Before(carry.CreatedAt) || (c.CreatedAt.Equal(carry.CreatedAt) && c.ID < carry.ID)) {
			c := c
			carry = &c
		}
	}
	if carry == nil && r.Charge != nil {
		if _, dup := s.charges[r.Charge.ID]; dup {
			return kyc.AttemptRecord{}, invalid("charge ID %s already exists", r.Charge.ID)
		}
	}

	// All checks passed: write.
	if old, ok := s.attempts[a.InflightAttempt]; ok && old.rec.State == kyc.AttemptReserved {
		old.rec.State, old.rec.DecidedAt = kyc.AttemptAbandoned, now
	}
	sess.UsedAt = now
	s.sessions[r.SessionID] = sess
	reverify := a.State == kyc.StateVerified
	a.InflightAttempt, a.InflightLeaseUntil, a.UpdatedAt = r.AttemptID, lease, now
	s.applicants[r.NationalID] = a
	at := &attempt{rec: kyc.AttemptRecord{ID: r.AttemptID, NationalID: r.NationalID, SessionID: r.SessionID,
		State: kyc.AttemptReserved, LeaseUntil: lease, CreatedAt: now}, reverification: reverify}
	s.attempts[r.AttemptID] = at
	s.byNID[r.NationalID] = append(s.byNID[r.NationalID], r.AttemptID)
	s.order = append(s.order, r.AttemptID)

	switch {
	case carry != nil:
		carry.AttemptID = r.AttemptID
		s.charges[carry.ID] = *carry
	case r.Charge != nil:
		c := *r.Charge
		c.NationalID, c.AttemptID, c.CreatedAt, c.ConfirmedAt = r.NationalID, r.AttemptID, utc(c.CreatedAt), time.Time{}
		s.charges[c.ID] = c
	}
	if ev := eventFor(r.Event, r.NationalID, r.SessionID, r.AttemptID); ev != nil {
		s.appendAudit(*ev)
	}
	return s.out(at), nil
}

// AttachCharge implements kyc.Store with the SQL stores' rules.
func (s *Store) AttachCharge(ctx context.Context, c kyc.ChargeRecord) error {
	if c.ID == "" || c.Ref == "" || c.ConfirmedAt.IsZero() {
		return invalid("confirming a charge needs its ID, a Ref and ConfirmedAt")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, ok := s.charges[c.ID]
	switch {
	case !ok:
		return kyc.Wrap(kyc.ErrChargeNotFound, nil, "charge %s not found", c.ID)
	case c.NationalID != "" && c.NationalID != cur.NationalID:
		return invalid("charge %s belongs to another national ID", c.ID)
	case cur.Ref == c.Ref:
		return nil // confirmed already, with the same reference
	case !cur.Pending():
		return invalid("charge %s is already confirmed with another reference", c.ID)
	}
	cur.Ref, cur.ConfirmedAt = c.Ref, utc(c.ConfirmedAt)
	s.charges[c.ID] = cur
	return nil
}

// finished computes the applicant after an attempt decided with outcome
// (the same rules as store/sqlstore).
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

func validOutcome(o kyc.Outcome) bool {
	switch o {
	case kyc.Approved, kyc.Rejected, kyc.Review, kyc.Locked:
		return true
	}
	return false
}

// approvedOnce reports a first-time approval of nid other than except.
func (s *Store) approvedOnce(nid, except string) bool {
	for _, id := range s.byNID[nid] {
		x := s.attempts[id]
		if id != except && x.rec.Outcome == kyc.Approved && !x.reverification {
			return true
		}
	}
	return false
}

// FinishAttempt implements kyc.Store with the SQL stores' rules.
func (s *Store) FinishAttempt(ctx context.Context, f kyc.Finish) (kyc.ApplicantRecord, error) {
	if !validOutcome(f.Outcome) {
		return kyc.ApplicantRecord{}, invalid("unknown outcome %q", f.Outcome)
	}
	if f.AttemptID == "" || f.NationalID == "" || f.MaxAttempts <= 0 || f.Now.IsZero() {
		return kyc.ApplicantRecord{}, invalid("finish needs attempt and national IDs, MaxAttempts > 0 and Now")
	}
	if f.Counted && f.Outcome != kyc.Rejected && f.Outcome != kyc.Locked {
		return kyc.ApplicantRecord{}, invalid("only a rejected or locked outcome is counted")
	}
	if err := validReasons(f.Reasons); err != nil {
		return kyc.ApplicantRecord{}, err
	}
	if err := s.lock(ctx); err != nil {
		return kyc.ApplicantRecord{}, err
	}
	defer s.mu.Unlock()
	now := utc(f.Now)
	a, ok := s.applicants[f.NationalID]
	at := s.attempts[f.AttemptID]
	if !ok || a.InflightAttempt != f.AttemptID || at == nil || at.rec.State != kyc.AttemptReserved || at.rec.NationalID != f.NationalID {
		return kyc.ApplicantRecord{}, kyc.Wrap(kyc.ErrLeaseLost, nil, "attempt %s no longer holds the slot", f.AttemptID)
	}
	if f.Outcome == kyc.Approved && !at.reverification && s.approvedOnce(f.NationalID, f.AttemptID) {
		return kyc.ApplicantRecord{}, kyc.Wrap(kyc.ErrAlreadyVerified, nil, "national ID already approved once")
	}
	at.rec.State, at.rec.Outcome, at.rec.Reasons, at.rec.Counted = kyc.AttemptDecided, f.Outcome, cloneReasons(f.Reasons), f.Counted
	at.rec.EvidenceID, at.rec.Decision, at.rec.DecidedAt = f.EvidenceID, cloneBytes(f.Decision), now
	next := finished(a, f.Outcome, f.Counted, f.AttemptID, f.MaxAttempts, now)
	s.applicants[f.NationalID] = next
	if ev := eventFor(f.Event, f.NationalID, "", f.AttemptID); ev != nil {
		s.appendAudit(*ev)
	}
	return next, nil
}

// ReleaseAttempt implements kyc.Store with the SQL stores' rules.
func (s *Store) ReleaseAttempt(ctx context.Context, r kyc.Release) error {
	if r.AttemptID == "" || r.NationalID == "" || r.Now.IsZero() {
		return invalid("release needs attempt and national IDs and Now")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	at, ok := s.attempts[r.AttemptID]
	if !ok || at.rec.NationalID != r.NationalID {
		return kyc.Wrap(kyc.ErrAttemptNotFound, nil, "attempt %s not found", r.AttemptID)
	}
	if at.rec.State != kyc.AttemptReserved {
		return kyc.Wrap(kyc.ErrLeaseLost, nil, "attempt %s is %s, not reserved", r.AttemptID, at.rec.State)
	}
	now := utc(r.Now)
	at.rec.State, at.rec.VoidCause, at.rec.DecidedAt = kyc.AttemptVoid, r.Cause, now
	if a, ok := s.applicants[r.NationalID]; ok && a.InflightAttempt == r.AttemptID {
		a.InflightAttempt, a.InflightLeaseUntil, a.UpdatedAt = "", time.Time{}, now
		s.applicants[r.NationalID] = a
	}
	if ev := eventFor(r.Event, r.NationalID, "", r.AttemptID); ev != nil {
		s.appendAudit(*ev)
	}
	return nil
}

// ResolveReview implements kyc.Store with the SQL stores' rules: the
// attempt's Outcome becomes Approved, Rejected or (when the rejection
// locks) Locked.
func (s *Store) ResolveReview(ctx context.Context, r kyc.Resolution) (kyc.ApplicantRecord, kyc.AttemptRecord, error) {
	if r.AttemptID == "" || r.OperatorID == "" || r.MaxAttempts <= 0 || r.Now.IsZero() {
		return kyc.ApplicantRecord{}, kyc.AttemptRecord{}, invalid("resolution needs an attempt, an operator, MaxAttempts > 0 and Now")
	}
	if err := validReasons(r.Reasons); err != nil {
		return kyc.ApplicantRecord{}, kyc.AttemptRecord{}, err
	}
	if err := s.lock(ctx); err != nil {
		return kyc.ApplicantRecord{}, kyc.AttemptRecord{}, err
	}
	defer s.mu.Unlock()
	at, ok := s.attempts[r.AttemptID]
	if !ok {
		return kyc.ApplicantRecord{}, kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrAttemptNotFound, nil, "attempt %s not found", r.AttemptID)
	}
	a, ok := s.applicants[at.rec.NationalID]
	if !ok || a.State != kyc.StateReview || a.ReviewAttempt != r.AttemptID || at.rec.Outcome != kyc.Review {
		return kyc.ApplicantRecord{}, kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrNotInReview, nil, "attempt %s is not waiting for review", r.AttemptID)
	}
	if r.Approve && !at.reverification && s.approvedOnce(at.rec.NationalID, r.AttemptID) {
		return kyc.ApplicantRecord{}, kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrAlreadyVerified, nil, "national ID already approved once")
	}
	now := utc(r.Now)
	outcome := kyc.Approved
	if !r.Approve {
		outcome = kyc.Rejected
	}
	next := finished(a, outcome, !r.Approve, r.AttemptID, r.MaxAttempts, now)
	if next.State == kyc.StateLocked {
		outcome = kyc.Locked
	}
	at.rec.Outcome, at.rec.Counted = outcome, !r.Approve
	if len(r.Reasons) > 0 {
		at.rec.Reasons = cloneReasons(r.Reasons)
	}
	at.rec.Review = &kyc.ReviewRecord{OperatorID: r.OperatorID, Approved: r.Approve, Note: r.Note, At: now}
	s.applicants[at.rec.NationalID] = next
	if ev := eventFor(r.Event, at.rec.NationalID, "", r.AttemptID); ev != nil {
		if ev.Actor == "" {
			ev.Actor = r.OperatorID
		}
		s.appendAudit(*ev)
	}
	return next, s.out(at), nil
}

// Attempt implements kyc.Store.
func (s *Store) Attempt(ctx context.Context, id string) (kyc.AttemptRecord, error) {
	if err := s.lock(ctx); err != nil {
		return kyc.AttemptRecord{}, err
	}
	defer s.mu.Unlock()
	at, ok := s.attempts[id]
	if !ok {
		return kyc.AttemptRecord{}, kyc.Wrap(kyc.ErrAttemptNotFound, nil, "attempt %s not found", id)
	}
	return s.out(at), nil
}

// Attempts implements kyc.Store, oldest first (creation time, then
// insertion order).
func (s *Store) Attempts(ctx context.Context, nationalID string) ([]kyc.AttemptRecord, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []kyc.AttemptRecord
	for _, id := range s.byNID[nationalID] {
		out = append(out, s.out(s.attempts[id]))
	}
	slices.SortStableFunc(out, func(a, b kyc.AttemptRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Reviews implements kyc.Store: unresolved review attempts, oldest
// decision first. A limit <= 0 means no limit.
func (s *Store) Reviews(ctx context.Context, limit int) ([]kyc.AttemptRecord, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []kyc.AttemptRecord
	for _, id := range s.order {
		if x := s.attempts[id]; x.rec.State == kyc.AttemptDecided && x.rec.Outcome == kyc.Review {
			out = append(out, s.out(x))
		}
	}
	slices.SortStableFunc(out, func(a, b kyc.AttemptRecord) int { return a.DecidedAt.Compare(b.DecidedAt) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// AppendAudit implements kyc.Store. ev.Kind is required.
func (s *Store) AppendAudit(ctx context.Context, ev kyc.AuditEvent) (kyc.AuditEvent, error) {
	if ev.Kind == "" {
		return ev, invalid("audit event needs a kind")
	}
	if err := s.lock(ctx); err != nil {
		return ev, err
	}
	defer s.mu.Unlock()
	return s.appendAudit(ev), nil
}

// Audit implements kyc.Store. A limit <= 0 means no limit.
func (s *Store) Audit(ctx context.Context, after int64, limit int) ([]kyc.AuditEvent, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []kyc.AuditEvent
	for i := max(after, 0); i < int64(len(s.audit)); i++ {
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, cloneEvent(s.audit[i]))
	}
	return out, nil
}

// AuditHead implements kyc.Store.
func (s *Store) AuditHead(ctx context.Context) (int64, []byte, error) {
	if err := s.lock(ctx); err != nil {
		return 0, nil, err
	}
	defer s.mu.Unlock()
	if len(s.audit) == 0 {
		return 0, nil, nil
	}
	last := s.audit[len(s.audit)-1]
	return last.Seq, cloneBytes(last.Hash), nil
}

func validKind(k kyc.Representative) bool {
	switch k {
	case kyc.Guardian, kyc.Custodian, kyc.Attorney:
		return true
	}
	return false
}

// PutRepresentativeDoc implements kyc.Store with the SQL stores' rules:
// stored pending, replaceable with the same national ID until approved.
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
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = d.CreatedAt
	}
	d.State, d.OperatorID, d.Note = kyc.DocPending, "", ""
	d.CreatedAt, d.UpdatedAt, d.ExpiresAt = utc(d.CreatedAt), utc(d.UpdatedAt), utc(d.ExpiresAt)
	if cur, ok := s.docs[d.ID]; ok {
		if cur.State == kyc.DocApproved {
			return kyc.Wrap(kyc.ErrDocumentApproved, nil, "document %s is approved and cannot be replaced", d.ID)
		}
		if cur.NationalID != d.NationalID {
			return invalid("document %s belongs to another national ID", d.ID)
		}
		d.CreatedAt = cur.CreatedAt
	}
	s.docs[d.ID] = d
	return nil
}

// SetRepresentativeDocState implements kyc.Store.
func (s *Store) SetRepresentativeDocState(ctx context.Context, id string, state kyc.DocState, operatorID, note string, now time.Time) error {
	if state != kyc.DocApproved && state != kyc.DocRejected {
		return invalid("a document moves to approved or rejected, not %q", state)
	}
	if now.IsZero() {
		return invalid("SetRepresentativeDocState needs now")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	d, ok := s.docs[id]
	if !ok {
		return kyc.Wrap(kyc.ErrDocumentNotFound, nil, "document %s not found", id)
	}
	if d.State != kyc.DocPending {
		return kyc.Wrap(kyc.ErrDocumentNotPending, nil, "document %s is %s", id, d.State)
	}
	d.State, d.OperatorID, d.Note, d.UpdatedAt = state, operatorID, note, utc(now)
	s.docs[id] = d
	return nil
}

// RepresentativeDocs implements kyc.Store, oldest first.
func (s *Store) RepresentativeDocs(ctx context.Context, nationalID string) ([]kyc.RepresentativeDoc, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []kyc.RepresentativeDoc
	for _, d := range s.docs {
		if d.NationalID == nationalID {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b kyc.RepresentativeDoc) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out, nil
}
