package storetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/store/memory"
	"github.com/hoviyat/hoviyat/store/storetest"
)

func TestRunPassesOnMemory(t *testing.T) {
	t.Parallel()
	assert.NoError(t, storetest.Run(context.Background(), memory.New()))
}

// lyingApplicant reports one failed attempt fewer than stored.
type lyingApplicant struct{ kyc.Store }

func (s lyingApplicant) Applicant(ctx context.Context, nid string) (kyc.ApplicantRecord, error) {
	a, err := s.Store.Applicant(ctx, nid)
	if a.FailedAttempts > 0 {
		a.FailedAttempts--
	}
	return a, err
}

// uncountedOTP does not count tries.
type uncountedOTP struct{ kyc.Store }

func (s uncountedOTP) TryOTP(ctx context.Context, nid string, now time.Time) (kyc.OTPRecord, error) {
	return s.Store.OTP(ctx, nid)
}

// forgetfulAudit drops the events of the steps (appends nothing).
type forgetfulAudit struct{ kyc.Store }

func (s forgetfulAudit) ReserveAttempt(ctx context.Context, r kyc.Reservation) (kyc.AttemptRecord, error) {
	r.Event = kyc.AuditEvent{}
	return s.Store.ReserveAttempt(ctx, r)
}

// chargeDropper does not record the reservation's pending charge.
type chargeDropper struct{ kyc.Store }

func (s chargeDropper) ReserveAttempt(ctx context.Context, r kyc.Reservation) (kyc.AttemptRecord, error) {
	r.Charge = nil
	return s.Store.ReserveAttempt(ctx, r)
}

// lenientConfirm accepts a confirmation with another reference.
type lenientConfirm struct{ kyc.Store }

func (s lenientConfirm) AttachCharge(ctx context.Context, c kyc.ChargeRecord) error {
	if err := s.Store.AttachCharge(ctx, c); err != nil && !errors.Is(err, kyc.ErrInvalidInput) {
		return err
	}
	return nil
}

// TestRunDetectsBrokenStores: a store that breaks the contract fails the
// suite, with the failing checks named.
func TestRunDetectsBrokenStores(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		st    kyc.Store
		wants []string
	}{
		{"applicant count", lyingApplicant{memory.New()}, []string{"failures_lock", "failed attempts"}},
		{"OTP tries", uncountedOTP{memory.New()}, []string{"otp: tries", "otp_concurrent_tries"}},
		{"step audit", forgetfulAudit{memory.New()}, []string{"audit: events of one attempt"}},
		{"pending charge dropped", chargeDropper{memory.New()}, []string{"charge_pending_with_reservation: the reservation's answer", "charge_carry_over"}},
		{"confirmation overwritten", lenientConfirm{memory.New()}, []string{"charge_confirm: confirming with another Ref"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := storetest.Run(context.Background(), tt.st)
			require.Error(t, err)
			for _, w := range tt.wants {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestNationalIDIsValid(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		nid := storetest.NationalID()
		_, err := registry.ParseNationalID(nid)
		assert.NoError(t, err, nid)
		seen[nid] = true
	}
	assert.Greater(t, len(seen), 190, "IDs are random")
}
