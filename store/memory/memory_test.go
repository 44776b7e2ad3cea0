package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/store/memory"
	"github.com/hoviyat/hoviyat/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	require.NoError(t, storetest.Run(context.Background(), memory.New()))
}

func TestConcurrentOneNationalID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New()
	nid := storetest.NationalID()
	res, err := storetest.Hammer(ctx, st, storetest.HammerConfig{NationalID: nid, Workers: 200, MaxAttempts: 3, Prefix: "m"})
	require.NoError(t, err)
	assert.Empty(t, res.Problems)
	assert.LessOrEqual(t, res.MaxInFlight, 1)
	assert.NoError(t, storetest.CheckNationalID(ctx, st, nid, 3, res))
}

// TestCopies: records are copied in and out, so a caller changing what it
// passed or got cannot change the store.
func TestCopies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New()
	now := time.Now()
	rec := kyc.OTPRecord{NationalID: "0499370899", Hash: []byte("hash"), Salt: []byte("salt"), ExpiresAt: now.Add(time.Minute), MaxTries: 5}
	require.NoError(t, st.PutOTP(ctx, rec))
	rec.Hash[0] = 'X'
	got, err := st.OTP(ctx, "0499370899")
	require.NoError(t, err)
	assert.Equal(t, "hash", string(got.Hash))
	got.Salt[0] = 'X'
	again, err := st.OTP(ctx, "0499370899")
	require.NoError(t, err)
	assert.Equal(t, "salt", string(again.Salt))

	ev, err := st.AppendAudit(ctx, kyc.AuditEvent{Kind: kyc.AuditInquiry, Data: []byte(`{"a":1}`)})
	require.NoError(t, err)
	ev.Data[0] = 'X'
	require.NoError(t, storetest.VerifyAudit(ctx, st))
}

func TestClosed(t *testing.T) {
	t.Parallel()
	st := memory.New()
	require.NoError(t, st.Close())
	require.NoError(t, st.Close())
	_, err := st.Applicant(context.Background(), "0499370899")
	assert.ErrorIs(t, err, kyc.ErrClosed)
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := memory.New().Applicant(ctx, "0499370899")
	assert.ErrorIs(t, err, context.Canceled)
}
