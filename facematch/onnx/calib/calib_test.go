package calib_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/facematch/onnx"
	"github.com/hoviyat/hoviyat/facematch/onnx/calib"
)

var _ calib.Scorer = (*onnx.Matcher)(nil)

func envDir(t *testing.T, env string) string {
	t.Helper()
	d := os.Getenv(env)
	if d == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("$%s is not set and CI=true: the models/media are required in CI", env)
		}
		t.Skipf("$%s is not set: skipping (set it to the shared directory to run this test)", env)
	}
	require.DirExists(t, d)
	return d
}

// TestCalibrate scores the shared media with the MobileFaceNet matcher at
// its default configuration and checks the properties the thresholds were
// chosen for. With HOVIYAT_CALIBRATE_OUT=DIR it also writes
// DIR/facematch-calibration.md and .json (see docs/bench/facematch.md).
func TestCalibrate(t *testing.T) {
	models := envDir(t, "HOVIYAT_MODELS")
	data := envDir(t, "HOVIYAT_DATA")
	if testing.Short() {
		t.Skip("calibration decodes every clip: skipped with -short")
	}
	m, err := onnx.New(onnx.Config{ModelsDir: models})
	require.NoError(t, err)
	defer m.Close()
	res, err := calib.Run(context.Background(), m, calib.Options{DataDir: data, ModelsDir: models, Logf: t.Logf})
	require.NoError(t, err)
	require.Len(t, res.Sets, 4)

	sets := map[string]*calib.Set{}
	for _, s := range res.Sets {
		sets[s.Name] = s
	}
	video, deep := sets["video"], sets["deepface"]
	require.NotNil(t, video)
	require.NotNil(t, deep)
	// Every genuine clip gives at least one window; every clip is an
	// impostor against the other people and the photos.
	assert.GreaterOrEqual(t, video.Report.Genuine, 15)
	assert.GreaterOrEqual(t, video.Report.Impostor, 500)
	assert.Greater(t, deep.Report.Genuine+deep.Report.Impostor, 250)

	// The operating point: impostor pairs are never Match; genuine
	// video-vs-still pairs are matched (or at worst sent to review).
	for _, s := range res.Sets {
		assert.Zero(t, s.Impostor[facematch.Match], "%s: impostor pairs decided Match", s.Name)
		if s.Name != "goface" { // the celebrity set is hard (make-up, pose): reported, not gated
			assert.Greater(t, s.Report.AUC, 0.99, "%s AUC", s.Name)
		}
	}
	assert.Equal(t, video.Report.Genuine, video.Genuine[facematch.Match], "genuine video windows not matched")
	assert.Zero(t, deep.Genuine[facematch.NonMatch], "deepface genuine pairs rejected")
	// The attacks show the victim: matching succeeds (liveness rejects them).
	for _, a := range res.Attacks {
		assert.Equal(t, facematch.Match, a.Decision, a.Probe)
	}

	if out := os.Getenv("HOVIYAT_CALIBRATE_OUT"); out != "" {
		require.NoError(t, os.MkdirAll(out, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(out, "facematch-calibration.md"), []byte(res.Markdown()), 0o644))
		js, err := json.MarshalIndent(res, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(out, "facematch-calibration.json"), js, 0o644))
		t.Logf("wrote %s", out)
	}
	t.Log("\n" + res.Markdown())
}
