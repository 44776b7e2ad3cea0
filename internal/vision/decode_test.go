package vision

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/facematch"
)

// decodeAll decodes path with the given options, calling fn on every
// returned frame (which it closes afterwards).
func decodeAll(t *testing.T, path string, lim Limits, opt DecodeOptions, fn func(Frame)) VideoInfo {
	t.Helper()
	ctx := context.Background()
	info, err := Probe(ctx, path, lim)
	require.NoError(t, err)
	require.NoError(t, CheckLimits(info, lim))
	opt.Limits = lim
	d, err := NewDecoder(path, info, opt)
	require.NoError(t, err)
	defer d.Close()
	for {
		f, err := d.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		fn(f)
		f.Mat.Close()
	}
	return info
}

// TestDecodeFormatsUpright decodes every container and codec of the shared
// clips, with and without ffprobe, and checks the frames are upright, at
// plausible times and of the display size.
func TestDecodeFormatsUpright(t *testing.T) {
	t.Parallel()
	cases := []struct {
		id     string
		w, h   int
		dur    float64
		prober string // "" = default probing
	}{
		{"g01", 368, 656, 20.7, ""},
		{"g02", 960, 540, 13.28, ""},
		{"g04", 1920, 1080, 8.94, ""},
		{"g04", 1920, 1080, 8.94, "-"}, // VFR WebM without duration, OpenCV only
		{"g05", 480, 856, 7.23, ""},
		{"g05", 480, 856, 7.23, "-"}, // rotation from the MP4 reader alone
		{"g16", 360, 288, 3.0, ""},
		{"g21", 512, 512, 8.06, ""},
		{"g29", 160, 160, 5.58, ""},
	}
	for _, c := range cases {
		name := c.id
		if c.prober == "-" {
			name += "_no_ffprobe"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			det := ingestDetector(t)
			const step = 500 * time.Millisecond
			var times []time.Duration
			upright, checked := 0, 0
			lim := Limits{FFprobe: c.prober}
			decodeAll(t, ingestClip(t, c.id), lim, DecodeOptions{Interval: step, ThumbSize: 64}, func(f Frame) {
				times = append(times, f.Time)
				assert.Equal(t, [2]int{c.w, c.h}, [2]int{f.Mat.Cols(), f.Mat.Rows()})
				assert.Equal(t, 64, max(f.ThumbW, f.ThumbH))
				assert.Len(t, f.Thumb, f.ThumbW*f.ThumbH)
				if len(times)%3 != 1 {
					return
				}
				faces, err := det.Detect(f.Mat)
				require.NoError(t, err)
				if len(faces) == 0 {
					return
				}
				checked++
				lm := faces[0].Landmarks
				eyeY := (lm[facematch.LeftEye].Y + lm[facematch.RightEye].Y) / 2
				mouthY := (lm[facematch.LeftMouth].Y + lm[facematch.RightMouth].Y) / 2
				_, _, roll := HeadPose(lm)
				if eyeY < mouthY && math.Abs(roll) < 30 {
					upright++
				}
			})
			require.NotEmpty(t, times)
			for i := 1; i < len(times); i++ {
				assert.Greater(t, times[i], times[i-1], "timestamps increase")
			}
			want := int(c.dur / step.Seconds())
			assert.InDelta(t, want, len(times), 2, "frames every %v over %.1f s", step, c.dur)
			assert.InDelta(t, c.dur, times[len(times)-1].Seconds(), 0.7, "last frame near the end")
			require.Positive(t, checked, "a face was found")
			assert.Equal(t, checked, upright, "faces upright")
		})
	}
}

func TestDecodeSamplingAndCancel(t *testing.T) {
	t.Parallel()
	p := ingestClip(t, "g06")
	ctx := context.Background()
	info, err := Probe(ctx, p, Limits{})
	require.NoError(t, err)

	// MaxFrames widens the interval so the frames still span the video.
	d, err := NewDecoder(p, info, DecodeOptions{Interval: 10 * time.Millisecond, MaxFrames: 12})
	require.NoError(t, err)
	var last time.Duration
	n := 0
	for {
		f, err := d.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		last = f.Time
		n++
		f.Mat.Close()
	}
	assert.GreaterOrEqual(t, d.Decoded(), info.Frames*8/10, "frames between samples are decoded too")
	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "Close is idempotent")
	assert.Equal(t, 12, n)
	assert.Greater(t, last.Seconds(), 0.8*info.Duration.Seconds())
	_, err = d.Next(ctx)
	assert.Error(t, err, "Next after Close")

	// A cancelled context stops decoding between frames.
	d, err = NewDecoder(p, info, DecodeOptions{})
	require.NoError(t, err)
	defer d.Close()
	cctx, cancel := context.WithCancel(ctx)
	f, err := d.Next(cctx)
	require.NoError(t, err)
	f.Mat.Close()
	cancel()
	_, err = d.Next(cctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, inputCode(err))
}

// TestDecodeEnforcesLimits: a stream longer than allowed is refused while
// decoding even when the probe could not tell.
func TestDecodeEnforcesLimits(t *testing.T) {
	t.Parallel()
	p := ingestClip(t, "g02")
	ctx := context.Background()
	info, err := Probe(ctx, p, Limits{})
	require.NoError(t, err)
	info.Duration, info.Timestamps, info.Frames = 0, nil, 0 // as if unknown
	d, err := NewDecoder(p, info, DecodeOptions{Interval: time.Second, Limits: Limits{MaxDuration: 5 * time.Second}})
	require.NoError(t, err)
	defer d.Close()
	for {
		f, err := d.Next(ctx)
		if err != nil {
			assert.Equal(t, "video_too_long", string(inputCode(err)), "%v", err)
			break
		}
		f.Mat.Close()
	}
}

// ingestDetector loads YuNet from $HOVIYAT_MODELS (skipping outside CI when
// unset) and closes it with the test.
func ingestDetector(t testing.TB) *FaceDetector {
	t.Helper()
	dir := os.Getenv(ModelsEnv)
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HOVIYAT_MODELS is not set (CI=true)")
		}
		t.Skip("HOVIYAT_MODELS not set")
	}
	d, err := NewFaceDetector(FaceDetectorConfig{ModelPath: filepath.Join(dir, YuNetFile)})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}
