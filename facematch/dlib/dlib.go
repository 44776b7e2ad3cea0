package dlib

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"sync"

	face "github.com/Kagami/go-face"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/vision"
)

// ModelsEnv names the directory holding the dlib model files.
const ModelsEnv = "HOVIYAT_DLIB_MODELS"

// ModelFiles are the files go-face loads from the models directory.
var ModelFiles = []string{
	"shape_predictor_5_face_landmarks.dat",
	"dlib_face_recognition_resnet_model_v1.dat",
	"mmod_human_face_detector.dat",
}

// DefaultThresholds are dlib's published operating point (distance 0.6,
// similarity 0.4) as the review floor and a stricter distance of 0.5 for
// Match. They are NOT calibrated on Hoviyat's data (the models were not
// available): calibrate before relying on them.
var DefaultThresholds = facematch.Thresholds{Match: 0.5, ReviewFloor: 0.4}

// Config configures New. Zero values mean the documented defaults.
type Config struct {
	// ModelsDir holds ModelFiles; default $HOVIYAT_DLIB_MODELS.
	ModelsDir string
	// Thresholds on the fused similarity; zero value: DefaultThresholds.
	Thresholds facematch.Thresholds
	// Workers bounds concurrent comparisons; default 2.
	Workers int
	// MaxProbes, TopK, MaxYaw and MaxPitch select and fuse probes as in
	// facematch/onnx: defaults 5, 3, 30° and 25°.
	MaxProbes int
	TopK      int
	MaxYaw    float64
	MaxPitch  float64
	// CNN uses dlib's CNN face detector instead of HOG (slower, finds
	// more faces in poor conditions).
	CNN bool
	// Jittering > 0 averages the descriptor over that many jittered
	// copies (dlib's "num_jitters"; slower, slightly more accurate).
	Jittering int
	// CacheSize bounds the reference cache (by Reference.Key); default
	// 1024, negative disables it.
	CacheSize int
	// MaxReferenceBytes bounds the reference photo; default 10 MiB.
	MaxReferenceBytes int
}

// ErrModelsMissing matches the error of New when the models directory or
// one of its files is missing.
var ErrModelsMissing = errors.New("dlib: models missing")

// ErrClosed is returned by calls on a closed Matcher.
var ErrClosed = errors.New("dlib: matcher closed")

// Matcher compares probes with a reference photo using go-face. It is safe
// for concurrent use.
type Matcher struct {
	cfg   Config
	rec   *face.Recognizer
	sem   chan struct{}
	fuse  facematch.Fusion
	model string

	cacheMu sync.Mutex
	cache   map[string][]float32
	order   []string // insertion order, for a simple bounded cache

	mu     sync.Mutex
	closed bool
	active sync.WaitGroup
}

var _ facematch.Matcher = (*Matcher)(nil)

// New loads the dlib models. It returns an error wrapping
// ErrModelsMissing, naming the files and the environment variable, when
// they are not there.
func New(cfg Config) (*Matcher, error) {
	if cfg.ModelsDir == "" {
		cfg.ModelsDir = os.Getenv(ModelsEnv)
	}
	if cfg.Thresholds == (facematch.Thresholds{}) {
		cfg.Thresholds = DefaultThresholds
	}
	if err := cfg.Thresholds.Validate(); err != nil {
		return nil, fmt.Errorf("dlib: %w", err)
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defF := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.Workers, 2)
	def(&cfg.MaxProbes, 5)
	def(&cfg.TopK, 3)
	def(&cfg.CacheSize, 1024)
	def(&cfg.MaxReferenceBytes, 10<<20)
	defF(&cfg.MaxYaw, 30)
	defF(&cfg.MaxPitch, 25)
	if cfg.Workers < 1 || cfg.MaxProbes < 1 || cfg.TopK < 1 || cfg.Jittering < 0 || cfg.MaxYaw < 0 || cfg.MaxPitch < 0 {
		return nil, fmt.Errorf("dlib: invalid config %+v", cfg)
	}
	if err := CheckModels(cfg.ModelsDir); err != nil {
		return nil, err
	}
	rec, err := face.NewRecognizerWithConfig(cfg.ModelsDir, 150, 0.25, cfg.Jittering)
	if err != nil {
		return nil, fmt.Errorf("dlib: loading models from %s: %w", cfg.ModelsDir, err)
	}
	model := "dlib_face_recognition_resnet_model_v1"
	if id, err := vision.ModelID(filepath.Join(cfg.ModelsDir, ModelFiles[1])); err == nil {
		model = id
	}
	return &Matcher{
		cfg:   cfg,
		rec:   rec,
		sem:   make(chan struct{}, cfg.Workers),
		fuse:  facematch.MeanTopK(cfg.TopK),
		model: model,
		cache: map[string][]float32{},
	}, nil
}

// CheckModels reports, as an error wrapping ErrModelsMissing, whether dir
// lacks any of ModelFiles; it names the directory, the missing files and
// where to get them.
func CheckModels(dir string) error {
	if dir == "" {
		return fmt.Errorf("%w: no models directory: set $%s to a directory holding %v (from http://dlib.net/files/ or github.com/Kagami/go-face-testdata)", ErrModelsMissing, ModelsEnv, ModelFiles)
	}
	var missing []string
	for _, f := range ModelFiles {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || !fi.Mode().IsRegular() {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s lacks %v (set $%s; get them from http://dlib.net/files/ or github.com/Kagami/go-face-testdata)", ErrModelsMissing, dir, missing, ModelsEnv)
	}
	return nil
}

// Model returns the descriptor model's ID.
func (m *Matcher) Model() string { return m.model }

// Thresholds returns the thresholds in force.
func (m *Matcher) Thresholds() facematch.Thresholds { return m.cfg.Thresholds }

// Similarity is 1 - the Euclidean distance between two descriptors.
func (m *Matcher) Similarity(a, b []float32) float64 { return Similarity(a, b) }

// Similarity is 1 - the Euclidean distance between two descriptors (NaN
// for different lengths).
func Similarity(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return 1 - math.Sqrt(s)
}

// Compare describes the selected probes and the reference's subject and
// returns the fused similarity with its Decision. Errors are those of
// facematch.Matcher, plus ErrClosed.
func (m *Matcher) Compare(ctx context.Context, probes []facematch.Probe, ref facematch.Reference) (facematch.Score, error) {
	if len(probes) == 0 {
		return facematch.Score{}, facematch.ErrNoProbes
	}
	sel := m.SelectProbes(probes)
	if len(sel) == 0 {
		return facematch.Score{}, fmt.Errorf("%w: none of %d probes has an image and landmarks", facematch.ErrNoProbes, len(probes))
	}
	var sims []float64
	err := m.run(ctx, func() error {
		r, err := m.reference(ref)
		if err != nil {
			return err
		}
		for _, i := range sel {
			if err := ctx.Err(); err != nil {
				return err
			}
			d, err := m.describeProbe(probes[i])
			if err != nil {
				return err
			}
			if d != nil {
				sims = append(sims, Similarity(d, r))
			}
		}
		return nil
	})
	if err != nil {
		return facematch.Score{}, err
	}
	if len(sims) == 0 {
		return facematch.Score{}, fmt.Errorf("%w: dlib found no face in the %d selected probes", facematch.ErrNoProbes, len(sel))
	}
	return m.Score(sims), nil
}

// Score fuses per-probe similarities and decides, as Compare does.
func (m *Matcher) Score(sims []float64) facematch.Score {
	fused := m.fuse(sims)
	if math.IsNaN(fused) {
		fused = -1
	}
	return facematch.Score{
		Similarity:  fused,
		Decision:    m.cfg.Thresholds.Decide(fused),
		Threshold:   m.cfg.Thresholds.Match,
		ReviewFloor: m.cfg.Thresholds.ReviewFloor,
		PerProbe:    facematch.SortDesc(sims),
		Model:       m.model,
	}
}

// SelectProbes returns the indices of the probes Compare describes: in
// order, those with an image whose landmark pose is within MaxYaw and
// MaxPitch, at most MaxProbes (the most frontal ones if none is).
func (m *Matcher) SelectProbes(probes []facematch.Probe) []int {
	var sel, usable []int
	off := make([]float64, len(probes))
	for i, p := range probes {
		if p.Image == nil || p.Image.Bounds().Empty() {
			continue
		}
		yaw, pitch, _ := vision.HeadPose(p.Landmarks)
		off[i] = math.Max(math.Abs(yaw)/m.cfg.MaxYaw, math.Abs(pitch)/m.cfg.MaxPitch)
		usable = append(usable, i)
		if off[i] <= 1 && len(sel) < m.cfg.MaxProbes {
			sel = append(sel, i)
		}
	}
	if len(sel) > 0 || len(usable) == 0 {
		return sel
	}
	for len(sel) < m.cfg.MaxProbes && len(usable) > 0 {
		best := 0
		for j := range usable {
			if off[usable[j]] < off[usable[best]] {
				best = j
			}
		}
		sel = append(sel, usable[best])
		usable = append(usable[:best], usable[best+1:]...)
	}
	return sel
}

// EmbedReference returns the descriptor of ref's subject (cached by Key).
func (m *Matcher) EmbedReference(ctx context.Context, ref facematch.Reference) ([]float32, error) {
	var out []float32
	err := m.run(ctx, func() error {
		var err error
		out, err = m.reference(ref)
		return err
	})
	return out, err
}

// EmbedProbes describes every probe; nil where dlib finds no face.
func (m *Matcher) EmbedProbes(ctx context.Context, probes []facematch.Probe) ([][]float32, error) {
	out := make([][]float32, len(probes))
	err := m.run(ctx, func() error {
		for i, p := range probes {
			if err := ctx.Err(); err != nil {
				return err
			}
			if p.Image == nil {
				continue
			}
			d, err := m.describeProbe(p)
			if err != nil {
				return err
			}
			out[i] = d
		}
		return nil
	})
	return out, err
}

// Close frees the models after calls in flight finish. Idempotent.
func (m *Matcher) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.active.Wait()
	m.rec.Close()
	return nil
}

func (m *Matcher) run(ctx context.Context, fn func() error) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	m.active.Add(1)
	m.mu.Unlock()
	defer m.active.Done()
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-m.sem }()
	return fn()
}

func (m *Matcher) recognize(jpg []byte) ([]face.Face, error) {
	if m.cfg.CNN {
		return m.rec.RecognizeCNN(jpg)
	}
	return m.rec.Recognize(jpg)
}

func (m *Matcher) reference(ref facematch.Reference) ([]float32, error) {
	if ref.Key != "" && m.cfg.CacheSize > 0 {
		m.cacheMu.Lock()
		d, ok := m.cache[ref.Key]
		m.cacheMu.Unlock()
		if ok {
			return d, nil
		}
	}
	if len(ref.Photo) > m.cfg.MaxReferenceBytes {
		return nil, fmt.Errorf("%w: photo of %d bytes exceeds %d", facematch.ErrReferenceUnusable, len(ref.Photo), m.cfg.MaxReferenceBytes)
	}
	// Decode with EXIF orientation applied, then hand go-face a JPEG.
	mat, err := vision.DecodeImage(ref.Photo)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", facematch.ErrReferenceUnusable, err)
	}
	img, err := vision.MatToImage(mat)
	mat.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", facematch.ErrReferenceUnusable, err)
	}
	jpg, err := encodeJPEG(img)
	if err != nil {
		return nil, err
	}
	faces, err := m.recognize(jpg)
	if err != nil {
		return nil, fmt.Errorf("%w: dlib: %w", facematch.ErrReferenceUnusable, err)
	}
	boxes := make([]facematch.Rect, len(faces))
	for i, f := range faces {
		boxes[i] = rectOf(f.Rectangle)
	}
	b := img.Bounds()
	i, err := facematch.MainFace(boxes, b.Dx(), b.Dy(), 0)
	if err != nil {
		return nil, err
	}
	d := append([]float32(nil), faces[i].Descriptor[:]...)
	if ref.Key != "" && m.cfg.CacheSize > 0 {
		m.cacheMu.Lock()
		if _, ok := m.cache[ref.Key]; !ok {
			m.order = append(m.order, ref.Key)
		}
		m.cache[ref.Key] = d
		for len(m.order) > m.cfg.CacheSize {
			delete(m.cache, m.order[0])
			m.order = m.order[1:]
		}
		m.cacheMu.Unlock()
	}
	return d, nil
}

// describeProbe returns the descriptor of the face dlib finds that best
// overlaps the probe's box, or nil when it finds none.
func (m *Matcher) describeProbe(p facematch.Probe) ([]float32, error) {
	jpg, err := encodeJPEG(p.Image)
	if err != nil {
		return nil, err
	}
	faces, err := m.recognize(jpg)
	if err != nil {
		var le face.ImageLoadError
		if errors.As(err, &le) {
			return nil, nil
		}
		return nil, fmt.Errorf("dlib: %w", err)
	}
	if len(faces) == 0 {
		return nil, nil
	}
	min := p.Image.Bounds().Min
	box := p.Box
	box.X -= float64(min.X)
	box.Y -= float64(min.Y)
	best, bestIoU := -1, -1.0
	for i, f := range faces {
		iou := overlap(rectOf(f.Rectangle), box)
		if box.W <= 0 || box.H <= 0 {
			iou = float64(f.Rectangle.Dx() * f.Rectangle.Dy()) // no box: the largest face
		}
		if iou > bestIoU {
			best, bestIoU = i, iou
		}
	}
	return append([]float32(nil), faces[best].Descriptor[:]...), nil
}

func rectOf(r image.Rectangle) facematch.Rect {
	return facematch.Rect{X: float64(r.Min.X), Y: float64(r.Min.Y), W: float64(r.Dx()), H: float64(r.Dy())}
}

func overlap(a, b facematch.Rect) float64 {
	x0, y0 := math.Max(a.X, b.X), math.Max(a.Y, b.Y)
	x1, y1 := math.Min(a.X+a.W, b.X+b.W), math.Min(a.Y+a.H, b.Y+b.H)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	in := (x1 - x0) * (y1 - y0)
	return in / (a.W*a.H + b.W*b.H - in)
}

// encodeJPEG re-encodes an image at the origin as JPEG (go-face reads only
// JPEG).
func encodeJPEG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		return nil, fmt.Errorf("dlib: encoding JPEG: %w", err)
	}
	return b.Bytes(), nil
}
