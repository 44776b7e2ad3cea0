package vision

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	// testdata/fuzz/FuzzProbeMP4 holds a 4-frame 32x32 ffmpeg test
	// pattern, plain and with a 90-degree display matrix.
	f.Add([]byte("\x00\x00\x00\x08moov"))
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

// TestProbeMP4DisplayMatrix writes a display matrix into a tiny MP4 of our
// own and checks the reader turns it into the clockwise rotation ffmpeg
// applies, and that a cut file is flagged.
func TestProbeMP4DisplayMatrix(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzProbeMP4", "tiny"))
	require.NoError(t, err)
	raw := fuzzBytes(t, b)
	info, err := probeMP4Reader(bytes.NewReader(raw), int64(len(raw)))
	require.NoError(t, err)
	assert.Equal(t, 0, info.Rotation)
	assert.Equal(t, 4, info.Frames)
	assert.Equal(t, [2]int{32, 32}, [2]int{info.Width, info.Height})
	assert.InDelta(t, 0.4, info.Duration.Seconds(), 0.001)
	assert.False(t, info.Truncated)

	i := bytes.Index(raw, []byte("tkhd"))
	require.Positive(t, i)
	off := i + 4 + 4 + 20 + 8 + 8 // version 0 tkhd: to the matrix
	for _, c := range []struct {
		a, b int32
		want int
	}{{0, -65536, 270}, {0, 65536, 90}, {-65536, 0, 180}, {65536, 0, 0}} {
		m := append([]byte(nil), raw...)
		binary.BigEndian.PutUint32(m[off:], uint32(c.a))
		binary.BigEndian.PutUint32(m[off+4:], uint32(c.b))
		info, err := probeMP4Reader(bytes.NewReader(m), int64(len(m)))
		require.NoError(t, err)
		assert.Equal(t, c.want, info.Rotation, "matrix a=%d b=%d", c.a, c.b)
	}
	cut := raw[:len(raw)-400]
	info, err = probeMP4Reader(bytes.NewReader(cut), int64(len(cut)))
	if err == nil {
		assert.True(t, info.Truncated, "media data cut off")
	} else {
		assert.Equal(t, "video_invalid", string(inputCode(err)))
	}
}

// fuzzBytes decodes a "go test fuzz v1" corpus file holding one []byte.
func fuzzBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	s := string(b)
	const head = "go test fuzz v1\n[]byte("
	require.True(t, strings.HasPrefix(s, head))
	lit := strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(s, head)), ")")
	out, err := strconv.Unquote(lit)
	require.NoError(t, err)
	return []byte(out)
}
