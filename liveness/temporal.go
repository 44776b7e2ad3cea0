package liveness

import (
	"math"
	"sort"
	"time"

	"github.com/hoviyat/hoviyat/facematch"
)

// Temporal holds the measures over time that the quality gate (camera
// shake) and the liveness decision (face continuity, non-rigid motion,
// mouth and eye activity, head turn) use. NaN means not measurable. A plain
// value.
type Temporal struct {
	// Shake is the median frame-to-frame change of the global motion, as
	// a share of the frame's longest side: the background's when enough
	// of it is visible (ShakeSource "background"), else the face's
	// ("face").
	Shake       float64
	ShakeSource string
	// Jumps counts consecutive face frames whose main face moved by more
	// than half its width or changed size by more than half: a cut, or a
	// different face taking over.
	Jumps int
	// Gaps counts runs of frames without a face between face frames.
	Gaps int
	// Parallax is the 90th percentile, over frame pairs, of the nose's
	// departure from the plane of the eyes and mouth corners, in
	// inter-ocular distances (noseParallax).
	Parallax float64
	// Change is the median residual of the face after affine
	// registration between frames about ChangeLag apart (units of the
	// face's own gradient): a planar face leaves compression noise, a
	// live face its expression and 3-D motion.
	Change float64
	// Mouth is the 90th percentile, over frame pairs ActivityLag apart,
	// of the mouth's registered residual minus the rest of the face's:
	// about 0 for a rigid face, 0.4-0.75 for people reading or talking.
	Mouth float64
	// Eyes is the 97th percentile of the same for the eyes.
	Eyes float64
	// Blinks counts eye events (blinks or glances): pairs whose eye
	// residual exceeds the rest of the face's by EyeEventThreshold, at
	// least 300 ms apart.
	Blinks int
	// YawMin and YawMax are the yaw in degrees (positive: nose towards
	// image-right) the head reached and held for yawHold sampled frames in
	// each direction: the third most extreme value, so one odd frame does
	// not count and a short turn in a long video does.
	YawMin, YawMax float64
	// Pairs is the number of registered crop pairs behind Mouth and Eyes.
	Pairs int
}

// yawHold is how many sampled frames a head turn must show.
const yawHold = 3

// ChangeLag is the time between the frames compared for Temporal.Change.
const ChangeLag = time.Second

// faceCentre is the mean of the five landmarks.
func faceCentre(f FaceObs) facematch.Point {
	var c facematch.Point
	for _, p := range f.Landmarks {
		c.X += p.X / 5
		c.Y += p.Y / 5
	}
	return c
}

// AnalyzeTemporal measures the motion of a sequence of frames (in time
// order). It is pure computation on the measures and safe to call
// concurrently on distinct inputs; it gives the same result as feeding the
// frames one by one to a TemporalAccumulator.
func AnalyzeTemporal(frames []FrameMeasures) Temporal {
	acc := NewTemporalAccumulator()
	for i := range frames {
		acc.Add(frames[i])
	}
	return acc.Temporal()
}

// TemporalAccumulator computes the temporal analysis incrementally, as the
// frames arrive, so that a detector can do most of it while the video is
// still being decoded: each Add registers the new face crop with the
// earlier frames it pairs with and measures the camera motion since the
// previous frame. It keeps the crops' registration data only for the last
// ChangeLag or so. Not safe for concurrent use.
type TemporalAccumulator struct {
	frames []FrameMeasures
	feats  map[int]*cropFeatures

	// Pairs still waiting for a partner ActivityLag / ChangeLag later.
	pendingActivity []int
	pendingChange   []int

	mouth, eyes, change []float64
	blinks              int
	lastEvent           time.Duration

	// Camera shake.
	bg, fc                 []float64
	prevBG, prevFC         [2]float64
	havePrevBG, havePrevFC bool
	bgPairs, pairs         int
}

// NewTemporalAccumulator returns an empty accumulator.
func NewTemporalAccumulator() *TemporalAccumulator {
	return &TemporalAccumulator{feats: map[int]*cropFeatures{}, lastEvent: -time.Hour}
}

func (a *TemporalAccumulator) feat(i int) *cropFeatures {
	f, ok := a.feats[i]
	if !ok {
		f = newCropFeatures(a.frames[i].Crop)
		a.feats[i] = f
	}
	return f
}

// Add takes the next frame's measures (in time order). The accumulator
// keeps m; the caller must not modify it afterwards.
func (a *TemporalAccumulator) Add(m FrameMeasures) {
	a.frames = append(a.frames, m)
	k := len(a.frames) - 1
	if k > 0 {
		a.shakePair(&a.frames[k-1], &a.frames[k])
	}
	now := a.frames[k].Time
	// Activity pairs: each earlier frame with its first partner at least
	// 3/4 ActivityLag later.
	keep := a.pendingActivity[:0]
	for _, i := range a.pendingActivity {
		if now-a.frames[i].Time < ActivityLag*3/4 {
			keep = append(keep, i)
			continue
		}
		a.activityPair(i, k)
	}
	a.pendingActivity = keep
	keepC := a.pendingChange[:0]
	for _, i := range a.pendingChange {
		if now-a.frames[i].Time < ChangeLag {
			keepC = append(keepC, i)
			continue
		}
		if a.frames[k].Crop != nil {
			if r := registerFeatures(a.feat(i), a.feat(k)); r.OK {
				a.change = append(a.change, r.Face)
			}
		}
	}
	a.pendingChange = keepC
	if a.frames[k].Crop != nil {
		a.pendingActivity = append(a.pendingActivity, k)
		a.pendingChange = append(a.pendingChange, k)
	}
	// Forget registration data no pending pair can need.
	oldest := k
	for _, i := range append(a.pendingActivity, a.pendingChange...) {
		oldest = min(oldest, i)
	}
	for i := range a.feats {
		if i < oldest {
			delete(a.feats, i)
		}
	}
}

func (a *TemporalAccumulator) activityPair(i, k int) {
	if a.frames[k].Crop == nil {
		return
	}
	r := registerFeatures(a.feat(i), a.feat(k))
	if !r.OK {
		return
	}
	a.mouth = append(a.mouth, r.Mouth-r.Rest)
	e := r.Eyes - r.Rest
	a.eyes = append(a.eyes, e)
	if t := a.frames[i].Time; e >= EyeEventThreshold && t-a.lastEvent >= 300*time.Millisecond {
		a.blinks++
		a.lastEvent = t
	}
}

// shakePair measures the camera motion from frame a to b and its change
// since the previous pair (a smooth pan has none; a shaking hand reverses
// direction every few frames).
func (acc *TemporalAccumulator) shakePair(a, b *FrameMeasures) {
	if a.Width != b.Width || a.Height != b.Height || a.Width == 0 {
		acc.havePrevBG, acc.havePrevFC = false, false
		return
	}
	acc.pairs++
	if a.ThumbW == b.ThumbW && a.ThumbH == b.ThumbH && a.ThumbW > 0 {
		s := float64(a.ThumbW) / float64(a.Width)
		var ra, rb facematch.Rect
		if f, ok := a.Main(); ok {
			ra = facematch.Rect{X: f.Box.X * s, Y: f.Box.Y * s, W: f.Box.W * s, H: f.Box.H * s}
		}
		if f, ok := b.Main(); ok {
			rb = facematch.Rect{X: f.Box.X * s, Y: f.Box.Y * s, W: f.Box.W * s, H: f.Box.H * s}
		}
		L := float64(max(a.ThumbW, a.ThumbH))
		sh := globalShift(a.Thumb, b.Thumb, a.ThumbW, a.ThumbH, ra, rb, int(math.Round(0.1*L)))
		if sh.OK {
			acc.bgPairs++
			d := [2]float64{sh.DX / L, sh.DY / L}
			if acc.havePrevBG {
				acc.bg = append(acc.bg, math.Hypot(d[0]-acc.prevBG[0], d[1]-acc.prevBG[1]))
			}
			acc.prevBG, acc.havePrevBG = d, true
		} else {
			acc.havePrevBG = false
		}
	} else {
		acc.havePrevBG = false
	}
	fa, oka := a.Main()
	fb, okb := b.Main()
	if oka && okb {
		Lf := float64(max(b.Width, b.Height))
		ca, cb := faceCentre(fa), faceCentre(fb)
		d := [2]float64{(cb.X - ca.X) / Lf, (cb.Y - ca.Y) / Lf}
		if acc.havePrevFC {
			acc.fc = append(acc.fc, math.Hypot(d[0]-acc.prevFC[0], d[1]-acc.prevFC[1]))
		}
		acc.prevFC, acc.havePrevFC = d, true
	} else {
		acc.havePrevFC = false
	}
}

// Temporal returns the analysis of the frames added so far.
func (a *TemporalAccumulator) Temporal() Temporal {
	t := Temporal{Shake: math.NaN(), Parallax: math.NaN(), Change: math.NaN(),
		Mouth: math.NaN(), Eyes: math.NaN(), YawMin: math.NaN(), YawMax: math.NaN()}
	switch {
	case a.pairs > 0 && a.bgPairs*2 >= a.pairs && len(a.bg) >= 3:
		t.Shake, t.ShakeSource = median(a.bg), "background"
	case len(a.fc) >= 3:
		t.Shake, t.ShakeSource = median(a.fc), "face"
	}
	continuity(a.frames, &t)
	var face []*FrameMeasures
	var yaws []float64
	for i := range a.frames {
		if a.frames[i].HasFace() {
			face = append(face, &a.frames[i])
			yaws = append(yaws, a.frames[i].Yaw)
		}
	}
	if len(yaws) > 0 {
		sort.Float64s(yaws)
		k := min(yawHold, len(yaws)) - 1
		t.YawMin, t.YawMax = yaws[k], yaws[len(yaws)-1-k]
	}
	parallax(face, &t)
	t.Pairs = len(a.mouth)
	if len(a.mouth) > 0 {
		t.Mouth, t.Eyes = quantile(a.mouth, 0.9), quantile(a.eyes, 0.97)
	}
	t.Blinks = a.blinks
	if len(a.change) > 0 {
		t.Change = median(a.change)
	}
	return t
}

// continuity counts jumps of the main face and gaps without a face.
func continuity(frames []FrameMeasures, t *Temporal) {
	var prev *FaceObs
	gap := false
	for i := range frames {
		f, ok := frames[i].Main()
		if !ok {
			if prev != nil {
				gap = true
			}
			continue
		}
		if prev != nil {
			if gap {
				t.Gaps++
			}
			ca, cb := faceCentre(*prev), faceCentre(f)
			w := math.Max(prev.Box.W, f.Box.W)
			size := f.Box.W / math.Max(prev.Box.W, 1e-9)
			if math.Hypot(cb.X-ca.X, cb.Y-ca.Y) > 0.5*w || size > 1.5 || size < 1/1.5 {
				t.Jumps++
			}
		}
		ff := f
		prev = &ff
		gap = false
	}
}

// maxParallaxFrames bounds the frames compared pairwise for parallax.
const maxParallaxFrames = 40

func parallax(face []*FrameMeasures, t *Temporal) {
	if len(face) < 2 {
		return
	}
	step := max(1, (len(face)+maxParallaxFrames-1)/maxParallaxFrames)
	var v []float64
	for i := 0; i < len(face); i += step {
		for j := i + step; j < len(face); j += step {
			if p, ok := noseParallax(face[i].Faces[0].Landmarks, face[j].Faces[0].Landmarks); ok {
				v = append(v, p)
			}
		}
	}
	if len(v) > 0 {
		t.Parallax = quantile(v, 0.9)
	}
}

// ActivityLag is the time between the frames compared for mouth and eye
// activity: long enough for a syllable or a blink to change the face, short
// enough that the head has hardly moved.
const ActivityLag = 200 * time.Millisecond

// EyeEventThreshold is the eye residual above the rest of the face (in
// units of the face's gradient) that counts as an eye event (a blink or a
// glance): 0.36-0.41 for the blinks of the static genuine clip g05, at
// most 0.15 on any replayed photo of the shared set.
const EyeEventThreshold = 0.25
