package vision

import (
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
)

// asEnvDir returns the directory named by env, skipping the test when it is
// unset outside CI and failing it when it is unset in CI.
func asEnvDir(t testing.TB, env string) string {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("$%s must be set in CI", env)
		}
		t.Skipf("$%s not set", env)
	}
	fi, err := os.Stat(dir)
	require.NoError(t, err, "$%s", env)
	require.True(t, fi.IsDir(), "$%s is not a directory", env)
	return dir
}

func asModels(t testing.TB) string { t.Helper(); return asEnvDir(t, ModelsEnv) }
func asData(t testing.TB) string   { t.Helper(); return asEnvDir(t, "HOVIYAT_DATA") }

func asNewAntiSpoof(t testing.TB) *AntiSpoof {
	t.Helper()
	dir := asModels(t)
	a, err := NewAntiSpoof(AntiSpoofConfig{
		V2Path:   filepath.Join(dir, MiniFASNetV2File),
		V1SEPath: filepath.Join(dir, MiniFASNetV1SEFile),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func asNewDetector(t testing.TB) *FaceDetector {
	t.Helper()
	dir := asModels(t)
	d, err := NewFaceDetector(FaceDetectorConfig{ModelPath: filepath.Join(dir, YuNetFile)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// asLargestFace returns the largest detected face of img.
func asLargestFace(t testing.TB, d *FaceDetector, img gocv.Mat) (Face, bool) {
	t.Helper()
	faces, err := d.Detect(img)
	require.NoError(t, err)
	best, ok := Face{}, false
	for _, f := range faces {
		if !ok || f.Box.W*f.Box.H > best.Box.W*best.Box.H {
			best, ok = f, true
		}
	}
	return best, ok
}

func TestMiniFASNetCrop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		w, h  int
		box   facematch.Rect
		scale float64
		want  image.Rectangle
	}{
		// 100x100 box centred in 1000x1000: 270x270 about (500,500).
		{"centred", 1000, 1000, facematch.Rect{X: 450, Y: 450, W: 100, H: 100}, 2.7, image.Rect(365, 365, 636, 636)},
		// Near the top-left corner: shifted right/down to start at 0.
		{"top-left", 640, 480, facematch.Rect{X: 0, Y: 0, W: 100, H: 100}, 2.7, image.Rect(0, 0, 271, 271)},
		// Near the bottom-right corner: shifted to end at the last pixel.
		{"bottom-right", 640, 480, facematch.Rect{X: 600, Y: 440, W: 100, H: 100}, 2.7, image.Rect(369, 209, 640, 480)},
		// The scale is limited so that the crop fits: (480-1)/200 = 2.395.
		{"limited", 640, 480, facematch.Rect{X: 220, Y: 140, W: 200, H: 200}, 4.0, image.Rect(80, 0, 560, 480)},
		// A box larger than the image: the crop is the whole image.
		{"huge", 64, 48, facematch.Rect{X: -100, Y: -100, W: 400, H: 400}, 4.0, image.Rect(16, 0, 64, 48)},
		// Box partly outside the image.
		{"partly outside", 320, 240, facematch.Rect{X: -30, Y: 200, W: 60, H: 80}, 2.7, image.Rect(0, 23, 163, 240)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := MiniFASNetCrop(tc.w, tc.h, tc.box, tc.scale)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.True(t, got.In(image.Rect(0, 0, tc.w, tc.h)), "%v inside image", got)
		})
	}
}

func TestMiniFASNetCropErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		w, h int
		box  facematch.Rect
		want error
	}{
		{"zero width", 100, 100, facematch.Rect{X: 10, Y: 10, W: 0, H: 10}, ErrAntiSpoofBox},
		{"negative height", 100, 100, facematch.Rect{X: 10, Y: 10, W: 10, H: -1}, ErrAntiSpoofBox},
		{"NaN", 100, 100, facematch.Rect{X: math.NaN(), Y: 10, W: 10, H: 10}, ErrAntiSpoofBox},
		{"Inf size", 100, 100, facematch.Rect{X: 0, Y: 0, W: math.Inf(1), H: 10}, ErrAntiSpoofBox},
		{"right of image", 100, 100, facematch.Rect{X: 100, Y: 10, W: 10, H: 10}, ErrAntiSpoofBox},
		{"above image", 100, 100, facematch.Rect{X: 10, Y: -20, W: 10, H: 20}, ErrAntiSpoofBox},
		{"empty image", 0, 0, facematch.Rect{X: 0, Y: 0, W: 10, H: 10}, ErrAntiSpoofImage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := MiniFASNetCrop(tc.w, tc.h, tc.box, 2.7)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

// TestAntiSpoofStills checks the upstream samples: the real face scores
// high, the print and the screen attack low.
func TestAntiSpoofStills(t *testing.T) {
	a := asNewAntiSpoof(t)
	d := asNewDetector(t)
	dir := filepath.Join(asData(t), "photos", "attack_stills")
	tests := []struct {
		file string
		live bool
	}{
		{"SilentFace_T1_real.jpg", true},
		{"SilentFace_F1_print_attack.jpg", false},
		{"SilentFace_F2_screen_attack.jpg", false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			img := gocv.IMRead(filepath.Join(dir, tc.file), gocv.IMReadColor)
			defer img.Close()
			require.False(t, img.Empty(), "read %s", tc.file)
			f, ok := asLargestFace(t, d, img)
			require.True(t, ok, "a face in %s", tc.file)
			s, err := a.Score(img, f.Box)
			require.NoError(t, err)
			t.Logf("%s: real %.4f v2 %.4f v1se %.4f", tc.file, s.Real, s.V2, s.V1SE)
			assert.InDelta(t, 1, s.V2[0]+s.V2[1]+s.V2[2], 1e-9)
			assert.InDelta(t, 1, s.V1SE[0]+s.V1SE[1]+s.V1SE[2], 1e-9)
			assert.InDelta(t, (s.V2[1]+s.V1SE[1])/2, s.Real, 1e-12)
			// Upstream labels a face by the argmax of the summed softmax
			// vectors; class 1 is live.
			fused := [3]float64{s.V2[0] + s.V1SE[0], s.V2[1] + s.V1SE[1], s.V2[2] + s.V1SE[2]}
			live := fused[1] > fused[0] && fused[1] > fused[2]
			assert.Equal(t, tc.live, live, "argmax of %v", fused)
			if tc.live {
				assert.Greater(t, s.Real, 0.9)
			} else {
				assert.Less(t, s.Real, 0.5)
			}
		})
	}
}

func TestAntiSpoofBadInput(t *testing.T) {
	a := asNewAntiSpoof(t)
	img := gocv.NewMatWithSize(120, 160, gocv.MatTypeCV8UC3)
	defer img.Close()
	grey := gocv.NewMatWithSize(120, 160, gocv.MatTypeCV8UC1)
	defer grey.Close()
	flt := gocv.NewMatWithSize(120, 160, gocv.MatTypeCV32FC3)
	defer flt.Close()
	empty := gocv.NewMat()
	defer empty.Close()
	good := facematch.Rect{X: 60, Y: 40, W: 40, H: 40}
	tests := []struct {
		name string
		img  gocv.Mat
		box  facematch.Rect
		want error
	}{
		{"empty Mat", empty, good, ErrAntiSpoofImage},
		{"zero Mat", gocv.Mat{}, good, ErrAntiSpoofImage},
		{"grey", grey, good, ErrAntiSpoofImage},
		{"float", flt, good, ErrAntiSpoofImage},
		{"degenerate box", img, facematch.Rect{X: 60, Y: 40}, ErrAntiSpoofBox},
		{"box outside", img, facematch.Rect{X: 500, Y: 40, W: 40, H: 40}, ErrAntiSpoofBox},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Score(tc.img, tc.box)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

// TestAntiSpoofBorders scores boxes at and past every border and corner of
// small and odd-sized images: no panic, probabilities that sum to one.
func TestAntiSpoofBorders(t *testing.T) {
	a := asNewAntiSpoof(t)
	sizes := []image.Point{{2, 2}, {7, 5}, {81, 80}, {640, 360}}
	for _, sz := range sizes {
		img := gocv.NewMatWithSize(sz.Y, sz.X, gocv.MatTypeCV8UC3)
		gocv.RandU(&img, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
		w, h := float64(sz.X), float64(sz.Y)
		bw, bh := math.Max(1, w/4), math.Max(1, h/4)
		boxes := []facematch.Rect{
			{X: -bw / 2, Y: -bh / 2, W: bw, H: bh},
			{X: w - bw/2, Y: h - bh/2, W: bw, H: bh},
			{X: -bw / 2, Y: h - bh/2, W: bw, H: bh},
			{X: w - bw/2, Y: -bh / 2, W: bw, H: bh},
			{X: 0, Y: 0, W: w, H: h},
			{X: -w, Y: -h, W: 3 * w, H: 3 * h},
			{X: w - 0.5, Y: h - 0.5, W: 0.4, H: 0.4},
		}
		for _, b := range boxes {
			s, err := a.Score(img, b)
			require.NoError(t, err, "size %v box %+v", sz, b)
			assert.InDelta(t, 1, s.V2[0]+s.V2[1]+s.V2[2], 1e-6)
			assert.True(t, s.Real >= 0 && s.Real <= 1)
		}
		img.Close()
	}
}

func TestAntiSpoofClose(t *testing.T) {
	a := asNewAntiSpoof(t)
	require.NoError(t, a.Close())
	require.NoError(t, a.Close())
	img := gocv.NewMatWithSize(100, 100, gocv.MatTypeCV8UC3)
	defer img.Close()
	_, err := a.Score(img, facematch.Rect{X: 40, Y: 40, W: 20, H: 20})
	assert.ErrorIs(t, err, ErrAntiSpoofClosed)
}

func TestNewAntiSpoofMissingModel(t *testing.T) {
	t.Parallel()
	_, err := NewAntiSpoof(AntiSpoofConfig{V2Path: filepath.Join(t.TempDir(), "none.onnx")})
	assert.ErrorIs(t, err, ErrModelMissing)
	var me *ModelError
	assert.True(t, errors.As(err, &me))
}
