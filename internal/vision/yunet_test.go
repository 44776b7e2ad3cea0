package vision

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
)

// fmEnvDir returns the directory named by env: it skips the test when the
// variable is unset outside CI and fails when CI=true.
func fmEnvDir(t testing.TB, env string) string {
	t.Helper()
	d := os.Getenv(env)
	if d == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("$%s is not set and CI=true: the models/media are required in CI", env)
		}
		t.Skipf("$%s is not set: skipping (set it to the shared directory to run this test)", env)
	}
	require.DirExists(t, d, "$%s must name an existing directory", env)
	return d
}

// fmMatLeakCheck records the number of live gocv Mats and, at cleanup
// (after every later-registered cleanup such as a detector's Close),
// asserts that it is back to that value. The count exists only under
// `-tags matprofile` (it is gocv.MatProfile, looked up by name so that the
// file builds without the tag); otherwise the check is a no-op. Call it
// first, and only in non-parallel tests: parallel tests run after all
// sequential ones, so they cannot disturb the count.
func fmMatLeakCheck(t *testing.T) {
	t.Helper()
	p := pprof.Lookup("gocv.io/x/gocv.Mat")
	if p == nil {
		t.Log("not built with -tags matprofile: Mat leak check disabled")
		return
	}
	start := p.Count()
	t.Cleanup(func() {
		t.Helper()
		if !assert.Equal(t, start, p.Count(), "gocv Mats leaked") {
			var b strings.Builder
			_ = p.WriteTo(&b, 1)
			t.Log(b.String())
		}
	})
}

func fmDetector(t testing.TB, cfg FaceDetectorConfig) *FaceDetector {
	t.Helper()
	dir := fmEnvDir(t, ModelsEnv)
	if cfg.ModelPath == "" {
		cfg.ModelPath = filepath.Join(dir, YuNetFile)
	}
	d, err := NewFaceDetector(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func fmReadImage(t testing.TB, path string) gocv.Mat {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	m, err := DecodeImage(b)
	require.NoError(t, err)
	return m
}

func fmLargest(faces []Face) Face {
	best := faces[0]
	for _, f := range faces[1:] {
		if f.Box.W*f.Box.H > best.Box.W*best.Box.H {
			best = f
		}
	}
	return best
}

func TestNewFaceDetectorConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  FaceDetectorConfig
		want string
	}{
		{"input too small", FaceDetectorConfig{InputSize: 16}, "InputSize"},
		{"score above 1", FaceDetectorConfig{ScoreThreshold: 1.5}, "ScoreThreshold"},
		{"negative nms", FaceDetectorConfig{NMSThreshold: -0.1}, "NMSThreshold"},
		{"negative max", FaceDetectorConfig{MaxFaces: -1}, "MaxFaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewFaceDetector(tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "vision: "))
		})
	}
}

func TestNewFaceDetectorMissingModel(t *testing.T) {
	t.Parallel()
	_, err := NewFaceDetector(FaceDetectorConfig{ModelPath: filepath.Join(t.TempDir(), YuNetFile)})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrModelMissing)
	assert.Contains(t, err.Error(), YuNetFile)
	assert.Contains(t, err.Error(), ModelsEnv)
}

func TestNewFaceDetectorCorruptModel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, file := range map[string]string{"known name": YuNetFile, "custom name": "custom.onnx"} {
		p := filepath.Join(dir, file)
		require.NoError(t, os.WriteFile(p, []byte("<html>not an onnx model</html>"), 0o600))
		// OpenCV would abort the process on this file: it must be refused first.
		_, err := NewFaceDetector(FaceDetectorConfig{ModelPath: p})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, ErrModelCorrupt, name)
	}
}

func TestFaceDetectorCloseIdempotent(t *testing.T) {
	d := fmDetector(t, FaceDetectorConfig{})
	require.NoError(t, d.Close())
	require.NoError(t, d.Close())
	m := gocv.NewMatWithSize(64, 64, gocv.MatTypeCV8UC3)
	defer m.Close()
	_, err := d.Detect(m)
	assert.ErrorIs(t, err, ErrDetectorClosed)
	var nilDet *FaceDetector
	assert.NoError(t, nilDet.Close())
}

func TestFaceDetectorDefaults(t *testing.T) {
	d := fmDetector(t, FaceDetectorConfig{})
	c := d.Config()
	assert.Equal(t, DefaultDetectorInputSize, c.InputSize)
	assert.InDelta(t, DefaultDetectorScore, c.ScoreThreshold, 0)
	assert.InDelta(t, DefaultDetectorNMS, c.NMSThreshold, 0)
	assert.Equal(t, DefaultDetectorMaxFaces, c.MaxFaces)
}

// The go-face photo set: one main face in each single-person photo, ten in
// the group photo. The main face (largest) must have its landmarks in
// ArcFace order and inside its box.
func TestDetectGoFacePhotos(t *testing.T) {
	fmMatLeakCheck(t)
	data := fmEnvDir(t, "HOVIYAT_DATA")
	d := fmDetector(t, FaceDetectorConfig{})
	files, err := filepath.Glob(filepath.Join(data, "photos", "goface", "*.jpg"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 30, "go-face photos missing")
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			img := fmReadImage(t, f)
			defer img.Close()
			faces, err := d.Detect(img)
			require.NoError(t, err)
			if name == "pristin.jpg" {
				assert.GreaterOrEqual(t, len(faces), 9)
				assert.LessOrEqual(t, len(faces), 11)
				return
			}
			require.NotEmpty(t, faces, "no face found")
			assert.True(t, sort.SliceIsSorted(faces, func(i, j int) bool { return faces[i].Score > faces[j].Score }))
			// The main face is the best-scored one and the largest of the
			// confident ones (weaker detections are background people or
			// false positives at ~0.6).
			main := faces[0]
			assert.GreaterOrEqual(t, main.Score, 0.8)
			var confident []Face
			for _, f := range faces {
				if f.Score >= 0.8 {
					confident = append(confident, f)
				}
			}
			assert.Equal(t, main, fmLargest(confident))
			// A portrait: the main face is at least 5% of the shorter side.
			assert.Greater(t, main.Box.H, 0.05*float64(min(img.Cols(), img.Rows())))
			lm := main.Landmarks
			assert.Less(t, lm[facematch.LeftEye].X, lm[facematch.RightEye].X)
			assert.Less(t, lm[facematch.LeftMouth].X, lm[facematch.RightMouth].X)
			assert.Less(t, (lm[0].Y+lm[1].Y)/2, lm[facematch.Nose].Y)
			assert.Less(t, lm[facematch.Nose].Y, (lm[3].Y+lm[4].Y)/2)
			b := main.Box
			for i, p := range lm {
				assert.True(t, p.X >= b.X-0.1*b.W && p.X <= b.X+1.1*b.W && p.Y >= b.Y-0.1*b.H && p.Y <= b.Y+1.1*b.H,
					"landmark %d %v outside box %v", i, p, b)
			}
		})
	}
}

// Boxes are reported in input pixels whatever the input size and aspect:
// halving the image halves the box; letterboxing it into a larger canvas
// shifts the box by the offset.
func TestDetectMapsBackToInputPixels(t *testing.T) {
	fmMatLeakCheck(t)
	data := fmEnvDir(t, "HOVIYAT_DATA")
	d := fmDetector(t, FaceDetectorConfig{})
	img := fmReadImage(t, filepath.Join(data, "photos", "goface", "tzuyu.jpg")) // 540x810 portrait
	defer img.Close()
	base, err := d.Detect(img)
	require.NoError(t, err)
	require.NotEmpty(t, base)
	ref := fmLargest(base)

	half := gocv.NewMat()
	defer half.Close()
	gocv.Resize(img, &half, image.Pt(img.Cols()/2, img.Rows()/2), 0, 0, gocv.InterpolationArea)
	hf, err := d.Detect(half)
	require.NoError(t, err)
	require.NotEmpty(t, hf)
	h := fmLargest(hf)
	tol := 0.06 * ref.Box.W
	assert.InDelta(t, ref.Box.X/2, h.Box.X, tol)
	assert.InDelta(t, ref.Box.Y/2, h.Box.Y, tol)
	assert.InDelta(t, ref.Box.W/2, h.Box.W, tol)
	assert.InDelta(t, ref.Landmarks[2].X/2, h.Landmarks[2].X, tol)

	// Landscape canvas, photo pasted at an offset.
	const ox, oy = 700, 40
	canvas := gocv.NewMatWithSize(img.Rows()+80, img.Cols()+1000, gocv.MatTypeCV8UC3)
	defer canvas.Close()
	roi := canvas.Region(image.Rect(ox, oy, ox+img.Cols(), oy+img.Rows()))
	img.CopyTo(&roi)
	roi.Close()
	cf, err := d.Detect(canvas)
	require.NoError(t, err)
	require.NotEmpty(t, cf)
	c := fmLargest(cf)
	tol = 0.1 * ref.Box.W // the face is smaller at detection scale here
	assert.InDelta(t, ref.Box.X+ox, c.Box.X, tol)
	assert.InDelta(t, ref.Box.Y+oy, c.Box.Y, tol)
	assert.InDelta(t, ref.Box.W, c.Box.W, tol)
	for i := range ref.Landmarks {
		assert.InDelta(t, ref.Landmarks[i].X+ox, c.Landmarks[i].X, tol)
		assert.InDelta(t, ref.Landmarks[i].Y+oy, c.Landmarks[i].Y, tol)
	}
}

func TestDetectInputTypes(t *testing.T) {
	fmMatLeakCheck(t)
	data := fmEnvDir(t, "HOVIYAT_DATA")
	d := fmDetector(t, FaceDetectorConfig{})
	img := fmReadImage(t, filepath.Join(data, "photos", "goface", "luda.jpg"))
	defer img.Close()
	gray, bgra := gocv.NewMat(), gocv.NewMat()
	defer gray.Close()
	defer bgra.Close()
	gocv.CvtColor(img, &gray, gocv.ColorBGRToGray)
	gocv.CvtColor(img, &bgra, gocv.ColorBGRToBGRA)
	for name, m := range map[string]gocv.Mat{"gray": gray, "bgra": bgra} {
		faces, err := d.Detect(m)
		require.NoError(t, err, name)
		assert.NotEmpty(t, faces, name)
	}
	empty := gocv.NewMat()
	defer empty.Close()
	_, err := d.Detect(empty)
	assert.ErrorIs(t, err, ErrImageUndecodable)
	f32 := gocv.NewMatWithSize(32, 32, gocv.MatTypeCV32F)
	defer f32.Close()
	_, err = d.Detect(f32)
	assert.Error(t, err)
	black := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC3)
	defer black.Close()
	faces, err := d.Detect(black)
	require.NoError(t, err)
	assert.Empty(t, faces, "a black frame has no face")
}

func TestDetectMaxFaces(t *testing.T) {
	fmMatLeakCheck(t)
	data := fmEnvDir(t, "HOVIYAT_DATA")
	d := fmDetector(t, FaceDetectorConfig{MaxFaces: 3})
	img := fmReadImage(t, filepath.Join(data, "photos", "goface", "pristin.jpg"))
	defer img.Close()
	faces, err := d.Detect(img)
	require.NoError(t, err)
	assert.Len(t, faces, 3)
}

// Frames of every genuine clip (portrait phone clips, landscape webcams,
// 160x160 LRS2) contain a face; the traffic clip none.
func TestDetectVideoFrames(t *testing.T) {
	fmMatLeakCheck(t)
	data := fmEnvDir(t, "HOVIYAT_DATA")
	d := fmDetector(t, FaceDetectorConfig{})
	clips, err := filepath.Glob(filepath.Join(data, "videos", "genuine", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, clips)
	clips = append(clips, filepath.Join(data, "videos", "negative", "n04_traffic_no_face_30s.mp4"))
	for _, clip := range clips {
		name := filepath.Base(clip)
		t.Run(name, func(t *testing.T) {
			vc, err := gocv.VideoCaptureFile(clip)
			require.NoError(t, err)
			defer vc.Close()
			frame := gocv.NewMat()
			defer frame.Close()
			seen, withFace := 0, 0
			for i := 0; i < 150 && vc.Read(&frame) && !frame.Empty(); i++ {
				if i%15 != 0 {
					continue
				}
				faces, err := d.Detect(frame)
				require.NoError(t, err)
				seen++
				if len(faces) > 0 {
					withFace++
				}
			}
			require.Positive(t, seen)
			if strings.HasPrefix(name, "n04") {
				assert.Zero(t, withFace, "faces found in a clip without faces")
				return
			}
			assert.GreaterOrEqual(t, float64(withFace), 0.9*float64(seen), "face found in %d of %d frames", withFace, seen)
		})
	}
}

func TestSuppressFaces(t *testing.T) {
	t.Parallel()
	mk := func(x, y, w, s float64) Face { return Face{Box: facematch.Rect{X: x, Y: y, W: w, H: w}, Score: s} }
	for _, tc := range []struct {
		name  string
		in    []Face
		thr   float64
		limit int
		want  []float64 // scores kept, in order
	}{
		{"empty", nil, 0.3, 0, nil},
		{"overlap keeps best", []Face{mk(0, 0, 10, 0.7), mk(1, 1, 10, 0.9)}, 0.3, 0, []float64{0.9}},
		{"disjoint keeps both sorted", []Face{mk(0, 0, 10, 0.7), mk(50, 50, 10, 0.9)}, 0.3, 0, []float64{0.9, 0.7}},
		{"touching is not overlap", []Face{mk(0, 0, 10, 0.7), mk(10, 0, 10, 0.8)}, 0.0, 0, []float64{0.8, 0.7}},
		{"limit", []Face{mk(0, 0, 5, 0.7), mk(20, 0, 5, 0.8), mk(40, 0, 5, 0.9)}, 0.3, 2, []float64{0.9, 0.8}},
		{"low overlap kept", []Face{mk(0, 0, 10, 0.7), mk(8, 0, 10, 0.8)}, 0.3, 0, []float64{0.8, 0.7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := suppressFaces(append([]Face(nil), tc.in...), tc.thr, tc.limit)
			var got []float64
			for _, f := range out {
				got = append(got, f.Score)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestRectIoU(t *testing.T) {
	t.Parallel()
	a := facematch.Rect{X: 0, Y: 0, W: 10, H: 10}
	assert.InDelta(t, 1.0, rectIoU(a, a), 1e-12)
	assert.InDelta(t, 25.0/175.0, rectIoU(a, facematch.Rect{X: 5, Y: 5, W: 10, H: 10}), 1e-12)
	assert.Zero(t, rectIoU(a, facematch.Rect{X: 20, Y: 0, W: 10, H: 10}))
	assert.Zero(t, rectIoU(facematch.Rect{}, facematch.Rect{}))
}

func BenchmarkDetect(b *testing.B) {
	data := fmEnvDir(b, "HOVIYAT_DATA")
	d := fmDetector(b, FaceDetectorConfig{})
	img := fmReadImage(b, filepath.Join(data, "photos", "goface", "jimin5.jpg")) // 1920x1080
	defer img.Close()
	for _, sz := range []image.Point{{640, 360}, {1280, 720}} {
		frame := gocv.NewMat()
		gocv.Resize(img, &frame, sz, 0, 0, gocv.InterpolationArea)
		b.Run(fmt.Sprintf("%dx%d", sz.X, sz.Y), func(b *testing.B) {
			cpu := fmCPU()
			for i := 0; i < b.N; i++ {
				faces, err := d.Detect(frame)
				if err != nil || len(faces) == 0 {
					b.Fatal("no face", err)
				}
			}
			fmReportCPU(b, cpu)
		})
		frame.Close()
	}
}

// fmCPU returns the process's user+system CPU time; benchmarks report it
// per op ("cpu-ns/op") because wall time is noisy on a shared machine.
func fmCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fmReportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(fmCPU()-start)/float64(b.N), "cpu-ns/op")
}
