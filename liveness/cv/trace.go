package cv

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"time"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/internal/vision"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
)

// Defaults of TraceConfig.
const (
	DefaultTraceImages    = 12
	DefaultTraceImageSide = 480
)

// TraceConfig chooses what Trace keeps besides the per-frame records. Zero
// values mean the defaults. A plain value.
type TraceConfig struct {
	// Images is how many sampled frames keep a downscaled picture: the
	// probes (frames used for matching) first, then frames spread evenly
	// over the video. Default DefaultTraceImages; negative keeps none.
	Images int
	// ImageSide is the longest side of those pictures in pixels. Default
	// DefaultTraceImageSide.
	ImageSide int
}

func (c TraceConfig) withDefaults() TraceConfig {
	if c.Images == 0 {
		c.Images = DefaultTraceImages
	}
	if c.ImageSide <= 0 {
		c.ImageSide = DefaultTraceImageSide
	}
	return c
}

// Trace is what one analysis saw, frame by frame, for people to look at
// (hoviyat inspect, an operator's review). It holds no face crops or
// thumbnails, only the pictures TraceConfig asked for. A plain value once
// returned: safe to read from several goroutines.
type Trace struct {
	// Video describes the analysed video.
	Video TraceVideo
	// Challenge is what the applicant was asked to do.
	Challenge liveness.Challenge
	// Frames are the sampled frames in time order.
	Frames []TraceFrame
	// Activity are the registered frame pairs about liveness.ActivityLag
	// apart behind the mouth and eye activity measures; Change the pairs
	// about liveness.ChangeLag apart behind the face change measure.
	Activity []TracePair
	Change   []TracePair
	// Temporal is the video's temporal analysis.
	Temporal liveness.Temporal
	// Quality and Liveness are the thresholds in force.
	Quality  liveness.QualityConfig
	Liveness liveness.LivenessConfig
}

// TraceVideo describes the analysed video.
type TraceVideo struct {
	Container string
	Codec     string
	// Width and Height are the upright frame size.
	Width, Height int
	// Rotation is the display rotation that was applied (degrees).
	Rotation int
	FPS      float64
	Duration time.Duration
	// Interval is the spacing of the sampled frames.
	Interval time.Duration
}

// TraceFrame is one sampled frame. The embedded measures have no Crop or
// Thumb. NaN means not measured.
type TraceFrame struct {
	liveness.FrameMeasures
	// Quality is liveness.FrameQuality: how the frame ranked for matching
	// and anti-spoofing (0 without a face).
	Quality float64
	// Problems are the quality reasons this frame shows on its own (the
	// quality gate run on this frame alone); the video fails a check only
	// when its problem persists over enough frames.
	Problems []reason.Code
	// Probe is the frame's rank among the probes handed to matching (1 is
	// the best), 0 when it is not a probe.
	Probe int
	// Spoof is the anti-spoofing and replay-cue observation that went into
	// the verdict; only the best frames have one.
	Spoof *liveness.SpoofObs
	// AntiSpoof is MiniFASNet's fused p(live) on this frame's main face,
	// computed for the trace on every face frame (the verdict uses the
	// best frames' only, in Spoof).
	AntiSpoof float64
	// Motion is how far the main face's centre moved since the previous
	// sampled frame, as a share of the frame's longest side.
	Motion float64
	// Shake is the camera-shake measure (liveness.Temporal.Shake) of the
	// five sampled frames centred on this one: the video's measure is the
	// median over the whole video, this shows where the shaking is.
	Shake float64
	// Image is the upright frame scaled by ImageScale (longest side
	// TraceConfig.ImageSide at most), nil unless the frame was chosen.
	Image      image.Image
	ImageScale float64
}

// TracePair is one registered pair of face crops: frames A and B
// (positions in Trace.Frames). Mouth and Eyes are the residuals of those
// regions minus the rest of the face's (activity pairs), Change the whole
// face's residual (change pairs); NaN when not part of that kind of pair.
type TracePair struct {
	A, B   int
	Mouth  float64
	Eyes   float64
	Change float64
}

// traceShakeWindow is the number of sampled frames of a local shake
// measure: five frames give four motions and three changes of motion,
// the least liveness.Temporal takes a median of.
const traceShakeWindow = 5

// Trace analyses v like Detect, returns the same Result, and records the
// per-frame measures, face boxes and landmarks, the probes, the best
// frames' anti-spoofing observations, MiniFASNet on every face frame, the
// local motion and activity measures, and downscaled pictures of some
// frames. It decodes the video a second time for the pictures and the
// per-frame anti-spoofing, so it takes about twice as long as Detect; it
// is for inspection, not for the hot path. Errors are Detect's.
func (d *Detector) Trace(ctx context.Context, v liveness.Video, ch liveness.Challenge, tc TraceConfig) (liveness.Result, *Trace, error) {
	start := time.Now()
	tc = tc.withDefaults()
	w, err := d.acquire(ctx)
	if err != nil {
		return liveness.Result{}, nil, err
	}
	defer d.release(w)

	// Spool once; both passes read the same local file.
	src, err := vision.OpenSource(ctx, v, d.limits)
	if err != nil {
		return liveness.Result{}, nil, err
	}
	defer src.Close()
	a, err := d.analyse(ctx, w, traceFile{path: src.Path(), size: src.Size()})
	if err != nil {
		return liveness.Result{}, nil, err
	}
	res := d.traceJudge(a, ch)

	tr := &Trace{Challenge: ch, Temporal: a.tm, Quality: d.cfg.Quality, Liveness: d.cfg.Liveness,
		Frames: make([]TraceFrame, len(a.recs))}
	tr.Video = TraceVideo{Container: a.info.Container, Codec: a.info.Codec, Rotation: a.info.Rotation,
		FPS: a.info.FPS, Duration: res.Duration, Interval: d.cfg.SampleInterval}
	tr.Video.Width, tr.Video.Height = a.info.DisplaySize()
	if len(a.recs) > 0 && a.recs[0].Width > 0 {
		tr.Video.Width, tr.Video.Height = a.recs[0].Width, a.recs[0].Height
	}
	if a.info.Duration > 0 && d.cfg.MaxFrames > 0 {
		tr.Video.Interval = max(tr.Video.Interval, a.info.Duration/time.Duration(d.cfg.MaxFrames))
	}
	pos := make(map[int]int, len(a.recs)) // frame index -> position
	headTurn := ch.HeadTurn != liveness.TurnNone
	for i := range a.recs {
		m := a.recs[i]
		pos[m.Index] = i
		f := &tr.Frames[i]
		f.FrameMeasures = m
		f.Quality = liveness.FrameQuality(&m)
		if m.HasFace() {
			f.Problems = d.cfg.Quality.Assess([]liveness.FrameMeasures{m}, math.NaN(), headTurn).Reasons
		} else {
			f.Problems = []reason.Code{reason.NoFace}
		}
		f.AntiSpoof, f.Motion, f.Shake = math.NaN(), math.NaN(), math.NaN()
	}
	for r, p := range res.Probes {
		if i, ok := pos[p.Frame]; ok {
			tr.Frames[i].Probe = r + 1
		}
	}
	for _, o := range a.obs {
		if i, ok := pos[o.Index]; ok {
			o := o
			tr.Frames[i].Spoof = &o
		}
	}
	traceMotion(a.recs, tr.Frames)
	tr.Activity, tr.Change = tracePairs(a.recs)
	for i := range tr.Frames {
		tr.Frames[i].Crop, tr.Frames[i].Thumb, tr.Frames[i].ThumbW, tr.Frames[i].ThumbH = nil, nil, 0, 0
	}

	chosen := chooseImages(tr.Frames, tc.Images)
	t0 := time.Now()
	if err := d.revisit(ctx, w, src.Path(), a.info, pos, chosen, tc.ImageSide, tr.Frames); err != nil {
		return liveness.Result{}, nil, err
	}
	res.Timings["trace"] = time.Since(t0)
	res.Timings["total"] = time.Since(start)
	return res, tr, nil
}

// traceJudge is detect's decision on an analysis.
func (d *Detector) traceJudge(a *analysis, ch liveness.Challenge) liveness.Result {
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
	return res
}

// traceFile is a video already in a local file (liveness.Pather).
type traceFile struct {
	path string
	size int64
}

func (l traceFile) Open() (io.ReadCloser, error) {
	return nil, errors.New("cv: traceFile is read by path")
}
func (l traceFile) Size() int64  { return l.size }
func (l traceFile) Path() string { return l.path }

// chooseImages picks up to n frames to keep pictures of: the probes, then
// the frames closest to evenly spaced times, returned as a set of
// positions.
func chooseImages(frames []TraceFrame, n int) map[int]bool {
	out := map[int]bool{}
	if n <= 0 || len(frames) == 0 {
		return out
	}
	for i, f := range frames {
		if f.Probe > 0 && len(out) < n {
			out[i] = true
		}
	}
	// The rest evenly spread over the other frames, first and last
	// included.
	var rest []int
	for i := range frames {
		if !out[i] {
			rest = append(rest, i)
		}
	}
	r := min(n-len(out), len(rest))
	for j := 0; j < r; j++ {
		k := 0
		if r > 1 {
			k = int(math.Round(float64(j) * float64(len(rest)-1) / float64(r-1)))
		}
		out[rest[k]] = true
	}
	return out
}

// traceMotion fills Motion and Shake of frames from the measures recs
// (which still have their thumbnails).
func traceMotion(recs []liveness.FrameMeasures, frames []TraceFrame) {
	for i := 1; i < len(recs); i++ {
		a, oka := recs[i-1].Main()
		b, okb := recs[i].Main()
		if !oka || !okb {
			continue
		}
		L := float64(max(recs[i].Width, recs[i].Height))
		if L <= 0 {
			continue
		}
		ca, cb := traceCentre(a), traceCentre(b)
		frames[i].Motion = math.Hypot(cb.X-ca.X, cb.Y-ca.Y) / L
	}
	if len(recs) < traceShakeWindow {
		return
	}
	// The shake of a window: the temporal analysis of those frames without
	// their face crops (so only the motion is computed).
	win := make([]liveness.FrameMeasures, traceShakeWindow)
	for i := range recs {
		lo := min(max(0, i-traceShakeWindow/2), len(recs)-traceShakeWindow)
		for j := range win {
			win[j] = recs[lo+j]
			win[j].Crop = nil
		}
		frames[i].Shake = liveness.AnalyzeTemporal(win).Shake
	}
}

// tracePairs measures each activity and change pair the temporal analysis
// registers, one pair at a time: for a pair of two frames,
// liveness.AnalyzeTemporal's Mouth, Eyes and Change are that pair's values.
// The partner of a frame is the first frame at least 3/4 ActivityLag (one
// ChangeLag) later, as in liveness.TemporalAccumulator.
func tracePairs(recs []liveness.FrameMeasures) (activity, change []TracePair) {
	nan := math.NaN()
	pair := func(i, k int) liveness.Temporal {
		a, b := recs[i], recs[k]
		a.Thumb, b.Thumb = nil, nil // the motion is not wanted here
		a.ThumbW, b.ThumbW = 0, 0
		return liveness.AnalyzeTemporal([]liveness.FrameMeasures{a, b})
	}
	for i := range recs {
		if recs[i].Crop == nil {
			continue
		}
		for k := i + 1; k < len(recs); k++ {
			if recs[k].Time-recs[i].Time >= liveness.ActivityLag*3/4 {
				if recs[k].Crop != nil {
					if t := pair(i, k); t.Pairs > 0 {
						activity = append(activity, TracePair{A: i, B: k, Mouth: t.Mouth, Eyes: t.Eyes, Change: nan})
					}
				}
				break
			}
		}
		for k := i + 1; k < len(recs); k++ {
			if recs[k].Time-recs[i].Time >= liveness.ChangeLag {
				if recs[k].Crop != nil {
					if t := pair(i, k); !math.IsNaN(t.Change) {
						change = append(change, TracePair{A: i, B: k, Mouth: nan, Eyes: nan, Change: t.Change})
					}
				}
				break
			}
		}
	}
	return activity, change
}

// revisit decodes the video again with the analysis' sampling, runs
// MiniFASNet on the main face of every face frame and keeps pictures of
// the chosen frames.
func (d *Detector) revisit(ctx context.Context, w *worker, path string, info vision.VideoInfo, pos map[int]int,
	chosen map[int]bool, side int, frames []TraceFrame) error {
	dec, err := vision.NewDecoder(path, info, vision.DecodeOptions{
		Interval: d.cfg.SampleInterval, MaxFrames: d.cfg.MaxFrames, Limits: d.limits})
	if err != nil {
		return err
	}
	defer dec.Close()
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cv: %w", err)
		}
		f, err := dec.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		i, ok := pos[f.Index]
		if ok && frames[i].Time == f.Time {
			err = d.revisitFrame(w, f.Mat, &frames[i], chosen[i], side)
		}
		f.Mat.Close()
		if err != nil {
			return err
		}
	}
}

func (d *Detector) revisitFrame(w *worker, mat gocv.Mat, f *TraceFrame, keep bool, side int) error {
	if m, ok := f.Main(); ok {
		if sc, err := w.spoof.Score(mat, m.Box); err == nil {
			f.AntiSpoof = sc.Real
		}
	}
	if !keep {
		return nil
	}
	s := math.Min(1, float64(side)/float64(max(mat.Cols(), mat.Rows())))
	img := mat
	if s < 1 {
		img = gocv.NewMat()
		defer img.Close()
		sz := image.Pt(max(1, int(math.Round(float64(mat.Cols())*s))), max(1, int(math.Round(float64(mat.Rows())*s))))
		gocv.Resize(mat, &img, sz, 0, 0, gocv.InterpolationArea)
		s = float64(sz.X) / float64(mat.Cols())
	}
	pic, err := vision.MatToImage(img)
	if err != nil {
		return fmt.Errorf("cv: trace picture of frame %d: %w", f.Index, err)
	}
	f.Image, f.ImageScale = pic, s
	return nil
}

// traceCentre is the mean of a face's five landmarks.
func traceCentre(f liveness.FaceObs) (c struct{ X, Y float64 }) {
	for _, p := range f.Landmarks {
		c.X += p.X / 5
		c.Y += p.Y / 5
	}
	return c
}
