package cv

import (
	"context"
	"errors"
	"math"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
)

// TestTraceAgreesWithDetect: Trace returns Detect's result and a per-frame
// record consistent with it (the activity and change pairs give the
// video's temporal measures back).
func TestTraceAgreesWithDetect(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"g24", "a01"} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			det := detector(t)
			v := fileVideo(t, cvClip(t, id))
			want, err := det.Detect(context.Background(), v, readChallenge)
			require.NoError(t, err)
			got, tr, err := det.Trace(context.Background(), v, readChallenge, TraceConfig{})
			require.NoError(t, err)
			require.NotNil(t, tr)

			assert.Equal(t, want.Verdict, got.Verdict)
			assert.InDelta(t, want.Score, got.Score, 1e-9)
			assert.Equal(t, want.Quality, got.Quality)
			assert.Equal(t, want.Reasons, got.Reasons)
			assert.Equal(t, len(want.Probes), len(got.Probes))
			assert.Contains(t, got.Timings, "trace")

			require.Len(t, tr.Frames, got.Frames)
			assert.Equal(t, readChallenge, tr.Challenge)
			assert.Positive(t, tr.Video.Width)
			assert.Positive(t, tr.Video.Height)
			probes, spoofs, pictures, antispoof, faces := 0, 0, 0, 0, 0
			for i, f := range tr.Frames {
				assert.Nil(t, f.Crop, "frame %d keeps no crop", i)
				assert.Nil(t, f.Thumb, "frame %d keeps no thumbnail", i)
				if i > 0 {
					assert.Greater(t, f.Time, tr.Frames[i-1].Time)
				}
				if f.Probe > 0 {
					probes++
					assert.Equal(t, got.Probes[f.Probe-1].Frame, f.Index)
				}
				if f.Spoof != nil {
					spoofs++
					assert.Equal(t, f.Index, f.Spoof.Index)
					assert.InDelta(t, f.Spoof.Real, f.AntiSpoof, 1e-6, "the trace's MiniFASNet agrees with the verdict's on frame %d", f.Index)
				}
				if f.Image != nil {
					pictures++
					b := f.Image.Bounds()
					assert.LessOrEqual(t, max(b.Dx(), b.Dy()), DefaultTraceImageSide)
					assert.InDelta(t, float64(tr.Video.Width)*f.ImageScale, float64(b.Dx()), 1)
				}
				if f.HasFace() {
					faces++
					assert.Positive(t, f.Quality)
					if !math.IsNaN(f.AntiSpoof) {
						antispoof++
					}
				} else {
					assert.Equal(t, []reason.Code{reason.NoFace}, f.Problems)
				}
			}
			assert.Equal(t, len(got.Probes), probes)
			assert.Positive(t, spoofs)
			assert.Equal(t, min(DefaultTraceImages, len(tr.Frames)), pictures)
			assert.Greater(t, antispoof, faces*9/10, "MiniFASNet ran on the face frames")

			// One registered pair at a time gives the video's measures back.
			require.Len(t, tr.Activity, tr.Temporal.Pairs)
			var mouth, change []float64
			for _, p := range tr.Activity {
				assert.Greater(t, p.B, p.A)
				mouth = append(mouth, p.Mouth)
			}
			for _, p := range tr.Change {
				change = append(change, p.Change)
			}
			assert.InDelta(t, tr.Temporal.Mouth, quantileOf(mouth, 0.9), 1e-9)
			if len(change) > 0 {
				assert.InDelta(t, tr.Temporal.Change, quantileOf(change, 0.5), 1e-9)
			}
		})
	}
}

// TestTraceWithoutFaces: a video with no face gives a trace of faceless
// frames with pictures and no probes.
func TestTraceWithoutFaces(t *testing.T) {
	t.Parallel()
	det := detector(t)
	// The first 4 s of the traffic clip (the whole is too long).
	clip := filepath.Join(t.TempDir(), "traffic.mp4")
	out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-i", cvClip(t, "n04"), "-t", "4", "-an", clip).CombinedOutput()
	require.NoError(t, err, "ffmpeg: %s", out)
	res, tr, err := det.Trace(context.Background(), fileVideo(t, clip), liveness.Challenge{}, TraceConfig{Images: 3, ImageSide: 200})
	require.NoError(t, err)
	assert.Contains(t, res.Quality, reason.NoFace)
	require.NotEmpty(t, tr.Frames)
	pictures := 0
	for _, f := range tr.Frames {
		assert.Zero(t, f.Probe)
		assert.True(t, math.IsNaN(f.AntiSpoof))
		if f.Image != nil {
			pictures++
			assert.LessOrEqual(t, f.Image.Bounds().Dx(), 200)
		}
	}
	assert.Equal(t, 3, pictures)
	assert.NotNil(t, tr.Frames[0].Image, "the first frame is among the evenly spread ones")
	assert.NotNil(t, tr.Frames[len(tr.Frames)-1].Image, "and the last")
	assert.Empty(t, tr.Activity)
}

func TestTraceErrors(t *testing.T) {
	t.Parallel()
	det := detector(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := det.Trace(ctx, fileVideo(t, cvClip(t, "g24")), readChallenge, TraceConfig{})
	assert.ErrorIs(t, err, context.Canceled)

	_, _, err = det.Trace(context.Background(), fileVideo(t, cvClip(t, "n06")), readChallenge, TraceConfig{})
	var ie *liveness.InputError
	assert.True(t, errors.As(err, &ie), "an unreadable video is an input error: %v", err)
}

func TestChooseImages(t *testing.T) {
	t.Parallel()
	frames := make([]TraceFrame, 10)
	frames[4].Probe, frames[7].Probe = 2, 1
	tests := []struct {
		n    int
		want []int
	}{
		{0, nil},
		{-1, nil},
		{2, []int{4, 7}},
		{4, []int{0, 4, 7, 9}},
		{30, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
	}
	for _, tt := range tests {
		got := chooseImages(frames, tt.n)
		var idx []int
		for i := range got {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		assert.Equal(t, tt.want, idx, "n=%d", tt.n)
	}
	assert.Empty(t, chooseImages(nil, 5))
}

func quantileOf(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[i]
	}
	f := pos - float64(i)
	return s[i]*(1-f) + s[i+1]*f
}
