package dlib

import (
	"context"
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/facematch/onnx/calib"
	"github.com/hoviyat/hoviyat/internal/vision"
)

// dlibModels returns $HOVIYAT_DLIB_MODELS or skips: the dlib models are
// not available in every environment (they were not where this package
// was written), and this skip is allowed in CI too.
func dlibModels(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(ModelsEnv)
	if dir == "" {
		t.Skipf("dlib models absent: $%s is not set, so the go-face backend is not exercised on real models "+
			"(get %v from http://dlib.net/files/ or github.com/Kagami/go-face-testdata); this skip is allowed in CI", ModelsEnv, ModelFiles)
	}
	require.NoError(t, CheckModels(dir))
	return dir
}

func dataDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv("HOVIYAT_DATA")
	if d == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("$HOVIYAT_DATA is not set and CI=true: the media are required in CI")
		}
		t.Skip("$HOVIYAT_DATA is not set: skipping")
	}
	return d
}

func TestNewModelsMissing(t *testing.T) {
	t.Setenv(ModelsEnv, "")
	_, err := New(Config{})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrModelsMissing)
	assert.Contains(t, err.Error(), ModelsEnv)
	assert.Contains(t, err.Error(), "dlib.net")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ModelFiles[0]), []byte("x"), 0o600))
	_, err = New(Config{ModelsDir: dir})
	assert.ErrorIs(t, err, ErrModelsMissing)
	assert.Contains(t, err.Error(), ModelFiles[1])
	assert.Contains(t, err.Error(), ModelFiles[2])
	assert.NotContains(t, err.Error(), ModelFiles[0])

	_, err = New(Config{ModelsDir: dir, Thresholds: facematch.Thresholds{Match: 0.2, ReviewFloor: 0.5}})
	assert.Error(t, err)
	assert.NotErrorIs(t, err, ErrModelsMissing)
}

// Files with the right names but wrong contents: go-face reports a
// deserialisation error (dlib exceptions are caught in go-face), never a crash.
func TestNewCorruptModels(t *testing.T) {
	dir := t.TempDir()
	for _, f := range ModelFiles {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("not a dlib model"), 0o600))
	}
	_, err := New(Config{ModelsDir: dir})
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrModelsMissing)
	assert.Contains(t, err.Error(), "dlib: loading models")
}

func TestSimilarity(t *testing.T) {
	t.Parallel()
	assert.InDelta(t, 1, Similarity([]float32{0.1, 0.2}, []float32{0.1, 0.2}), 1e-9)
	assert.InDelta(t, 0.4, Similarity([]float32{0, 0}, []float32{0.6, 0}), 1e-6)
	assert.InDelta(t, 1-math.Sqrt(0.5), Similarity([]float32{0.5, 0}, []float32{0, 0.5}), 1e-6)
	assert.True(t, math.IsNaN(Similarity([]float32{1}, []float32{1, 2})))
	// dlib's usual operating point maps to the review floor.
	assert.InDelta(t, 0.4, DefaultThresholds.ReviewFloor, 0)
	require.NoError(t, DefaultThresholds.Validate())
}

func TestSelectProbes(t *testing.T) {
	t.Parallel()
	m := &Matcher{cfg: Config{MaxProbes: 2, MaxYaw: 30, MaxPitch: 25}}
	img := image.NewRGBA(image.Rect(0, 0, 120, 120))
	frontal := vision.ArcFace112.Points
	frontal[2].Y = frontal[0].Y + 0.56*(frontal[3].Y-frontal[0].Y)
	turned := frontal
	turned[2].X += 30
	p := func(lm [5]facematch.Point) facematch.Probe { return facematch.Probe{Image: img, Landmarks: lm} }
	assert.Equal(t, []int{1, 2}, m.SelectProbes([]facematch.Probe{p(turned), p(frontal), p(frontal), p(frontal)}))
	assert.Equal(t, []int{0, 1}, m.SelectProbes([]facematch.Probe{p(turned), p(turned), p(turned)}))
	assert.Nil(t, m.SelectProbes([]facematch.Probe{{Landmarks: frontal}}))
}

func TestOverlap(t *testing.T) {
	t.Parallel()
	a := facematch.Rect{W: 10, H: 10}
	assert.InDelta(t, 1, overlap(a, a), 1e-12)
	assert.InDelta(t, 25.0/175, overlap(a, facematch.Rect{X: 5, Y: 5, W: 10, H: 10}), 1e-12)
	assert.Zero(t, overlap(a, facematch.Rect{X: 11, W: 10, H: 10}))
}

// The rest needs the dlib models.

func probeFromPhoto(t *testing.T, det *vision.FaceDetector, path string) facematch.Probe {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	mat, err := vision.DecodeImage(b)
	require.NoError(t, err)
	defer mat.Close()
	faces, err := det.Detect(mat)
	require.NoError(t, err)
	require.NotEmpty(t, faces)
	img, err := vision.MatToImage(mat)
	require.NoError(t, err)
	return facematch.Probe{Image: img, Box: faces[0].Box, Landmarks: faces[0].Landmarks, DetScore: faces[0].Score}
}

func TestCompareWithModels(t *testing.T) {
	dir := dlibModels(t)
	data := dataDir(t)
	models := os.Getenv(vision.ModelsEnv)
	if models == "" {
		t.Skip("$HOVIYAT_MODELS not set: YuNet is needed to build probes")
	}
	m, err := New(Config{ModelsDir: dir})
	require.NoError(t, err)
	defer m.Close()
	det, err := vision.NewFaceDetector(vision.FaceDetectorConfig{ModelPath: filepath.Join(models, vision.YuNetFile)})
	require.NoError(t, err)
	defer det.Close()
	photo := func(n string) string { return filepath.Join(data, "photos", "deepface", n) }
	ref := func(n string) facematch.Reference {
		b, err := os.ReadFile(photo(n))
		require.NoError(t, err)
		return facematch.Reference{Key: n, Photo: b}
	}
	ctx := context.Background()
	same, err := m.Compare(ctx, []facematch.Probe{probeFromPhoto(t, det, photo("img20.jpg"))}, ref("img21.jpg"))
	require.NoError(t, err)
	diff, err := m.Compare(ctx, []facematch.Probe{probeFromPhoto(t, det, photo("img20.jpg"))}, ref("img22.jpg"))
	require.NoError(t, err)
	assert.Greater(t, same.Similarity, diff.Similarity)
	assert.Greater(t, same.Similarity, 0.4, "dlib distance below 0.6 for the same person")
	assert.NotEqual(t, facematch.Match, diff.Decision)
	assert.Contains(t, same.Model, "dlib_face_recognition_resnet_model_v1")

	group, err := os.ReadFile(filepath.Join(data, "photos", "goface", "pristin.jpg"))
	require.NoError(t, err)
	_, err = m.Compare(ctx, []facematch.Probe{probeFromPhoto(t, det, photo("img20.jpg"))}, facematch.Reference{Photo: group})
	assert.ErrorIs(t, err, facematch.ErrReferenceUnusable)
	_, err = m.Compare(ctx, []facematch.Probe{probeFromPhoto(t, det, photo("img20.jpg"))}, facematch.Reference{Photo: []byte("<html>")})
	assert.ErrorIs(t, err, facematch.ErrReferenceUnusable)

	require.NoError(t, m.Close())
	require.NoError(t, m.Close())
	_, err = m.Compare(ctx, []facematch.Probe{probeFromPhoto(t, det, photo("img20.jpg"))}, ref("img21.jpg"))
	assert.ErrorIs(t, err, ErrClosed)
}

// The dlib matcher can be calibrated with the same harness.
var _ calib.Scorer = (*Matcher)(nil)
