package cv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// cvEnvDir returns the directory in env; it skips the test when the
// variable is unset outside CI and fails it in CI.
func cvEnvDir(t testing.TB, env string) string {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set (CI=true): liveness/cv tests need the shared models and media", env)
		}
		t.Skipf("%s not set; skipping", env)
	}
	return dir
}

func cvModels(t testing.TB) string { t.Helper(); return cvEnvDir(t, "HOVIYAT_MODELS") }

// cvClip returns the path of the shared clip whose name starts with id.
func cvClip(t testing.TB, id string) string {
	t.Helper()
	root := filepath.Join(cvEnvDir(t, "HOVIYAT_DATA"), "videos")
	m, err := filepath.Glob(filepath.Join(root, "*", id+"_*"))
	require.NoError(t, err)
	require.Len(t, m, 1, "clip %s", id)
	return m[0]
}

// TestMain removes the benchmark clip's temp dir after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDet != nil {
		sharedDet.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}
