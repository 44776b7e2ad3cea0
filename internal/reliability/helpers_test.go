package reliability_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/store/postgres"
	"github.com/hoviyat/hoviyat/store/sqlite"
	"github.com/hoviyat/hoviyat/store/sqlstore"
)

// full reports whether the full-size (slow) variants are requested.
func full() bool { return os.Getenv("HOVIYAT_RELIABILITY_FULL") == "1" }

var figuresMu sync.Mutex

// figures logs a scenario's measured figures and, when
// HOVIYAT_RELIABILITY_OUT is set, appends them as one JSON line to
// $HOVIYAT_RELIABILITY_OUT/figures.jsonl (the report is written from it).
// kv alternates names and values.
func figures(t testing.TB, scenario string, kv ...any) {
	t.Helper()
	m := map[string]any{"scenario": scenario, "test": t.Name(), "at": time.Now().UTC().Format(time.RFC3339)}
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		k := fmt.Sprint(kv[i])
		v := kv[i+1]
		if d, ok := v.(time.Duration); ok {
			v = d.Round(10 * time.Microsecond).String()
		}
		m[k] = v
		fmt.Fprintf(&b, " %s=%v", k, v)
	}
	t.Logf("FIGURES %s:%s", scenario, b.String())
	dir := os.Getenv("HOVIYAT_RELIABILITY_OUT")
	if dir == "" {
		return
	}
	line, err := json.Marshal(m)
	require.NoError(t, err)
	figuresMu.Lock()
	defer figuresMu.Unlock()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	f, err := os.OpenFile(filepath.Join(dir, "figures.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	defer f.Close()
	_, err = fmt.Fprintf(f, "%s\n", line)
	require.NoError(t, err)
}

// pct returns the p-th percentile (0 < p <= 100, nearest rank) of ds.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(k, 0), len(s)-1)]
}

// pgDSN returns $HOVIYAT_PG_DSN; without it the test is skipped outside CI
// and fails in CI (make test always sets it).
func pgDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("HOVIYAT_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HOVIYAT_PG_DSN is not set (CI=true): make test starts a throw-away PostgreSQL and sets it")
		}
		t.Skip("HOVIYAT_PG_DSN not set: PostgreSQL scenario skipped (outside CI)")
	}
	return dsn
}

// randomSchema returns a fresh schema name.
func randomSchema(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// openPG opens a store in a fresh schema of dsn, dropped at cleanup.
func openPG(t testing.TB, dsn, schema string, opts ...postgres.Option) *sqlstore.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn, append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = st.DB().Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
		st.Close()
	})
	return st
}

// openSQLite opens a store in a fresh file.
func openSQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kyc.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// refMatcher lets the kyctest fake Matcher work with real registry photos
// (JPEG from an HTTP registry): it replaces the reference photo by the
// fake photo of the national ID in the reference key ("NID:hash").
type refMatcher struct{ inner facematch.Matcher }

func (m refMatcher) Compare(ctx context.Context, probes []facematch.Probe, ref facematch.Reference) (facematch.Score, error) {
	nid, _, _ := strings.Cut(ref.Key, ":")
	ref.Photo = kyctest.Photo(nid)
	return m.inner.Compare(ctx, probes, ref)
}

// checkNoAttemptUsed asserts that the national ID has no counted attempt,
// nothing in flight, no stored attempt at all, and is still active.
func checkNoAttemptUsed(t *testing.T, ctx context.Context, v *kyc.Verifier, st kyc.Store, nid string) {
	t.Helper()
	s, err := v.Status(ctx, nid)
	require.NoError(t, err)
	require.Equal(t, kyc.StateActive, s.State)
	require.Zero(t, s.AttemptsUsed, "attempts used")
	require.False(t, s.InProgress, "attempt left in progress")
	require.Nil(t, s.Last)
	atts, err := st.Attempts(ctx, nid)
	require.NoError(t, err)
	require.Empty(t, atts, "no attempt may be stored for an SDK-side failure before reservation")
}
