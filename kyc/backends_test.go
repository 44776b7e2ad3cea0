package kyc_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/store/postgres"
	"github.com/hoviyat/hoviyat/store/sqlite"
)

// sqlStores returns the SQL backends to run Verifier scenarios against:
// SQLite always, PostgreSQL when HOVIYAT_PG_DSN is set (required in CI).
func sqlStores(t *testing.T) map[string]func(t *testing.T) kyc.Store {
	t.Helper()
	out := map[string]func(t *testing.T) kyc.Store{
		"sqlite": func(t *testing.T) kyc.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kyc.db"))
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	dsn := os.Getenv("HOVIYAT_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HOVIYAT_PG_DSN is not set: make test starts a throw-away PostgreSQL and sets it")
		}
		t.Log("HOVIYAT_PG_DSN not set: PostgreSQL backend not exercised (outside CI)")
		return out
	}
	out["postgres"] = func(t *testing.T) kyc.Store {
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "kyc_test_" + hex.EncodeToString(b[:])
		st, err := postgres.Open(context.Background(), dsn, postgres.WithSchema(schema))
		require.NoError(t, err)
		t.Cleanup(func() {
			_, _ = st.DB().Exec("DROP SCHEMA " + schema + " CASCADE")
			st.Close()
		})
		return st
	}
	return out
}

// TestConcurrentSubmissionsSQL is the concurrency proof through the whole
// Verifier on the SQL backends: 200 goroutines, one national ID, at most
// 3 counted attempts and at most one approval, enforced by the database.
func TestConcurrentSubmissionsSQL(t *testing.T) {
	for name, open := range sqlStores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, kyctest.Options{Store: open(t), Fee: 1})
			ConcurrentSubmissions(t, h, 200)
		})
	}
}

// TestCeremonySQL walks approval, lock and review on the SQL backends.
func TestCeremonySQL(t *testing.T) {
	ctx := context.Background()
	for name, open := range sqlStores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			h := newHarness(t, kyctest.Options{Store: st, Fee: 3})
			a := addPerson(t, h, kyctest.PersonSpec{NationalID: nid1})
			d, err := h.Verify(ctx, a, kyctest.LiveVideo(nid1))
			require.NoError(t, err)
			require.Equal(t, kyc.Approved, d.Outcome)

			b := addPerson(t, h, kyctest.PersonSpec{NationalID: nid2})
			require.NoError(t, h.ConfirmOTP(ctx, b))
			spoof := kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: nid2}
			var last kyc.Decision
			for i := 0; i < 3; i++ {
				last, err = h.Resubmit(ctx, b, kyctest.Video(spoof))
				require.NoError(t, err)
			}
			require.Equal(t, kyc.Locked, last.Outcome)
			stt, err := h.Verifier.Status(ctx, nid2)
			require.NoError(t, err)
			require.Equal(t, kyc.StateLocked, stt.State)
			require.NoError(t, h.Verifier.VerifyAudit(ctx))
		})
	}
}
