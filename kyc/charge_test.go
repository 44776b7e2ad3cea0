package kyc_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/store/memory"
)

// allStores is the memory store plus the SQL backends of sqlStores.
func allStores(t *testing.T) map[string]func(t *testing.T) kyc.Store {
	out := sqlStores(t)
	out["memory"] = func(*testing.T) kyc.Store { return memory.New() }
	return out
}

// confirmFaults wraps a Store: the next n AttachCharge calls fail with
// errBoom, before the store is reached or (committed) after it answered.
type confirmFaults struct {
	kyc.Store
	n         atomic.Int32
	committed bool
}

var errBoom = errors.New("injected failure")

func (s *confirmFaults) AttachCharge(ctx context.Context, c kyc.ChargeRecord) error {
	if s.n.Add(-1) < 0 {
		return s.Store.AttachCharge(ctx, c)
	}
	if s.committed {
		if err := s.Store.AttachCharge(ctx, c); err != nil {
			return err
		}
	}
	return errBoom
}

// feeOf returns the only charge over the national ID's attempts, failing
// when there is not exactly one.
func feeOf(t *testing.T, h *kyctest.Harness, nid string) kyc.ChargeRecord {
	t.Helper()
	atts, err := h.Store.Attempts(context.Background(), nid)
	require.NoError(t, err)
	var out []kyc.ChargeRecord
	for _, a := range atts {
		if a.Charge != nil {
			out = append(out, *a.Charge)
		}
	}
	require.Len(t, out, 1, "charge records over %d attempts", len(atts))
	return out[0]
}

// TestFeeChargedOnceWhenChargingFails: whatever fails between recording
// the fee and confirming it (the provider refuses, the provider charges but
// its answer is lost, the store cannot record the confirmation, before or
// after committing it), the attempt is void and not counted, the fee stays
// recorded, and the next attempt pays with the SAME charge ID: the provider
// takes one charge in all and the decision shows it confirmed.
func TestFeeChargedOnceWhenChargingFails(t *testing.T) {
	const fee = 7000
	cases := []struct {
		name string
		// inject arms the failure of the first attempt.
		inject func(h *kyctest.Harness, st *confirmFaults)
		// taken: the provider took the fee during the failed attempt.
		taken bool
		// confirmed: the failed attempt's charge is confirmed in the store
		// (the next attempt does not ask the provider).
		confirmed bool
		wantErr   error
	}{
		{"provider refuses", func(h *kyctest.Harness, _ *confirmFaults) { h.Charger.Faults.FailNext(1, errBoom) },
			false, false, kyc.ErrCharge},
		{"provider charges, answer lost", func(h *kyctest.Harness, _ *confirmFaults) { h.Charger.ReplyFaults.FailNext(1, errBoom) },
			true, false, kyc.ErrCharge},
		{"store fails to confirm", func(_ *kyctest.Harness, st *confirmFaults) { st.n.Store(1) },
			true, false, &kyc.Error{Code: kyc.CodeDependency, Dependency: "store"}},
		{"store confirms, answer lost", func(_ *kyctest.Harness, st *confirmFaults) { st.n.Store(1); st.committed = true },
			true, true, &kyc.Error{Code: kyc.CodeDependency, Dependency: "store"}},
	}
	for name, open := range allStores(t) {
		for _, c := range cases {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				ctx := context.Background()
				st := &confirmFaults{Store: open(t)}
				h := newHarness(t, kyctest.Options{Store: st, Fee: fee})
				a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
				require.NoError(t, h.ConfirmOTP(ctx, a))

				c.inject(h, st)
				_, err := h.Resubmit(ctx, a, kyctest.LiveVideo(nid1))
				require.ErrorIs(t, err, c.wantErr)
				require.ErrorIs(t, err, errBoom)
				atts, err := h.Store.Attempts(ctx, nid1)
				require.NoError(t, err)
				require.Len(t, atts, 1)
				assert.Equal(t, kyc.AttemptVoid, atts[0].State)
				assert.False(t, atts[0].Counted)
				require.NotNil(t, atts[0].Charge, "the fee stays recorded on the void attempt")
				first := *atts[0].Charge
				assert.Equal(t, c.confirmed, !first.Pending())
				_, n := h.Charger.Total(nid1)
				assert.Equal(t, map[bool]int{true: 1, false: 0}[c.taken], n, "charges taken by the failed attempt")
				st0, err := h.Verifier.Status(ctx, nid1)
				require.NoError(t, err)
				assert.Zero(t, st0.AttemptsUsed)
				assert.Nil(t, st0.Last)

				d, err := h.Resubmit(ctx, a, kyctest.LiveVideo(nid1))
				require.NoError(t, err)
				require.Equal(t, kyc.Approved, d.Outcome)
				require.NotNil(t, d.Fee)
				assert.Equal(t, first.ID, d.Fee.ID, "the same charge ID pays for the next attempt")
				assert.Equal(t, d.AttemptID, d.Fee.AttemptID)
				assert.Equal(t, kyctest.Ref(first.ID), d.Fee.Ref)
				assert.False(t, d.Fee.ConfirmedAt.IsZero())
				assert.EqualValues(t, fee, d.Fee.Amount)
				amount, n := h.Charger.Total(nid1)
				assert.Equal(t, 1, n, "one charge taken in all")
				assert.EqualValues(t, fee, amount)
				wantRequests := map[bool]int{true: 1, false: 2}[c.confirmed]
				if !c.taken {
					wantRequests = 1 // the refusal never reached the provider
				}
				assert.Equal(t, wantRequests, h.Charger.Requests(first.ID), "provider requests for the charge ID")
				for _, ch := range h.Charger.Charges() {
					assert.Equal(t, first.ID, ch.ChargeID)
				}
				sameCharge(t, withAttempt(first, d.AttemptID, d.Fee.Ref, d.Fee.ConfirmedAt), feeOf(t, h, nid1))
				require.NoError(t, h.Verifier.VerifyAudit(ctx))
			})
		}
	}
}

// sameCharge compares two charge records, times by instant.
func sameCharge(t *testing.T, want, got kyc.ChargeRecord) {
	t.Helper()
	assert.True(t, want.CreatedAt.Equal(got.CreatedAt), "CreatedAt: want %v, got %v", want.CreatedAt, got.CreatedAt)
	assert.True(t, want.ConfirmedAt.Equal(got.ConfirmedAt), "ConfirmedAt: want %v, got %v", want.ConfirmedAt, got.ConfirmedAt)
	want.CreatedAt, want.ConfirmedAt, got.CreatedAt, got.ConfirmedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	assert.Equal(t, want, got)
}

// withAttempt returns c with its attempt ID, Ref and ConfirmedAt replaced
// (to compare a charge record before and after it moved and was
// confirmed).
func withAttempt(c kyc.ChargeRecord, attemptID, ref string, confirmed time.Time) kyc.ChargeRecord {
	c.AttemptID, c.Ref, c.ConfirmedAt = attemptID, ref, confirmed
	return c
}

// TestCrashBetweenChargeAndConfirm simulates a process that reserved an
// attempt with its pending fee, had the provider charge it and died before
// confirming: once the lease expires, the next Submit asks the provider
// for the same charge ID, gets the same reference, and the provider shows
// one charge.
func TestCrashBetweenChargeAndConfirm(t *testing.T) {
	const fee = 9000
	for name, open := range allStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, kyctest.Options{Store: open(t), Fee: fee})
			a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
			require.NoError(t, h.ConfirmOTP(ctx, a))

			// The dead process: reserve with the pending fee, charge it,
			// never confirm.
			dead, err := h.Verifier.Begin(ctx, a)
			require.NoError(t, err)
			now := h.Clock.Now()
			att, err := h.Store.ReserveAttempt(ctx, kyc.Reservation{AttemptID: "att_dead", SessionID: dead.ID, NationalID: nid1,
				MaxAttempts: 3, Now: now, LeaseUntil: now.Add(10 * time.Minute),
				Charge: &kyc.ChargeRecord{ID: "chg_dead", Amount: fee, Currency: "IRR", CreatedAt: now},
				Event:  kyc.AuditEvent{Time: now, Kind: kyc.AuditAttemptReserved, NationalID: nid1, AttemptID: "att_dead"}})
			require.NoError(t, err)
			require.NotNil(t, att.Charge)
			require.True(t, att.Charge.Pending())
			ref, err := h.Charger.Charge(ctx, kyc.Charge{ChargeID: "chg_dead", AttemptID: "att_dead", NationalID: nid1, Amount: fee, Currency: "IRR"})
			require.NoError(t, err)

			// Within the lease: refused, nothing charged.
			s, err := h.Verifier.Begin(ctx, a)
			require.NoError(t, err)
			_, err = h.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(nid1))
			require.ErrorIs(t, err, kyc.ErrAttemptInProgress)
			assert.Equal(t, 1, h.Charger.Requests("chg_dead"))

			h.Clock.Advance(10*time.Minute + time.Second)
			s, err = h.Verifier.Begin(ctx, a)
			require.NoError(t, err)
			d, err := h.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(nid1))
			require.NoError(t, err)
			require.Equal(t, kyc.Approved, d.Outcome)
			require.NotNil(t, d.Fee)
			assert.Equal(t, "chg_dead", d.Fee.ID)
			assert.Equal(t, ref, d.Fee.Ref, "the provider's first reference")
			assert.Equal(t, d.AttemptID, d.Fee.AttemptID)
			assert.Equal(t, 2, h.Charger.Requests("chg_dead"), "asked again under the same charge ID")
			amount, n := h.Charger.Total(nid1)
			assert.Equal(t, 1, n, "the provider took one charge")
			assert.EqualValues(t, fee, amount)

			old, err := h.Store.Attempt(ctx, "att_dead")
			require.NoError(t, err)
			assert.Equal(t, kyc.AttemptAbandoned, old.State)
			assert.Nil(t, old.Charge, "the charge moved to the decided attempt")
			sameCharge(t, *d.Fee, feeOf(t, h, nid1))

			// The decision record in the vault shows the confirmed fee.
			_, record, ok := h.Vault.Get(d.EvidenceID)
			require.True(t, ok)
			var rec struct {
				Fee *kyc.ChargeRecord `json:"fee"`
			}
			require.NoError(t, json.Unmarshal(record, &rec))
			require.NotNil(t, rec.Fee)
			assert.Equal(t, "chg_dead", rec.Fee.ID)
			assert.Equal(t, ref, rec.Fee.Ref)
			assert.False(t, rec.Fee.ConfirmedAt.IsZero())

			// The audit log says it was charged, carried over.
			evs := auditOf(t, h, kyc.AuditFeeCharged)
			require.Len(t, evs, 1)
			var data map[string]any
			require.NoError(t, json.Unmarshal(evs[0].Data, &data))
			assert.Equal(t, "chg_dead", data["charge_id"])
			assert.Equal(t, ref, data["ref"])
			assert.Equal(t, true, data["carried_over"])
			assert.Equal(t, d.AttemptID, evs[0].AttemptID)
			require.NoError(t, h.Verifier.VerifyAudit(ctx))
		})
	}
}

// auditOf returns the audit events of one kind.
func auditOf(t *testing.T, h *kyctest.Harness, kind kyc.AuditKind) []kyc.AuditEvent {
	t.Helper()
	evs, err := h.Store.Audit(context.Background(), 0, 10000)
	require.NoError(t, err)
	var out []kyc.AuditEvent
	for _, e := range evs {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// TestConfirmedFeeReusedWithoutCharging: a fee confirmed for an attempt
// that then failed (detector down) pays for the next attempt without the
// provider being asked again; a fresh attempt after a decided one gets a
// new charge ID.
func TestConfirmedFeeReusedWithoutCharging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, kyctest.Options{Fee: 500})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
	require.NoError(t, h.ConfirmOTP(ctx, a))
	h.Detector.Faults.FailNext(1, errBoom)
	_, err := h.Resubmit(ctx, a, kyctest.LiveVideo(nid1))
	require.ErrorIs(t, err, &kyc.Error{Code: kyc.CodeDependency, Dependency: "detector"})
	first := feeOf(t, h, nid1)
	require.False(t, first.Pending(), "confirmed before the analysis")
	spoof := kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: nid1})
	d, err := h.Resubmit(ctx, a, spoof)
	require.NoError(t, err)
	require.True(t, d.Counted)
	require.NotNil(t, d.Fee)
	assert.Equal(t, first.ID, d.Fee.ID)
	assert.Equal(t, first.Ref, d.Fee.Ref)
	assert.True(t, first.ConfirmedAt.Equal(d.Fee.ConfirmedAt))
	assert.Equal(t, 1, h.Charger.Requests(first.ID), "a confirmed fee is not asked for again")
	evs := auditOf(t, h, kyc.AuditFeeCharged)
	require.Len(t, evs, 1, "charged once")

	d2, err := h.Resubmit(ctx, a, kyctest.LiveVideo(nid1))
	require.NoError(t, err)
	require.NotNil(t, d2.Fee)
	assert.NotEqual(t, first.ID, d2.Fee.ID, "a decided attempt's fee is not reused")
	_, n := h.Charger.Total(nid1)
	assert.Equal(t, 2, n, "one charge per decided attempt")
	st, err := h.Verifier.Status(ctx, nid1)
	require.NoError(t, err)
	require.NotNil(t, st.Last)
	require.NotNil(t, st.Last.Fee)
	assert.Equal(t, d2.Fee.ID, st.Last.Fee.ID)
}

// rivalCharger simulates a Charger that is not idempotent while another
// process confirms the same charge: before answering, it confirms the
// charge in the store under another reference.
type rivalCharger struct{ st kyc.Store }

func (c *rivalCharger) Charge(ctx context.Context, ch kyc.Charge) (string, error) {
	if err := c.st.AttachCharge(ctx, kyc.ChargeRecord{ID: ch.ChargeID, Ref: "ref-elsewhere", ConfirmedAt: time.Now()}); err != nil {
		return "", err
	}
	return "ref-mine", nil
}

// TestConfirmRefusedForAnotherReference: a confirmation refused because
// the charge is already confirmed under another reference is a charge
// error, the attempt is void, and the next attempt pays with the charge as
// first confirmed.
func TestConfirmRefusedForAnotherReference(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New()
	rc := &rivalCharger{st: st}
	h := newHarness(t, kyctest.Options{Store: st, Fee: 800, Configure: func(c *kyc.Config) { c.Charger = rc }})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
	require.NoError(t, h.ConfirmOTP(ctx, a))
	_, err := h.Resubmit(ctx, a, kyctest.LiveVideo(nid1))
	require.ErrorIs(t, err, kyc.ErrCharge)
	require.ErrorIs(t, err, kyc.ErrInvalidInput)
	first := feeOf(t, h, nid1)
	assert.Equal(t, "ref-elsewhere", first.Ref)
	d, err := h.Resubmit(ctx, a, kyctest.LiveVideo(nid1))
	require.NoError(t, err)
	require.NotNil(t, d.Fee)
	assert.Equal(t, first.ID, d.Fee.ID)
	assert.Equal(t, "ref-elsewhere", d.Fee.Ref)
}

// TestPendingFeeWithoutCharger: a pending fee carried over to a Verifier
// that charges nothing (no Charger) is neither asked for nor shown, and the
// attempt is decided.
func TestPendingFeeWithoutCharger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, kyctest.Options{})
	a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
	require.NoError(t, h.ConfirmOTP(ctx, a))
	s, err := h.Verifier.Begin(ctx, a)
	require.NoError(t, err)
	now := h.Clock.Now()
	_, err = h.Store.ReserveAttempt(ctx, kyc.Reservation{AttemptID: "att_old", SessionID: s.ID, NationalID: nid1,
		MaxAttempts: 3, Now: now, LeaseUntil: now.Add(time.Minute),
		Charge: &kyc.ChargeRecord{ID: "chg_old", Amount: 1, Currency: "IRR", CreatedAt: now}})
	require.NoError(t, err)
	h.Clock.Advance(2 * time.Minute)
	d, err := h.Resubmit(ctx, a, kyctest.LiveVideo(nid1))
	require.NoError(t, err)
	assert.Equal(t, kyc.Approved, d.Outcome)
	assert.Nil(t, d.Fee)
	c := feeOf(t, h, nid1)
	assert.True(t, c.Pending())
	assert.Equal(t, d.AttemptID, c.AttemptID)
	assert.Empty(t, auditOf(t, h, kyc.AuditFeeCharged))
}
