package onnx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/vision"
)

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, MobileFaceNetSpec.Validate())
	require.NoError(t, SFaceSpec.Validate())
	mod := func(f func(*Spec)) Spec { s := MobileFaceNetSpec; f(&s); return s }
	for name, s := range map[string]Spec{
		"small input":     mod(func(s *Spec) { s.InputSize = 8 }),
		"colour":          mod(func(s *Spec) { s.Color = "yuv" }),
		"scale":           mod(func(s *Spec) { s.Scale = 0 }),
		"std zero":        mod(func(s *Spec) { s.Std[1] = 0 }),
		"mean nan":        mod(func(s *Spec) { s.Mean[2] = math.NaN() }),
		"template":        mod(func(s *Spec) { s.Template = [5]facematch.Point{} }),
		"thresholds":      mod(func(s *Spec) { s.Thresholds = facematch.Thresholds{Match: 0.2, ReviewFloor: 0.3} }),
		"negative embdim": mod(func(s *Spec) { s.EmbeddingSize = -1 }),
	} {
		err := s.Validate()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "onnx: ", name)
	}
}

// The pre-processing each Spec describes reaches the network exactly: an
// identity ONNX model returns its input.
func TestSpecPreprocessing(t *testing.T) {
	models := envDir(t, "HOVIYAT_MODELS")
	dir := t.TempDir()
	// A crop whose colour channels differ: B=10, G=100, R=200.
	crop := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(10, 100, 200, 0), 112, 112, gocv.MatTypeCV8UC3)
	defer crop.Close()
	for _, tc := range []struct {
		spec Spec
		want [3]float32 // per network channel
	}{
		{MobileFaceNetSpec, [3]float32{(200.0/255 - 0.485) / 0.229, (100.0/255 - 0.456) / 0.224, (10.0/255 - 0.406) / 0.225}},
		{SFaceSpec, [3]float32{200, 100, 10}},
		{Spec{Name: "bgr", InputSize: 112, Color: BGR, Scale: 0.5, Mean: [3]float64{1, 2, 3}, Std: [3]float64{2, 2, 2}, Template: vision.ArcFace112.Points},
			[3]float32{(5 - 1) / 2.0, (50 - 2) / 2.0, (100 - 3) / 2.0}},
	} {
		t.Run(tc.spec.Name, func(t *testing.T) {
			sp := tc.spec
			in, out := sp.InputName, sp.OutputName
			if in == "" {
				in = "data"
			}
			if out == "" {
				out = "fc1"
			}
			p := filepath.Join(dir, sp.Name+"-identity.onnx")
			require.NoError(t, os.WriteFile(p, identityONNX(in, out, 112), 0o600))
			sp.EmbeddingSize, sp.Normalize = 0, false
			w, err := newWorker(sp, p, vision.FaceDetectorConfig{ModelPath: filepath.Join(models, vision.YuNetFile)})
			require.NoError(t, err)
			defer w.close()
			got, err := w.embedAligned(crop)
			require.NoError(t, err)
			require.Len(t, got, 3*112*112)
			for c := 0; c < 3; c++ {
				assert.InDelta(t, tc.want[c], got[c*112*112], 1e-4, "channel %d first pixel", c)
				assert.InDelta(t, tc.want[c], got[(c+1)*112*112-1], 1e-4, "channel %d last pixel", c)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	_, err := New(Config{ModelsDir: empty})
	require.Error(t, err)
	assert.ErrorIs(t, err, vision.ErrModelMissing)
	assert.Contains(t, err.Error(), vision.MobileFaceNetFile)

	// A corrupt file under a known model name is refused before OpenCV
	// sees it (OpenCV would abort the process).
	bad := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bad, vision.MobileFaceNetFile), []byte("<html>"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(bad, vision.YuNetFile), []byte("<html>"), 0o600))
	_, err = New(Config{ModelsDir: bad})
	assert.ErrorIs(t, err, vision.ErrModelCorrupt)

	for name, cfg := range map[string]Config{
		"thresholds": {ModelsDir: empty, Thresholds: facematch.Thresholds{Match: 0.3, ReviewFloor: 0.5}},
		"workers":    {ModelsDir: empty, Workers: -1},
		"probes":     {ModelsDir: empty, MaxProbes: -2},
		"refscore":   {ModelsDir: empty, ReferenceMinScore: 2},
		"spec":       {ModelsDir: empty, Spec: Spec{Name: "x", File: "x.onnx"}},
	} {
		_, err := New(cfg)
		assert.Error(t, err, name)
		assert.NotErrorIs(t, err, vision.ErrModelMissing, name)
	}
}

type fixture struct {
	m      *Matcher
	det    *vision.FaceDetector
	data   string
	models string
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	models := envDir(t, "HOVIYAT_MODELS")
	data := envDir(t, "HOVIYAT_DATA")
	cfg.ModelsDir = models
	m, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	det, err := vision.NewFaceDetector(vision.FaceDetectorConfig{ModelPath: filepath.Join(models, vision.YuNetFile)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = det.Close() })
	return &fixture{m: m, det: det, data: data, models: models}
}

func (f *fixture) photo(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.data, "photos", rel))
	require.NoError(t, err)
	return b
}

// Video frames against stills: the same person across two sessions
// (g21, g24) matches; other people do not; the attack a01 shows g01.
func TestCompareVideoAgainstStills(t *testing.T) {
	matLeakCheck(t)
	f := newFixture(t, Config{Workers: 1})
	ctx := context.Background()
	g21 := videoProbes(t, f.det, clipPath(t, f.data, "g21"), 30, 10, 5)
	g24Still := facematch.Reference{Key: "g24", Photo: stillJPEG(t, clipPath(t, f.data, "g24"), 10)}
	g16Still := facematch.Reference{Key: "g16", Photo: stillJPEG(t, clipPath(t, f.data, "g16"), 10)}
	g01Still := facematch.Reference{Key: "g01", Photo: stillJPEG(t, clipPath(t, f.data, "g01"), 10)}

	same, err := f.m.Compare(ctx, g21, g24Still)
	require.NoError(t, err)
	assert.Equal(t, facematch.Match, same.Decision, "g21 vs g24: %.3f", same.Similarity)
	assert.Greater(t, same.Similarity, 0.7)
	assert.Len(t, same.PerProbe, 5)
	assert.True(t, sortedDesc(same.PerProbe))
	assert.Equal(t, f.m.Model(), same.Model)
	assert.Contains(t, same.Model, "mobilefacenet_foamliu_opset10@8cba0c9041fe")
	assert.InDelta(t, MobileFaceNetSpec.Thresholds.Match, same.Threshold, 0)
	assert.InDelta(t, MobileFaceNetSpec.Thresholds.ReviewFloor, same.ReviewFloor, 0)
	// Fused: the mean of the 3 best.
	assert.InDelta(t, (same.PerProbe[0]+same.PerProbe[1]+same.PerProbe[2])/3, same.Similarity, 1e-9)

	other, err := f.m.Compare(ctx, g21, g16Still)
	require.NoError(t, err)
	assert.Equal(t, facematch.NonMatch, other.Decision, "g21 vs g16: %.3f", other.Similarity)
	assert.Less(t, other.Similarity, 0.3)

	a01 := videoProbes(t, f.det, clipPath(t, f.data, "a01"), 30, 10, 3)
	atk, err := f.m.Compare(ctx, a01, g01Still)
	require.NoError(t, err)
	assert.Equal(t, facematch.Match, atk.Decision, "a01 shows g01: matching succeeds, liveness must reject")
}

func sortedDesc(xs []float64) bool {
	for i := 1; i < len(xs); i++ {
		if xs[i] > xs[i-1] {
			return false
		}
	}
	return true
}

// Photo pairs from the deepface set: labelled same and different people.
func TestComparePhotoPairs(t *testing.T) {
	matLeakCheck(t)
	f := newFixture(t, Config{Workers: 1})
	ctx := context.Background()
	probeOf := func(name string) facematch.Probe {
		img, err := vision.DecodeImage(f.photo(t, filepath.Join("deepface", name)))
		require.NoError(t, err)
		defer img.Close()
		return faceProbe(t, f.det, img)
	}
	for _, tc := range []struct {
		a, b string
		want facematch.Decision
	}{
		{"img20.jpg", "img21.jpg", facematch.Match},
		{"img16.jpg", "img17.jpg", facematch.Match},
		{"img22.jpg", "img23.jpg", facematch.Match},
		{"img1.jpg", "img2.jpg", facematch.Match},
		{"img1.jpg", "img16.jpg", facematch.NonMatch},
		{"img20.jpg", "img22.jpg", facematch.NonMatch},
	} {
		sc, err := f.m.Compare(ctx, []facematch.Probe{probeOf(tc.a)}, facematch.Reference{Photo: f.photo(t, filepath.Join("deepface", tc.b))})
		require.NoError(t, err)
		assert.Equal(t, tc.want, sc.Decision, "%s vs %s: %.3f", tc.a, tc.b, sc.Similarity)
	}
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}))
	return b.Bytes()
}

// withOrientation inserts an EXIF APP1 segment with the given Orientation.
func withOrientation(jpg []byte, o uint16) []byte {
	tiff := []byte{'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(tiff[18:], o)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(append(out, seg...), payload...)
	return append(out, jpg[2:]...)
}

func TestReferenceEXIFOrientation(t *testing.T) {
	matLeakCheck(t)
	f := newFixture(t, Config{Workers: 1, CacheSize: -1})
	ctx := context.Background()
	upright := f.photo(t, "deepface/img1.jpg")
	img, err := vision.DecodeImage(upright)
	require.NoError(t, err)
	defer img.Close()
	probe := faceProbe(t, f.det, img)

	// The same photo stored rotated 90° clockwise... with Orientation 8
	// (rotate 90° counter-clockwise to display) it is upright again.
	rot := gocv.NewMat()
	defer rot.Close()
	gocv.Rotate(img, &rot, gocv.Rotate90Clockwise)
	rimg, err := vision.MatToImage(rot)
	require.NoError(t, err)
	stored := jpegBytes(t, rimg)

	base, err := f.m.Compare(ctx, []facematch.Probe{probe}, facematch.Reference{Photo: jpegBytes(t, mustImage(t, img))})
	require.NoError(t, err)
	tagged, err := f.m.Compare(ctx, []facematch.Probe{probe}, facematch.Reference{Photo: withOrientation(stored, 8)})
	require.NoError(t, err)
	assert.InDelta(t, base.Similarity, tagged.Similarity, 0.03, "EXIF orientation not honoured")
	assert.Equal(t, facematch.Match, tagged.Decision)

	// Without the tag the face lies on its side: found or not, it does
	// not give the upright template.
	untagged, err := f.m.Compare(ctx, []facematch.Probe{probe}, facematch.Reference{Photo: stored})
	if err == nil {
		assert.Less(t, untagged.Similarity, base.Similarity-0.1)
	} else {
		assert.ErrorIs(t, err, facematch.ErrReferenceUnusable)
	}
}

func mustImage(t testing.TB, m gocv.Mat) image.Image {
	t.Helper()
	img, err := vision.MatToImage(m)
	require.NoError(t, err)
	return img
}

func TestReferenceUnusable(t *testing.T) {
	matLeakCheck(t)
	f := newFixture(t, Config{Workers: 1})
	ctx := context.Background()
	img, err := vision.DecodeImage(f.photo(t, "deepface/img1.jpg"))
	require.NoError(t, err)
	probe := faceProbe(t, f.det, img)
	img.Close()
	grey := image.NewRGBA(image.Rect(0, 0, 640, 480))
	draw.Draw(grey, grey.Bounds(), image.NewUniform(color.RGBA{120, 120, 120, 255}), image.Point{}, draw.Src)
	for name, photo := range map[string][]byte{
		"group photo":     f.photo(t, "goface/pristin.jpg"),
		"profile":         f.photo(t, "goface/jimin3.jpg"),
		"no face":         jpegBytes(t, grey),
		"not an image":    []byte("<html>registry error page</html>"),
		"empty":           nil,
		"truncated jpeg":  f.photo(t, "deepface/img2.jpg")[:400],
		"too large input": make([]byte, DefaultMaxReferenceBytes+1),
	} {
		_, err := f.m.Compare(ctx, []facematch.Probe{probe}, facematch.Reference{Key: "", Photo: photo})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, facematch.ErrReferenceUnusable, name)
	}
}

// A cached reference is not decoded again: a later call with the same Key
// and unreadable bytes still compares against the cached template.
func TestReferenceCache(t *testing.T) {
	matLeakCheck(t)
	f := newFixture(t, Config{Workers: 1, CacheSize: 2})
	ctx := context.Background()
	img, err := vision.DecodeImage(f.photo(t, "deepface/img2.jpg"))
	require.NoError(t, err)
	probe := faceProbe(t, f.det, img)
	img.Close()
	ref := facematch.Reference{Key: "nid:1", Photo: f.photo(t, "deepface/img1.jpg")}
	first, err := f.m.Compare(ctx, []facematch.Probe{probe}, ref)
	require.NoError(t, err)
	second, err := f.m.Compare(ctx, []facematch.Probe{probe}, facematch.Reference{Key: "nid:1", Photo: []byte("gone")})
	require.NoError(t, err)
	assert.InDelta(t, first.Similarity, second.Similarity, 1e-9)
	assert.Equal(t, 1, f.m.cache.len())
	// Evicted after two other keys: the bytes are needed again.
	for _, k := range []string{"nid:2", "nid:3"} {
		_, err := f.m.Compare(ctx, []facematch.Probe{probe}, facematch.Reference{Key: k, Photo: ref.Photo})
		require.NoError(t, err)
	}
	assert.Equal(t, 2, f.m.cache.len())
	_, err = f.m.Compare(ctx, []facematch.Probe{probe}, facematch.Reference{Key: "nid:1", Photo: []byte("gone")})
	assert.ErrorIs(t, err, facematch.ErrReferenceUnusable)
	// Empty keys are never cached.
	_, err = f.m.Compare(ctx, []facematch.Probe{probe}, facematch.Reference{Photo: ref.Photo})
	require.NoError(t, err)
	assert.Equal(t, 2, f.m.cache.len())
}

// A probe given as a SubImage (landmarks in the parent's coordinates)
// embeds like the same crop at the origin.
func TestProbeSubImage(t *testing.T) {
	f := newFixture(t, Config{Workers: 1})
	ctx := context.Background()
	img, err := vision.DecodeImage(f.photo(t, "deepface/img1.jpg"))
	require.NoError(t, err)
	p := faceProbe(t, f.det, img)
	img.Close()
	full := p.Image.(*image.RGBA)
	b := p.Box
	r := image.Rect(int(b.X-b.W/2), int(b.Y-b.H/2), int(b.X+1.5*b.W), int(b.Y+1.5*b.H)).Intersect(full.Bounds())
	sub := p
	sub.Image = full.SubImage(r)
	moved := p
	crop := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(crop, crop.Bounds(), full, r.Min, draw.Src)
	moved.Image = crop
	for i := range moved.Landmarks {
		moved.Landmarks[i].X -= float64(r.Min.X)
		moved.Landmarks[i].Y -= float64(r.Min.Y)
	}
	embs, err := f.m.EmbedProbes(ctx, []facematch.Probe{sub, moved, p})
	require.NoError(t, err)
	assert.InDelta(t, 1, facematch.Cosine(embs[0], embs[1]), 1e-5)
	assert.Greater(t, facematch.Cosine(embs[0], embs[2]), 0.98)
}

func TestCompareProbeErrors(t *testing.T) {
	f := newFixture(t, Config{Workers: 1})
	ctx := context.Background()
	ref := facematch.Reference{Photo: f.photo(t, "deepface/img1.jpg")}
	_, err := f.m.Compare(ctx, nil, ref)
	assert.ErrorIs(t, err, facematch.ErrNoProbes)
	_, err = f.m.Compare(ctx, []facematch.Probe{{Landmarks: vision.ArcFace112.Points}, {Image: image.NewRGBA(image.Rect(0, 0, 50, 50))}}, ref)
	assert.ErrorIs(t, err, facematch.ErrNoProbes)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	probe := facematch.Probe{Image: image.NewRGBA(image.Rect(0, 0, 112, 112)), Landmarks: vision.ArcFace112.Points}
	_, err = f.m.Compare(cancelled, []facematch.Probe{probe}, ref)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSelectProbes(t *testing.T) {
	t.Parallel()
	m := &Matcher{cfg: Config{MaxProbes: 3, MaxYaw: 30, MaxPitch: 25}}
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	// Landmarks with a given yaw: shift the nose sideways.
	withYaw := func(yaw float64) facematch.Probe {
		lm := vision.ArcFace112.Points
		lm[2].Y = lm[0].Y + 0.56*(lm[3].Y-lm[0].Y) // YuNet-frontal pitch
		iod := lm[1].X - lm[0].X
		lm[2].X = (lm[0].X+lm[1].X)/2 + iod*0.45*math.Tan(yaw*math.Pi/180)
		return facematch.Probe{Image: img, Landmarks: lm}
	}
	for _, tc := range []struct {
		name   string
		probes []facematch.Probe
		want   []int
	}{
		{"frontal first three", []facematch.Probe{withYaw(0), withYaw(5), withYaw(-10), withYaw(2)}, []int{0, 1, 2}},
		{"skip turned", []facematch.Probe{withYaw(50), withYaw(5), withYaw(-45), withYaw(2)}, []int{1, 3}},
		{"none frontal: most frontal", []facematch.Probe{withYaw(70), withYaw(40), withYaw(-50), withYaw(60)}, []int{1, 2, 3}},
		{"skip no image", []facematch.Probe{{Landmarks: withYaw(0).Landmarks}, withYaw(0)}, []int{1}},
		{"skip degenerate", []facematch.Probe{{Image: img}, withYaw(3)}, []int{1}},
		{"nothing usable", []facematch.Probe{{Image: img}}, nil},
	} {
		assert.Equal(t, tc.want, m.SelectProbes(tc.probes), tc.name)
	}
}

// Concurrent Compare calls on a pool smaller than the callers give the
// same answers as sequential ones (run with -race).
func TestCompareConcurrent(t *testing.T) {
	f := newFixture(t, Config{Workers: 2})
	ctx := context.Background()
	var probes []facematch.Probe
	for _, n := range []string{"img1.jpg", "img2.jpg", "img16.jpg", "img20.jpg"} {
		img, err := vision.DecodeImage(f.photo(t, filepath.Join("deepface", n)))
		require.NoError(t, err)
		probes = append(probes, faceProbe(t, f.det, img))
		img.Close()
	}
	refs := []facematch.Reference{
		{Key: "a", Photo: f.photo(t, "deepface/img4.jpg")},
		{Key: "b", Photo: f.photo(t, "deepface/img17.jpg")},
	}
	want := make([][]float64, len(probes))
	for i, p := range probes {
		for _, r := range refs {
			sc, err := f.m.Compare(ctx, []facematch.Probe{p}, r)
			require.NoError(t, err)
			want[i] = append(want[i], sc.Similarity)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 4; k++ {
				i, j := (g+k)%len(probes), (g*k)%len(refs)
				sc, err := f.m.Compare(ctx, []facematch.Probe{probes[i]}, refs[j])
				if err != nil {
					errs <- err
					return
				}
				if math.Abs(sc.Similarity-want[i][j]) > 1e-6 {
					errs <- errors.New("different result under concurrency")
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

// Workers bound the parallelism: with one worker busy, a second caller
// waits until its context expires.
func TestComparePoolBackpressure(t *testing.T) {
	f := newFixture(t, Config{Workers: 1})
	w := <-f.m.pool // hold the only worker
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	probe := facematch.Probe{Image: image.NewRGBA(image.Rect(0, 0, 112, 112)), Landmarks: vision.ArcFace112.Points}
	_, err := f.m.Compare(ctx, []facematch.Probe{probe}, facematch.Reference{Photo: f.photo(t, "deepface/img1.jpg")})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	f.m.pool <- w
}

func TestCloseIdempotent(t *testing.T) {
	matLeakCheck(t)
	models := envDir(t, "HOVIYAT_MODELS")
	m, err := New(Config{ModelsDir: models, Workers: 2})
	require.NoError(t, err)
	require.NoError(t, m.Close())
	require.NoError(t, m.Close())
	probe := facematch.Probe{Image: image.NewRGBA(image.Rect(0, 0, 112, 112)), Landmarks: vision.ArcFace112.Points}
	_, err = m.Compare(context.Background(), []facematch.Probe{probe}, facematch.Reference{Photo: []byte("x")})
	assert.ErrorIs(t, err, ErrClosed)
	_, err = m.EmbedReference(context.Background(), facematch.Reference{Photo: []byte("x")})
	assert.ErrorIs(t, err, ErrClosed)
}

func TestLRU(t *testing.T) {
	t.Parallel()
	c := newLRU(2)
	c.put("a", []float32{1})
	c.put("b", []float32{2})
	_, ok := c.get("a") // a is now most recent
	require.True(t, ok)
	c.put("c", []float32{3}) // evicts b
	_, ok = c.get("b")
	assert.False(t, ok)
	v, ok := c.get("a")
	assert.True(t, ok)
	assert.Equal(t, []float32{1}, v)
	c.put("a", []float32{9})
	v, _ = c.get("a")
	assert.Equal(t, []float32{9}, v)
	assert.Equal(t, 2, c.len())
	off := newLRU(0)
	off.put("x", []float32{1})
	assert.Equal(t, 0, off.len())
}

func TestPickMainFace(t *testing.T) {
	t.Parallel()
	rules := referenceRules{minScore: 0.75, minEyeDist: 20, maxYaw: 45, ambiguity: 0.6}
	face := func(x, y, size, score float64) vision.Face {
		f := vision.Face{Box: facematch.Rect{X: x, Y: y, W: size, H: size * 1.2}, Score: score}
		for i, p := range vision.ArcFace112.Points {
			f.Landmarks[i] = facematch.Point{X: x + p.X*size/112, Y: y + p.Y*size/112}
		}
		f.Landmarks[2].Y = f.Landmarks[0].Y + 0.56*(f.Landmarks[3].Y-f.Landmarks[0].Y)
		return f
	}
	for _, tc := range []struct {
		name    string
		faces   []vision.Face
		wantX   float64 // X of the chosen face; <0 means unusable
		wantMsg string
	}{
		{"single", []vision.Face{face(300, 200, 200, 0.9)}, 300, ""},
		{"weak ignored", []vision.Face{face(300, 200, 200, 0.9), face(0, 0, 300, 0.65)}, 300, ""},
		{"small background face", []vision.Face{face(50, 50, 60, 0.9), face(300, 200, 200, 0.9)}, 300, ""},
		{"central beats a smaller corner face", []vision.Face{face(0, 0, 110, 0.9), face(330, 230, 140, 0.9)}, 330, ""},
		{"larger corner face is ambiguous", []vision.Face{face(0, 0, 160, 0.9), face(330, 230, 140, 0.9)}, -1, "comparable faces"},
		{"two comparable", []vision.Face{face(100, 200, 180, 0.9), face(500, 200, 180, 0.9)}, -1, "comparable faces"},
		{"none", nil, -1, "no face"},
		{"only weak", []vision.Face{face(300, 200, 200, 0.7)}, -1, "no face"},
		{"too small", []vision.Face{face(380, 280, 40, 0.9)}, -1, "too small"},
	} {
		f, err := pickMainFace(tc.faces, 800, 600, rules)
		if tc.wantX < 0 {
			require.Error(t, err, tc.name)
			assert.ErrorIs(t, err, facematch.ErrReferenceUnusable, tc.name)
			assert.Contains(t, err.Error(), tc.wantMsg, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		assert.InDelta(t, tc.wantX, f.Box.X, 0, tc.name)
	}
	turned := face(300, 200, 200, 0.9)
	turned.Landmarks[2].X += 150
	_, err := pickMainFace([]vision.Face{turned}, 800, 600, rules)
	assert.ErrorContains(t, err, "turned")
}

// Only the part of a probe image the alignment samples is converted; the
// aligned crop is the same as from the whole image.
func TestAlignedSourceCrop(t *testing.T) {
	matLeakCheck(t)
	f := newFixture(t, Config{Workers: 1})
	img, err := vision.DecodeImage(f.photo(t, "deepface/img2.jpg")) // 1536x1152
	require.NoError(t, err)
	defer img.Close()
	p := faceProbe(t, f.det, img)
	r, ok := alignedSource(p.Landmarks, vision.ArcFace112, p.Image.Bounds())
	require.True(t, ok)
	assert.Less(t, r.Dx()*r.Dy(), p.Image.Bounds().Dx()*p.Image.Bounds().Dy()/4, "crop %v", r)

	whole, err := vision.AlignFace(img, p.Landmarks, vision.ArcFace112)
	require.NoError(t, err)
	defer whole.Close()
	sub, err := vision.ImageToMat(p.Image.(*image.RGBA).SubImage(r))
	require.NoError(t, err)
	defer sub.Close()
	lm := p.Landmarks
	for i := range lm {
		lm[i].X -= float64(r.Min.X)
		lm[i].Y -= float64(r.Min.Y)
	}
	cropped, err := vision.AlignFace(sub, lm, vision.ArcFace112)
	require.NoError(t, err)
	defer cropped.Close()
	a, err := whole.DataPtrUint8()
	require.NoError(t, err)
	b, err := cropped.DataPtrUint8()
	require.NoError(t, err)
	require.Equal(t, len(a), len(b))
	worst := 0
	for i := range a {
		worst = max(worst, int(a[i])-int(b[i]), int(b[i])-int(a[i]))
	}
	assert.LessOrEqual(t, worst, 2, "aligned crops differ")

	// Landmarks covering the whole image: no crop.
	_, ok = alignedSource(vision.ArcFace112.Points, vision.ArcFace112, image.Rect(0, 0, 112, 112))
	assert.False(t, ok)
}

// With a second idle worker, Compare embeds the probes on both; the
// similarities are the one-worker ones, in the same probe order, and
// errors are reported the same way.
func TestCompareTwoWorkersEqualsOne(t *testing.T) {
	one := newFixture(t, Config{Workers: 1})
	two := newFixture(t, Config{Workers: 2})
	ctx := context.Background()
	g21 := videoProbes(t, one.det, clipPath(t, one.data, "g21"), 30, 10, 5)
	for _, key := range []string{"g24", ""} { // cached, then uncached (the helper waits for it)
		ref := facematch.Reference{Key: key, Photo: stillJPEG(t, clipPath(t, one.data, "g24"), 10)}
		want, err := one.m.Compare(ctx, g21, ref)
		require.NoError(t, err)
		for round := 0; round < 3; round++ {
			got, err := two.m.Compare(ctx, g21, ref)
			require.NoError(t, err)
			assert.Equal(t, want.PerProbe, got.PerProbe, "key %q", key)
			assert.Equal(t, want.Similarity, got.Similarity, "key %q", key)
		}
	}
	_, err := two.m.Compare(ctx, g21, facematch.Reference{Photo: []byte("not an image")})
	assert.ErrorIs(t, err, facematch.ErrReferenceUnusable)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = two.m.Compare(cancelled, g21, facematch.Reference{Key: "g24"})
	assert.ErrorIs(t, err, context.Canceled)
	// Both workers are back in the pool.
	assert.Len(t, two.m.pool, 2)
}

// Idle workers that help embed the probes of one Compare give the same
// fused score as a single worker doing it all, and a reference that
// cannot be used stops the helpers without leaking a worker.
func TestCompareHelpersSameScore(t *testing.T) {
	one := newFixture(t, Config{Workers: 1, CacheSize: -1, MaxProbes: 4, TopK: 4})
	three := newFixture(t, Config{Workers: 3, CacheSize: -1, MaxProbes: 4, TopK: 4})
	ctx := context.Background()
	var probes []facematch.Probe
	for _, n := range []string{"img1.jpg", "img2.jpg", "img16.jpg", "img20.jpg"} {
		img, err := vision.DecodeImage(one.photo(t, filepath.Join("deepface", n)))
		require.NoError(t, err)
		probes = append(probes, faceProbe(t, one.det, img))
		img.Close()
	}
	ref := facematch.Reference{Key: "r", Photo: one.photo(t, "deepface/img4.jpg")}
	want, err := one.m.Compare(ctx, probes, ref)
	require.NoError(t, err)
	got, err := three.m.Compare(ctx, probes, ref)
	require.NoError(t, err)
	assert.InDelta(t, want.Similarity, got.Similarity, 1e-9)
	assert.Equal(t, want.Decision, got.Decision)

	_, err = three.m.Compare(ctx, probes, facematch.Reference{Key: "bad", Photo: []byte("not a jpeg")})
	require.ErrorIs(t, err, facematch.ErrReferenceUnusable)
	assert.Len(t, three.m.pool, 3, "every worker is back in the pool")
}
