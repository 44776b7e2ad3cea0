package liveness

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/hoviyat/hoviyat/reason"
)

// LivenessConfig holds the thresholds and weights of the liveness
// decision. Zero values mean the defaults (DefaultLivenessConfig), which
// were calibrated on the shared genuine clips, the two real attacks and
// synthetic photo, print and screen replays; docs/bench/liveness.md gives
// the values each was chosen between and how outcomes move with it. A plain
// value: safe to share and to use from several goroutines.
type LivenessConfig struct {
	// MinAntiSpoof: the median of MiniFASNet's fused p(live) over the
	// best frames must reach it for the passive check to pass. Default 0.5.
	MinAntiSpoof float64
	// SpoofAntiSpoof: below it the passive check alone marks the video as
	// a spoof; between it and MinAntiSpoof the verdict is uncertain.
	// Default 0.2.
	SpoofAntiSpoof float64
	// A best frame shows a replay frame (the edge of a phone, monitor or
	// photo around the face) when its bezel cue is at least MinBezel and
	// at least MinBezelSides of the face's sides are framed; the replay
	// check fails when more than half of the best frames do. Defaults 0.65
	// and 0.75 (three sides).
	MinBezel      float64
	MinBezelSides float64
	// MaxMoire: a median moiré cue above it lowers the score (it is not a
	// veto: glasses and fabrics show some). Default 0.2.
	MaxMoire float64

	// Non-rigid motion: a photo or a screen moves as one plane. The face
	// is judged non-rigid when any of these holds: landmark parallax at
	// least MinParallax (inter-ocular distances), registered face change
	// over one second at least MinChange, mouth activity at least MinMouth,
	// or at least MinEyeEvents eye events (blinks, glances). Defaults 0.2,
	// 0.36, 0.2 and 1.
	MinParallax  float64
	MinChange    float64
	MinMouth     float64
	MinEyeEvents int

	// MaxJumps is the number of jumps of the main face (a cut, another
	// face taking over) tolerated. Default 1.
	MaxJumps int
	// HeadTurnYaw is the yaw in degrees the head must reach in the
	// requested direction for a head-turn challenge. Default 20.
	HeadTurnYaw float64

	// Weights of the fused score (normalised to sum 1). Defaults 0.35
	// (anti-spoof), 0.35 (non-rigid motion), 0.2 (replay cues), 0.1 (face
	// continuity).
	WeightAntiSpoof, WeightNonRigid, WeightReplay, WeightContinuity float64
}

// DefaultLivenessConfig returns the default thresholds and weights.
func DefaultLivenessConfig() LivenessConfig {
	return LivenessConfig{
		MinAntiSpoof:     0.5,
		SpoofAntiSpoof:   0.2,
		MinBezel:         0.65,
		MinBezelSides:    0.75,
		MaxMoire:         0.2,
		MinParallax:      0.2,
		MinChange:        0.36,
		MinMouth:         0.2,
		MinEyeEvents:     1,
		MaxJumps:         1,
		HeadTurnYaw:      20,
		WeightAntiSpoof:  0.35,
		WeightNonRigid:   0.35,
		WeightReplay:     0.2,
		WeightContinuity: 0.1,
	}
}

// WithDefaults returns c with zero fields set to their defaults.
func (c LivenessConfig) WithDefaults() LivenessConfig {
	d := DefaultLivenessConfig()
	f := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	f(&c.MinAntiSpoof, d.MinAntiSpoof)
	f(&c.SpoofAntiSpoof, d.SpoofAntiSpoof)
	f(&c.MinBezel, d.MinBezel)
	f(&c.MinBezelSides, d.MinBezelSides)
	f(&c.MaxMoire, d.MaxMoire)
	f(&c.MinParallax, d.MinParallax)
	f(&c.MinChange, d.MinChange)
	f(&c.MinMouth, d.MinMouth)
	f(&c.HeadTurnYaw, d.HeadTurnYaw)
	if c.MinEyeEvents == 0 {
		c.MinEyeEvents = d.MinEyeEvents
	}
	if c.MaxJumps == 0 {
		c.MaxJumps = d.MaxJumps
	}
	if c.WeightAntiSpoof == 0 && c.WeightNonRigid == 0 && c.WeightReplay == 0 && c.WeightContinuity == 0 {
		c.WeightAntiSpoof, c.WeightNonRigid, c.WeightReplay, c.WeightContinuity =
			d.WeightAntiSpoof, d.WeightNonRigid, d.WeightReplay, d.WeightContinuity
	}
	return c
}

// Validate reports thresholds outside their meaningful ranges.
func (c LivenessConfig) Validate() error {
	for k, v := range map[string]float64{
		"MinAntiSpoof": c.MinAntiSpoof, "SpoofAntiSpoof": c.SpoofAntiSpoof,
		"MinBezel": c.MinBezel, "MinBezelSides": c.MinBezelSides, "MaxMoire": c.MaxMoire,
	} {
		if v < 0 || v > 1 || math.IsNaN(v) {
			return fmt.Errorf("liveness: LivenessConfig.%s = %g, want a value in [0,1]", k, v)
		}
	}
	for k, v := range map[string]float64{
		"MinParallax": c.MinParallax, "MinChange": c.MinChange, "MinMouth": c.MinMouth,
		"HeadTurnYaw": c.HeadTurnYaw, "WeightAntiSpoof": c.WeightAntiSpoof,
		"WeightNonRigid": c.WeightNonRigid, "WeightReplay": c.WeightReplay, "WeightContinuity": c.WeightContinuity,
	} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("liveness: LivenessConfig.%s = %g, want a non-negative number", k, v)
		}
	}
	if c.SpoofAntiSpoof > c.MinAntiSpoof {
		return fmt.Errorf("liveness: LivenessConfig.SpoofAntiSpoof %g above MinAntiSpoof %g", c.SpoofAntiSpoof, c.MinAntiSpoof)
	}
	if c.MinEyeEvents < 0 || c.MaxJumps < 0 {
		return fmt.Errorf("liveness: LivenessConfig.MinEyeEvents and MaxJumps must not be negative")
	}
	if c.WeightAntiSpoof+c.WeightNonRigid+c.WeightReplay+c.WeightContinuity <= 0 {
		return fmt.Errorf("liveness: LivenessConfig weights sum to zero")
	}
	return nil
}

// Thresholds returns the thresholds by stable name, for decision records.
func (c LivenessConfig) Thresholds() map[string]float64 {
	return map[string]float64{
		"liveness.min_antispoof":   c.MinAntiSpoof,
		"liveness.spoof_antispoof": c.SpoofAntiSpoof,
		"liveness.min_bezel":       c.MinBezel,
		"liveness.min_bezel_sides": c.MinBezelSides,
		"liveness.max_moire":       c.MaxMoire,
		"liveness.min_parallax":    c.MinParallax,
		"liveness.min_change":      c.MinChange,
		"liveness.min_mouth":       c.MinMouth,
		"liveness.min_eye_events":  float64(c.MinEyeEvents),
		"liveness.max_jumps":       float64(c.MaxJumps),
		"liveness.head_turn_yaw":   c.HeadTurnYaw,
	}
}

// FrameQuality ranks a frame's main face for matching and for the passive
// anti-spoofing models: sharp, frontal, large, well exposed and confidently
// detected faces score higher (0 without a face). Detectors use it to keep
// the best frames while decoding.
func FrameQuality(m *FrameMeasures) float64 {
	f, ok := m.Main()
	if !ok {
		return 0
	}
	sharp := math.Min(1, m.Sharpness/0.8)
	pose := math.Exp(-(sq(m.Yaw/30) + sq(m.Pitch/30) + sq(m.Roll/30)))
	size := math.Min(1, m.FacePixels/150)
	expo := 1.0
	if m.Luma < 50 || m.Luma > 200 {
		expo = 0.5
	}
	return f.Score * sharp * pose * size * expo
}

func sq(x float64) float64 { return x * x }

// Judge decides a video from its per-frame measures and the passive
// anti-spoofing observations of its best frames; ch is what the applicant
// was asked to do. It fills every field of Result except Probes, Models and
// Timings, which only the detector knows. Pure computation; safe for
// concurrent use.
//
// The verdict: NotJudged when a quality reason fired (unless MiniFASNet is
// clearly negative and a replay border surrounds the face: then
// SpoofSuspected, with the quality reasons still listed); SpoofSuspected when
// the face shows no non-rigid motion (a photo), a replay frame surrounds it
// in most best frames, it jumps (cuts), or MiniFASNet is clearly negative;
// Uncertain when MiniFASNet is borderline or could not run, or a challenge
// was not met (Reasons then holds challenge_not_met); Live otherwise. The
// fused Score is kept consistent with the verdict: at least 0.5 when Live,
// below 0.5 when SpoofSuspected.
func Judge(frames []FrameMeasures, spoof []SpoofObs, ch Challenge, qc QualityConfig, lc LivenessConfig) Result {
	return JudgeTemporal(frames, AnalyzeTemporal(frames), spoof, ch, qc, lc)
}

// JudgeTemporal is Judge with the temporal analysis of frames already done
// (AnalyzeTemporal), so that a detector can run it while the anti-spoofing
// models run.
func JudgeTemporal(frames []FrameMeasures, tm Temporal, spoof []SpoofObs, ch Challenge, qc QualityConfig, lc LivenessConfig) Result {
	qc, lc = qc.WithDefaults(), lc.WithDefaults()
	headTurn := ch.HeadTurn != TurnNone
	q := qc.Assess(frames, tm.Shake, headTurn)

	res := Result{
		Frames:     len(frames),
		Measures:   q.Measures,
		Thresholds: map[string]float64{},
	}
	if n := len(frames); n > 0 {
		res.Duration = frames[n-1].Time - frames[0].Time
		if n > 1 {
			res.Duration += (frames[n-1].Time - frames[0].Time) / time.Duration(n-1)
		}
	}
	for k, v := range qc.Thresholds() {
		res.Thresholds[k] = v
	}
	for k, v := range lc.Thresholds() {
		res.Thresholds[k] = v
	}
	put := func(k string, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			res.Measures[k] = v
		}
	}
	put("parallax_p90", tm.Parallax)
	put("face_change", tm.Change)
	put("mouth_activity", tm.Mouth)
	put("eye_activity", tm.Eyes)
	put("eye_events", float64(tm.Blinks))
	put("face_jumps", float64(tm.Jumps))
	put("face_gaps", float64(tm.Gaps))
	put("yaw_min_held", tm.YawMin)
	put("yaw_max_held", tm.YawMax)

	// Evidence.
	var ev []Evidence
	score, wsum := 0.0, 0.0
	add := func(e Evidence, s float64) {
		ev = append(ev, e)
		if e.Weight > 0 && !math.IsNaN(s) {
			score += e.Weight * s
			wsum += e.Weight
		}
	}

	// Passive anti-spoofing over the best frames.
	var reals, moires []float64
	framed := 0
	for _, o := range spoof {
		reals = append(reals, o.Real)
		moires = append(moires, o.Moire)
		if o.Bezel >= lc.MinBezel && o.BezelSides >= lc.MinBezelSides {
			framed++
		}
	}
	asVal := math.NaN()
	if len(reals) > 0 {
		asVal = median(reals)
		put("antispoof_p50", asVal)
		put("antispoof_min", quantile(reals, 0))
	}
	asPass := !math.IsNaN(asVal) && asVal >= lc.MinAntiSpoof
	add(Evidence{Name: "antispoof", Value: nan0(asVal), Threshold: lc.MinAntiSpoof, Pass: asPass,
		Weight: lc.WeightAntiSpoof, Note: fmt.Sprintf("MiniFASNet V2+V1SE p(live), median of %d best frames", len(reals))}, asVal)

	// Replay framing and moiré.
	framedShare := math.NaN()
	moire := math.NaN()
	if len(spoof) > 0 {
		framedShare = float64(framed) / float64(len(spoof))
		moire = median(moires)
		put("replay_framed_share", framedShare)
		put("moire_p50", moire)
	}
	replayPass := math.IsNaN(framedShare) || framedShare <= 0.5
	replayScore := math.NaN()
	if !math.IsNaN(framedShare) {
		replayScore = 1 - framedShare
		if moire > lc.MaxMoire {
			replayScore *= 0.5
		}
	}
	add(Evidence{Name: "replay_cues", Value: nan0(framedShare), Threshold: 0.5, Pass: replayPass,
		Weight: lc.WeightReplay, Note: "share of best frames framed by straight edges on three or more sides (a screen or photo border)"}, replayScore)
	add(Evidence{Name: "moire", Value: nan0(moire), Threshold: lc.MaxMoire, Pass: math.IsNaN(moire) || moire <= lc.MaxMoire,
		Note: "median share of isolated spectral peaks on the face (screen pixel grid, print halftone)"}, math.NaN())

	// Non-rigid motion.
	type comp struct {
		name      string
		val, thr  float64
		margin    float64
		pass      bool
		note      string
		available bool
	}
	comps := []comp{
		{name: "landmark_parallax", val: tm.Parallax, thr: lc.MinParallax, note: "nose off the plane of eyes and mouth, p90 over frame pairs, inter-ocular distances"},
		{name: "face_change", val: tm.Change, thr: lc.MinChange, note: "face residual after the best affine registration, 1 s apart, median"},
		{name: "mouth_activity", val: tm.Mouth, thr: lc.MinMouth, note: "mouth residual above the rest of the face, 200 ms apart, p90"},
		{name: "blinks", val: float64(tm.Blinks), thr: float64(lc.MinEyeEvents), note: "eye events (blinks, glances); never required"},
	}
	best := 0.0
	for i := range comps {
		c := &comps[i]
		c.available = !math.IsNaN(c.val)
		if c.available && c.thr > 0 {
			c.margin = c.val / c.thr
			c.pass = c.val >= c.thr
		}
		best = math.Max(best, c.margin)
	}
	nonRigid := best >= 1
	nrScore := 0.0
	if best > 0 {
		nrScore = 1 / (1 + math.Pow(best, -3.17)) // 0.5 at the threshold, 0.9 at twice it
	}
	add(Evidence{Name: "nonrigid_motion", Value: best, Threshold: 1, Pass: nonRigid, Weight: lc.WeightNonRigid,
		Note: "largest of the components below, each divided by its threshold: a photo or screen moves as one plane"}, nrScore)
	for _, c := range comps {
		add(Evidence{Name: c.name, Value: nan0(c.val), Threshold: c.thr, Pass: c.pass, Note: c.note}, math.NaN())
	}

	// Face continuity.
	contPass := tm.Jumps <= lc.MaxJumps
	add(Evidence{Name: "face_continuity", Value: float64(tm.Jumps), Threshold: float64(lc.MaxJumps), Pass: contPass,
		Weight: lc.WeightContinuity, Note: "jumps of the main face between consecutive frames (cuts, face swaps)"}, b2f(contPass))

	// Challenges.
	challengeMet := true
	if ch.Text != "" {
		ok := !math.IsNaN(tm.Mouth) && tm.Mouth >= lc.MinMouth
		challengeMet = challengeMet && ok
		add(Evidence{Name: "challenge_text", Value: nan0(tm.Mouth), Threshold: lc.MinMouth, Pass: ok,
			Note: "mouth activity while the challenge text is read"}, math.NaN())
	}
	if headTurn {
		v, ok := headTurnReached(tm, ch.HeadTurn, lc.HeadTurnYaw)
		challengeMet = challengeMet && ok
		add(Evidence{Name: "head_turn", Value: v, Threshold: lc.HeadTurnYaw, Pass: ok,
			Note: "yaw reached in the requested direction (positive: nose towards image-right = the person's left in an unmirrored video)"}, math.NaN())
	}

	if wsum > 0 {
		res.Score = score / wsum
	}
	res.Evidence = ev

	// Verdict.
	asSpoof := !math.IsNaN(asVal) && asVal < lc.SpoofAntiSpoof
	spoofed := !nonRigid || !replayPass || !contPass || asSpoof
	// Two independent replay signals (MiniFASNet clearly negative and a
	// device or photo border around the face) decide even when the video
	// also has a quality problem: telling an attacker only "improve the
	// light" would help them.
	clearSpoof := asSpoof && !replayPass
	res.Quality = q.Reasons
	switch {
	case !q.Passed() && clearSpoof:
		res.Verdict = SpoofSuspected
		res.Reasons = append(res.Reasons, reason.SpoofSuspected)
	case !q.Passed():
		res.Verdict = NotJudged
	case spoofed:
		res.Verdict = SpoofSuspected
		res.Reasons = append(res.Reasons, reason.SpoofSuspected)
	case math.IsNaN(asVal) || !asPass || !challengeMet:
		res.Verdict = Uncertain
	default:
		res.Verdict = Live
	}
	if !challengeMet && res.Verdict != NotJudged {
		res.Reasons = append(res.Reasons, reason.ChallengeNotMet)
	}
	if res.Verdict == Live {
		res.Score = math.Max(res.Score, 0.5)
	} else if res.Verdict == SpoofSuspected {
		res.Score = math.Min(res.Score, 0.49)
	}
	sort.SliceStable(res.Reasons, func(i, j int) bool { return res.Reasons[i] < res.Reasons[j] })
	return res
}

// headTurnReached returns the yaw reached in the requested direction and
// whether it meets the threshold.
func headTurnReached(tm Temporal, dir HeadTurn, thr float64) (float64, bool) {
	switch dir {
	case TurnLeft:
		return nan0(tm.YawMax), tm.YawMax >= thr
	case TurnRight:
		return nan0(-tm.YawMin), -tm.YawMin >= thr
	}
	return 0, false
}

func nan0(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
