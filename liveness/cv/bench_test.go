package cv

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/internal/vision"
	"github.com/hoviyat/hoviyat/liveness"
)

// benchClip makes (once per process) a 5 s 1280x720-class clip by
// transcoding a genuine clip with ffmpeg into a temp dir: g06 (a phone
// selfie, 720x1280 portrait) at 30 fps, H.264. Media are never committed.
var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
	benchDir  string
)

func benchClip(b *testing.B) string {
	b.Helper()
	src := cvClip(b, "g06")
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "hoviyat-bench-")
		if benchErr != nil {
			return
		}
		benchPath = filepath.Join(benchDir, "selfie_720p_5s.mp4")
		cmd := exec.Command("ffmpeg", "-v", "error", "-y", "-i", src, "-t", "5", "-an",
			"-vf", "scale=720:1280,fps=30", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
			"-pix_fmt", "yuv420p", benchPath)
		if out, err := cmd.CombinedOutput(); err != nil {
			benchErr = errors.New(string(out))
		}
	})
	if benchErr != nil {
		b.Fatalf("making the benchmark clip: %v", benchErr)
	}
	return benchPath
}

// BenchmarkDecodeOnly decodes and converts every frame of the clip (what
// "decoding the video" costs with OpenCV, the reference for the 2x target).
func BenchmarkDecodeOnly(b *testing.B) {
	p := benchClip(b)
	m := gocv.NewMat()
	defer m.Close()
	for i := 0; i < b.N; i++ {
		vc, err := gocv.VideoCaptureFileWithAPI(p, gocv.VideoCaptureFFmpeg)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for vc.Read(&m) {
			n++
		}
		vc.Close()
		if n < 140 {
			b.Fatalf("decoded %d frames", n)
		}
	}
}

// BenchmarkDecodeSampled is the decoding Detect does: probe, then every
// frame decoded but only the sampled ones converted and turned upright.
func BenchmarkDecodeSampled(b *testing.B) {
	p := benchClip(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		info, err := vision.Probe(ctx, p, vision.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		d, err := vision.NewDecoder(p, info, vision.DecodeOptions{Interval: DefaultSampleInterval, MaxFrames: DefaultMaxFrames})
		if err != nil {
			b.Fatal(err)
		}
		for {
			f, err := d.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			f.Mat.Close()
		}
		d.Close()
	}
}

// BenchmarkDetect is the end-to-end Detect of the clip with a challenge.
func BenchmarkDetect(b *testing.B) {
	p := benchClip(b)
	d, err := New(Config{ModelsDir: cvModels(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	v, err := liveness.NewFileVideo(p)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := d.Detect(ctx, v, liveness.Challenge{Text: "۱۲۳۴"})
		if err != nil {
			b.Fatal(err)
		}
		if r.Verdict != liveness.Live {
			b.Fatalf("verdict %s", r.Verdict)
		}
	}
}

// BenchmarkDetectConcurrent runs two Detects at once (the memory target:
// peak RSS with two concurrent 720p analyses; see docs/bench/liveness.md
// for how it is read).
func BenchmarkDetectConcurrent(b *testing.B) {
	p := benchClip(b)
	d, err := New(Config{ModelsDir: cvModels(b), Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	v, err := liveness.NewFileVideo(p)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for j := 0; j < 2; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := d.Detect(context.Background(), v, liveness.Challenge{})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkMeasureFrame is the per-frame stage on one sampled 720p frame.
func BenchmarkMeasureFrame(b *testing.B) {
	p := benchClip(b)
	ctx := context.Background()
	info, err := vision.Probe(ctx, p, vision.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	d, err := vision.NewDecoder(p, info, vision.DecodeOptions{Interval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	f, err := d.Next(ctx)
	d.Close()
	if err != nil {
		b.Fatal(err)
	}
	defer f.Mat.Close()
	yunet, err := vision.ModelPath(cvModels(b), vision.YuNetFile)
	if err != nil {
		b.Fatal(err)
	}
	m, err := vision.NewMeasurer(vision.MeasureConfig{Detector: vision.FaceDetectorConfig{ModelPath: yunet}})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Measure(f); err != nil {
			b.Fatal(err)
		}
	}
}
