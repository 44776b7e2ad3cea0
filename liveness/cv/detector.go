package cv

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"sort"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/vision"
	"github.com/hoviyat/hoviyat/liveness"
)

var _ liveness.Detector = (*Detector)(nil)

// ErrClosed is returned by Detect after Close.
var ErrClosed = errors.New("cv: detector closed")

// Detector judges selfie videos with OpenCV: it implements
// liveness.Detector. It is safe for concurrent use: a bounded pool of
// workers, each owning its own gocv objects, analyses one video each;
// further calls queue until a worker is free or their context ends.
type Detector struct {
	cfg    Config
	limits vision.Limits
	models map[string]string
	pool   chan *worker
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup // workers out of the pool
	mu     sync.Mutex     // guards closed and the workers slice
	closed bool
	all    []*worker
}

// worker owns the gocv objects of one analysis at a time.
type worker struct {
	meas *vision.Measurer
	// dets find the faces of successive frames on goroutines of their
	// own (configured as meas's own detector, which the analysis keeps
	// for re-detecting tilted faces).
	dets  []*vision.FaceDetector
	spoof *vision.AntiSpoof
	// frames recycles the frame Mats of this worker's videos (decoded
	// frames are read into them, and given back when dropped).
	frames *vision.FramePool
}

func (w *worker) close() error {
	errs := []error{w.meas.Close(), w.spoof.Close(), w.frames.Close()}
	for _, d := range w.dets {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}

// New loads the models once per worker. Unless Config.OpenCVThreads is
// negative it also sets OpenCV's process-wide thread count (one by
// default; see Config.OpenCVThreads), and unless Config.KeepAllocator is
// set it tunes glibc malloc for the process (vision.TuneAllocator). The
// caller must Close the Detector.
func New(cfg Config) (*Detector, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	yunet, err := vision.ModelPath(cfg.ModelsDir, vision.YuNetFile)
	if err != nil {
		return nil, err
	}
	if !cfg.KeepAllocator {
		vision.TuneAllocator()
	}
	v2, err := vision.ModelPath(cfg.ModelsDir, vision.MiniFASNetV2File)
	if err != nil {
		return nil, err
	}
	v1se, err := vision.ModelPath(cfg.ModelsDir, vision.MiniFASNetV1SEFile)
	if err != nil {
		return nil, err
	}
	d := &Detector{
		cfg: cfg,
		limits: vision.Limits{MaxBytes: cfg.MaxBytes, MinDuration: cfg.MinDuration, MaxDuration: cfg.MaxDuration,
			MaxSide: cfg.MaxSide, TempDir: cfg.TempDir, FFprobe: cfg.FFprobe, ProbeTimeout: cfg.ProbeTimeout},
		models: map[string]string{},
		pool:   make(chan *worker, cfg.Workers),
		done:   make(chan struct{}),
	}
	if id, err := vision.ModelID(yunet); err == nil {
		d.models["face_detector"] = id
	}
	if cfg.OpenCVThreads > 0 {
		vision.SetOpenCVThreads(cfg.OpenCVThreads)
	}
	for i := 0; i < cfg.Workers; i++ {
		meas, err := vision.NewMeasurer(vision.MeasureConfig{
			Detector: vision.FaceDetectorConfig{ModelPath: yunet, InputSize: cfg.DetectSize},
		})
		if err != nil {
			d.closeWorkers()
			return nil, err
		}
		sp, err := vision.NewAntiSpoof(vision.AntiSpoofConfig{V2Path: v2, V1SEPath: v1se})
		if err != nil {
			meas.Close()
			d.closeWorkers()
			return nil, err
		}
		if i == 0 {
			for k, v := range sp.ModelIDs() {
				d.models[k] = v
			}
		}
		w := &worker{meas: meas, spoof: sp, frames: vision.NewFramePool(framePoolMats(cfg.BestFrames, cfg.DetectParallel), 0)}
		for j := 0; j < cfg.DetectParallel; j++ {
			det, err := vision.NewFaceDetector(meas.DetectorConfig())
			if err != nil {
				w.close()
				d.closeWorkers()
				return nil, err
			}
			w.dets = append(w.dets, det)
		}
		d.all = append(d.all, w)
		d.pool <- w
	}
	return d, nil
}

func (d *Detector) closeWorkers() error {
	var errs []error
	for _, w := range d.all {
		errs = append(errs, w.close())
	}
	d.all = nil
	return errors.Join(errs...)
}

// Close waits for running analyses to finish, then releases every worker.
// It is idempotent; Detect returns ErrClosed afterwards.
func (d *Detector) Close() error {
	var err error
	d.once.Do(func() {
		d.mu.Lock()
		d.closed = true
		close(d.done)
		d.mu.Unlock()
		d.wg.Wait()
		d.mu.Lock()
		err = d.closeWorkers()
		d.mu.Unlock()
	})
	return err
}

// acquire takes a worker, waiting for one while ctx allows.
func (d *Detector) acquire(ctx context.Context) (*worker, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, ErrClosed
	}
	d.wg.Add(1)
	d.mu.Unlock()
	select {
	case w := <-d.pool:
		return w, nil
	case <-ctx.Done():
		d.wg.Done()
		return nil, fmt.Errorf("cv: waiting for a worker: %w", ctx.Err())
	case <-d.done:
		d.wg.Done()
		return nil, ErrClosed
	}
}

func (d *Detector) release(w *worker) {
	d.pool <- w
	d.wg.Done()
}

// Detect analyses v recorded for challenge ch (see liveness.Detector). A
// video that cannot be read or is outside the limits gives a
// *liveness.InputError; a cancelled context stops the analysis between
// frames and returns its error.
func (d *Detector) Detect(ctx context.Context, v liveness.Video, ch liveness.Challenge) (liveness.Result, error) {
	start := time.Now()
	w, err := d.acquire(ctx)
	if err != nil {
		return liveness.Result{}, err
	}
	defer d.release(w)
	res, err := d.detect(ctx, w, v, ch)
	if err != nil {
		return liveness.Result{}, err
	}
	res.Timings["total"] = time.Since(start)
	return res, nil
}

// decoded is one frame (or the decoder's final error) passed from the
// decoding goroutine to a face detection goroutine.
type decoded struct {
	f   vision.Frame
	err error
}

// detected is a decoded frame with its faces (or the detector's error),
// passed from a face detection goroutine to the analysis.
type detected struct {
	decoded
	faces []vision.Face
	err   error
}

// analysis is what one video's decoding and measuring produced, before
// the decision: the per-frame records, the temporal analysis, the
// anti-spoofing observations of the best frames and the probes.
type analysis struct {
	info    vision.VideoInfo
	recs    []liveness.FrameMeasures
	tm      liveness.Temporal
	obs     []liveness.SpoofObs
	probes  []facematch.Probe
	timings map[string]time.Duration
}

func (d *Detector) detect(ctx context.Context, w *worker, v liveness.Video, ch liveness.Challenge) (liveness.Result, error) {
	a, err := d.analyse(ctx, w, v)
	if err != nil {
		return liveness.Result{}, err
	}
	t0 := time.Now()
	res := liveness.JudgeTemporal(a.recs, a.tm, a.obs, ch, d.cfg.Quality, d.cfg.Liveness)
	a.timings["analysis"] += time.Since(t0)
	if a.info.Duration > 0 {
		res.Duration = a.info.Duration
	}
	res.Probes = a.probes
	res.Models = make(map[string]string, len(d.models))
	for k, v := range d.models {
		res.Models[k] = v
	}
	res.Timings = a.timings
	return res, nil
}

// analyse ingests, decodes and measures v with worker w.
func (d *Detector) analyse(ctx context.Context, w *worker, v liveness.Video) (*analysis, error) {
	timings := map[string]time.Duration{}
	t0 := time.Now()
	src, err := vision.OpenSource(ctx, v, d.limits)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	timings["ingest"] = time.Since(t0)

	t0 = time.Now()
	info, err := vision.Probe(ctx, src.Path(), d.limits)
	if err != nil {
		return nil, err
	}
	if err := vision.CheckLimits(info, d.limits); err != nil {
		return nil, err
	}
	timings["probe"] = time.Since(t0)

	dec, err := vision.NewDecoder(src.Path(), info, vision.DecodeOptions{
		Interval: d.cfg.SampleInterval, MaxFrames: d.cfg.MaxFrames, Limits: d.limits,
		Pool: w.frames})
	if err != nil {
		return nil, err
	}

	// Decode on its own goroutine so that decoding the next frames
	// overlaps the analysis of this one, and find the faces of successive
	// frames on len(w.dets) goroutines at once: frame k goes to detector
	// k mod n, whose results the analysis reads back in the same order.
	dctx, dcancel := context.WithCancel(ctx)
	n := len(w.dets)
	ins := make([]chan decoded, n)
	outs := make([]chan detected, n)
	for i := range ins {
		ins[i] = make(chan decoded, 1)
		outs[i] = make(chan detected, 1)
	}
	var decodeTime time.Duration
	go func() {
		defer func() {
			for _, c := range ins {
				close(c)
			}
		}()
		defer dec.Close()
		for k := 0; ; k++ {
			t := time.Now()
			f, err := dec.Next(dctx)
			decodeTime += time.Since(t)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				select {
				case ins[k%n] <- decoded{err: err}:
				case <-dctx.Done():
				}
				return
			}
			select {
			case ins[k%n] <- decoded{f: f}:
			case <-dctx.Done():
				w.frames.Put(f.Mat)
				return
			}
		}
	}()
	detectTimes := make([]time.Duration, n)
	for i := range ins {
		go func(i int) {
			defer close(outs[i])
			for x := range ins[i] {
				r := detected{decoded: x}
				if x.err == nil && dctx.Err() == nil {
					t := time.Now()
					// The grey thumbnail for global motion is made here
					// from the detector's own downscaled copy.
					r.faces, r.err = w.dets[i].DetectFrame(&r.f, vision.DefaultThumbSize)
					detectTimes[i] += time.Since(t)
				}
				outs[i] <- r // the analysis reads or drains every result
			}
		}(i)
	}
	keep := newKeeper(d.cfg.BestFrames, info.Duration, w.frames)
	// The best frame of each part of the video is final once the video has
	// moved on: its anti-spoofing scores and probe crop are computed on
	// their own goroutine right away, so little is left after the last
	// frame. (The anti-spoofing networks are the worker's; only this
	// goroutine uses them.)
	scoreIn := make(chan *kept, 2*d.cfg.BestFrames+2)
	scoreDone := make(chan struct{})
	var spoofTime time.Duration
	go func() {
		defer close(scoreDone)
		for k := range scoreIn {
			t := time.Now()
			d.score(w, k)
			spoofTime += time.Since(t)
			close(k.scored)
		}
	}()
	scoreClosed := false
	closeScore := func() {
		if !scoreClosed {
			scoreClosed = true
			close(scoreIn)
			<-scoreDone
		}
	}
	dispatch := func(ks []*kept) {
		for _, k := range ks {
			scoreIn <- k
		}
	}
	defer func() {
		dcancel()
		for _, c := range outs {
			for x := range c {
				if x.decoded.err == nil {
					w.frames.Put(x.f.Mat)
				}
			}
		}
		closeScore()
		keep.close()
	}()

	w.meas.Reset()
	var recs []liveness.FrameMeasures
	// The temporal analysis advances on its own goroutine as frames are
	// measured, so decoding, measuring and registering face crops share
	// both cores and little is left after the last frame.
	acc := liveness.NewTemporalAccumulator()
	accIn := make(chan liveness.FrameMeasures, 8)
	accDone := make(chan struct{})
	var temporalTime time.Duration
	go func() {
		defer close(accDone)
		for m := range accIn {
			t := time.Now()
			acc.Add(m)
			temporalTime += time.Since(t)
		}
	}()
	accClosed := false
	closeAcc := func() {
		if !accClosed {
			accClosed = true
			close(accIn)
			<-accDone
		}
	}
	defer closeAcc()
	var measureTime time.Duration
	for k := 0; ; k++ {
		x, ok := <-outs[k%n]
		if !ok {
			break // the decoder stopped after frame k-1
		}
		if x.decoded.err != nil {
			return nil, x.decoded.err
		}
		if err := ctx.Err(); err != nil {
			w.frames.Put(x.f.Mat)
			return nil, fmt.Errorf("cv: %w", err)
		}
		if x.err != nil {
			w.frames.Put(x.f.Mat)
			return nil, fmt.Errorf("cv: measuring frame %d: %w", x.f.Index, x.err)
		}
		t := time.Now()
		m, err := w.meas.MeasureDetected(x.f, x.faces)
		measureTime += time.Since(t)
		if err != nil {
			w.frames.Put(x.f.Mat)
			return nil, fmt.Errorf("cv: measuring frame %d: %w", x.f.Index, err)
		}
		recs = append(recs, m)
		dispatch(keep.offer(x.f, m))
		accIn <- m
	}
	closeAcc()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cv: %w", err)
	}
	timings["decode"] = decodeTime
	for _, t := range detectTimes {
		measureTime += t
	}
	timings["detect"] = measureTime

	// What is left of the temporal analysis (pure Go) runs while the
	// anti-spoofing models and the probe crops use the worker's gocv
	// objects.
	a := &analysis{info: info, recs: recs, timings: timings}
	var analysisTime time.Duration
	tdone := make(chan struct{})
	go func() {
		defer close(tdone)
		t := time.Now()
		a.tm = acc.Temporal()
		analysisTime = temporalTime + time.Since(t)
	}()

	// The rest of the best frames: anti-spoofing and replay cues, probes.
	t0 = time.Now()
	dispatch(keep.finalize())
	closeScore()
	timings["antispoof"] = spoofTime
	timings["tail"] = time.Since(t0)
	for _, k := range keep.best() {
		if k.obs != nil {
			a.obs = append(a.obs, *k.obs)
		}
		if k.probeErr != nil {
			<-tdone
			return nil, k.probeErr
		}
		a.probes = append(a.probes, k.probe)
	}
	<-tdone
	timings["analysis"] = analysisTime
	return a, nil
}

// score runs the passive anti-spoofing models and the replay cues on a
// kept frame and crops its probe.
//
// The replay cues and the probe crop (which only read the frame) run on a
// goroutine of their own beside the networks, so that the best frame of
// the video's last part, scored after its last frame, costs half the wait.
func (d *Detector) score(w *worker, k *kept) {
	f := k.rec.Faces[0]
	var (
		rc    vision.ReplayCues
		rcErr error
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		rc, rcErr = vision.MeasureReplayCues(k.mat, vision.Face{Box: f.Box, Landmarks: f.Landmarks, Score: f.Score})
		k.probe, k.probeErr = d.probe(k)
	}()
	sc, err := w.spoof.Score(k.mat, f.Box)
	<-done
	if err == nil { // else a box the models cannot crop: no observation
		o := liveness.SpoofObs{Index: k.rec.Index, Real: sc.Real, V2: sc.V2[1], V1SE: sc.V1SE[1]}
		if rcErr == nil {
			o.Moire, o.Bezel, o.BezelSides, o.Detail = rc.Moire, rc.Bezel, rc.BezelSides, rc.Detail
			o.Contrast, o.DarkLevel, o.Specular = rc.Contrast, rc.DarkLevel, rc.Specular
		}
		k.obs = &o
	}
}

// probe crops a kept frame around its main face for matching.
func (d *Detector) probe(k *kept) (facematch.Probe, error) {
	f := k.rec.Faces[0]
	m := d.cfg.ProbeMargin
	r := image.Rect(
		int(math.Floor(f.Box.X-m*f.Box.W)), int(math.Floor(f.Box.Y-m*f.Box.H)),
		int(math.Ceil(f.Box.X+(1+m)*f.Box.W)), int(math.Ceil(f.Box.Y+(1+m)*f.Box.H)),
	).Intersect(image.Rect(0, 0, k.mat.Cols(), k.mat.Rows()))
	if r.Empty() {
		return facematch.Probe{}, fmt.Errorf("cv: probe crop of frame %d is empty", k.rec.Index)
	}
	roi := k.mat.Region(r)
	img, err := vision.MatToImage(roi)
	roi.Close()
	if err != nil {
		return facematch.Probe{}, fmt.Errorf("cv: probe of frame %d: %w", k.rec.Index, err)
	}
	ox, oy := float64(r.Min.X), float64(r.Min.Y)
	p := facematch.Probe{
		Image:    img,
		Box:      facematch.Rect{X: f.Box.X - ox, Y: f.Box.Y - oy, W: f.Box.W, H: f.Box.H},
		DetScore: f.Score,
		Quality:  k.quality,
		Yaw:      k.rec.Yaw, Pitch: k.rec.Pitch, Roll: k.rec.Roll,
		Frame: k.rec.Index, Time: k.rec.Time,
	}
	for i, l := range f.Landmarks {
		p.Landmarks[i] = facematch.Point{X: l.X - ox, Y: l.Y - oy}
	}
	return p, nil
}

// kept is a frame held for the anti-spoofing models and the probes.
type kept struct {
	mat     gocv.Mat
	rec     liveness.FrameMeasures
	quality float64
	bucket  int
	// scored is made when the frame is handed to the scoring goroutine
	// and closed when obs, probe and probeErr are set.
	scored   chan struct{}
	obs      *liveness.SpoofObs
	probe    facematch.Probe
	probeErr error
}

// keeper holds the best frame of each time bucket (so the best frames are
// spread over the video, not K near-copies of one moment), at most 2K
// frames at a time; it gives the frames it drops back to the pool (which
// closes those it does not keep). Frames must be offered in time order.
// Not safe for concurrent use.
type keeper struct {
	k      int
	bucket time.Duration
	frames []*kept
	pool   *vision.FramePool
}

func newKeeper(k int, duration time.Duration, pool *vision.FramePool) *keeper {
	b := time.Second
	if duration > 0 {
		b = max(500*time.Millisecond, duration/time.Duration(k))
	}
	return &keeper{k: k, bucket: b, pool: pool}
}

// framePoolMats is how many idle frame Mats a worker keeps: enough for the
// frames in flight between the decoder, the detection goroutines and the
// analysis, plus the keeper's 2K+1.
func framePoolMats(bestFrames, detectors int) int { return 2*bestFrames + 3*detectors + 4 }

// offer takes ownership of f's Mat: it keeps it or gives it back. It returns
// the kept frames that became final (their bucket is over), each with its
// scored channel made, for the caller to score.
func (k *keeper) offer(f vision.Frame, rec liveness.FrameMeasures) []*kept {
	b := int(f.Time / k.bucket)
	var final []*kept
	for _, x := range k.frames {
		if x.bucket < b && x.scored == nil {
			x.scored = make(chan struct{})
			final = append(final, x)
		}
	}
	q := liveness.FrameQuality(&rec)
	if q <= 0 {
		k.pool.Put(f.Mat)
		return final
	}
	for i, x := range k.frames {
		if x.bucket == b {
			if q > x.quality && x.scored == nil {
				k.pool.Put(x.mat)
				k.frames[i] = &kept{mat: f.Mat, rec: rec, quality: q, bucket: b}
			} else {
				k.pool.Put(f.Mat)
			}
			return final
		}
	}
	k.frames = append(k.frames, &kept{mat: f.Mat, rec: rec, quality: q, bucket: b})
	if len(k.frames) > 2*k.k {
		worst := 0
		for i, x := range k.frames {
			if x.quality < k.frames[worst].quality {
				worst = i
			}
		}
		x := k.frames[worst]
		if x.scored != nil {
			<-x.scored // being scored: wait before releasing its frame
		}
		k.pool.Put(x.mat)
		k.frames = append(k.frames[:worst], k.frames[worst+1:]...)
	}
	return final
}

// finalize returns the kept frames not yet handed out for scoring.
func (k *keeper) finalize() []*kept {
	var out []*kept
	for _, x := range k.frames {
		if x.scored == nil {
			x.scored = make(chan struct{})
			out = append(out, x)
		}
	}
	return out
}

// best returns up to K kept frames, best first.
func (k *keeper) best() []*kept {
	sort.SliceStable(k.frames, func(i, j int) bool { return k.frames[i].quality > k.frames[j].quality })
	if len(k.frames) > k.k {
		return k.frames[:k.k]
	}
	return k.frames
}

// close releases every kept frame; scoring must be over.
func (k *keeper) close() {
	for _, x := range k.frames {
		k.pool.Put(x.mat)
	}
	k.frames = nil
}
