package vision

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProbeMP4MatchesFFprobe checks the built-in MP4 reader against
// ffprobe on every MP4 of the shared media.
func TestProbeMP4MatchesFFprobe(t *testing.T) {
	t.Parallel()
	root := filepath.Join(ingestDataDir(t), "videos")
	files, err := filepath.Glob(filepath.Join(root, "*", "*.mp4"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	bin, err := ffprobePath("")
	if err != nil {
		t.Skip("ffprobe not installed")
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			t.Parallel()
			ff, ferr := probeFFprobe(context.Background(), bin, p, DefaultProbeTimeout)
			mp, merr := probeMP4(p)
			if ferr != nil {
				assert.Error(t, merr, "ffprobe refuses it: %v", ferr)
				return
			}
			require.NoError(t, merr)
			assert.Equal(t, ff.Codec, mp.Codec)
			assert.Equal(t, [2]int{ff.Width, ff.Height}, [2]int{mp.Width, mp.Height})
			assert.Equal(t, ff.Rotation, mp.Rotation)
			assert.Equal(t, ff.Frames, mp.Frames)
			assert.InDelta(t, ff.Duration.Seconds(), mp.Duration.Seconds(), 0.02)
			assert.InDelta(t, ff.FPS, mp.FPS, 0.05)
			require.Len(t, mp.Timestamps, len(ff.Timestamps))
			for i := range mp.Timestamps {
				assert.InDelta(t, ff.Timestamps[i].Seconds(), mp.Timestamps[i].Seconds(), 0.002, "frame %d", i)
			}
		})
	}
}

func FuzzProbeMP4(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x08moov"))
	if dir := os.Getenv("HOVIYAT_DATA"); dir != "" {
		if b, err := os.ReadFile(filepath.Join(dir, "videos", "genuine", "g05_phone_selfie_rotation90_glasses_blinks.mp4")); err == nil && len(b) > 20000 {
			f.Add(b[:20000])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := probeMP4Reader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, errMP4Unsupported) {
				require.NotEmpty(t, inputCode(err), "%v", err)
			}
			return
		}
		require.Positive(t, info.Width)
		require.Positive(t, info.Height)
		require.Len(t, info.Timestamps, info.Frames)
		require.Contains(t, []int{0, 90, 180, 270}, info.Rotation)
	})
}
