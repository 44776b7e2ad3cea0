package liveness

import (
	"math"
	"time"

	"github.com/hoviyat/hoviyat/facematch"
)

// Temporal holds the measures over time that the quality gate (camera
// shake) and the liveness decision (face continuity, non-rigid motion,
// mouth and eye activity, head turn) use. NaN means not measurable.
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
	// YawMin and YawMax are the 5th and 95th percentiles of head yaw in
	// degrees (positive: nose towards image-right).
	YawMin, YawMax float64
	// Pairs is the number of registered crop pairs behind Mouth and Eyes.
	Pairs int
}

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
// concurrently on distinct inputs.
func AnalyzeTemporal(frames []FrameMeasures) Temporal {
	t := Temporal{Shake: math.NaN(), Parallax: math.NaN(), Change: math.NaN(),
		Mouth: math.NaN(), Eyes: math.NaN(), YawMin: math.NaN(), YawMax: math.NaN()}
	shake(frames, &t)
	continuity(frames, &t)
	var face []*FrameMeasures
	var yaws []float64
	for i := range frames {
		if frames[i].HasFace() {
			face = append(face, &frames[i])
			yaws = append(yaws, frames[i].Yaw)
		}
	}
	if len(yaws) > 0 {
		t.YawMin, t.YawMax = quantile(yaws, 0.05), quantile(yaws, 0.95)
	}
	parallax(face, &t)
	appearance(frames, &t)
	return t
}

// shake measures camera shake as the median change between consecutive
// displacement vectors (a smooth pan has none; a shaking hand reverses
// direction every few frames).
func shake(frames []FrameMeasures, t *Temporal) {
	var bg, fc []float64
	var prevBG, prevFC [2]float64
	havePrevBG, havePrevFC := false, false
	bgPairs, pairs := 0, 0
	for i := 1; i < len(frames); i++ {
		a, b := &frames[i-1], &frames[i]
		if a.Width != b.Width || a.Height != b.Height || a.Width == 0 {
			havePrevBG, havePrevFC = false, false
			continue
		}
		pairs++
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
				bgPairs++
				d := [2]float64{sh.DX / L, sh.DY / L}
				if havePrevBG {
					bg = append(bg, math.Hypot(d[0]-prevBG[0], d[1]-prevBG[1]))
				}
				prevBG, havePrevBG = d, true
			} else {
				havePrevBG = false
			}
		} else {
			havePrevBG = false
		}
		fa, oka := a.Main()
		fb, okb := b.Main()
		if oka && okb {
			Lf := float64(max(b.Width, b.Height))
			ca, cb := faceCentre(fa), faceCentre(fb)
			d := [2]float64{(cb.X - ca.X) / Lf, (cb.Y - ca.Y) / Lf}
			if havePrevFC {
				fc = append(fc, math.Hypot(d[0]-prevFC[0], d[1]-prevFC[1]))
			}
			prevFC, havePrevFC = d, true
		} else {
			havePrevFC = false
		}
	}
	switch {
	case pairs > 0 && bgPairs*2 >= pairs && len(bg) >= 3:
		t.Shake, t.ShakeSource = median(bg), "background"
	case len(fc) >= 3:
		t.Shake, t.ShakeSource = median(fc), "face"
	}
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

// appearance registers the aligned face crops: pairs about ActivityLag
// apart for mouth and eye activity, and pairs about ChangeLag apart for the
// overall change.
func appearance(frames []FrameMeasures, t *Temporal) {
	feats := make([]*cropFeatures, len(frames))
	feat := func(i int) *cropFeatures {
		if feats[i] == nil {
			feats[i] = newCropFeatures(frames[i].Crop)
		}
		return feats[i]
	}
	n := len(frames)
	// partner returns the first frame at least lag after frame i, or -1.
	partner := func(i int, lag time.Duration) int {
		for k := i + 1; k < n; k++ {
			if frames[k].Time-frames[i].Time >= lag {
				return k
			}
		}
		return -1
	}
	var mouth, eyes []float64
	lastEvent := -time.Hour
	for i := 0; i < n; i++ {
		k := partner(i, ActivityLag*3/4)
		if k < 0 {
			break
		}
		if frames[i].Crop == nil || frames[k].Crop == nil {
			continue
		}
		r := registerFeatures(feat(i), feat(k))
		if !r.OK {
			continue
		}
		mouth = append(mouth, r.Mouth-r.Rest)
		e := r.Eyes - r.Rest
		eyes = append(eyes, e)
		if e >= EyeEventThreshold && frames[i].Time-lastEvent >= 300*time.Millisecond {
			t.Blinks++
			lastEvent = frames[i].Time
		}
	}
	t.Pairs = len(mouth)
	if len(mouth) > 0 {
		t.Mouth, t.Eyes = quantile(mouth, 0.9), quantile(eyes, 0.97)
	}
	// Overall change about ChangeLag apart, on at most maxChangePairs pairs
	// spread over the video.
	var change []float64
	stride := max(1, n/maxChangePairs)
	for i := 0; i < n; i += stride {
		if frames[i].Crop == nil {
			continue
		}
		k := partner(i, ChangeLag)
		if k < 0 {
			break
		}
		if frames[k].Crop == nil {
			continue
		}
		if r := registerFeatures(feat(i), feat(k)); r.OK {
			change = append(change, r.Face)
		}
	}
	if len(change) > 0 {
		t.Change = median(change)
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

// maxChangePairs bounds the registrations for Temporal.Change.
const maxChangePairs = 30
