package cv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
)

// sharedDetector is one Detector for the package's tests (loading the
// models once); tests using it may run in parallel: it queues them.
var (
	sharedOnce sync.Once
	sharedDet  *Detector
	sharedErr  error
)

func detector(t testing.TB) *Detector {
	t.Helper()
	models := cvModels(t)
	sharedOnce.Do(func() {
		sharedDet, sharedErr = New(Config{ModelsDir: models, Workers: 2})
	})
	require.NoError(t, sharedErr)
	return sharedDet
}

func fileVideo(t testing.TB, p string) liveness.Video {
	t.Helper()
	v, err := liveness.NewFileVideo(p)
	require.NoError(t, err)
	return v
}

// readChallenge is a Persian challenge text; clips of people talking are
// judged with it, clips of people not talking without.
var readChallenge = liveness.Challenge{Text: "۴۷۱۹ سیب", Nonce: "test"}

// TestDetectGenuine: every genuine clip is judged live with no quality
// reason (BPCER 0/15 on the shared set; see docs/bench/liveness.md).
func TestDetectGenuine(t *testing.T) {
	t.Parallel()
	talks := map[string]bool{"g06": true, "g08": true, "g12": true, "g16": true, "g17": true,
		"g21": true, "g24": true, "g27": true, "g29": true}
	for _, id := range []string{"g01", "g02", "g03", "g04", "g05", "g06", "g08", "g10", "g12", "g16", "g17", "g21", "g24", "g27", "g29"} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			ch := liveness.Challenge{}
			if talks[id] {
				ch = readChallenge
			}
			r, err := detector(t).Detect(context.Background(), fileVideo(t, cvClip(t, id)), ch)
			require.NoError(t, err)
			assert.Empty(t, r.Quality)
			assert.Empty(t, r.Reasons)
			assert.Equal(t, liveness.Live, r.Verdict, "evidence %+v", r.Evidence)
			assert.GreaterOrEqual(t, r.Score, 0.5)
			require.NotEmpty(t, r.Probes)
			for i, p := range r.Probes {
				require.NotNil(t, p.Image)
				b := p.Image.Bounds()
				assert.True(t, p.Landmarks[0].X > 0 && p.Landmarks[0].X < float64(b.Dx()), "landmarks in crop coordinates")
				if i > 0 {
					assert.LessOrEqual(t, p.Quality, r.Probes[i-1].Quality, "best first")
				}
			}
			assert.Contains(t, r.Models, "face_detector")
			assert.Contains(t, r.Timings, "total")
			assert.Positive(t, r.Frames)
		})
	}
}

// TestDetectAttacks: the screen replay (a01) and the phone replay with the
// live person behind (a02) are never judged live.
func TestDetectAttacks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		id      string
		verdict liveness.Verdict
	}{
		{"a01", liveness.SpoofSuspected},
		{"a02", ""}, // rejected: spoof or multiple_faces, either is fine
	} {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			for _, ch := range []liveness.Challenge{{}, readChallenge} {
				r, err := detector(t).Detect(context.Background(), fileVideo(t, cvClip(t, c.id)), ch)
				require.NoError(t, err)
				assert.NotEqual(t, liveness.Live, r.Verdict)
				assert.NotEqual(t, liveness.Uncertain, r.Verdict)
				if c.verdict != "" {
					assert.Equal(t, c.verdict, r.Verdict)
				}
				assert.True(t, len(r.Quality) > 0 || len(r.Reasons) > 0)
			}
		})
	}
}

// ffmpeg runs ffmpeg (skipping the test when it is not installed).
func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// TestDetectStillFrameVideo: a still frame of a genuine clip turned into a
// 5 s video, with a slow zoom and sway as a hand-held photo shows, is a
// spoof, with or without a challenge.
func TestDetectStillFrameVideo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	still := filepath.Join(dir, "still.png")
	ffmpeg(t, "-ss", "1", "-i", cvClip(t, "g08"), "-frames:v", "1", still)
	for _, c := range []struct{ name, vf string }{
		{"static", "scale=512:512"},
		{"zoom_sway", "scale=1024:1024,zoompan=z='1.04+0.0008*on':x='iw/2-(iw/zoom/2)+8*sin(on/9)':y='ih/2-(ih/zoom/2)+6*cos(on/11)':d=1:s=512x512:fps=25"},
	} {
		out := filepath.Join(dir, c.name+".mp4")
		ffmpeg(t, "-loop", "1", "-i", still, "-t", "5", "-r", "25", "-vf", c.vf, "-c:v", "libx264",
			"-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", out)
		for _, ch := range []liveness.Challenge{{}, readChallenge} {
			r, err := detector(t).Detect(context.Background(), fileVideo(t, out), ch)
			require.NoError(t, err)
			assert.Equal(t, liveness.SpoofSuspected, r.Verdict, "%s challenge=%q evidence %+v", c.name, ch.Text, r.Evidence)
			assert.Contains(t, r.Reasons, reason.SpoofSuspected)
		}
	}
}

// readerOnly is a Video without a local path: Detect spools it.
type readerOnly struct{ b []byte }

func (r readerOnly) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(r.b)), nil }
func (r readerOnly) Size() int64                  { return int64(len(r.b)) }

func TestDetectInputErrors(t *testing.T) {
	t.Parallel()
	d := detector(t)
	g06, err := os.ReadFile(cvClip(t, "g06"))
	require.NoError(t, err)
	noise := make([]byte, 100<<10)
	_, _ = rand.Read(noise)
	cases := []struct {
		name string
		v    liveness.Video
		want reason.Code
	}{
		{"n05 0.2 s", fileVideo(t, cvClip(t, "n05")), reason.VideoTooShort},
		{"n06 html as avi", fileVideo(t, cvClip(t, "n06")), reason.VideoInvalid},
		{"n04 30.5 s", fileVideo(t, cvClip(t, "n04")), reason.VideoTooLong},
		{"empty", readerOnly{}, reason.VideoInvalid},
		{"random bytes", readerOnly{noise}, reason.VideoInvalid},
		{"truncated", readerOnly{g06[:len(g06)/3]}, reason.VideoInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := d.Detect(context.Background(), c.v, liveness.Challenge{})
			require.Error(t, err)
			var ie *liveness.InputError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, c.want, ie.Code)
			assert.ErrorIs(t, err, liveness.ErrInput)
		})
	}
	// Size cap before anything is read.
	small, err := New(Config{ModelsDir: cvModels(t), Workers: 1, MaxBytes: 1 << 20})
	require.NoError(t, err)
	defer small.Close()
	_, err = small.Detect(context.Background(), readerOnly{g06}, liveness.Challenge{})
	var ie *liveness.InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, reason.VideoTooLarge, ie.Code)
}

// TestDetectSpooledEqualsPath: a video given as a reader is judged as the
// same file given by path.
func TestDetectSpooledEqualsPath(t *testing.T) {
	t.Parallel()
	p := cvClip(t, "g16")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	a, err := detector(t).Detect(context.Background(), fileVideo(t, p), readChallenge)
	require.NoError(t, err)
	s, err := detector(t).Detect(context.Background(), readerOnly{b}, readChallenge)
	require.NoError(t, err)
	assert.Equal(t, a.Verdict, s.Verdict)
	assert.InDelta(t, a.Score, s.Score, 1e-9)
	assert.Equal(t, a.Measures, s.Measures)
}

// TestDetectCancel: a cancelled context stops a Detect promptly, including
// one waiting for a worker.
func TestDetectCancel(t *testing.T) {
	t.Parallel()
	d, err := New(Config{ModelsDir: cvModels(t), Workers: 1})
	require.NoError(t, err)
	defer d.Close()
	v := fileVideo(t, cvClip(t, "g01")) // 20 s: several seconds of work
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = d.Detect(ctx, v, liveness.Challenge{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second, "stopped between frames")

	// While the only worker is busy, a second call gives up when its
	// context ends.
	busy := make(chan struct{})
	go func() {
		defer close(busy)
		_, _ = d.Detect(context.Background(), v, liveness.Challenge{})
	}()
	time.Sleep(50 * time.Millisecond)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	start = time.Now()
	_, err = d.Detect(ctx2, v, liveness.Challenge{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
	<-busy
}

func TestNewAndClose(t *testing.T) {
	t.Parallel()
	_, err := New(Config{ModelsDir: t.TempDir()})
	assert.Error(t, err, "models missing")
	for _, c := range []Config{
		{Workers: -1},
		{MaxFrames: 3},
		{DetectSize: 10000},
		{MinDuration: time.Minute},
		{Quality: liveness.QualityConfig{MaxGlare: 2}},
		{Liveness: liveness.LivenessConfig{MinBezel: 3}},
		{DetectParallel: 17},
		{DetectParallel: -1},
		{OpenCVThreads: 300},
	} {
		c.ModelsDir = cvModels(t)
		_, err := New(c)
		assert.Error(t, err, "%+v", c)
	}
	d, err := New(Config{ModelsDir: cvModels(t), Workers: 1})
	require.NoError(t, err)
	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "Close is idempotent")
	_, err = d.Detect(context.Background(), fileVideo(t, cvClip(t, "g16")), liveness.Challenge{})
	assert.ErrorIs(t, err, ErrClosed)
}

// TestDetectConcurrent: concurrent calls on one Detector give the same
// results as one at a time (each worker owns its gocv objects).
func TestDetectConcurrent(t *testing.T) {
	t.Parallel()
	d := detector(t)
	ids := []string{"g16", "g17", "g29", "g10"}
	want := map[string]liveness.Result{}
	for _, id := range ids {
		r, err := d.Detect(context.Background(), fileVideo(t, cvClip(t, id)), readChallenge)
		require.NoError(t, err)
		want[id] = r
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(ids))
	for round := 0; round < 2; round++ {
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := d.Detect(context.Background(), fileVideo(t, cvClip(t, id)), readChallenge)
				if err != nil {
					errs <- err
					return
				}
				if r.Verdict != want[id].Verdict || r.Score != want[id].Score {
					errs <- errors.New(id + ": result differs under concurrency")
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

// TestDetectParallelEqualsSerial: detecting faces on several goroutines
// (DetectParallel) gives exactly the one-goroutine result, probes
// included: the measures are taken in frame order either way.
func TestDetectParallelEqualsSerial(t *testing.T) {
	t.Parallel()
	serial, err := New(Config{ModelsDir: cvModels(t), Workers: 1, DetectParallel: 1})
	require.NoError(t, err)
	defer serial.Close()
	par := detector(t) // DetectParallel 2 (the default)
	// g05: rotation metadata; g03: low light; a01: a screen replay.
	for _, id := range []string{"g05", "g03", "a01"} {
		want, err := serial.Detect(context.Background(), fileVideo(t, cvClip(t, id)), readChallenge)
		require.NoError(t, err, id)
		got, err := par.Detect(context.Background(), fileVideo(t, cvClip(t, id)), readChallenge)
		require.NoError(t, err, id)
		assert.Equal(t, want.Verdict, got.Verdict, id)
		assert.Equal(t, want.Score, got.Score, id)
		assert.Equal(t, want.Quality, got.Quality, id)
		assert.Equal(t, want.Evidence, got.Evidence, id)
		assert.Equal(t, want.Measures, got.Measures, id)
		assert.Equal(t, want.Frames, got.Frames, id)
		require.Equal(t, len(want.Probes), len(got.Probes), id)
		for i := range want.Probes {
			w, g := want.Probes[i], got.Probes[i]
			assert.Equal(t, w.Frame, g.Frame, id)
			assert.Equal(t, w.Landmarks, g.Landmarks, id)
			assert.Equal(t, w.Image, g.Image, id)
		}
	}
}

// TestDetectDerivedQuality covers the quality reasons the test-media set
// has no video for: a face pushed half out of the frame and an
// overexposed face, made from g06 with ffmpeg at test time.
func TestDetectDerivedQuality(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		vf   string
		want reason.Code
	}{
		{"out_of_frame", "crop=400:1280:400:0", reason.FaceOutOfFrame},
		{"overexposed", "eq=brightness=0.55:contrast=1.3", reason.Overexposed},
	} {
		out := filepath.Join(dir, c.name+".mp4")
		ffmpeg(t, "-i", cvClip(t, "g06"), "-t", "4", "-an", "-vf", c.vf, "-c:v", "libx264", "-preset", "veryfast",
			"-crf", "20", "-pix_fmt", "yuv420p", out)
		r, err := detector(t).Detect(context.Background(), fileVideo(t, out), readChallenge)
		require.NoError(t, err)
		assert.Contains(t, r.Quality, c.want, "%s: measures %v", c.name, r.Measures)
		assert.NotEqual(t, liveness.Live, r.Verdict)
	}
}

// TestDetectHeadTurn: g01 turns his head both ways, so a head-turn
// challenge is met in either direction (and turning is not a bad angle),
// while g03, who sits still, does not meet it.
func TestDetectHeadTurn(t *testing.T) {
	t.Parallel()
	d := detector(t)
	for _, c := range []struct {
		id   string
		turn liveness.HeadTurn
		met  bool
	}{
		{"g01", liveness.TurnLeft, true},
		{"g01", liveness.TurnRight, true},
		{"g03", liveness.TurnLeft, false},
	} {
		r, err := d.Detect(context.Background(), fileVideo(t, cvClip(t, c.id)), liveness.Challenge{HeadTurn: c.turn})
		require.NoError(t, err)
		assert.Empty(t, r.Quality, "%s: turning is not a bad angle", c.id)
		if c.met {
			assert.Equal(t, liveness.Live, r.Verdict, "%s %s", c.id, c.turn)
			assert.Empty(t, r.Reasons)
		} else {
			assert.NotEqual(t, liveness.Live, r.Verdict)
			assert.Contains(t, r.Reasons, reason.ChallengeNotMet)
		}
	}
}

// TestDetectEncodings covers what phones and browsers upload beyond the
// shared clips: VP9 WebM written to a pipe (as MediaRecorder streams it)
// and HEVC in MP4 whose coded frames are sideways with a display matrix
// turning them upright (as iPhones record portrait video). Made from g06
// with ffmpeg at test time; skipped when an encoder is missing.
func TestDetectEncodings(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	encoders, err := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
	require.NoError(t, err)
	dir := t.TempDir()
	src := cvClip(t, "g06")
	var videos []string
	if bytes.Contains(encoders, []byte("libvpx-vp9")) {
		out := filepath.Join(dir, "vp9.webm")
		cmd := exec.Command("ffmpeg", "-v", "error", "-i", src, "-t", "4", "-an", "-vf", "scale=360:640",
			"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "800k", "-f", "webm", "pipe:1")
		b, err := cmd.Output()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(out, b, 0o600))
		videos = append(videos, out)
	}
	if bytes.Contains(encoders, []byte("libx265")) {
		coded := filepath.Join(dir, "hevc_cw.mp4")
		ffmpeg(t, "-i", src, "-t", "4", "-an", "-vf", "scale=360:640,transpose=1", "-c:v", "libx265",
			"-preset", "ultrafast", "-tag:v", "hvc1", "-x265-params", "log-level=error", coded)
		b, err := os.ReadFile(coded)
		require.NoError(t, err)
		setDisplayMatrix(t, b, 0, -1) // shown turned 90° counter-clockwise: upright again
		out := filepath.Join(dir, "hevc_rotated.mp4")
		require.NoError(t, os.WriteFile(out, b, 0o600))
		videos = append(videos, out)
	}
	if len(videos) == 0 {
		t.Skip("no VP9 or HEVC encoder")
	}
	for _, p := range videos {
		r, err := detector(t).Detect(context.Background(), fileVideo(t, p), readChallenge)
		require.NoError(t, err, filepath.Base(p))
		assert.Equal(t, liveness.Live, r.Verdict, "%s: quality %v reasons %v", filepath.Base(p), r.Quality, r.Reasons)
		assert.InDelta(t, 4, r.Duration.Seconds(), 0.2)
	}
}

// setDisplayMatrix writes the rotation part (a, b in units of 1.0) of the
// first tkhd box's display matrix, with c = -b and d = a.
func setDisplayMatrix(t *testing.T, mp4 []byte, a, b int32) {
	t.Helper()
	i := bytes.Index(mp4, []byte("tkhd"))
	require.Positive(t, i)
	// version+flags, times and track id (32 or 20 bytes), reserved (8),
	// layer, alternate group, volume, reserved (8): then the matrix.
	off := i + 4 + 4 + 20 + 8 + 8
	if mp4[i+4] == 1 {
		off = i + 4 + 4 + 32 + 8 + 8
	}
	put := func(k int, v int32) { binary.BigEndian.PutUint32(mp4[off+4*k:], uint32(v)) }
	put(0, a<<16)
	put(1, b<<16)
	put(3, -b<<16)
	put(4, a<<16)
}
