package onnx

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/vision"
)

// Config configures New. Zero values mean the documented defaults.
type Config struct {
	// ModelsDir holds the model files; default $HOVIYAT_MODELS.
	ModelsDir string
	// Spec describes the embedding model; default MobileFaceNetSpec.
	Spec Spec
	// EmbedderPath and DetectorPath override the model files; defaults
	// are Spec.File and vision.YuNetFile in ModelsDir.
	EmbedderPath string
	DetectorPath string
	// Workers is the number of workers, each owning its own networks
	// (gocv objects are not goroutine safe). Compare calls beyond it wait
	// for a free worker (backpressure) or their context. Default
	// GOMAXPROCS.
	Workers int
	// Thresholds decide Match / Uncertain / NonMatch on the fused
	// similarity; the zero value means Spec.Thresholds.
	Thresholds facematch.Thresholds
	// MaxProbes is how many probes are embedded, taken in the order given
	// (probes arrive quality-ranked) after skipping strongly non-frontal
	// ones; default 5.
	MaxProbes int
	// TopK: the fused similarity is the mean of the K best probe
	// similarities; default 3.
	TopK int
	// MaxYaw and MaxPitch (degrees, from the landmarks with
	// vision.HeadPose) skip strongly non-frontal probes; defaults 30 and
	// 25. If no probe passes, the most frontal ones are used.
	MaxYaw   float64
	MaxPitch float64
	// CacheSize bounds the reference-template cache (entries, keyed by
	// Reference.Key); default 1024, negative disables it.
	CacheSize int
	// ReferenceMinScore is the detector confidence a reference face needs
	// (default 0.75); ReferenceMinEyeDistance its eye distance in pixels
	// (default 20); ReferenceMaxYaw its yaw in degrees (default 45).
	ReferenceMinScore       float64
	ReferenceMinEyeDistance float64
	ReferenceMaxYaw         float64
	// ReferenceInputSize is the detector input size for reference photos
	// (default 320; see vision.FaceDetectorConfig.InputSize).
	ReferenceInputSize int
	// MaxReferenceBytes bounds the reference photo size; default 10 MiB.
	MaxReferenceBytes int
	// KeepAllocator leaves the C allocator alone. By default (false) New
	// calls vision.TuneAllocator, which fixes glibc malloc's mmap
	// threshold at 64 KiB for the whole process, once: blocks of 64 KiB
	// and more then come from mmap and go back to the kernel when freed.
	// Without it a long-running process grows with every analysed video:
	// glibc raises its threshold dynamically, so OpenCV's per-frame DNN
	// buffers move to the heap and fragment it (liveness/cv with this
	// matcher, 2 workers each, 5 s 720p clips, docs/RELIABILITY.md
	// section 5: peak RSS 267-311 MB after 2 videos, 478-501 MB after 96;
	// with the threshold fixed, ~300 MB after 96). The growth is in the
	// detection path; the matcher tunes too so that the setting does not
	// depend on which is created first or alone. Fixing the threshold
	// turns glibc's dynamic adjustment off, which is the point. Nothing
	// is changed when the environment sets MALLOC_MMAP_THRESHOLD_ (or the
	// glibc.malloc.mmap_threshold tunable), nor outside glibc. Set
	// KeepAllocator when the host manages malloc itself.
	KeepAllocator bool
}

// Defaults of Config.
const (
	DefaultMaxProbes         = 5
	DefaultTopK              = 3
	DefaultMaxYaw            = 30
	DefaultMaxPitch          = 25
	DefaultCacheSize         = 1024
	DefaultRefMinScore       = 0.75
	DefaultRefMinEyeDistance = 20
	DefaultRefMaxYaw         = 45
	DefaultMaxReferenceBytes = 10 << 20
)

// ErrClosed is returned by calls on a closed Matcher.
var ErrClosed = errors.New("onnx: matcher closed")

// Matcher compares probe faces with a reference photo using an
// ArcFace-family ONNX embedder through OpenCV DNN. It is safe for
// concurrent use; its work runs on a bounded pool of workers.
type Matcher struct {
	cfg     Config
	model   string
	rules   referenceRules
	fuse    facematch.Fusion
	pool    chan *worker
	workers []*worker
	cache   *lru

	mu     sync.Mutex
	closed bool
	active sync.WaitGroup
}

var _ facematch.Matcher = (*Matcher)(nil)

// New loads the models once per worker. Model files are checked first
// (see vision.CheckModel): OpenCV aborts the process on a malformed
// model, and a Spec that does not fit the model (wrong input size or
// names) makes OpenCV abort on the first embedding, which New performs on
// a blank crop so that the failure happens at start-up, not under load.
// Unless Config.KeepAllocator is set it tunes glibc malloc for the
// process (vision.TuneAllocator).
func New(cfg Config) (*Matcher, error) {
	if cfg.Spec.InputSize == 0 && cfg.Spec.File == "" {
		cfg.Spec = MobileFaceNetSpec
	}
	if err := cfg.Spec.Validate(); err != nil {
		return nil, err
	}
	if cfg.Thresholds == (facematch.Thresholds{}) {
		cfg.Thresholds = cfg.Spec.Thresholds
	}
	if err := cfg.Thresholds.Validate(); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	setDefault(&cfg.Workers, runtime.GOMAXPROCS(0))
	setDefault(&cfg.MaxProbes, DefaultMaxProbes)
	setDefault(&cfg.TopK, DefaultTopK)
	setDefault(&cfg.CacheSize, DefaultCacheSize)
	setDefault(&cfg.ReferenceInputSize, vision.DefaultDetectorInputSize)
	setDefault(&cfg.MaxReferenceBytes, DefaultMaxReferenceBytes)
	setDefaultF(&cfg.MaxYaw, DefaultMaxYaw)
	setDefaultF(&cfg.MaxPitch, DefaultMaxPitch)
	setDefaultF(&cfg.ReferenceMinScore, DefaultRefMinScore)
	setDefaultF(&cfg.ReferenceMinEyeDistance, DefaultRefMinEyeDistance)
	setDefaultF(&cfg.ReferenceMaxYaw, DefaultRefMaxYaw)
	switch {
	case cfg.Workers < 0 || cfg.Workers > 256:
		return nil, fmt.Errorf("onnx: Workers %d outside [1,256]", cfg.Workers)
	case cfg.MaxProbes < 0 || cfg.TopK < 0:
		return nil, fmt.Errorf("onnx: MaxProbes %d and TopK %d must be positive", cfg.MaxProbes, cfg.TopK)
	case cfg.MaxYaw < 0 || cfg.MaxPitch < 0 || cfg.ReferenceMaxYaw < 0:
		return nil, fmt.Errorf("onnx: pose limits must be positive")
	case cfg.ReferenceMinScore < 0 || cfg.ReferenceMinScore > 1:
		return nil, fmt.Errorf("onnx: ReferenceMinScore %g outside [0,1]", cfg.ReferenceMinScore)
	case cfg.MaxReferenceBytes < 0:
		return nil, fmt.Errorf("onnx: MaxReferenceBytes %d negative", cfg.MaxReferenceBytes)
	}
	var err error
	if cfg.EmbedderPath == "" {
		if cfg.EmbedderPath, err = vision.ModelPath(cfg.ModelsDir, cfg.Spec.File); err != nil {
			return nil, fmt.Errorf("onnx: %w", err)
		}
	}
	if cfg.DetectorPath == "" {
		if cfg.DetectorPath, err = vision.ModelPath(cfg.ModelsDir, vision.YuNetFile); err != nil {
			return nil, fmt.Errorf("onnx: %w", err)
		}
	}
	if err := vision.CheckModel(cfg.EmbedderPath); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if !cfg.KeepAllocator {
		vision.TuneAllocator()
	}
	model, err := vision.ModelID(cfg.EmbedderPath)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	m := &Matcher{
		cfg:   cfg,
		model: model,
		rules: referenceRules{
			minScore:   cfg.ReferenceMinScore,
			minEyeDist: cfg.ReferenceMinEyeDistance,
			maxYaw:     cfg.ReferenceMaxYaw,
			ambiguity:  facematch.DefaultAmbiguity,
		},
		fuse:  facematch.MeanTopK(cfg.TopK),
		pool:  make(chan *worker, cfg.Workers),
		cache: newLRU(cfg.CacheSize),
	}
	detCfg := vision.FaceDetectorConfig{ModelPath: cfg.DetectorPath, InputSize: cfg.ReferenceInputSize}
	for i := 0; i < cfg.Workers; i++ {
		w, err := newWorker(cfg.Spec, cfg.EmbedderPath, detCfg)
		if err == nil {
			err = w.warmUp()
			if err != nil {
				w.close()
			}
		}
		if err != nil {
			for _, w := range m.workers {
				w.close()
			}
			return nil, err
		}
		m.workers = append(m.workers, w)
		m.pool <- w
	}
	return m, nil
}

func setDefault(v *int, d int) {
	if *v == 0 {
		*v = d
	}
}

func setDefaultF(v *float64, d float64) {
	if *v == 0 {
		*v = d
	}
}

// Model returns the embedder's ID ("name@sha256prefix") as recorded in
// each Score.
func (m *Matcher) Model() string { return m.model }

// Similarity is the cosine similarity of two embeddings, as Compare uses.
func (m *Matcher) Similarity(a, b []float32) float64 { return facematch.Cosine(a, b) }

// Thresholds returns the thresholds in force.
func (m *Matcher) Thresholds() facematch.Thresholds { return m.cfg.Thresholds }

// Compare embeds the best probes and the reference photo's main face and
// returns the fused cosine similarity with its Decision. Probes are taken
// in the order given (best first), skipping strongly non-frontal ones, up
// to MaxProbes; the score is the mean of the TopK best similarities. The
// reference template is cached by ref.Key. Errors: facematch.ErrNoProbes
// (no usable probe), facematch.ErrReferenceUnusable (no single clear face
// in the photo, or undecodable bytes), ErrClosed, or the context's error.
func (m *Matcher) Compare(ctx context.Context, probes []facematch.Probe, ref facematch.Reference) (facematch.Score, error) {
	if len(probes) == 0 {
		return facematch.Score{}, facematch.ErrNoProbes
	}
	sel := m.SelectProbes(probes)
	if len(sel) == 0 {
		return facematch.Score{}, fmt.Errorf("%w: none of %d probes has an image and landmarks", facematch.ErrNoProbes, len(probes))
	}
	sims := make([]float64, len(sel))
	err := m.withWorker(ctx, func(w *worker) error {
		// Idle workers, if there are any, embed probes while this one
		// embeds the reference and the rest: the networks run on one
		// OpenCV thread each (see liveness/cv Config.OpenCVThreads), so
		// this is what uses the other cores.
		var next atomic.Int32
		refEmb := make(chan []float32, len(sel))
		work := func(w *worker, ref []float32) error {
			for {
				j := int(next.Add(1)) - 1
				if j >= len(sel) {
					return nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				emb, err := embedProbe(w, probes[sel[j]])
				if err != nil {
					return err
				}
				if ref == nil {
					ref = <-refEmb
					if ref == nil {
						return nil // the reference failed; its error is reported
					}
				}
				sims[j] = facematch.Cosine(emb, ref)
			}
		}
		var helper sync.WaitGroup
		helpErrs := make([]error, len(sel)-1)
		helpers := 0
		for ; helpers < len(sel)-1; helpers++ {
			w2, ok := m.tryWorker()
			if !ok {
				break
			}
			helper.Add(1)
			go func(h int) {
				defer helper.Done()
				defer m.putWorker(w2)
				helpErrs[h] = work(w2, nil)
			}(helpers)
		}
		emb, err := m.reference(ctx, w, ref)
		if err != nil {
			close(refEmb) // helpers waiting for it stop
			helper.Wait()
			return err
		}
		for range helpers {
			refEmb <- emb
		}
		close(refEmb)
		err = work(w, emb)
		helper.Wait()
		if err != nil {
			return err
		}
		for _, e := range helpErrs {
			if e != nil {
				return e
			}
		}
		return nil
	})
	if err != nil {
		return facematch.Score{}, err
	}
	return m.Score(sims), nil
}

// Score fuses per-probe similarities into a Score with its Decision, as
// Compare does (exported for calibration and evaluation code that embeds
// once and scores many pairs).
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

// SelectProbes returns the indices of the probes Compare embeds: in the
// given order, those with an image and non-degenerate landmarks whose
// yaw and pitch (vision.HeadPose on the landmarks) are within MaxYaw and
// MaxPitch, at most MaxProbes. When none is frontal enough, the
// MaxProbes most frontal usable probes are taken instead.
func (m *Matcher) SelectProbes(probes []facematch.Probe) []int {
	type cand struct {
		i   int
		off float64 // how far outside the frontal limits, in limit units
	}
	var usable []cand
	var sel []int
	for i, p := range probes {
		if p.Image == nil || p.Image.Bounds().Empty() || degenerate(p.Landmarks) {
			continue
		}
		yaw, pitch, _ := vision.HeadPose(p.Landmarks)
		off := math.Max(math.Abs(yaw)/m.cfg.MaxYaw, math.Abs(pitch)/m.cfg.MaxPitch)
		usable = append(usable, cand{i, off})
		if off <= 1 && len(sel) < m.cfg.MaxProbes {
			sel = append(sel, i)
		}
	}
	if len(sel) > 0 || len(usable) == 0 {
		return sel
	}
	for len(sel) < m.cfg.MaxProbes && len(sel) < len(usable) {
		best := -1
		for j, c := range usable {
			if c.i >= 0 && (best < 0 || c.off < usable[best].off) {
				best = j
			}
		}
		sel = append(sel, usable[best].i)
		usable[best].i = -1
	}
	return sel
}

func degenerate(lm [5]facematch.Point) bool {
	spread := 0.0
	for _, p := range lm {
		if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
			return true
		}
		spread = math.Max(spread, math.Max(math.Abs(p.X-lm[0].X), math.Abs(p.Y-lm[0].Y)))
	}
	return spread < 2
}

// EmbedReference returns the template of ref's main face (cached by
// ref.Key), for evaluation code.
func (m *Matcher) EmbedReference(ctx context.Context, ref facematch.Reference) ([]float32, error) {
	var out []float32
	err := m.withWorker(ctx, func(w *worker) error {
		var err error
		out, err = m.reference(ctx, w, ref)
		return err
	})
	return out, err
}

// EmbedProbes embeds every probe (no selection), for evaluation code.
// A probe without an image or landmarks gives a nil entry.
func (m *Matcher) EmbedProbes(ctx context.Context, probes []facematch.Probe) ([][]float32, error) {
	out := make([][]float32, len(probes))
	err := m.withWorker(ctx, func(w *worker) error {
		for i, p := range probes {
			if err := ctx.Err(); err != nil {
				return err
			}
			if p.Image == nil || degenerate(p.Landmarks) {
				continue
			}
			emb, err := embedProbe(w, p)
			if err != nil {
				return err
			}
			out[i] = emb
		}
		return nil
	})
	return out, err
}

// Close releases the networks after in-flight calls finish. It is
// idempotent; later calls fail with ErrClosed.
func (m *Matcher) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.active.Wait()
	for _, w := range m.workers {
		w.close()
	}
	return nil
}

// withWorker runs fn on a free worker, waiting for one or for ctx.
func (m *Matcher) withWorker(ctx context.Context, fn func(*worker) error) error {
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
	var w *worker
	select {
	case w = <-m.pool:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { m.pool <- w }()
	return fn(w)
}

// tryWorker takes a free worker if there is one right now, for a call
// already running on another worker (which keeps Close waiting until it
// returns); putWorker gives it back.
func (m *Matcher) tryWorker() (*worker, bool) {
	select {
	case w := <-m.pool:
		return w, true
	default:
		return nil, false
	}
}

func (m *Matcher) putWorker(w *worker) { m.pool <- w }

func (m *Matcher) reference(ctx context.Context, w *worker, ref facematch.Reference) ([]float32, error) {
	if ref.Key != "" {
		if emb, ok := m.cache.get(ref.Key); ok {
			return emb, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(ref.Photo) > m.cfg.MaxReferenceBytes {
		return nil, fmt.Errorf("%w: photo of %d bytes exceeds %d", facematch.ErrReferenceUnusable, len(ref.Photo), m.cfg.MaxReferenceBytes)
	}
	img, err := vision.DecodeImage(ref.Photo)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", facematch.ErrReferenceUnusable, err)
	}
	defer img.Close()
	faces, err := w.det.Detect(img)
	if err != nil {
		return nil, fmt.Errorf("onnx: reference detection: %w", err)
	}
	face, err := pickMainFace(faces, img.Cols(), img.Rows(), m.rules)
	if err != nil {
		return nil, err
	}
	emb, err := w.embedFace(img, face.Landmarks)
	if err != nil {
		return nil, err
	}
	if ref.Key != "" {
		m.cache.put(ref.Key, emb)
	}
	return emb, nil
}

// embedProbe converts the part of the probe's image that the alignment
// uses and embeds it. Landmarks are in the image's own coordinates
// (relative to Bounds().Min for a SubImage).
func embedProbe(w *worker, p facematch.Probe) ([]float32, error) {
	img := p.Image
	if r, ok := alignedSource(p.Landmarks, w.tpl, img.Bounds()); ok {
		if s, ok := img.(interface {
			SubImage(image.Rectangle) image.Image
		}); ok {
			img = s.SubImage(r)
		}
	}
	mat, err := vision.ImageToMat(img)
	if err != nil {
		return nil, fmt.Errorf("onnx: probe image: %w", err)
	}
	defer mat.Close()
	min := img.Bounds().Min
	lm := p.Landmarks
	for i := range lm {
		lm[i].X -= float64(min.X)
		lm[i].Y -= float64(min.Y)
	}
	return w.embedFace(mat, lm)
}

// alignedSource returns the rectangle of the image (within bounds) that
// the alignment onto t samples, with a small margin for interpolation, so
// that only that part is converted; ok is false when it is the whole
// image or degenerate.
func alignedSource(lm [5]facematch.Point, t vision.Template, bounds image.Rectangle) (image.Rectangle, bool) {
	a, b, tx, ty := vision.SimilarityTransform(lm, t.Points)
	d := a*a + b*b
	if d < 1e-12 {
		return bounds, false
	}
	s := float64(t.Size)
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range [4][2]float64{{0, 0}, {s, 0}, {0, s}, {s, s}} {
		u, v := c[0]-tx, c[1]-ty
		x := (a*u + b*v) / d
		y := (-b*u + a*v) / d
		x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
	}
	r := image.Rect(int(math.Floor(x0))-2, int(math.Floor(y0))-2, int(math.Ceil(x1))+2, int(math.Ceil(y1))+2).Intersect(bounds)
	if r.Empty() || r == bounds {
		return bounds, false
	}
	return r, true
}

// warmUp runs one embedding on a blank crop so that a Spec that does not
// fit the network fails at New.
func (w *worker) warmUp() error {
	img := image.NewRGBA(image.Rect(0, 0, w.spec.InputSize, w.spec.InputSize))
	_, err := embedProbe(w, facematch.Probe{Image: img, Landmarks: w.spec.Template})
	return err
}
