package kyc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

const (
	nid1 = "0499370899"
	nid2 = "0790419904"
)

func newHarness(t *testing.T, o kyctest.Options) *kyctest.Harness {
	t.Helper()
	h, err := kyctest.New(o)
	require.NoError(t, err)
	t.Cleanup(func() { h.Verifier.Close() })
	return h
}

func addPerson(t *testing.T, h *kyctest.Harness, s kyctest.PersonSpec) kyc.Applicant {
	t.Helper()
	a, err := h.AddPerson(s)
	require.NoError(t, err)
	return a
}

func TestApprovedOnceForever(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, kyctest.Options{Fee: 50_000})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})

	el, err := h.Verifier.Inquire(ctx, a)
	require.NoError(t, err)
	assert.True(t, el.Eligible)
	assert.Equal(t, 3, el.AttemptsLeft)
	assert.NotEmpty(t, el.FirstName)

	d, err := h.Verify(ctx, a, kyctest.LiveVideo(nid1))
	require.NoError(t, err)
	assert.Equal(t, kyc.Approved, d.Outcome)
	assert.Empty(t, d.Reasons)
	assert.False(t, d.Counted)
	assert.Equal(t, 3, d.AttemptsLeft)
	require.NotNil(t, d.Fee)
	assert.EqualValues(t, 50_000, d.Fee.Amount)
	require.NotNil(t, d.Match)
	assert.Equal(t, "match", d.Match.Decision)

	// Evidence: the video and the decision record are in the vault.
	video, record, ok := h.Vault.Get(d.EvidenceID)
	require.True(t, ok)
	assert.Contains(t, string(video), "KYCTEST-VIDEO")
	var rec map[string]any
	require.NoError(t, json.Unmarshal(record, &rec))
	assert.Equal(t, "approved", rec["outcome"])
	assert.NotEmpty(t, rec["challenge"])

	st, err := h.Verifier.Status(ctx, nid1)
	require.NoError(t, err)
	assert.Equal(t, kyc.StateVerified, st.State)
	require.NotNil(t, st.Last)
	assert.Equal(t, kyc.Approved, st.Last.Outcome)

	// Never again: inquiry says already_verified, a new session is refused.
	el, err = h.Verifier.Inquire(ctx, a)
	require.NoError(t, err)
	assert.False(t, el.Eligible)
	assert.Contains(t, el.Reasons, reason.AlreadyVerified)
	_, err = h.Verifier.Begin(ctx, a)
	require.ErrorIs(t, err, kyc.ErrNotEligible)
	var ke *kyc.Error
	require.ErrorAs(t, err, &ke)
	assert.Contains(t, ke.Reasons, reason.AlreadyVerified)

	amount, n := h.Charger.Total(nid1)
	assert.EqualValues(t, 50_000, amount)
	assert.Equal(t, 1, n)
	require.NoError(t, h.Verifier.VerifyAudit(ctx))
}

func TestThreeFailuresLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, kyctest.Options{Fee: 10})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})

	videos := []io.Reader{
		kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Live, Face: nid1, Quality: []reason.Code{reason.LowLight}}),
		kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: nid1}),
		kyctest.LiveVideo(nid2), // someone else's face
	}
	want := []struct {
		out    kyc.Outcome
		reason reason.Code
		left   int
	}{
		{kyc.Rejected, reason.LowLight, 2},
		{kyc.Rejected, reason.SpoofSuspected, 1},
		{kyc.Locked, reason.FaceMismatch, 0},
	}
	require.NoError(t, h.ConfirmOTP(ctx, a))
	for i, v := range videos {
		d, err := h.Resubmit(ctx, a, v)
		require.NoError(t, err, "upload %d", i+1)
		assert.Equal(t, want[i].out, d.Outcome, "upload %d", i+1)
		assert.Contains(t, d.Reasons, want[i].reason, "upload %d", i+1)
		assert.True(t, d.Counted)
		assert.Equal(t, want[i].left, d.AttemptsLeft)
		for _, m := range d.Messages(reason.Persian) {
			assert.NotEmpty(t, m.Text)
			assert.NotEmpty(t, m.Hint)
		}
	}
	// The third failure locked the national ID: in person only.
	st, err := h.Verifier.Status(ctx, nid1)
	require.NoError(t, err)
	assert.Equal(t, kyc.StateLocked, st.State)
	assert.True(t, st.InPersonRequired)
	assert.Equal(t, 3, st.AttemptsUsed)

	// A 4th upload is refused before anything is charged.
	_, err = h.Verifier.Begin(ctx, a)
	require.ErrorIs(t, err, kyc.ErrNotEligible)
	el, err := h.Verifier.Inquire(ctx, a)
	require.NoError(t, err)
	assert.False(t, el.Eligible)
	assert.True(t, el.InPersonRequired)
	assert.Subset(t, el.Reasons, []reason.Code{reason.Locked})
	_, n := h.Charger.Total(nid1)
	assert.Equal(t, 3, n, "one fee per counted attempt, none refunded")
	require.NoError(t, h.Verifier.VerifyAudit(ctx))
}

func TestSDKFailuresDoNotCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, kyctest.Options{Fee: 7})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
	require.NoError(t, h.ConfirmOTP(ctx, a))

	boom := errors.New("boom")
	cases := []struct {
		name  string
		setup func()
		video io.Reader
		match func(error) bool
	}{
		{"charger down", func() { h.Charger.Faults.FailNext(1, boom) }, kyctest.LiveVideo(nid1),
			func(err error) bool { return errors.Is(err, kyc.ErrCharge) }},
		{"corrupt video", func() {}, kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Corrupt}),
			func(err error) bool {
				var ke *kyc.Error
				return errors.As(err, &ke) && ke.Code == kyc.CodeVideoRejected && ke.Reason == reason.VideoInvalid
			}},
		{"detector down", func() { h.Detector.Faults.FailNext(1, boom) }, kyctest.LiveVideo(nid1),
			func(err error) bool {
				return errors.Is(err, &kyc.Error{Code: kyc.CodeDependency, Dependency: "detector"})
			}},
		{"matcher down", func() { h.Matcher.Faults.FailNext(1, boom) }, kyctest.LiveVideo(nid1),
			func(err error) bool {
				return errors.Is(err, &kyc.Error{Code: kyc.CodeDependency, Dependency: "matcher"})
			}},
		{"vault down", func() { h.Vault.Faults.FailNext(1, boom) }, kyctest.LiveVideo(nid1),
			func(err error) bool { return errors.Is(err, &kyc.Error{Code: kyc.CodeDependency, Dependency: "vault"}) }},
		{"registry down", func() { h.Registry.Faults.FailNext(1, boom) }, kyctest.LiveVideo(nid1),
			func(err error) bool {
				return errors.Is(err, &kyc.Error{Code: kyc.CodeDependency, Dependency: "civil_registry"}) &&
					errors.Is(err, registry.ErrUnavailable)
			}},
	}
	for _, c := range cases {
		s, err := h.Verifier.Begin(ctx, a)
		require.NoError(t, err, c.name)
		c.setup()
		_, err = h.Verifier.Submit(ctx, s.ID, c.video)
		require.Error(t, err, c.name)
		assert.True(t, c.match(err), "%s: unexpected error %v", c.name, err)
		st, err := h.Verifier.Status(ctx, nid1)
		require.NoError(t, err)
		assert.Equal(t, 0, st.AttemptsUsed, c.name)
		assert.Equal(t, kyc.StateActive, st.State, c.name)
		assert.False(t, st.InProgress, c.name)
	}
	// One fee was recorded by the first attempt (whose charger call
	// failed), taken by the next one under the same charge ID and carried
	// over through every void attempt; the success uses it.
	d, err := h.Resubmit(ctx, a, kyctest.LiveVideo(nid1))
	require.NoError(t, err)
	assert.Equal(t, kyc.Approved, d.Outcome)
	amount, n := h.Charger.Total(nid1)
	assert.Equal(t, 1, n, "a fee carried over, not charged again")
	assert.EqualValues(t, 7, amount)
	require.NotNil(t, d.Fee)
	assert.Equal(t, d.AttemptID, d.Fee.AttemptID)
	assert.Equal(t, kyctest.Ref(d.Fee.ID), d.Fee.Ref)
	require.NoError(t, h.Verifier.VerifyAudit(ctx))
}

func TestCancelledContextDoesNotCount(t *testing.T) {
	t.Parallel()
	h := newHarness(t, kyctest.Options{})
	ctx := context.Background()
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
	require.NoError(t, h.ConfirmOTP(ctx, a))
	s, err := h.Verifier.Begin(ctx, a)
	require.NoError(t, err)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = h.Verifier.Submit(cctx, s.ID, kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Live, Face: nid1, Delay: 10 * time.Second}))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	st, err := h.Verifier.Status(ctx, nid1)
	require.NoError(t, err)
	assert.Equal(t, 0, st.AttemptsUsed)
	assert.False(t, st.InProgress)
}

func TestUploadProblemsKeepTheSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, kyctest.Options{Configure: func(c *kyc.Config) { c.MaxVideoBytes = 1 << 10 }})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
	require.NoError(t, h.ConfirmOTP(ctx, a))
	s, err := h.Verifier.Begin(ctx, a)
	require.NoError(t, err)

	_, err = h.Verifier.Submit(ctx, s.ID, bytes.NewReader(make([]byte, 2<<10)))
	require.ErrorIs(t, err, &kyc.Error{Code: kyc.CodeVideoRejected, Reason: reason.VideoTooLarge})
	_, err = h.Verifier.Submit(ctx, s.ID, io.MultiReader(bytes.NewReader([]byte("KYCTEST")), errReader{}))
	require.ErrorIs(t, err, kyc.ErrInvalidInput)
	_, err = h.Verifier.Submit(ctx, s.ID, bytes.NewReader(nil))
	require.ErrorIs(t, err, &kyc.Error{Code: kyc.CodeVideoRejected, Reason: reason.VideoInvalid})

	// Nothing was reserved: the same session still takes the good upload.
	d, err := h.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(nid1))
	require.NoError(t, err)
	assert.Equal(t, kyc.Approved, d.Outcome)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestSessionSingleUseAndExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, kyctest.Options{})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
	require.NoError(t, h.ConfirmOTP(ctx, a))

	_, err := h.Verifier.Submit(ctx, "ses_unknown", kyctest.LiveVideo(nid1))
	require.ErrorIs(t, err, kyc.ErrSessionNotFound)

	s, err := h.Verifier.Begin(ctx, a)
	require.NoError(t, err)
	assert.NotEmpty(t, s.Challenge)
	assert.Equal(t, kyctest.Start.Add(3*time.Minute), s.ExpiresAt)
	h.Clock.Advance(3*time.Minute + time.Second)
	_, err = h.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(nid1))
	require.ErrorIs(t, err, kyc.ErrSessionExpired)

	s, err = h.Verifier.Begin(ctx, a)
	require.NoError(t, err)
	d, err := h.Verifier.Submit(ctx, s.ID, kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: nid1}))
	require.NoError(t, err)
	assert.Equal(t, kyc.Rejected, d.Outcome)
	// Replaying the session (or its nonce) is refused and costs nothing.
	_, err = h.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(nid1))
	require.ErrorIs(t, err, kyc.ErrSessionUsed)
	st, err := h.Verifier.Status(ctx, nid1)
	require.NoError(t, err)
	assert.Equal(t, 1, st.AttemptsUsed)
}

func TestOTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("required before begin", func(t *testing.T) {
		h := newHarness(t, kyctest.Options{})
		a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
		_, err := h.Verifier.Begin(ctx, a)
		var ke *kyc.Error
		require.ErrorAs(t, err, &ke)
		assert.Contains(t, ke.Reasons, reason.OTPRequired)
	})
	t.Run("expiry", func(t *testing.T) {
		h := newHarness(t, kyctest.Options{})
		a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
		tk, err := h.Verifier.SendOTP(ctx, a)
		require.NoError(t, err)
		assert.Equal(t, kyctest.Start.Add(2*time.Minute), tk.ExpiresAt)
		assert.NotContains(t, tk.Mobile, a.Mobile[4:8], "mobile is masked")
		h.Clock.Advance(2*time.Minute + time.Second)
		m, _ := registry.ParseMobile(a.Mobile)
		err = h.Verifier.ConfirmOTP(ctx, nid1, h.OTP.LastCode(m))
		require.ErrorIs(t, err, kyc.ErrOTPExpired)
	})
	t.Run("brute force", func(t *testing.T) {
		h := newHarness(t, kyctest.Options{})
		a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
		_, err := h.Verifier.SendOTP(ctx, a)
		require.NoError(t, err)
		m, _ := registry.ParseMobile(a.Mobile)
		code := h.OTP.LastCode(m)
		require.Len(t, code, 6)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		// 40 concurrent guesses: at most 5 are compared, the rest are
		// refused, and afterwards even the right code is refused.
		var mismatches, tooMany atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := h.Verifier.ConfirmOTP(ctx, nid1, wrong)
				switch {
				case errors.Is(err, kyc.ErrOTPMismatch):
					mismatches.Add(1)
				case errors.Is(err, kyc.ErrOTPTooManyTries):
					tooMany.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.EqualValues(t, 5, mismatches.Load())
		assert.EqualValues(t, 35, tooMany.Load())
		require.ErrorIs(t, h.Verifier.ConfirmOTP(ctx, nid1, code), kyc.ErrOTPTooManyTries)
		// A resend too soon is refused; after the interval a new code works.
		_, err = h.Verifier.SendOTP(ctx, a)
		require.ErrorIs(t, err, kyc.ErrOTPResendTooSoon)
		h.Clock.Advance(61 * time.Second)
		_, err = h.Verifier.SendOTP(ctx, a)
		require.NoError(t, err)
		require.NoError(t, h.Verifier.ConfirmOTP(ctx, nid1, kyc.ToPersianDigits(h.OTP.LastCode(m))), "Persian digits accepted")
	})
	t.Run("not sent to the ineligible", func(t *testing.T) {
		h := newHarness(t, kyctest.Options{})
		a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1, Dead: true})
		_, err := h.Verifier.SendOTP(ctx, a)
		require.ErrorIs(t, err, kyc.ErrNotEligible)
		m, _ := registry.ParseMobile(a.Mobile)
		assert.Equal(t, 0, h.OTP.Sent(m))
	})
}

// TestPolicyThroughVerifier runs each of the seed's rules end to end.
func TestPolicyThroughVerifier(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Start is 4 Azar 1405 in Tehran.
	cases := []struct {
		name   string
		spec   kyctest.PersonSpec
		edit   func(*kyc.Applicant)
		want   []reason.Code
		person bool
	}{
		{name: "adult", spec: kyctest.PersonSpec{}, want: nil},
		{name: "17 years 364 days", spec: kyctest.PersonSpec{BirthDate: registry.Date{Year: 1387, Month: 9, Day: 5}}, want: []reason.Code{reason.Underage}},
		{name: "18th birthday today", spec: kyctest.PersonSpec{BirthDate: registry.Date{Year: 1387, Month: 9, Day: 4}}, want: nil},
		{name: "not native", spec: kyctest.PersonSpec{Foreign: true}, want: []reason.Code{reason.NotNative}},
		{name: "deceased", spec: kyctest.PersonSpec{Dead: true}, want: []reason.Code{reason.Deceased}},
		{name: "guardian", edit: func(a *kyc.Applicant) { a.Representative = kyc.Guardian }, want: []reason.Code{reason.RepresentativeInPerson}},
		{name: "attorney", edit: func(a *kyc.Applicant) { a.Representative = kyc.Attorney }, want: []reason.Code{reason.RepresentativeInPerson}},
		{name: "outside Iran", edit: func(a *kyc.Applicant) { a.IP = kyctest.ForeignIP }, want: []reason.Code{reason.OutsideCountry}},
		{name: "unknown IP", edit: func(a *kyc.Applicant) { a.IP = kyctest.UnknownIP }, want: []reason.Code{reason.LocationUnknown}},
		{name: "no IP", edit: func(a *kyc.Applicant) { a.IP = netip.Addr{} }, want: []reason.Code{reason.LocationUnknown}},
		{name: "IPv4-mapped Iranian IP", edit: func(a *kyc.Applicant) { a.IP = netip.AddrFrom16(kyctest.IranIP.As16()) }, want: nil},
		{name: "mobile of someone else", edit: func(a *kyc.Applicant) { a.Mobile = "09350000000" }, want: []reason.Code{reason.MobileNotOwned}},
		{name: "wrong birth date", edit: func(a *kyc.Applicant) { a.BirthDate = registry.Date{Year: 1370, Month: 1, Day: 16} }, want: []reason.Code{reason.IdentityNotFound}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, kyctest.Options{})
			c.spec.NationalID = nid1
			a := addPerson(t, h, c.spec)
			if c.edit != nil {
				c.edit(&a)
			}
			el, err := h.Verifier.Inquire(ctx, a)
			require.NoError(t, err)
			assert.Equal(t, len(c.want) == 0, el.Eligible, "reasons %v", el.Reasons)
			assert.Equal(t, c.want, el.Reasons)
			if len(c.want) > 0 {
				assert.Equal(t, reason.AnyInPerson(c.want), el.InPersonRequired)
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, kyctest.Options{})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
	bad := a
	bad.NationalID = "1234567890"
	_, err := h.Verifier.Inquire(ctx, bad)
	require.ErrorIs(t, err, kyc.ErrInvalidInput)
	require.ErrorIs(t, err, registry.ErrInvalidNationalID)
	bad = a
	bad.BirthDate = registry.Date{Year: 1403, Month: 12, Day: 30} // 1403 is a leap year: valid
	_, err = h.Verifier.Inquire(ctx, bad)
	require.NoError(t, err)
	bad.BirthDate = registry.Date{Year: 1404, Month: 12, Day: 30} // not a leap year
	_, err = h.Verifier.Inquire(ctx, bad)
	require.ErrorIs(t, err, kyc.ErrInvalidInput)
	// Persian digits in identifiers are normalised.
	p := a
	p.NationalID = "۰۴۹۹۳۷۰۸۹۹"
	p.Mobile = kyc.ToPersianDigits(a.Mobile)
	el, err := h.Verifier.Inquire(ctx, p)
	require.NoError(t, err)
	assert.True(t, el.Eligible)
	assert.Equal(t, nid1, el.NationalID)
}

func TestReview(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, approve := range []bool{true, false} {
		h := newHarness(t, kyctest.Options{})
		a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
		d, err := h.Verify(ctx, a, kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Live, Face: nid1, Similarity: 0.4}))
		require.NoError(t, err)
		require.Equal(t, kyc.Review, d.Outcome)
		assert.Contains(t, d.Reasons, reason.BorderlineMatch)
		assert.False(t, d.Counted)

		// While in review, no new attempt.
		_, err = h.Verifier.Begin(ctx, a)
		require.ErrorIs(t, err, kyc.ErrNotEligible)
		q, err := h.Verifier.PendingReviews(ctx, 10)
		require.NoError(t, err)
		require.Len(t, q, 1)
		assert.Equal(t, d.AttemptID, q[0].AttemptID)

		_, err = h.Verifier.Review(ctx, d.AttemptID, kyc.ReviewInput{Approve: approve})
		require.ErrorIs(t, err, kyc.ErrInvalidInput, "operator ID required")
		r, err := h.Verifier.Review(ctx, d.AttemptID, kyc.ReviewInput{Approve: approve, OperatorID: "op-7", Note: "checked"})
		require.NoError(t, err)
		require.NotNil(t, r.Review)
		assert.Equal(t, "op-7", r.Review.OperatorID)
		st, err := h.Verifier.Status(ctx, nid1)
		require.NoError(t, err)
		if approve {
			assert.Equal(t, kyc.Approved, r.Outcome)
			assert.Equal(t, kyc.StateVerified, st.State)
		} else {
			assert.Equal(t, kyc.Rejected, r.Outcome)
			assert.Contains(t, r.Reasons, reason.OperatorRejected)
			assert.True(t, r.Counted)
			assert.Equal(t, kyc.StateActive, st.State)
			assert.Equal(t, 1, st.AttemptsUsed)
		}
		_, err = h.Verifier.Review(ctx, d.AttemptID, kyc.ReviewInput{Approve: true, OperatorID: "op-8"})
		require.ErrorIs(t, err, kyc.ErrNotInReview, "a review is resolved once")
		require.NoError(t, h.Verifier.VerifyAudit(ctx))
	}
}

func TestReferenceWithoutPhotoGoesToReview(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, kyctest.Options{})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1, Photo: []byte("not a photo")})
	d, err := h.Verify(ctx, a, kyctest.LiveVideo(nid1))
	require.NoError(t, err)
	assert.Equal(t, kyc.Review, d.Outcome)
	assert.Contains(t, d.Reasons, reason.ReferenceUnusable)
}

// TestAbandonedReservation simulates a process that died mid-Submit: its
// reservation is abandoned when the lease runs out and is not counted.
func TestAbandonedReservation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, kyctest.Options{})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
	require.NoError(t, h.ConfirmOTP(ctx, a))
	dead, err := h.Verifier.Begin(ctx, a)
	require.NoError(t, err)
	now := h.Clock.Now()
	_, err = h.Store.ReserveAttempt(ctx, kyc.Reservation{AttemptID: "att_dead", SessionID: dead.ID, NationalID: nid1,
		MaxAttempts: 3, Now: now, LeaseUntil: now.Add(10 * time.Minute),
		Event: kyc.AuditEvent{Time: now, Kind: kyc.AuditAttemptReserved, NationalID: nid1, AttemptID: "att_dead"}})
	require.NoError(t, err)

	s, err := h.Verifier.Begin(ctx, a)
	require.NoError(t, err)
	_, err = h.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(nid1))
	require.ErrorIs(t, err, kyc.ErrAttemptInProgress)

	h.Clock.Advance(10*time.Minute + time.Second)
	s, err = h.Verifier.Begin(ctx, a)
	require.NoError(t, err)
	d, err := h.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(nid1))
	require.NoError(t, err)
	assert.Equal(t, kyc.Approved, d.Outcome)
	old, err := h.Store.Attempt(ctx, "att_dead")
	require.NoError(t, err)
	assert.Equal(t, kyc.AttemptAbandoned, old.State)
	assert.False(t, old.Counted)
}

// TestConcurrentSubmissionsMemory: 200 goroutines submitting for one
// national ID consume at most 3 attempts and approve at most once.
func TestConcurrentSubmissionsMemory(t *testing.T) {
	t.Parallel()
	h := newHarness(t, kyctest.Options{Fee: 1})
	ConcurrentSubmissions(t, h, 200)
}

// ConcurrentSubmissions is shared with the SQL backends' tests.
func ConcurrentSubmissions(t *testing.T, h *kyctest.Harness, n int) {
	t.Helper()
	ctx := context.Background()
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
	require.NoError(t, h.ConfirmOTP(ctx, a))
	var approved, rejected, refused, inProgress, other atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			video := kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: nid1})
			if i%4 == 0 {
				video = kyctest.LiveVideo(nid1)
			}
			s, err := h.Verifier.Begin(ctx, a)
			if err != nil {
				if errors.Is(err, kyc.ErrNotEligible) {
					refused.Add(1)
				} else {
					other.Add(1)
					t.Errorf("begin: %v", err)
				}
				return
			}
			d, err := h.Verifier.Submit(ctx, s.ID, video)
			switch {
			case errors.Is(err, kyc.ErrAttemptInProgress):
				inProgress.Add(1)
			case err != nil:
				other.Add(1)
				t.Errorf("submit: %v", err)
			case d.Outcome == kyc.Approved:
				approved.Add(1)
			case d.Counted:
				rejected.Add(1)
			default:
				refused.Add(1) // not eligible any more: not counted
			}
		}(i)
	}
	wg.Wait()
	assert.LessOrEqual(t, approved.Load(), int32(1), "approved at most once")
	assert.LessOrEqual(t, rejected.Load(), int32(3), "at most 3 counted failures")
	assert.Zero(t, other.Load())
	st, err := h.Verifier.Status(ctx, nid1)
	require.NoError(t, err)
	assert.LessOrEqual(t, st.AttemptsUsed, 3)
	assert.Equal(t, int(rejected.Load()), st.AttemptsUsed)
	if approved.Load() == 1 {
		assert.Equal(t, kyc.StateVerified, st.State)
	} else {
		assert.Equal(t, kyc.StateLocked, st.State)
	}
	atts, err := h.Store.Attempts(ctx, nid1)
	require.NoError(t, err)
	decided, approvals := 0, 0
	for _, at := range atts {
		if at.State == kyc.AttemptDecided {
			decided++
			if at.Outcome == kyc.Approved {
				approvals++
			}
		}
		assert.NotEqual(t, kyc.AttemptReserved, at.State, "no reservation left behind")
	}
	assert.LessOrEqual(t, approvals, 1)
	assert.Equal(t, int(approved.Load()+rejected.Load()), decided)
	_, charges := h.Charger.Total(nid1)
	assert.Equal(t, decided, charges, "one fee per decided attempt")
	require.NoError(t, h.Verifier.VerifyAudit(ctx))
}

func TestRepresentativeDocuments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, kyctest.Options{})
	doc, err := h.Verifier.SubmitRepresentativeDoc(ctx, kyc.RepresentativeDocInput{NationalID: nid1, Kind: kyc.Attorney,
		DocType: "power_of_attorney", ExpiresAt: kyctest.Start.AddDate(1, 0, 0), File: bytes.NewReader([]byte("%PDF"))})
	require.NoError(t, err)
	assert.Equal(t, kyc.DocPending, doc.State)
	// Replace while pending.
	doc2, err := h.Verifier.SubmitRepresentativeDoc(ctx, kyc.RepresentativeDocInput{ID: doc.ID, NationalID: nid1, Kind: kyc.Attorney,
		DocType: "power_of_attorney", File: bytes.NewReader([]byte("%PDF-2"))})
	require.NoError(t, err)
	assert.Equal(t, doc.ID, doc2.ID)
	require.NoError(t, h.Verifier.ReviewRepresentativeDoc(ctx, doc.ID, true, "op-1", "ok"))
	require.ErrorIs(t, h.Verifier.ReviewRepresentativeDoc(ctx, doc.ID, false, "op-1", "again"), kyc.ErrDocumentNotPending)
	_, err = h.Verifier.SubmitRepresentativeDoc(ctx, kyc.RepresentativeDocInput{ID: doc.ID, NationalID: nid1, Kind: kyc.Attorney,
		DocType: "power_of_attorney", File: bytes.NewReader([]byte("%PDF-3"))})
	require.ErrorIs(t, err, kyc.ErrDocumentApproved)
	docs, err := h.Verifier.RepresentativeDocs(ctx, nid1)
	require.NoError(t, err)
	require.Len(t, docs, 1)
	assert.Equal(t, kyc.DocApproved, docs[0].State)
	_, err = h.Verifier.SubmitRepresentativeDoc(ctx, kyc.RepresentativeDocInput{NationalID: nid1, Kind: "uncle", DocType: "x", File: bytes.NewReader(nil)})
	require.ErrorIs(t, err, kyc.ErrInvalidInput)
}

func TestClose(t *testing.T) {
	t.Parallel()
	h := newHarness(t, kyctest.Options{})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
	require.NoError(t, h.Verifier.Close())
	require.NoError(t, h.Verifier.Close(), "idempotent")
	_, err := h.Verifier.Inquire(context.Background(), a)
	require.ErrorIs(t, err, kyc.ErrClosed)
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	_, err := kyc.New(kyc.Config{})
	require.ErrorIs(t, err, kyc.ErrInvalidInput)
	_, err = kyctest.New(kyctest.Options{Fee: 5, Configure: func(c *kyc.Config) { c.Charger = nil }})
	require.ErrorIs(t, err, kyc.ErrInvalidInput)
	_, err = kyctest.New(kyctest.Options{Configure: func(c *kyc.Config) { c.AttemptLease = time.Minute }})
	require.ErrorIs(t, err, kyc.ErrInvalidInput)
	_, err = kyctest.New(kyctest.Options{Policy: policy.Config{SkipOTP: true}, Configure: func(c *kyc.Config) { c.OTP = nil }})
	require.NoError(t, err)
}
