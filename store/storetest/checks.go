package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/reason"
)

func reasonsFor(o kyc.Outcome) []reason.Code {
	switch o {
	case kyc.Rejected:
		return []reason.Code{reason.FaceMismatch}
	case kyc.Locked:
		return []reason.Code{reason.FaceMismatch, reason.AttemptsExhausted}
	case kyc.Review:
		return []reason.Code{reason.BorderlineMatch}
	}
	return nil
}

func checkApplicantAbsent(ctx context.Context, c *checker) {
	nid := NationalID()
	a, err := c.st.Applicant(ctx, nid)
	c.must(err, "Applicant of an unknown national ID")
	c.eq(a.State, kyc.StateActive, "state")
	c.eq(a.FailedAttempts, 0, "failed attempts")
	c.eq(a.InflightAttempt, "", "in-flight attempt")
	atts, err := c.st.Attempts(ctx, nid)
	c.must(err, "Attempts")
	c.eq(len(atts), 0, "attempts of an unknown national ID")
}

func checkSessionRoundtrip(ctx context.Context, c *checker) {
	nid := NationalID()
	// Nanoseconds and a non-UTC zone: read back in UTC at microseconds.
	tehran := time.FixedZone("IRST", 3*3600+1800)
	created := time.Date(2025, 3, 20, 12, 30, 45, 123456789, tehran)
	in := kyc.SessionRecord{
		ID: c.id("s"), NationalID: nid, Challenge: "امروز هوا آفتابی است", Nonce: "nonce-1", HeadTurn: "left",
		BirthDate: "1370/12/30", Mobile: "09121234567", IP: "5.160.0.1",
		CreatedAt: created, ExpiresAt: created.Add(3 * time.Minute),
	}
	c.must(c.st.CreateSession(ctx, in), "CreateSession")
	got, err := c.st.Session(ctx, in.ID)
	c.must(err, "Session")
	want := in
	want.CreatedAt = created.UTC().Truncate(time.Microsecond)
	want.ExpiresAt = want.CreatedAt.Add(3 * time.Minute)
	if !got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		c.Errorf("CreatedAt: got %v, want %v in UTC", got.CreatedAt, want.CreatedAt)
	}
	if !got.ExpiresAt.Equal(want.ExpiresAt) || !got.UsedAt.IsZero() {
		c.Errorf("ExpiresAt/UsedAt: got %v/%v, want %v/zero", got.ExpiresAt, got.UsedAt, want.ExpiresAt)
	}
	got.CreatedAt, got.ExpiresAt, want.CreatedAt, want.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		c.Errorf("Session: got %+v, want %+v", got, want)
	}
	if err := c.st.CreateSession(ctx, in); err == nil {
		c.Errorf("CreateSession with a duplicate ID succeeded")
	}
	_, err = c.st.Session(ctx, c.id("missing"))
	c.is(err, kyc.ErrSessionNotFound, "Session of an unknown ID")
}

func checkReserveSessionRules(ctx context.Context, c *checker) {
	nid, other := NationalID(), NationalID()
	res := func(sess, nid string, now time.Duration) error {
		_, err := c.st.ReserveAttempt(ctx, kyc.Reservation{
			AttemptID: c.id("a"), SessionID: sess, NationalID: nid, MaxAttempts: 3,
			Now: c.at(now), LeaseUntil: c.at(now + time.Minute),
		})
		return err
	}
	c.is(res(c.id("missing"), nid, 0), kyc.ErrSessionNotFound, "unknown session")
	s := c.session(ctx, nid)
	c.is(res(s, other, 0), kyc.ErrSessionNotFound, "another national ID's session")
	c.is(res(s, nid, time.Hour), kyc.ErrSessionExpired, "session at its expiry")
	c.is(res(s, nid, 2*time.Hour), kyc.ErrSessionExpired, "session after its expiry")
	// The refused reservations changed nothing.
	sr, err := c.st.Session(ctx, s)
	c.must(err, "Session")
	c.eq(sr.UsedAt.IsZero(), true, "session unused after refusals")
	c.eq(c.applicant(ctx, other).InflightAttempt, "", "other applicant untouched")

	c.must(res(s, nid, 0), "first reservation")
	sr, err = c.st.Session(ctx, s)
	c.must(err, "Session")
	if !sr.UsedAt.Equal(c.at(0)) {
		c.Errorf("UsedAt: got %v, want %v", sr.UsedAt, c.at(0))
	}
	c.is(res(s, nid, 0), kyc.ErrSessionUsed, "second reservation of a session")
	// A session refused for an applicant reason stays unused.
	s2 := c.session(ctx, nid)
	c.is(res(s2, nid, time.Second), kyc.ErrAttemptInProgress, "reservation while one is in flight")
	sr, err = c.st.Session(ctx, s2)
	c.must(err, "Session")
	c.eq(sr.UsedAt.IsZero(), true, "session unused after ErrAttemptInProgress")
	if _, err := c.st.ReserveAttempt(ctx, kyc.Reservation{AttemptID: c.id("a"), SessionID: s2, NationalID: nid,
		MaxAttempts: 3, Now: c.at(2 * time.Minute), LeaseUntil: c.at(3 * time.Minute)}); err != nil {
		c.Errorf("the refused session could not be used later: %v", err)
	}
}

func checkSameSessionConcurrently(ctx context.Context, c *checker) {
	nid := NationalID()
	s := c.session(ctx, nid)
	const n = 20
	ids := make([]string, n)
	for i := range ids {
		ids[i] = c.id("a")
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = c.st.ReserveAttempt(ctx, kyc.Reservation{AttemptID: ids[i], SessionID: s, NationalID: nid,
				MaxAttempts: 3, Now: c.at(0), LeaseUntil: c.at(time.Minute)})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, kyc.ErrSessionUsed):
		default:
			c.Errorf("concurrent reservation of one session: %v", err)
		}
	}
	c.eq(ok, 1, "successful reservations of one session")
	atts, err := c.st.Attempts(ctx, nid)
	c.must(err, "Attempts")
	c.eq(len(atts), 1, "attempts of one session")
}

func checkApproveOnce(ctx context.Context, c *checker) {
	nid := NationalID()
	a, err := c.reserve(ctx, nid, 0, 3)
	c.must(err, "ReserveAttempt")
	c.eq(a.State, kyc.AttemptReserved, "reserved attempt state")
	c.eq(a.NationalID, nid, "attempt national ID")
	if !a.LeaseUntil.Equal(c.at(time.Minute)) || !a.CreatedAt.Equal(c.at(0)) {
		c.Errorf("lease/created: got %v/%v", a.LeaseUntil, a.CreatedAt)
	}
	app := c.applicant(ctx, nid)
	c.eq(app.InflightAttempt, a.ID, "in-flight attempt")
	if !app.InflightLeaseUntil.Equal(c.at(time.Minute)) {
		c.Errorf("InflightLeaseUntil: got %v, want %v", app.InflightLeaseUntil, c.at(time.Minute))
	}
	app, err = c.finish(ctx, a, kyc.Approved, false, 10*time.Second, 3)
	c.must(err, "FinishAttempt")
	c.eq(app.State, kyc.StateVerified, "state after approval")
	c.eq(app.InflightAttempt, "", "in-flight after finish")
	if !app.VerifiedAt.Equal(c.at(10 * time.Second)) {
		c.Errorf("VerifiedAt: got %v", app.VerifiedAt)
	}
	stored := c.applicant(ctx, nid)
	if fmt.Sprintf("%+v", stored) != fmt.Sprintf("%+v", app) {
		c.Errorf("FinishAttempt returned %+v, store has %+v", app, stored)
	}
	got := c.attempt(ctx, a.ID)
	c.eq(got.State, kyc.AttemptDecided, "decided attempt state")
	c.eq(got.Outcome, kyc.Approved, "outcome")
	c.eq(got.Counted, false, "counted")
	c.eq(got.EvidenceID, "ev-"+a.ID, "evidence ID")
	c.eq(string(got.Decision), `{"outcome":"approved"}`, "decision record")
	if !got.DecidedAt.Equal(c.at(10 * time.Second)) {
		c.Errorf("DecidedAt: got %v", got.DecidedAt)
	}
	_, err = c.finish(ctx, a, kyc.Approved, false, 11*time.Second, 3)
	c.is(err, kyc.ErrLeaseLost, "finishing twice")
	_, err = c.reserve(ctx, nid, time.Minute, 3)
	c.is(err, kyc.ErrAlreadyVerified, "reservation after approval")

	// Reverification only when allowed.
	a2, err := c.st.ReserveAttempt(ctx, kyc.Reservation{AttemptID: c.id("a"), SessionID: c.session(ctx, nid),
		NationalID: nid, MaxAttempts: 3, AllowReverification: true, Now: c.at(2 * time.Minute), LeaseUntil: c.at(3 * time.Minute)})
	c.must(err, "reservation with AllowReverification")
	app, err = c.finish(ctx, a2, kyc.Approved, false, 150*time.Second, 3)
	c.must(err, "FinishAttempt of a reverification")
	c.eq(app.State, kyc.StateVerified, "state after reverification")
}

func checkFailuresLock(ctx context.Context, c *checker) {
	nid := NationalID()
	for i := range 3 {
		now := time.Duration(i) * time.Minute
		a, err := c.reserve(ctx, nid, now, 3)
		c.must(err, fmt.Sprintf("reservation %d", i+1))
		app, err := c.finish(ctx, a, kyc.Rejected, true, now+time.Second, 3)
		c.must(err, "FinishAttempt rejected")
		c.eq(app.FailedAttempts, i+1, "failed attempts")
		if i < 2 {
			c.eq(app.State, kyc.StateActive, "state before the limit")
			if i == 1 {
				_, err := c.reserve(ctx, nid, now+2*time.Second, 2)
				c.is(err, kyc.ErrAttemptsExhausted, "reservation with a limit already reached")
			}
		} else {
			c.eq(app.State, kyc.StateLocked, "state at the limit")
			if !app.LockedAt.Equal(c.at(now + time.Second)) {
				c.Errorf("LockedAt: got %v", app.LockedAt)
			}
		}
	}
	_, err := c.reserve(ctx, nid, 10*time.Minute, 3)
	c.is(err, kyc.ErrLocked, "reservation when locked")
	c.eq(c.applicant(ctx, nid).FailedAttempts, 3, "failed attempts stay at the limit")

	// A rejection that is not counted does not count; a Locked outcome locks.
	nid2 := NationalID()
	a, err := c.reserve(ctx, nid2, 0, 3)
	c.must(err, "ReserveAttempt")
	app, err := c.finish(ctx, a, kyc.Rejected, false, time.Second, 3)
	c.must(err, "FinishAttempt uncounted")
	c.eq(app.FailedAttempts, 0, "uncounted rejection")
	c.eq(app.State, kyc.StateActive, "state after an uncounted rejection")
	a, err = c.reserve(ctx, nid2, time.Minute, 3)
	c.must(err, "ReserveAttempt")
	app, err = c.finish(ctx, a, kyc.Locked, true, time.Minute+time.Second, 3)
	c.must(err, "FinishAttempt locked")
	c.eq(app.State, kyc.StateLocked, "state after a Locked outcome")
	c.eq(app.FailedAttempts, 1, "failed attempts after a Locked outcome")
}

func checkLeaseTakeover(ctx context.Context, c *checker) {
	nid := NationalID()
	a, err := c.reserve(ctx, nid, 0, 3)
	c.must(err, "ReserveAttempt A")
	_, err = c.reserve(ctx, nid, 30*time.Second, 3)
	c.is(err, kyc.ErrAttemptInProgress, "reservation during A's lease")
	_, err = c.reserve(ctx, nid, 59*time.Second, 3)
	c.is(err, kyc.ErrAttemptInProgress, "reservation just before A's lease ends")
	b, err := c.reserve(ctx, nid, 2*time.Minute, 3)
	c.must(err, "reservation after A's lease expired")
	got := c.attempt(ctx, a.ID)
	c.eq(got.State, kyc.AttemptAbandoned, "A after the takeover")
	c.eq(got.Counted, false, "A counted")
	before := c.applicant(ctx, nid)
	c.eq(before.InflightAttempt, b.ID, "in-flight after the takeover")
	c.eq(before.FailedAttempts, 0, "failed attempts after an abandon")

	_, err = c.finish(ctx, a, kyc.Rejected, true, 2*time.Minute+time.Second, 3)
	c.is(err, kyc.ErrLeaseLost, "finishing the abandoned attempt")
	err = c.st.ReleaseAttempt(ctx, kyc.Release{AttemptID: a.ID, NationalID: nid, Cause: "late", Now: c.at(2*time.Minute + time.Second)})
	c.is(err, kyc.ErrLeaseLost, "releasing the abandoned attempt")
	after := c.applicant(ctx, nid)
	if fmt.Sprintf("%+v", before) != fmt.Sprintf("%+v", after) {
		c.Errorf("a refused finish changed the applicant: %+v -> %+v", before, after)
	}
	c.eq(c.attempt(ctx, a.ID).State, kyc.AttemptAbandoned, "A after the refused finish")

	// A lease that expired without a takeover still finishes.
	app, err := c.finish(ctx, b, kyc.Rejected, true, 10*time.Minute, 3)
	c.must(err, "finishing after the lease expired with no takeover")
	c.eq(app.FailedAttempts, 1, "failed attempts")
	_, err = c.finish(ctx, kyc.AttemptRecord{ID: c.id("missing"), NationalID: nid}, kyc.Rejected, true, 11*time.Minute, 3)
	c.is(err, kyc.ErrLeaseLost, "finishing an unknown attempt")
}

func checkRelease(ctx context.Context, c *checker) {
	nid := NationalID()
	a, err := c.reserve(ctx, nid, 0, 3)
	c.must(err, "ReserveAttempt")
	c.must(c.st.ReleaseAttempt(ctx, kyc.Release{AttemptID: a.ID, NationalID: nid, Cause: "registry down", Now: c.at(time.Second),
		Event: kyc.AuditEvent{Kind: kyc.AuditAttemptVoid, Actor: "system", Time: c.at(time.Second)}}), "ReleaseAttempt")
	got := c.attempt(ctx, a.ID)
	c.eq(got.State, kyc.AttemptVoid, "released attempt")
	c.eq(got.VoidCause, "registry down", "void cause")
	c.eq(got.Counted, false, "void counted")
	app := c.applicant(ctx, nid)
	c.eq(app.InflightAttempt, "", "in-flight after release")
	c.eq(app.FailedAttempts, 0, "failed attempts after release")
	c.eq(app.State, kyc.StateActive, "state after release")
	err = c.st.ReleaseAttempt(ctx, kyc.Release{AttemptID: a.ID, NationalID: nid, Now: c.at(2 * time.Second)})
	c.is(err, kyc.ErrLeaseLost, "releasing twice")
	_, err = c.finish(ctx, a, kyc.Approved, false, 3*time.Second, 3)
	c.is(err, kyc.ErrLeaseLost, "finishing a released attempt")
	_, err = c.reserve(ctx, nid, 4*time.Second, 3)
	c.must(err, "reservation after a release")
}

// pending returns a fresh pending charge of amount created at base+at.
func (c *checker) pending(amount int64, at time.Duration) *kyc.ChargeRecord {
	return &kyc.ChargeRecord{ID: c.id("c"), Amount: amount, Currency: "IRR", CreatedAt: c.at(at)}
}

// confirm confirms charge id with ref at base+at.
func (c *checker) confirm(ctx context.Context, id, ref string, at time.Duration) error {
	return c.st.AttachCharge(ctx, kyc.ChargeRecord{ID: id, Ref: ref, ConfirmedAt: c.at(at)})
}

// chargeIs checks an attempt's charge field by field.
func (c *checker) chargeIs(got *kyc.ChargeRecord, want kyc.ChargeRecord, what string) {
	if got == nil {
		c.Errorf("%s: no charge, want %+v", what, want)
		return
	}
	if got.ID != want.ID || got.NationalID != want.NationalID || got.AttemptID != want.AttemptID ||
		got.Amount != want.Amount || got.Currency != want.Currency || got.Ref != want.Ref ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ConfirmedAt.Equal(want.ConfirmedAt) {
		c.Errorf("%s: charge %+v, want %+v", what, *got, want)
	}
}

// charges counts the charges over all of nid's attempts.
func (c *checker) charges(ctx context.Context, nid string) int {
	atts, err := c.st.Attempts(ctx, nid)
	c.must(err, "Attempts")
	n := 0
	for _, x := range atts {
		if x.Charge != nil {
			n++
		}
	}
	return n
}

// checkChargePending: a reservation with a pending charge records it with
// the attempt, in the same transaction; a reservation refused for any
// reason, its charge's included, records neither.
func checkChargePending(ctx context.Context, c *checker) {
	nid := NationalID()
	p := c.pending(150000, 0)
	a, err := c.reserveWith(ctx, nid, 0, p)
	c.must(err, "ReserveAttempt with a pending charge")
	want := kyc.ChargeRecord{ID: p.ID, NationalID: nid, AttemptID: a.ID, Amount: 150000, Currency: "IRR", CreatedAt: c.at(0)}
	c.chargeIs(a.Charge, want, "the reservation's answer")
	c.chargeIs(c.attempt(ctx, a.ID).Charge, want, "read back")
	if a.Charge != nil && !a.Charge.Pending() {
		c.Errorf("a charge recorded with the reservation is not pending: %+v", *a.Charge)
	}
	// Without a charge, nothing is recorded.
	nid2 := NationalID()
	b, err := c.reserve(ctx, nid2, 0, 3)
	c.must(err, "ReserveAttempt without a charge")
	if b.Charge != nil {
		c.Errorf("a reservation without a charge has one: %+v", *b.Charge)
	}

	// Refused reservations record no charge and use no session.
	refused := func(what, nid, sess string, now time.Duration, ch *kyc.ChargeRecord, want error) {
		_, err := c.st.ReserveAttempt(ctx, kyc.Reservation{AttemptID: c.id("a"), SessionID: sess, NationalID: nid,
			MaxAttempts: 3, Now: c.at(now), LeaseUntil: c.at(now + time.Minute), Charge: ch})
		c.is(err, want, what)
		if ch != nil && ch.ID != p.ID {
			c.is(c.confirm(ctx, ch.ID, "ref-x", now), kyc.ErrChargeNotFound, what+": confirming its charge")
		}
		if sr, err := c.st.Session(ctx, sess); err == nil && !sr.UsedAt.IsZero() {
			c.Errorf("%s: the session was used", what)
		}
	}
	refused("reservation while one is in flight", nid, c.session(ctx, nid), time.Second, c.pending(150000, time.Second), kyc.ErrAttemptInProgress)
	c.chargeIs(c.attempt(ctx, a.ID).Charge, want, "A's charge after a refused reservation")
	used := c.session(ctx, nid)
	confirmed := c.pending(1, 0)
	confirmed.Ref = "ref-early"
	refused("a charge with a Ref", nid, used, 2*time.Minute, confirmed, kyc.ErrInvalidInput)
	other := c.pending(1, 0)
	other.NationalID = NationalID()
	refused("a charge for another national ID", nid, used, 2*time.Minute, other, kyc.ErrInvalidInput)
	c.eq(c.attempt(ctx, a.ID).State, kyc.AttemptReserved, "A after the refused takeovers")
	c.eq(c.applicant(ctx, nid).InflightAttempt, a.ID, "in-flight after the refused takeovers")
	atts, err := c.st.Attempts(ctx, nid)
	c.must(err, "Attempts")
	c.eq(len(atts), 1, "attempts after the refusals")
	c.eq(c.charges(ctx, nid), 1, "charges after the refusals")

	// A charge ID already taken (by A's charge) refuses another
	// applicant's whole reservation, after the attempt is inserted:
	// nothing of it stays.
	nid3 := NationalID()
	dup := c.pending(1, 0)
	dup.ID = p.ID
	s3 := c.session(ctx, nid3)
	refused("a charge ID already taken", nid3, s3, 0, dup, kyc.ErrInvalidInput)
	app3 := c.applicant(ctx, nid3)
	c.eq(app3.InflightAttempt, "", "in-flight of the refused applicant")
	atts, err = c.st.Attempts(ctx, nid3)
	c.must(err, "Attempts")
	c.eq(len(atts), 0, "attempts of the refused applicant")
	c.chargeIs(c.attempt(ctx, a.ID).Charge, want, "A's charge after the duplicate")
	// The sessions refused for their charge's sake are still usable.
	_, err = c.st.ReserveAttempt(ctx, kyc.Reservation{AttemptID: c.id("a"), SessionID: s3, NationalID: nid3,
		MaxAttempts: 3, Now: c.at(time.Second), LeaseUntil: c.at(time.Minute), Charge: c.pending(1, time.Second)})
	c.must(err, "the refused session with a valid charge")
	b3, err := c.st.ReserveAttempt(ctx, kyc.Reservation{AttemptID: c.id("a"), SessionID: used, NationalID: nid,
		MaxAttempts: 3, Now: c.at(2 * time.Minute), LeaseUntil: c.at(3 * time.Minute), Charge: c.pending(1, 2*time.Minute)})
	c.must(err, "the other refused session, after A's lease")
	// A's lease is over: its pending charge (not the new one) moves.
	want.AttemptID = b3.ID
	c.chargeIs(b3.Charge, want, "the takeover's charge (A's, carried over)")
}

// checkChargeConfirm: AttachCharge confirms a pending charge once; the same
// reference again is a no-op, another is refused, an unknown ID is
// ErrChargeNotFound; concurrent confirmations with different references
// leave exactly one.
func checkChargeConfirm(ctx context.Context, c *checker) {
	nid := NationalID()
	p := c.pending(150000, 0)
	a, err := c.reserveWith(ctx, nid, 0, p)
	c.must(err, "ReserveAttempt")
	c.is(c.confirm(ctx, p.ID, "", time.Second), kyc.ErrInvalidInput, "confirming with an empty Ref")
	c.is(c.st.AttachCharge(ctx, kyc.ChargeRecord{ID: p.ID, Ref: "ref-1"}), kyc.ErrInvalidInput, "confirming without ConfirmedAt")
	c.is(c.st.AttachCharge(ctx, kyc.ChargeRecord{ID: p.ID, NationalID: NationalID(), Ref: "ref-1", ConfirmedAt: c.at(time.Second)}),
		kyc.ErrInvalidInput, "confirming for another national ID")
	c.is(c.confirm(ctx, c.id("missing"), "ref-1", time.Second), kyc.ErrChargeNotFound, "confirming an unknown charge")
	if !c.attempt(ctx, a.ID).Charge.Pending() {
		c.Fatalf("refused confirmations confirmed the charge")
	}

	c.must(c.confirm(ctx, p.ID, "ref-1", time.Second), "AttachCharge")
	want := kyc.ChargeRecord{ID: p.ID, NationalID: nid, AttemptID: a.ID, Amount: 150000, Currency: "IRR", Ref: "ref-1",
		CreatedAt: c.at(0), ConfirmedAt: c.at(time.Second)}
	c.chargeIs(c.attempt(ctx, a.ID).Charge, want, "confirmed")
	c.must(c.confirm(ctx, p.ID, "ref-1", 2*time.Second), "confirming again with the same Ref")
	c.chargeIs(c.attempt(ctx, a.ID).Charge, want, "after the same confirmation again (first time kept)")
	c.is(c.confirm(ctx, p.ID, "ref-2", 3*time.Second), kyc.ErrInvalidInput, "confirming with another Ref")
	c.chargeIs(c.attempt(ctx, a.ID).Charge, want, "after a confirmation with another Ref")

	// Racing confirmations with different references: one wins, for good.
	nid2 := NationalID()
	q := c.pending(5000, 0)
	b, err := c.reserveWith(ctx, nid2, 0, q)
	c.must(err, "ReserveAttempt")
	const n = 12
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = c.confirm(ctx, q.ID, fmt.Sprintf("ref-%d", i), time.Second) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			c.Errorf("confirmations %d and %d with different references both succeeded", won, i)
		case err == nil:
			won = i
		default:
			c.is(err, kyc.ErrInvalidInput, "a losing concurrent confirmation")
		}
	}
	if won < 0 {
		c.Fatalf("no concurrent confirmation succeeded")
	}
	got := c.attempt(ctx, b.ID).Charge
	if got == nil || got.Ref != fmt.Sprintf("ref-%d", won) {
		c.Errorf("after the race: charge %+v, want ref-%d", got, won)
	}
}

// checkChargeCarryOver: a charge, pending or confirmed, left on a void or
// abandoned attempt moves to the next reservation (whose own pending charge
// is then not recorded) and keeps its ID; a decided attempt keeps its
// charge; a late confirmation of a moved charge still lands.
func checkChargeCarryOver(ctx context.Context, c *checker) {
	nid := NationalID()
	p := c.pending(150000, 0)
	a, err := c.reserveWith(ctx, nid, 0, p)
	c.must(err, "ReserveAttempt A")

	// Void while pending: the pending charge moves to B, B's is not kept.
	c.must(c.st.ReleaseAttempt(ctx, kyc.Release{AttemptID: a.ID, NationalID: nid, Cause: "charge", Now: c.at(time.Second)}), "ReleaseAttempt")
	pb := c.pending(150000, 2*time.Second)
	b, err := c.reserveWith(ctx, nid, 2*time.Second, pb)
	c.must(err, "ReserveAttempt B")
	want := kyc.ChargeRecord{ID: p.ID, NationalID: nid, AttemptID: b.ID, Amount: 150000, Currency: "IRR", CreatedAt: c.at(0)}
	c.chargeIs(b.Charge, want, "B after a void A (pending carried over)")
	if x := c.attempt(ctx, a.ID).Charge; x != nil {
		c.Errorf("the void attempt still holds the charge: %+v", *x)
	}
	c.is(c.confirm(ctx, pb.ID, "ref-b", 3*time.Second), kyc.ErrChargeNotFound, "confirming B's unrecorded charge")

	// B's lease ends while pending: D carries it over; then A's process,
	// late, confirms it (the provider took it): the confirmation lands on
	// D's charge; D confirming with the same Ref is a no-op.
	d, err := c.reserveWith(ctx, nid, 5*time.Minute, c.pending(150000, 5*time.Minute))
	c.must(err, "ReserveAttempt D after B's lease")
	c.eq(c.attempt(ctx, b.ID).State, kyc.AttemptAbandoned, "B")
	want.AttemptID = d.ID
	c.chargeIs(d.Charge, want, "D after an abandoned B (pending carried over)")
	c.must(c.confirm(ctx, p.ID, "ref-1", 5*time.Minute+time.Second), "late confirmation of the moved charge")
	c.must(c.confirm(ctx, p.ID, "ref-1", 5*time.Minute+2*time.Second), "D's confirmation with the same Ref")
	want.Ref, want.ConfirmedAt = "ref-1", c.at(5*time.Minute+time.Second)
	c.chargeIs(c.attempt(ctx, d.ID).Charge, want, "D's confirmed charge")

	// Void while confirmed: it moves again, confirmed.
	c.must(c.st.ReleaseAttempt(ctx, kyc.Release{AttemptID: d.ID, NationalID: nid, Cause: "detector", Now: c.at(6 * time.Minute)}), "ReleaseAttempt D")
	e, err := c.reserveWith(ctx, nid, 6*time.Minute+time.Second, c.pending(150000, 6*time.Minute+time.Second))
	c.must(err, "ReserveAttempt E")
	want.AttemptID = e.ID
	c.chargeIs(e.Charge, want, "E after a void D (confirmed carried over)")

	// Decided: it stays; the next attempt gets its own pending charge.
	_, err = c.finish(ctx, e, kyc.Rejected, true, 7*time.Minute, 3)
	c.must(err, "FinishAttempt E")
	pf := c.pending(150000, 8*time.Minute)
	f, err := c.reserveWith(ctx, nid, 8*time.Minute, pf)
	c.must(err, "ReserveAttempt F")
	c.chargeIs(f.Charge, kyc.ChargeRecord{ID: pf.ID, NationalID: nid, AttemptID: f.ID, Amount: 150000, Currency: "IRR",
		CreatedAt: c.at(8 * time.Minute)}, "F after a decided E (its own pending charge)")
	c.chargeIs(c.attempt(ctx, e.ID).Charge, want, "the decided attempt's charge")
	// A later attempt without a charge of its own takes none.
	_, err = c.finish(ctx, f, kyc.Rejected, true, 9*time.Minute, 3)
	c.must(err, "FinishAttempt F")
	g, err := c.reserve(ctx, nid, 10*time.Minute, 3)
	c.must(err, "ReserveAttempt G")
	if g.Charge != nil {
		c.Errorf("G took a charge from a decided attempt: %+v", *g.Charge)
	}
	c.eq(c.charges(ctx, nid), 2, "charges over all attempts")
}

func checkReview(ctx context.Context, c *checker) {
	nid := NationalID()
	a, err := c.reserve(ctx, nid, 0, 3)
	c.must(err, "ReserveAttempt")
	app, err := c.finish(ctx, a, kyc.Review, false, time.Second, 3)
	c.must(err, "FinishAttempt review")
	c.eq(app.State, kyc.StateReview, "state")
	c.eq(app.ReviewAttempt, a.ID, "review attempt")
	c.eq(app.FailedAttempts, 0, "failed attempts")
	_, err = c.reserve(ctx, nid, 2*time.Second, 3)
	c.is(err, kyc.ErrInReview, "reservation while in review")
	revs, err := c.st.Reviews(ctx, 100000)
	c.must(err, "Reviews")
	if !slices.ContainsFunc(revs, func(x kyc.AttemptRecord) bool { return x.ID == a.ID }) {
		c.Errorf("Reviews does not list the review attempt")
	}

	res := kyc.Resolution{AttemptID: a.ID, Approve: true, OperatorID: "op-7", Note: "looks fine", MaxAttempts: 3, Now: c.at(time.Minute),
		Event: kyc.AuditEvent{Kind: kyc.AuditReviewResolved, Actor: "op-7", Time: c.at(time.Minute)}}
	wrong := res
	wrong.AttemptID = c.id("missing")
	if _, _, err := c.st.ResolveReview(ctx, wrong); !errors.Is(err, kyc.ErrNotInReview) && !errors.Is(err, kyc.ErrAttemptNotFound) {
		c.Errorf("resolving an unknown attempt: %v", err)
	}
	app, att, err := c.st.ResolveReview(ctx, res)
	c.must(err, "ResolveReview approve")
	c.eq(app.State, kyc.StateVerified, "state after an approved review")
	c.eq(app.ReviewAttempt, "", "review attempt after resolution")
	if att.Review == nil || !att.Review.Approved || att.Review.OperatorID != "op-7" || att.Review.Note != "looks fine" || !att.Review.At.Equal(c.at(time.Minute)) {
		c.Errorf("review record: %+v", att.Review)
	}
	c.eq(att.Counted, false, "approved review counted")
	_, _, err = c.st.ResolveReview(ctx, res)
	c.is(err, kyc.ErrNotInReview, "resolving twice")
	revs, err = c.st.Reviews(ctx, 100000)
	c.must(err, "Reviews")
	if slices.ContainsFunc(revs, func(x kyc.AttemptRecord) bool { return x.ID == a.ID }) {
		c.Errorf("Reviews still lists the resolved attempt")
	}
	_, err = c.reserve(ctx, nid, 2*time.Minute, 3)
	c.is(err, kyc.ErrAlreadyVerified, "reservation after an approved review")

	// Rejection: counted, reasons replaced, active again.
	nid2 := NationalID()
	b, err := c.reserve(ctx, nid2, 0, 3)
	c.must(err, "ReserveAttempt")
	_, err = c.finish(ctx, b, kyc.Review, false, time.Second, 3)
	c.must(err, "FinishAttempt review")
	_, _, err = c.st.ResolveReview(ctx, kyc.Resolution{AttemptID: a.ID, Approve: false, OperatorID: "op-7", MaxAttempts: 3, Now: c.at(time.Minute)})
	c.is(err, kyc.ErrNotInReview, "resolving another national ID's resolved attempt")
	app, att, err = c.st.ResolveReview(ctx, kyc.Resolution{AttemptID: b.ID, Approve: false, OperatorID: "op-8", MaxAttempts: 3,
		Reasons: []reason.Code{reason.OperatorRejected}, Now: c.at(time.Minute)})
	c.must(err, "ResolveReview reject")
	c.eq(app.State, kyc.StateActive, "state after a rejected review")
	c.eq(app.FailedAttempts, 1, "failed attempts after a rejected review")
	c.eq(att.Counted, true, "rejected review counted")
	c.eq(fmt.Sprint(att.Reasons), fmt.Sprint([]reason.Code{reason.OperatorRejected}), "reasons after rejection")
	if att.Review == nil || att.Review.Approved || att.Review.OperatorID != "op-8" {
		c.Errorf("review record: %+v", att.Review)
	}
	_, err = c.reserve(ctx, nid2, 2*time.Minute, 3)
	c.must(err, "reservation after a rejected review")
}

func checkReviewRejectLocks(ctx context.Context, c *checker) {
	nid := NationalID()
	for i := range 2 {
		a, err := c.reserve(ctx, nid, time.Duration(i)*time.Minute, 3)
		c.must(err, "ReserveAttempt")
		_, err = c.finish(ctx, a, kyc.Rejected, true, time.Duration(i)*time.Minute+time.Second, 3)
		c.must(err, "FinishAttempt")
	}
	a, err := c.reserve(ctx, nid, 5*time.Minute, 3)
	c.must(err, "ReserveAttempt")
	_, err = c.finish(ctx, a, kyc.Review, false, 5*time.Minute+time.Second, 3)
	c.must(err, "FinishAttempt review")
	app, _, err := c.st.ResolveReview(ctx, kyc.Resolution{AttemptID: a.ID, OperatorID: "op", MaxAttempts: 3, Now: c.at(6 * time.Minute)})
	c.must(err, "ResolveReview reject")
	c.eq(app.FailedAttempts, 3, "failed attempts")
	c.eq(app.State, kyc.StateLocked, "state after the third failure through review")
	_, err = c.reserve(ctx, nid, 7*time.Minute, 3)
	c.is(err, kyc.ErrLocked, "reservation after locking through review")
}

func checkAttemptsListing(ctx context.Context, c *checker) {
	nid := NationalID()
	var ids []string
	for i := range 3 {
		a, err := c.reserve(ctx, nid, time.Duration(i)*time.Minute, 5)
		c.must(err, "ReserveAttempt")
		ids = append(ids, a.ID)
		c.must(c.st.ReleaseAttempt(ctx, kyc.Release{AttemptID: a.ID, NationalID: nid, Now: c.at(time.Duration(i)*time.Minute + time.Second)}), "ReleaseAttempt")
	}
	atts, err := c.st.Attempts(ctx, nid)
	c.must(err, "Attempts")
	var got []string
	for _, a := range atts {
		got = append(got, a.ID)
		c.eq(a.NationalID, nid, "listed national ID")
	}
	c.eq(got, ids, "attempts oldest first")
	_, err = c.st.Attempt(ctx, c.id("missing"))
	c.is(err, kyc.ErrAttemptNotFound, "Attempt of an unknown ID")
}

func checkOTP(ctx context.Context, c *checker) {
	nid := NationalID()
	_, err := c.st.OTP(ctx, nid)
	c.is(err, kyc.ErrOTPNotFound, "OTP of an unknown national ID")
	_, err = c.st.TryOTP(ctx, nid, c.at(0))
	c.is(err, kyc.ErrOTPNotFound, "TryOTP of an unknown national ID")
	c.is(c.st.ConfirmOTP(ctx, nid, []byte("salt"), c.at(0)), kyc.ErrOTPNotFound, "ConfirmOTP of an unknown national ID")

	rec := kyc.OTPRecord{NationalID: nid, Mobile: "09121234567", Hash: []byte("hash-1"), Salt: []byte("salt-1"),
		ExpiresAt: c.at(2 * time.Minute), MaxTries: 5, CreatedAt: c.at(0)}
	c.must(c.st.PutOTP(ctx, rec), "PutOTP")
	for i := 1; i <= 2; i++ {
		got, err := c.st.TryOTP(ctx, nid, c.at(time.Second))
		c.must(err, "TryOTP")
		c.eq(got.Tries, i, "tries")
		if !bytes.Equal(got.Hash, rec.Hash) || !bytes.Equal(got.Salt, rec.Salt) || got.MaxTries != 5 || !got.ExpiresAt.Equal(rec.ExpiresAt) {
			c.Errorf("TryOTP record: %+v", got)
		}
	}
	// A new OTP replaces the old one, tries included.
	rec2 := rec
	rec2.Hash, rec2.Salt, rec2.CreatedAt = []byte("hash-2"), []byte("salt-2"), c.at(time.Minute)
	c.must(c.st.PutOTP(ctx, rec2), "PutOTP replace")
	got, err := c.st.OTP(ctx, nid)
	c.must(err, "OTP")
	c.eq(got.Tries, 0, "tries after replacement")
	c.eq(string(got.Salt), "salt-2", "salt after replacement")
	if c.st.ConfirmOTP(ctx, nid, []byte("salt-1"), c.at(time.Minute)) == nil {
		c.Errorf("ConfirmOTP with the replaced OTP's salt succeeded")
	}
	got, _ = c.st.OTP(ctx, nid)
	c.eq(got.ConfirmedAt.IsZero(), true, "unconfirmed after a stale confirm")
	c.must(c.st.ConfirmOTP(ctx, nid, []byte("salt-2"), c.at(time.Minute+time.Second)), "ConfirmOTP")
	got, err = c.st.OTP(ctx, nid)
	c.must(err, "OTP")
	if !got.ConfirmedAt.Equal(c.at(time.Minute + time.Second)) {
		c.Errorf("ConfirmedAt: got %v", got.ConfirmedAt)
	}
	if c.st.ConfirmOTP(ctx, nid, []byte("salt-2"), c.at(2*time.Minute)) == nil {
		c.Errorf("confirming twice succeeded")
	}
}

func checkOTPConcurrent(ctx context.Context, c *checker) {
	nid := NationalID()
	c.must(c.st.PutOTP(ctx, kyc.OTPRecord{NationalID: nid, Mobile: "09121234567", Hash: []byte("h"), Salt: []byte("s"),
		ExpiresAt: c.at(time.Minute), MaxTries: 5, CreatedAt: c.at(0)}), "PutOTP")
	const n = 40
	tries := make([]int, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := range n {
		wg.Go(func() {
			r, err := c.st.TryOTP(ctx, nid, c.at(time.Second))
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			tries[i] = r.Tries
		})
	}
	wg.Wait()
	for _, err := range errs {
		c.Errorf("TryOTP: %v", err)
	}
	slices.Sort(tries)
	for i, t := range tries {
		if t != i+1 {
			c.Fatalf("concurrent TryOTP returned tries %v, want 1..%d each once", tries, n)
		}
	}
	got, err := c.st.OTP(ctx, nid)
	c.must(err, "OTP")
	c.eq(got.Tries, n, "tries after concurrent TryOTP")
}

func checkAudit(ctx context.Context, c *checker) {
	nid := NationalID()
	var appended []kyc.AuditEvent
	for i := range 5 {
		ev, err := c.st.AppendAudit(ctx, kyc.AuditEvent{Time: c.at(time.Duration(i) * time.Second).Add(1234 * time.Nanosecond),
			Kind: kyc.AuditInquiry, NationalID: nid, Actor: "applicant", Data: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		c.must(err, "AppendAudit")
		if i > 0 && ev.Seq <= appended[i-1].Seq {
			c.Errorf("Seq not increasing: %d after %d", ev.Seq, appended[i-1].Seq)
		}
		if len(ev.Hash) == 0 || ev.Time.Nanosecond()%1000 != 0 {
			c.Errorf("sealed event: %+v", ev)
		}
		appended = append(appended, ev)
	}
	// Events appended by others may interleave; ours read back unchanged.
	evs, err := c.st.Audit(ctx, appended[0].Seq-1, 0x7fffffff)
	c.must(err, "Audit")
	bySeq := map[int64]kyc.AuditEvent{}
	for _, ev := range evs {
		bySeq[ev.Seq] = ev
	}
	for _, want := range appended {
		got, ok := bySeq[want.Seq]
		if !ok {
			c.Errorf("event %d missing", want.Seq)
			continue
		}
		if !got.Time.Equal(want.Time) || got.Kind != want.Kind || got.NationalID != nid || !bytes.Equal(got.Data, want.Data) ||
			!bytes.Equal(got.Hash, want.Hash) || !bytes.Equal(got.PrevHash, want.PrevHash) {
			c.Errorf("event %d: got %+v, want %+v", want.Seq, got, want)
		}
	}
	page, err := c.st.Audit(ctx, appended[0].Seq-1, 2)
	c.must(err, "Audit with a limit")
	c.eq(len(page), 2, "page size")
	if len(page) == 2 && (page[0].Seq != appended[0].Seq || page[1].Seq != appended[0].Seq+1) {
		c.Errorf("page: %d, %d", page[0].Seq, page[1].Seq)
	}
	seq, hash, err := c.st.AuditHead(ctx)
	c.must(err, "AuditHead")
	if seq < appended[4].Seq || len(hash) == 0 {
		c.Errorf("AuditHead %d %x before the last append %d", seq, hash, appended[4].Seq)
	}

	// The steps append their events in their own transaction.
	a, err := c.reserve(ctx, nid, 0, 3)
	c.must(err, "ReserveAttempt")
	_, err = c.finish(ctx, a, kyc.Rejected, true, time.Second, 3)
	c.must(err, "FinishAttempt")
	evs, err = c.st.Audit(ctx, appended[4].Seq, 0x7fffffff)
	c.must(err, "Audit")
	var kinds []kyc.AuditKind
	for _, ev := range evs {
		if ev.AttemptID == a.ID {
			kinds = append(kinds, ev.Kind)
			c.eq(ev.NationalID, nid, "step event national ID")
		}
	}
	c.eq(kinds, []kyc.AuditKind{kyc.AuditAttemptReserved, kyc.AuditAttemptDecided}, "events of one attempt")
	// A refused step appends nothing.
	before, _, err := c.st.AuditHead(ctx)
	c.must(err, "AuditHead")
	_, err = c.reserve(ctx, nid, 2*time.Second, 0)
	if err == nil {
		c.Errorf("a reservation with MaxAttempts 0 succeeded")
	}
	evs, err = c.st.Audit(ctx, before, 0x7fffffff)
	c.must(err, "Audit")
	for _, ev := range evs {
		if ev.NationalID == nid {
			c.Errorf("a refused reservation appended %+v", ev)
		}
	}
}

func checkAuditConcurrent(ctx context.Context, c *checker) {
	nid := NationalID()
	const n = 50
	seqs := make([]int64, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := range n {
		wg.Go(func() {
			ev, err := c.st.AppendAudit(ctx, kyc.AuditEvent{Time: c.at(0), Kind: kyc.AuditOTPFailed, NationalID: nid, Actor: "applicant"})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			seqs[i] = ev.Seq
		})
	}
	wg.Wait()
	for _, err := range errs {
		c.Errorf("AppendAudit: %v", err)
	}
	slices.Sort(seqs)
	for i := 1; i < n; i++ {
		if seqs[i] == seqs[i-1] {
			c.Errorf("two events got Seq %d", seqs[i])
		}
	}
	c.auditChainValid(ctx)
}

func checkRepresentativeDocs(ctx context.Context, c *checker) {
	nid := NationalID()
	d := kyc.RepresentativeDoc{ID: c.id("d"), NationalID: nid, Kind: kyc.Attorney, DocType: "power_of_attorney",
		ExpiresAt: c.at(24 * time.Hour), EvidenceID: "ev-1", State: kyc.DocPending, CreatedAt: c.at(0)}
	c.must(c.st.PutRepresentativeDoc(ctx, d), "PutRepresentativeDoc")
	d2 := d
	d2.EvidenceID, d2.UpdatedAt = "ev-2", c.at(time.Minute)
	c.must(c.st.PutRepresentativeDoc(ctx, d2), "replacing a pending document")
	docs, err := c.st.RepresentativeDocs(ctx, nid)
	c.must(err, "RepresentativeDocs")
	if len(docs) != 1 || docs[0].EvidenceID != "ev-2" || docs[0].State != kyc.DocPending || docs[0].Kind != kyc.Attorney ||
		!docs[0].CreatedAt.Equal(c.at(0)) || !docs[0].ExpiresAt.Equal(c.at(24*time.Hour)) {
		c.Fatalf("documents after replacement: %+v", docs)
	}
	c.is(c.st.SetRepresentativeDocState(ctx, c.id("missing"), kyc.DocApproved, "op", "", c.at(time.Hour)), kyc.ErrDocumentNotFound, "unknown document")
	c.must(c.st.SetRepresentativeDocState(ctx, d.ID, kyc.DocRejected, "op-1", "blurry", c.at(2*time.Minute)), "reject")
	c.is(c.st.SetRepresentativeDocState(ctx, d.ID, kyc.DocApproved, "op-1", "", c.at(3*time.Minute)), kyc.ErrDocumentNotPending, "approving a rejected document")
	// A rejected document may be replaced; the replacement is pending.
	d3 := d
	d3.EvidenceID, d3.UpdatedAt = "ev-3", c.at(4*time.Minute)
	c.must(c.st.PutRepresentativeDoc(ctx, d3), "replacing a rejected document")
	docs, err = c.st.RepresentativeDocs(ctx, nid)
	c.must(err, "RepresentativeDocs")
	if len(docs) != 1 || docs[0].State != kyc.DocPending || docs[0].EvidenceID != "ev-3" {
		c.Fatalf("documents after replacing a rejected one: %+v", docs)
	}
	c.must(c.st.SetRepresentativeDocState(ctx, d.ID, kyc.DocApproved, "op-2", "ok", c.at(5*time.Minute)), "approve")
	docs, err = c.st.RepresentativeDocs(ctx, nid)
	c.must(err, "RepresentativeDocs")
	if len(docs) != 1 || docs[0].State != kyc.DocApproved || docs[0].OperatorID != "op-2" || docs[0].Note != "ok" || !docs[0].UpdatedAt.Equal(c.at(5*time.Minute)) {
		c.Errorf("approved document: %+v", docs)
	}
	d4 := d
	d4.EvidenceID = "ev-4"
	c.is(c.st.PutRepresentativeDoc(ctx, d4), kyc.ErrDocumentApproved, "replacing an approved document")
	c.is(c.st.SetRepresentativeDocState(ctx, d.ID, kyc.DocRejected, "op", "", c.at(6*time.Minute)), kyc.ErrDocumentNotPending, "rejecting an approved document")
	other := kyc.RepresentativeDoc{ID: c.id("d"), NationalID: nid, Kind: kyc.Guardian, DocType: "guardianship", EvidenceID: "ev-5", CreatedAt: c.at(time.Hour)}
	c.must(c.st.PutRepresentativeDoc(ctx, other), "second document")
	docs, err = c.st.RepresentativeDocs(ctx, nid)
	c.must(err, "RepresentativeDocs")
	c.eq(len(docs), 2, "documents of the national ID")
}

func checkHammer(ctx context.Context, c *checker) {
	nid := NationalID()
	res, err := Hammer(ctx, c.st, HammerConfig{NationalID: nid, Workers: 200, MaxAttempts: 3, Prefix: c.id("h"), Now: c.at(0)})
	c.must(err, "Hammer")
	for _, p := range res.Problems {
		c.Errorf("%s", p)
	}
	if res.Reserved == 0 {
		c.Errorf("no reservation succeeded")
	}
	if err := CheckNationalID(ctx, c.st, nid, 3, res); err != nil {
		c.Errorf("%v", err)
	}
}
