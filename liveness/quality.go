package liveness

import (
	"fmt"
	"math"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/reason"
)

// QualityConfig holds the thresholds of the quality gate. Zero values mean
// the defaults (DefaultQualityConfig); the defaults were calibrated on the
// shared genuine clips, attacks and derived perturbations, and
// docs/bench/liveness.md reports how each outcome moves when a threshold
// moves by ±10–20%.
//
// A QualityConfig is a plain value: safe to share and to use from several
// goroutines.
//
// Per-frame problems become reasons only when they persist: a reason fires
// when its condition holds on more than Persistence of the frames with a
// face (MultiFacePersistence for a second face), so one odd frame never
// rejects a video.
type QualityConfig struct {
	// MinFaceShare: below this share of sampled frames with a face the
	// video is no_face. Default 0.5.
	MinFaceShare float64
	// Persistence is the share of face frames on which a per-frame
	// condition must hold for its reason to fire. Default 0.5.
	Persistence float64

	// A face counts as a second person when its box area is at least
	// SecondFaceArea of the main face's and its detector score at least
	// SecondFaceScore; smaller faces (people far behind, faces on posters)
	// are ignored. Defaults 0.2 and 0.7.
	SecondFaceArea  float64
	SecondFaceScore float64
	// MultiFacePersistence is the share of face frames with a second
	// person that yields multiple_faces. Default 0.15.
	MultiFacePersistence float64

	// MinFaceHeight: face_too_far when the face box height is below this
	// share of the frame height. Default 0.2.
	MinFaceHeight float64
	// MaxOutside: face_out_of_frame when more than this share of the face
	// (its aligned-crop square, placed by the landmarks) lies outside the
	// frame. Default 0.2.
	MaxOutside float64

	// MinLuma: low_light when the face's mean luminance (0-255) is below
	// it, or when more than MaxUnder of its pixels are under-exposed, or
	// when it is below DimLuma and the face's dynamic range is below
	// MinDynamicRange (a dim face with little contrast left: noise
	// dominates). Defaults 30, 0.35, 50 and 40.
	MinLuma         float64
	MaxUnder        float64
	DimLuma         float64
	MinDynamicRange float64
	// MaxLuma / MaxOver: overexposed when the face's mean luminance is
	// above MaxLuma or more than MaxOver of its pixels are over-exposed.
	// Defaults 215 and 0.25.
	MaxLuma float64
	MaxOver float64

	// MinSharpness: low_quality when the face's fine-detail measure
	// (CropSharpness) is below it. Default 0.45.
	MinSharpness float64
	// MinFacePixels: low_quality when the face box is shorter than this
	// many source pixels. Default 48.
	MinFacePixels float64

	// MaxYaw, MaxPitch, MaxRoll bound a usable head pose in degrees;
	// bad_angle fires when the pose is outside them on more than
	// Persistence of the face frames (during a requested head turn only
	// roll counts). Defaults 35, 30, 20. Roll is measured on an upright
	// copy of tilted faces, so it is not under-read.
	MaxYaw   float64
	MaxPitch float64
	MaxRoll  float64

	// MaxGlare: reflection when more than this share of the face's pixels
	// are specular highlights. Default 0.04.
	MaxGlare float64

	// MaxShake: camera_shake when the median frame-to-frame change of the
	// global motion (jitter), as a share of the frame's longest side, is
	// above it (see Temporal.Shake). Default 0.03.
	MaxShake float64
}

// DefaultQualityConfig returns the default thresholds.
func DefaultQualityConfig() QualityConfig {
	return QualityConfig{
		MinFaceShare:         0.5,
		Persistence:          0.5,
		SecondFaceArea:       0.2,
		SecondFaceScore:      0.7,
		MultiFacePersistence: 0.15,
		MinFaceHeight:        0.2,
		MaxOutside:           0.2,
		MinLuma:              30,
		MaxUnder:             0.35,
		DimLuma:              50,
		MinDynamicRange:      40,
		MaxLuma:              215,
		MaxOver:              0.25,
		MinSharpness:         0.45,
		MinFacePixels:        48,
		MaxYaw:               35,
		MaxPitch:             30,
		MaxRoll:              20,
		MaxGlare:             0.04,
		MaxShake:             0.03,
	}
}

// WithDefaults returns c with zero fields set to their defaults.
func (c QualityConfig) WithDefaults() QualityConfig {
	d := DefaultQualityConfig()
	set := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	set(&c.MinFaceShare, d.MinFaceShare)
	set(&c.Persistence, d.Persistence)
	set(&c.SecondFaceArea, d.SecondFaceArea)
	set(&c.SecondFaceScore, d.SecondFaceScore)
	set(&c.MultiFacePersistence, d.MultiFacePersistence)
	set(&c.MinFaceHeight, d.MinFaceHeight)
	set(&c.MaxOutside, d.MaxOutside)
	set(&c.MinLuma, d.MinLuma)
	set(&c.MaxUnder, d.MaxUnder)
	set(&c.DimLuma, d.DimLuma)
	set(&c.MinDynamicRange, d.MinDynamicRange)
	set(&c.MaxLuma, d.MaxLuma)
	set(&c.MaxOver, d.MaxOver)
	set(&c.MinSharpness, d.MinSharpness)
	set(&c.MinFacePixels, d.MinFacePixels)
	set(&c.MaxYaw, d.MaxYaw)
	set(&c.MaxPitch, d.MaxPitch)
	set(&c.MaxRoll, d.MaxRoll)
	set(&c.MaxGlare, d.MaxGlare)
	set(&c.MaxShake, d.MaxShake)
	return c
}

// Validate reports thresholds outside their meaningful ranges.
func (c QualityConfig) Validate() error {
	shares := map[string]float64{
		"MinFaceShare": c.MinFaceShare, "Persistence": c.Persistence,
		"SecondFaceArea": c.SecondFaceArea, "SecondFaceScore": c.SecondFaceScore,
		"MultiFacePersistence": c.MultiFacePersistence, "MinFaceHeight": c.MinFaceHeight,
		"MaxOutside": c.MaxOutside, "MaxUnder": c.MaxUnder, "MaxOver": c.MaxOver,
		"MaxGlare": c.MaxGlare, "MaxShake": c.MaxShake,
	}
	for k, v := range shares {
		if v < 0 || v > 1 || math.IsNaN(v) {
			return fmt.Errorf("liveness: QualityConfig.%s = %g, want a share in [0,1]", k, v)
		}
	}
	others := map[string]float64{
		"MinLuma": c.MinLuma, "MaxLuma": c.MaxLuma, "DimLuma": c.DimLuma, "MinDynamicRange": c.MinDynamicRange, "MinSharpness": c.MinSharpness,
		"MinFacePixels": c.MinFacePixels, "MaxYaw": c.MaxYaw, "MaxPitch": c.MaxPitch, "MaxRoll": c.MaxRoll,
	}
	for k, v := range others {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("liveness: QualityConfig.%s = %g, want a non-negative number", k, v)
		}
	}
	if c.MinLuma >= c.MaxLuma {
		return fmt.Errorf("liveness: QualityConfig.MinLuma %g must be below MaxLuma %g", c.MinLuma, c.MaxLuma)
	}
	return nil
}

// Thresholds returns the thresholds by stable name, for decision records.
func (c QualityConfig) Thresholds() map[string]float64 {
	return map[string]float64{
		"quality.min_face_share":         c.MinFaceShare,
		"quality.persistence":            c.Persistence,
		"quality.second_face_area":       c.SecondFaceArea,
		"quality.second_face_score":      c.SecondFaceScore,
		"quality.multi_face_persistence": c.MultiFacePersistence,
		"quality.min_face_height":        c.MinFaceHeight,
		"quality.max_outside":            c.MaxOutside,
		"quality.min_luma":               c.MinLuma,
		"quality.max_under":              c.MaxUnder,
		"quality.dim_luma":               c.DimLuma,
		"quality.min_dynamic_range":      c.MinDynamicRange,
		"quality.max_luma":               c.MaxLuma,
		"quality.max_over":               c.MaxOver,
		"quality.min_sharpness":          c.MinSharpness,
		"quality.min_face_pixels":        c.MinFacePixels,
		"quality.max_yaw":                c.MaxYaw,
		"quality.max_pitch":              c.MaxPitch,
		"quality.max_roll":               c.MaxRoll,
		"quality.max_glare":              c.MaxGlare,
		"quality.max_shake":              c.MaxShake,
	}
}

// QualityReport is the quality gate's outcome for one video (a plain
// value).
type QualityReport struct {
	// Reasons are the quality reasons, in catalogue order; empty means the
	// video is good enough to judge.
	Reasons []reason.Code
	// Measures are video-level measures by stable name (medians over the
	// face frames, shares of frames with each problem).
	Measures map[string]float64
}

// Passed reports whether no quality reason fired.
func (q QualityReport) Passed() bool { return len(q.Reasons) == 0 }

// frameProblems are the per-frame conditions of the gate.
type frameProblems struct {
	multi, far, outside, dark, bright, blur, angle, glare bool
}

// secondFaces counts the faces of m other than the main one that are
// large and confident enough to be another person.
func (c QualityConfig) secondFaces(m *FrameMeasures) int {
	if len(m.Faces) < 2 {
		return 0
	}
	main := m.Faces[0].Area()
	n := 0
	for _, f := range m.Faces[1:] {
		if f.Score >= c.SecondFaceScore && f.Area() >= c.SecondFaceArea*main {
			n++
		}
	}
	return n
}

// outsideShare is the share of the face that lies outside the frame. The
// face's extent is taken from its landmarks, not from the detector's box:
// on a face cut by the frame edge the detector boxes only the visible part,
// while the aligned-crop square (CropLandmarks' template, forehead to
// chin) mapped through the landmarks' similarity transform still covers
// the whole face. The share is sampled on a 12x12 grid of that square.
func outsideShare(m *FrameMeasures) float64 {
	f := m.Faces[0]
	t, ok := fitSimilarity(CropLandmarks[:], f.Landmarks[:])
	if !ok || m.Width <= 0 || m.Height <= 0 {
		return 0
	}
	const n = 12
	out := 0
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			p := t.apply(facematch.Point{X: (float64(i) + 0.5) * CropSize / n, Y: (float64(j) + 0.5) * CropSize / n})
			if p.X < 0 || p.Y < 0 || p.X >= float64(m.Width) || p.Y >= float64(m.Height) {
				out++
			}
		}
	}
	return float64(out) / (n * n)
}

func (c QualityConfig) problems(m *FrameMeasures, poseExempt bool) frameProblems {
	var p frameProblems
	p.multi = c.secondFaces(m) > 0
	f := m.Faces[0]
	if m.Height > 0 && f.Box.H/float64(m.Height) < c.MinFaceHeight {
		p.far = true
	}
	p.outside = outsideShare(m) > c.MaxOutside
	p.dark = m.Luma < c.MinLuma || m.Under > c.MaxUnder ||
		(m.Luma < c.DimLuma && m.DynamicRange < c.MinDynamicRange)
	p.bright = m.Luma > c.MaxLuma || m.Over > c.MaxOver
	p.blur = m.Sharpness < c.MinSharpness || m.FacePixels < c.MinFacePixels
	if !poseExempt {
		p.angle = math.Abs(m.Yaw) > c.MaxYaw || math.Abs(m.Pitch) > c.MaxPitch || math.Abs(m.Roll) > c.MaxRoll
	} else {
		// During a requested head turn only roll (a tilted camera) counts.
		p.angle = math.Abs(m.Roll) > c.MaxRoll
	}
	p.glare = m.Glare > c.MaxGlare
	return p
}

// Assess runs the quality gate over the per-frame measures of a video.
// shake is the camera-shake measure from the motion analysis (NaN when it
// could not be measured). headTurn exempts yaw and pitch from bad_angle
// because the applicant was asked to turn.
func (c QualityConfig) Assess(frames []FrameMeasures, shake float64, headTurn bool) QualityReport {
	c = c.WithDefaults()
	rep := QualityReport{Measures: map[string]float64{}}
	var face []*FrameMeasures
	for i := range frames {
		if frames[i].HasFace() {
			face = append(face, &frames[i])
		}
	}
	total := len(frames)
	rep.Measures["frames"] = float64(total)
	rep.Measures["face_frames"] = float64(len(face))
	if total == 0 || float64(len(face)) < c.MinFaceShare*float64(total) || len(face) == 0 {
		rep.Reasons = []reason.Code{reason.NoFace}
		if total > 0 {
			rep.Measures["face_share"] = float64(len(face)) / float64(total)
		}
		return rep
	}
	rep.Measures["face_share"] = float64(len(face)) / float64(total)

	var counts struct{ multi, far, outside, dark, bright, blur, angle, glare int }
	var luma, under, over, dr, sharp, glare, fh, fpx, yaw, pitch, roll, nfaces []float64
	for _, m := range face {
		p := c.problems(m, headTurn)
		b2i := func(b bool) int {
			if b {
				return 1
			}
			return 0
		}
		counts.multi += b2i(p.multi)
		counts.far += b2i(p.far)
		counts.outside += b2i(p.outside)
		counts.dark += b2i(p.dark)
		counts.bright += b2i(p.bright)
		counts.blur += b2i(p.blur)
		counts.angle += b2i(p.angle)
		counts.glare += b2i(p.glare)
		luma = append(luma, m.Luma)
		under = append(under, m.Under)
		over = append(over, m.Over)
		dr = append(dr, m.DynamicRange)
		sharp = append(sharp, m.Sharpness)
		glare = append(glare, m.Glare)
		fpx = append(fpx, m.FacePixels)
		if m.Height > 0 {
			fh = append(fh, m.Faces[0].Box.H/float64(m.Height))
		}
		yaw = append(yaw, math.Abs(m.Yaw))
		pitch = append(pitch, m.Pitch)
		roll = append(roll, math.Abs(m.Roll))
		nfaces = append(nfaces, float64(1+c.secondFaces(m)))
	}
	n := float64(len(face))
	share := func(k int) float64 { return float64(k) / n }
	ms := rep.Measures
	ms["luminance_mean"] = median(luma)
	ms["underexposed_share"] = median(under)
	ms["overexposed_share"] = median(over)
	ms["dynamic_range"] = median(dr)
	ms["sharpness"] = median(sharp)
	ms["glare_share"] = median(glare)
	ms["face_pixels"] = median(fpx)
	ms["face_height_ratio"] = median(fh)
	ms["yaw_abs_p50"] = median(yaw)
	ms["pitch_p50"] = median(pitch)
	ms["roll_abs_p50"] = median(roll)
	ms["faces_p90"] = quantile(nfaces, 0.9)
	ms["multi_face_share"] = share(counts.multi)
	ms["far_share"] = share(counts.far)
	ms["out_of_frame_share"] = share(counts.outside)
	ms["dark_share"] = share(counts.dark)
	ms["bright_share"] = share(counts.bright)
	ms["blur_share"] = share(counts.blur)
	ms["bad_angle_share"] = share(counts.angle)
	ms["glare_frame_share"] = share(counts.glare)
	if !math.IsNaN(shake) {
		ms["shake"] = shake
	}

	add := func(cond bool, code reason.Code) {
		if cond {
			rep.Reasons = append(rep.Reasons, code)
		}
	}
	// Catalogue order; each condition must persist.
	add(share(counts.multi) > c.MultiFacePersistence, reason.MultipleFaces)
	add(share(counts.far) > c.Persistence, reason.FaceTooFar)
	add(share(counts.outside) > c.Persistence, reason.FaceOutOfFrame)
	add(share(counts.dark) > c.Persistence, reason.LowLight)
	add(share(counts.bright) > c.Persistence, reason.Overexposed)
	add(share(counts.blur) > c.Persistence, reason.LowQuality)
	add(share(counts.angle) > c.Persistence, reason.BadAngle)
	add(share(counts.glare) > c.Persistence, reason.Reflection)
	add(!math.IsNaN(shake) && shake > c.MaxShake, reason.CameraShake)
	return rep
}
