package vision

import (
	"context"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/liveness"
)

func TestPatchPhotometry(t *testing.T) {
	t.Parallel()
	fill := func(n int, b, g, r byte) []byte {
		out := make([]byte, 3*n)
		for i := 0; i < n; i++ {
			out[3*i], out[3*i+1], out[3*i+2] = b, g, r
		}
		return out
	}
	cases := []struct {
		name  string
		bgr   []byte
		luma  float64
		under float64
		over  float64
		glare float64
	}{
		{"mid grey", fill(100, 128, 128, 128), 128, 0, 0, 0},
		{"black", fill(100, 5, 5, 5), 5, 1, 0, 0},
		{"white is glare", fill(100, 252, 252, 252), 252, 0, 1, 1},
		{"saturated red is not glare", fill(100, 30, 30, 250), 0.299*250 + 0.587*30 + 0.114*30, 0, 0, 0},
		{"half dark half bright", append(fill(50, 10, 10, 10), fill(50, 250, 250, 250)...), 130, 0.5, 0.5, 0.5},
	}
	for _, c := range cases {
		p := PatchPhotometry(c.bgr)
		assert.InDelta(t, c.luma, p.Luma, 0.6, c.name)
		assert.InDelta(t, c.under, p.Under, 1e-9, c.name)
		assert.InDelta(t, c.over, p.Over, 1e-9, c.name)
		assert.InDelta(t, c.glare, p.Glare, 1e-9, c.name)
	}
	assert.Equal(t, Photometry{}, PatchPhotometry(nil))
	hd := PatchPhotometry(append(fill(50, 10, 10, 10), fill(50, 250, 250, 250)...))
	assert.InDelta(t, 240, hd.DynamicRange, 1)
}

// measureFrame decodes the frame of clip id nearest to at.
func measureFrame(t *testing.T, id string, at time.Duration) Frame {
	t.Helper()
	p := ingestClip(t, id)
	ctx := context.Background()
	info, err := Probe(ctx, p, Limits{})
	require.NoError(t, err)
	d, err := NewDecoder(p, info, DecodeOptions{Interval: at})
	require.NoError(t, err)
	defer d.Close()
	f, err := d.Next(ctx)
	require.NoError(t, err)
	if at > 0 {
		f.Mat.Close()
		f, err = d.Next(ctx)
		require.NoError(t, err)
	}
	return f
}

func newTestMeasurer(t *testing.T) *Measurer {
	t.Helper()
	dir := os.Getenv(ModelsEnv)
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HOVIYAT_MODELS is not set (CI=true)")
		}
		t.Skip("HOVIYAT_MODELS not set")
	}
	m, err := NewMeasurer(MeasureConfig{Detector: FaceDetectorConfig{ModelPath: filepath.Join(dir, YuNetFile)}})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

func TestMeasureRealFrame(t *testing.T) {
	t.Parallel()
	m := newTestMeasurer(t)
	f := measureFrame(t, "g06", time.Second)
	defer f.Mat.Close()
	r, err := m.Measure(f)
	require.NoError(t, err)
	require.True(t, r.HasFace())
	assert.Len(t, r.Faces, 1)
	assert.Equal(t, 720, r.Width)
	assert.Equal(t, 1280, r.Height)
	assert.Greater(t, r.FacePixels, 300.0)
	assert.InDelta(t, 125, r.Luma, 40)
	assert.Less(t, r.Under, 0.05)
	assert.Greater(t, r.Sharpness, liveness.DefaultQualityConfig().MinSharpness)
	assert.Less(t, math.Abs(r.Roll), 10.0)
	assert.Len(t, r.Crop, liveness.CropSize*liveness.CropSize)
	assert.Equal(t, DefaultThumbSize, max(r.ThumbW, r.ThumbH))
	assert.Len(t, r.Thumb, r.ThumbW*r.ThumbH)

	// A frame without a face: measures stay zero, the thumbnail is kept.
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 90, 90, 0), 360, 640, gocv.MatTypeCV8UC3)
	defer blank.Close()
	r, err = m.Measure(Frame{Mat: blank})
	require.NoError(t, err)
	assert.False(t, r.HasFace())
	assert.Nil(t, r.Crop)
	assert.NotEmpty(t, r.Thumb)

	_, err = m.Measure(Frame{Mat: gocv.NewMat()})
	assert.Error(t, err, "empty frame")
}

// TestMeasureTiltedFace: YuNet pulls a tilted face's landmarks towards
// upright; the measurer re-measures it upright and reads the true roll.
func TestMeasureTiltedFace(t *testing.T) {
	t.Parallel()
	m := newTestMeasurer(t)
	f := measureFrame(t, "g06", time.Second)
	defer f.Mat.Close()
	for _, deg := range []float64{-40, 35} {
		c := image.Pt(f.Mat.Cols()/2, f.Mat.Rows()/2)
		rot := gocv.GetRotationMatrix2D(c, deg, 1)
		tilted := gocv.NewMat()
		gocv.WarpAffineWithParams(f.Mat, &tilted, rot, image.Pt(f.Mat.Cols(), f.Mat.Rows()), gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
		rot.Close()
		r, err := m.Measure(Frame{Mat: tilted})
		tilted.Close()
		require.NoError(t, err)
		require.True(t, r.HasFace())
		// OpenCV's positive angle turns the image counter-clockwise, which
		// raises the image-left eye: a negative roll.
		assert.InDelta(t, -deg, r.Roll, 8, "rotated %v degrees", deg)
	}
}

func TestMeasurerClose(t *testing.T) {
	t.Parallel()
	m := newTestMeasurer(t)
	require.NoError(t, m.Close())
	require.NoError(t, m.Close())
	img := gocv.NewMatWithSize(64, 64, gocv.MatTypeCV8UC3)
	defer img.Close()
	_, err := m.Measure(Frame{Mat: img})
	assert.ErrorIs(t, err, ErrMeasurerClosed)
}
