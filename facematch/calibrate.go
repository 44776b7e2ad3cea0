package facematch

import (
	"fmt"
	"math"
	"sort"
)

// Calibration tools. Scores are similarities: higher means more alike, and
// a pair is accepted as the same person when its score is at or above the
// threshold. Genuine scores come from pairs of the same person, impostor
// scores from pairs of different people. NaN scores are ignored. All
// functions are pure and safe for concurrent use; they do not modify their
// arguments.

// FMR is the false match rate at threshold thr: the share of impostor
// scores at or above thr. It is 0 for no impostors.
func FMR(impostor []float64, thr float64) float64 {
	n, k := 0, 0
	for _, s := range impostor {
		if math.IsNaN(s) {
			continue
		}
		n++
		if s >= thr {
			k++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}

// FNMR is the false non-match rate at threshold thr: the share of genuine
// scores below thr. It is 0 for no genuine scores.
func FNMR(genuine []float64, thr float64) float64 {
	n, k := 0, 0
	for _, s := range genuine {
		if math.IsNaN(s) {
			continue
		}
		n++
		if s < thr {
			k++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}

// ThresholdForFMR returns the lowest threshold whose FMR on impostor is at
// most target. With n impostor scores, at most floor(target*n) of them
// may be accepted; when that is zero (fewer than 1/target impostors) the
// threshold is just above the highest impostor score, and the true FMR at
// it is only known to be below about 3/n (the "rule of three"). For no
// impostor scores it returns -Inf.
func ThresholdForFMR(impostor []float64, target float64) float64 {
	s := sortedDesc(impostor)
	if len(s) == 0 {
		return math.Inf(-1)
	}
	allowed := int(math.Floor(target*float64(len(s)) + 1e-9))
	if allowed >= len(s) {
		return math.Inf(-1)
	}
	if allowed < 0 {
		allowed = 0
	}
	// Accepting the top `allowed` scores means the threshold must exceed
	// s[allowed]; ties with it are rejected too.
	return math.Nextafter(s[allowed], math.Inf(1))
}

// ROCPoint is one operating point: at Threshold, the false match and
// false non-match rates. A list of them, FMR against FNMR, is the DET
// curve (plot it on probit or log axes); 1-FNMR against FMR is the ROC.
type ROCPoint struct {
	Threshold float64 `json:"threshold"`
	FMR       float64 `json:"fmr"`
	FNMR      float64 `json:"fnmr"`
}

// ROC returns the operating points at every distinct score, by increasing
// threshold (FMR falls, FNMR rises), plus a final point above every score
// (FMR 0, FNMR 1). It is nil when either list is empty.
func ROC(genuine, impostor []float64) []ROCPoint {
	g, im := sortedAsc(genuine), sortedAsc(impostor)
	if len(g) == 0 || len(im) == 0 {
		return nil
	}
	all := make([]float64, 0, len(g)+len(im))
	all = append(append(all, g...), im...)
	sort.Float64s(all)
	pts := make([]ROCPoint, 0, len(all)+1)
	gi, ii := 0, 0 // counts of scores below the threshold
	for i, t := range all {
		if i > 0 && t == all[i-1] {
			continue
		}
		for gi < len(g) && g[gi] < t {
			gi++
		}
		for ii < len(im) && im[ii] < t {
			ii++
		}
		pts = append(pts, ROCPoint{
			Threshold: t,
			FMR:       float64(len(im)-ii) / float64(len(im)),
			FNMR:      float64(gi) / float64(len(g)),
		})
	}
	pts = append(pts, ROCPoint{Threshold: math.Nextafter(all[len(all)-1], math.Inf(1)), FMR: 0, FNMR: 1})
	return pts
}

// AUC is the area under the ROC curve: the probability that a random
// genuine score exceeds a random impostor score, ties counting half
// (the Mann-Whitney statistic). It is NaN when either list is empty.
func AUC(genuine, impostor []float64) float64 {
	g, im := sortedAsc(genuine), sortedAsc(impostor)
	if len(g) == 0 || len(im) == 0 {
		return math.NaN()
	}
	var wins float64
	lo, hi := 0, 0 // im[:lo] < s, im[:hi] <= s
	for _, s := range g {
		for lo < len(im) && im[lo] < s {
			lo++
		}
		if hi < lo {
			hi = lo
		}
		for hi < len(im) && im[hi] <= s {
			hi++
		}
		wins += float64(lo) + 0.5*float64(hi-lo)
	}
	return wins / (float64(len(g)) * float64(len(im)))
}

// EER returns the equal error rate, where FMR and FNMR cross, and the
// threshold there, interpolated linearly between the two operating points
// that bracket the crossing. Perfectly separated scores give 0 and a
// threshold halfway between the highest impostor and the lowest genuine
// score. Both are NaN when either list is empty.
func EER(genuine, impostor []float64) (eer, threshold float64) {
	pts := ROC(genuine, impostor)
	if pts == nil {
		return math.NaN(), math.NaN()
	}
	g, im := sortedAsc(genuine), sortedAsc(impostor)
	if im[len(im)-1] < g[0] {
		return 0, (im[len(im)-1] + g[0]) / 2
	}
	prev := pts[0]
	for _, p := range pts[1:] {
		d1, d2 := prev.FNMR-prev.FMR, p.FNMR-p.FMR
		if d1 <= 0 && d2 >= 0 {
			if d1 == d2 {
				return prev.FMR, prev.Threshold
			}
			a := d1 / (d1 - d2)
			return prev.FMR + a*(p.FMR-prev.FMR), prev.Threshold + a*(p.Threshold-prev.Threshold)
		}
		prev = p
	}
	// Unreachable: the first point has FNMR 0 and the last FMR 0.
	return math.NaN(), math.NaN()
}

// OperatingPoint is the threshold chosen for a target FMR and the rates
// measured at it.
type OperatingPoint struct {
	TargetFMR float64 `json:"target_fmr"`
	Threshold float64 `json:"threshold"`
	FMR       float64 `json:"fmr"`
	FNMR      float64 `json:"fnmr"`
	// Bounded is false when there were fewer than 1/TargetFMR impostor
	// scores, so the target could only be met with zero observed false
	// matches and the true FMR is only known to be below about
	// 3/Impostors.
	Bounded bool `json:"bounded"`
}

// Report summarises a score set for a calibration report.
type Report struct {
	Genuine      int              `json:"genuine"`
	Impostor     int              `json:"impostor"`
	AUC          float64          `json:"auc"`
	EER          float64          `json:"eer"`
	EERThreshold float64          `json:"eer_threshold"`
	AtFMR        []OperatingPoint `json:"at_fmr"`
	// GenuineMin and ImpostorMax bound the overlap of the two lists.
	GenuineMin  float64 `json:"genuine_min"`
	ImpostorMax float64 `json:"impostor_max"`
}

// Evaluate computes a Report, with an OperatingPoint per target FMR
// (e.g. 0.001, 0.01).
func Evaluate(genuine, impostor []float64, targetFMRs ...float64) Report {
	g, im := sortedAsc(genuine), sortedAsc(impostor)
	r := Report{Genuine: len(g), Impostor: len(im), AUC: AUC(g, im), GenuineMin: math.NaN(), ImpostorMax: math.NaN()}
	r.EER, r.EERThreshold = EER(g, im)
	if len(g) > 0 {
		r.GenuineMin = g[0]
	}
	if len(im) > 0 {
		r.ImpostorMax = im[len(im)-1]
	}
	for _, target := range targetFMRs {
		thr := ThresholdForFMR(im, target)
		r.AtFMR = append(r.AtFMR, OperatingPoint{
			TargetFMR: target,
			Threshold: thr,
			FMR:       FMR(im, thr),
			FNMR:      FNMR(g, thr),
			Bounded:   target*float64(len(im)) >= 1,
		})
	}
	return r
}

// Sensitivity returns the operating points at thr-delta, thr and
// thr+delta: how much FMR and FNMR move when the threshold does.
func Sensitivity(genuine, impostor []float64, thr, delta float64) [3]ROCPoint {
	var out [3]ROCPoint
	for i, t := range [3]float64{thr - delta, thr, thr + delta} {
		out[i] = ROCPoint{Threshold: t, FMR: FMR(impostor, t), FNMR: FNMR(genuine, t)}
	}
	return out
}

// Thresholds are a matcher's calibrated decision thresholds. A plain
// value: safe for concurrent use.
type Thresholds struct {
	// Match is the operating threshold: a similarity at or above it is a
	// Match.
	Match float64 `json:"match"`
	// ReviewFloor is the lower edge of the review band: similarities in
	// [ReviewFloor, Match) are Uncertain, below it NonMatch. Equal to
	// Match means no review band.
	ReviewFloor float64 `json:"review_floor"`
}

// Validate checks that both are finite and ReviewFloor <= Match.
func (t Thresholds) Validate() error {
	if math.IsNaN(t.Match) || math.IsInf(t.Match, 0) || math.IsNaN(t.ReviewFloor) || math.IsInf(t.ReviewFloor, 0) {
		return fmt.Errorf("facematch: thresholds must be finite, got %+v", t)
	}
	if t.ReviewFloor > t.Match {
		return fmt.Errorf("facematch: review floor %g above match threshold %g", t.ReviewFloor, t.Match)
	}
	return nil
}

// Decide maps a fused similarity to a Decision. NaN is NonMatch.
func (t Thresholds) Decide(similarity float64) Decision {
	switch {
	case similarity >= t.Match:
		return Match
	case similarity >= t.ReviewFloor:
		return Uncertain
	default:
		return NonMatch
	}
}

func sortedAsc(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	sort.Float64s(out)
	return out
}

func sortedDesc(xs []float64) []float64 {
	out := sortedAsc(xs)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
