package vision_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/internal/vision"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
)

// The ingestion fuzzers hand arbitrary bytes to the path an uploaded video
// takes before any face analysis: spool (size cap), sniff + probe, the
// limits check and sampled decoding of the first frames. Seeds in
// testdata/fuzz/FuzzIngest*: a complete tiny MP4 and WebM, MP4 and WebM
// cut after a few KB, the bare EBML header, an MP4 whose container claims
// 65535x65535, an MJPEG MP4 whose frames claim 16000x16000, zero bytes,
// random bytes and an HTML page. The property: no panic, no crash of the
// (cgo) decoder, no leftover spool file, and every refusal is a
// *liveness.InputError with a video reason code, or a context error.

// fuzzMaxFrames bounds the frames decoded per input, to keep executions
// short; the decoder still demuxes the whole stream up to that point.
const fuzzMaxFrames = 6

func FuzzIngest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ingestBytes(t, data, "")
	})
}

// FuzzIngestOpenCVProbe is FuzzIngest with ffprobe disabled, so probing
// runs OpenCV's FFmpeg demuxer inside this process (where a memory error
// would crash the fuzz worker and be reported) instead of a subprocess. It
// starts from FuzzIngest's committed seeds.
func FuzzIngestOpenCVProbe(f *testing.F) {
	for _, seed := range readCorpus(f, "FuzzIngest") {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ingestBytes(t, data, "-")
	})
}

// readCorpus returns the []byte values of the committed seed corpus of
// another fuzz target (files "go test fuzz v1\n[]byte(...)").
func readCorpus(f *testing.F, target string) [][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
	require.NoError(f, err)
	require.NotEmpty(f, paths, "no seeds for %s", target)
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		body, ok := strings.CutPrefix(string(b), "go test fuzz v1\n[]byte(")
		require.True(f, ok, "%s: not a []byte corpus file", p)
		body = strings.TrimSuffix(strings.TrimSpace(body), ")")
		v, err := strconv.Unquote(body)
		require.NoError(f, err, p)
		out = append(out, []byte(v))
	}
	return out
}

func ingestBytes(t *testing.T, data []byte, ffprobe string) {
	tmp := t.TempDir()
	lim := vision.Limits{MaxBytes: 1 << 20, TempDir: tmp, FFprobe: ffprobe, ProbeTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	src, err := vision.Spool(ctx, bytes.NewReader(data), lim)
	if err != nil {
		requireTyped(t, "spool", err)
		require.True(t, len(data) == 0 || int64(len(data)) > lim.MaxBytes, "spool refused a %d-byte input: %v", len(data), err)
		requireNoSpool(t, tmp)
		return
	}
	defer func() {
		require.NoError(t, src.Close())
		requireNoSpool(t, tmp)
	}()
	fi, err := os.Stat(src.Path())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "spooled upload must be private")
	require.Equal(t, int64(len(data)), src.Size())

	info, err := vision.Probe(ctx, src.Path(), lim)
	if err != nil {
		requireTyped(t, "probe", err)
		return
	}
	if err := vision.CheckLimits(info, lim); err != nil {
		requireTyped(t, "limits", err)
		return
	}
	w, h := info.DisplaySize()
	require.LessOrEqual(t, max(w, h), vision.DefaultMaxSide, "CheckLimits passed an oversized frame")

	dec, err := vision.NewDecoder(src.Path(), info, vision.DecodeOptions{MaxFrames: fuzzMaxFrames, Limits: lim})
	if err != nil {
		requireTyped(t, "decoder", err)
		return
	}
	defer dec.Close()
	for range fuzzMaxFrames + 1 {
		fr, err := dec.Next(ctx)
		if errors.Is(err, io.EOF) {
			t.Logf("decoded to the end: %d frames, %v", dec.Decoded(), dec.Span())
			return
		}
		if err != nil {
			requireTyped(t, "decode", err)
			return
		}
		require.False(t, fr.Mat.Empty())
		require.LessOrEqual(t, max(fr.Mat.Cols(), fr.Mat.Rows()), vision.DefaultMaxSide, "decoder returned an oversized frame")
		fr.Mat.Close()
	}
	t.Logf("decoded %d frames", dec.Decoded())
}

// requireTyped fails unless err is a *liveness.InputError with a video
// reason, or the context ending.
func requireTyped(t *testing.T, stage string, err error) {
	t.Helper()
	t.Logf("%s refused: %v", stage, err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return
	}
	var ie *liveness.InputError
	require.True(t, errors.As(err, &ie), "%s: untyped error %T: %v", stage, err, err)
	require.Contains(t, []reason.Code{reason.VideoInvalid, reason.VideoTooShort, reason.VideoTooLong, reason.VideoTooLarge}, ie.Code, "%s: %v", stage, err)
}

// requireNoSpool checks that nothing is left in the spool directory.
func requireNoSpool(t *testing.T, dir string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	require.Empty(t, left, "spool files left behind")
}
