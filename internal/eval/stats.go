package eval

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/hoviyat/hoviyat/facematch"
)

// Quantile returns the q-quantile (0..1) of xs by linear interpolation
// between order statistics (type 7, as R and NumPy default). NaNs are
// ignored; it is NaN for no values.
func Quantile(xs []float64, q float64) float64 {
	s := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return math.NaN()
	}
	slices.Sort(s)
	q = math.Max(0, math.Min(1, q))
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// Spread summarises a sample: count, median, 90th percentile, min, max.
type Spread struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Summarize returns the Spread of xs (NaNs ignored; zero Spread when
// empty).
func Summarize(xs []float64) Spread {
	var s Spread
	for _, x := range xs {
		if math.IsNaN(x) {
			continue
		}
		if s.N == 0 || x < s.Min {
			s.Min = x
		}
		if s.N == 0 || x > s.Max {
			s.Max = x
		}
		s.N++
	}
	if s.N == 0 {
		return Spread{}
	}
	s.Median = Quantile(xs, 0.5)
	s.P90 = Quantile(xs, 0.9)
	return s
}

// Num is a float64 that encodes NaN and ±Inf as JSON null (encoding/json
// refuses them), so a report with an undefined rate still encodes.
type Num float64

// MarshalJSON encodes n, or null when it is not finite.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON decodes a number or null (as NaN).
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	*n = Num(f)
	return nil
}

// OperatingPoint is FNMR at a target FMR (see facematch.OperatingPoint).
type OperatingPoint struct {
	TargetFMR Num  `json:"target_fmr"`
	Threshold Num  `json:"threshold"`
	FMR       Num  `json:"fmr"`
	FNMR      Num  `json:"fnmr"`
	Bounded   bool `json:"bounded"`
}

// MatchRates are the face-match error rates of one labelled score set.
type MatchRates struct {
	Name     string `json:"name"`
	Genuine  int    `json:"genuine"`
	Impostor int    `json:"impostor"`
	AUC      Num    `json:"auc"`
	EER      Num    `json:"eer"`
	// EERThreshold is the similarity where FMR and FNMR cross.
	EERThreshold Num              `json:"eer_threshold"`
	AtFMR        []OperatingPoint `json:"at_fmr"`
	GenuineMin   Num              `json:"genuine_min"`
	ImpostorMax  Num              `json:"impostor_max"`
	// Threshold is the operating threshold (the matcher's Match
	// threshold); FMR and FNMR are measured at it.
	Threshold Num `json:"threshold"`
	FMR       Num `json:"fmr"`
	FNMR      Num `json:"fnmr"`
	// ReviewFloor and the shares of genuine and impostor scores falling
	// in the review band [ReviewFloor, Threshold).
	ReviewFloor    Num `json:"review_floor"`
	GenuineReview  Num `json:"genuine_review"`
	ImpostorReview Num `json:"impostor_review"`
}

// TargetFMRs are the false match rates at which FNMR is reported.
var TargetFMRs = []float64{0.001, 0.01}

// Match computes MatchRates from genuine and impostor similarity scores
// with facematch's calibration tools.
func Match(name string, genuine, impostor []float64, th facematch.Thresholds) MatchRates {
	rep := facematch.Evaluate(genuine, impostor, TargetFMRs...)
	r := MatchRates{
		Name:         name,
		Genuine:      rep.Genuine,
		Impostor:     rep.Impostor,
		AUC:          Num(rep.AUC),
		EER:          Num(rep.EER),
		EERThreshold: Num(rep.EERThreshold),
		GenuineMin:   Num(rep.GenuineMin),
		ImpostorMax:  Num(rep.ImpostorMax),
		Threshold:    Num(th.Match),
		FMR:          Num(facematch.FMR(impostor, th.Match)),
		FNMR:         Num(facematch.FNMR(genuine, th.Match)),
		ReviewFloor:  Num(th.ReviewFloor),
	}
	for _, op := range rep.AtFMR {
		r.AtFMR = append(r.AtFMR, OperatingPoint{Num(op.TargetFMR), Num(op.Threshold), Num(op.FMR), Num(op.FNMR), op.Bounded})
	}
	r.GenuineReview = Num(bandShare(genuine, th.ReviewFloor, th.Match))
	r.ImpostorReview = Num(bandShare(impostor, th.ReviewFloor, th.Match))
	return r
}

func bandShare(xs []float64, lo, hi float64) float64 {
	n, k := 0, 0
	for _, x := range xs {
		if math.IsNaN(x) {
			continue
		}
		n++
		if x >= lo && x < hi {
			k++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}
