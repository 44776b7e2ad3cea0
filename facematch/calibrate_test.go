package facematch

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func normals(r *rand.Rand, n int, mean, sd float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = mean + sd*r.NormFloat64()
	}
	return out
}

func phi(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func TestFMRFNMR(t *testing.T) {
	t.Parallel()
	gen := []float64{0.2, 0.5, 0.5, 0.9, math.NaN()}
	imp := []float64{0.1, 0.3, 0.5, math.NaN()}
	for _, tc := range []struct {
		thr, fmr, fnmr float64
	}{
		{0.0, 1, 0},
		{0.3, 2.0 / 3, 0.25},
		{0.5, 1.0 / 3, 0.25}, // at the threshold counts as accepted
		{0.51, 0, 0.75},
		{1.0, 0, 1},
	} {
		assert.InDelta(t, tc.fmr, FMR(imp, tc.thr), 1e-12, "FMR at %g", tc.thr)
		assert.InDelta(t, tc.fnmr, FNMR(gen, tc.thr), 1e-12, "FNMR at %g", tc.thr)
	}
	assert.Zero(t, FMR(nil, 0.5))
	assert.Zero(t, FNMR(nil, 0.5))
}

func TestThresholdForFMR(t *testing.T) {
	t.Parallel()
	imp := make([]float64, 1000)
	for i := range imp {
		imp[i] = float64(i) / 1000
	}
	for _, tc := range []struct {
		target  float64
		above   float64 // the threshold is just above this score
		wantFMR float64
	}{
		{0.01, 0.989, 0.01},
		{0.001, 0.998, 0.001},
		{0.0001, 0.999, 0}, // fewer than 1/target impostors: zero allowed
		{0.5, 0.499, 0.5},
	} {
		thr := ThresholdForFMR(imp, tc.target)
		assert.Greater(t, thr, tc.above)
		assert.Less(t, thr, tc.above+1e-9)
		assert.InDelta(t, tc.wantFMR, FMR(imp, thr), 1e-12)
	}
	assert.True(t, math.IsInf(ThresholdForFMR(nil, 0.01), -1))
	assert.True(t, math.IsInf(ThresholdForFMR(imp, 1), -1))

	// Property on random scores with ties: FMR at the threshold meets the
	// target, and any lower threshold breaks it.
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		n := 50 + r.IntN(3000)
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = math.Round(r.NormFloat64()*100) / 100 // ties
		}
		target := []float64{0.001, 0.01, 0.05, 0.2}[trial%4]
		thr := ThresholdForFMR(xs, target)
		assert.LessOrEqual(t, FMR(xs, thr), target)
		if !math.IsInf(thr, -1) {
			assert.Greater(t, FMR(xs, math.Nextafter(thr, math.Inf(-1))), target)
		}
	}
}

func TestAUCMatchesBruteForce(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 30; trial++ {
		g := normals(r, 1+r.IntN(200), 1, 1)
		im := normals(r, 1+r.IntN(200), 0, 1)
		for i := range g {
			g[i] = math.Round(g[i]*4) / 4 // many ties
		}
		for i := range im {
			im[i] = math.Round(im[i]*4) / 4
		}
		var wins float64
		for _, a := range g {
			for _, b := range im {
				switch {
				case a > b:
					wins++
				case a == b:
					wins += 0.5
				}
			}
		}
		assert.InDelta(t, wins/float64(len(g)*len(im)), AUC(g, im), 1e-12)
	}
	assert.True(t, math.IsNaN(AUC(nil, []float64{1})))
}

// Two unit-variance normal score distributions d apart: AUC = Phi(d/sqrt2),
// EER = Phi(-d/2) at threshold d/2.
func TestSyntheticNormals(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for _, d := range []float64{0.5, 1, 2, 3} {
		g := normals(r, 20000, d, 1)
		im := normals(r, 20000, 0, 1)
		assert.InDelta(t, phi(d/math.Sqrt2), AUC(g, im), 0.01, "AUC d=%g", d)
		eer, thr := EER(g, im)
		assert.InDelta(t, phi(-d/2), eer, 0.01, "EER d=%g", d)
		assert.InDelta(t, d/2, thr, 0.05, "EER threshold d=%g", d)
		assert.InDelta(t, FMR(im, thr), FNMR(g, thr), 0.01)

		// FNMR at FMR 1%: threshold z(0.99)=2.326, FNMR = Phi(2.326-d).
		rep := Evaluate(g, im, 0.01, 0.001)
		require.Len(t, rep.AtFMR, 2)
		assert.InDelta(t, 2.326, rep.AtFMR[0].Threshold, 0.08)
		assert.InDelta(t, phi(rep.AtFMR[0].Threshold-d), rep.AtFMR[0].FNMR, 0.015)
		assert.LessOrEqual(t, rep.AtFMR[0].FMR, 0.01)
		assert.True(t, rep.AtFMR[0].Bounded)
		assert.InDelta(t, 3.09, rep.AtFMR[1].Threshold, 0.2)
	}
}

func TestROC(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	g := normals(r, 300, 1.5, 1)
	im := normals(r, 500, 0, 1)
	pts := ROC(g, im)
	require.Len(t, pts, 801)
	assert.Equal(t, ROCPoint{Threshold: pts[0].Threshold, FMR: pts[0].FMR, FNMR: 0}, pts[0])
	last := pts[len(pts)-1]
	assert.Equal(t, 0.0, last.FMR)
	assert.Equal(t, 1.0, last.FNMR)
	for i := 1; i < len(pts); i++ {
		assert.Greater(t, pts[i].Threshold, pts[i-1].Threshold)
		assert.LessOrEqual(t, pts[i].FMR, pts[i-1].FMR)
		assert.GreaterOrEqual(t, pts[i].FNMR, pts[i-1].FNMR)
		assert.InDelta(t, FMR(im, pts[i].Threshold), pts[i].FMR, 1e-12)
		assert.InDelta(t, FNMR(g, pts[i].Threshold), pts[i].FNMR, 1e-12)
	}
	// Trapezoid area under (FMR, 1-FNMR) equals the Mann-Whitney AUC.
	var area float64
	for i := 1; i < len(pts); i++ {
		area += (pts[i-1].FMR - pts[i].FMR) * ((1 - pts[i-1].FNMR) + (1 - pts[i].FNMR)) / 2
	}
	area += pts[0].FMR*0 + (1-pts[0].FMR)*1 // below the lowest threshold: FMR 1, TMR 1
	assert.InDelta(t, AUC(g, im), area, 1e-9)
	assert.Nil(t, ROC(nil, im))
}

func TestEERSeparatedAndEmpty(t *testing.T) {
	t.Parallel()
	eer, thr := EER([]float64{0.8, 0.9}, []float64{0.1, 0.3})
	assert.Zero(t, eer)
	assert.InDelta(t, 0.55, thr, 1e-12)
	eer, thr = EER(nil, []float64{0.1})
	assert.True(t, math.IsNaN(eer) && math.IsNaN(thr))
	// Fully inverted scores: EER 1.
	eer, _ = EER([]float64{0.1, 0.2}, []float64{0.8, 0.9})
	assert.InDelta(t, 1, eer, 1e-12)

	rep := Evaluate([]float64{0.8, 0.9}, []float64{0.1, 0.3}, 0.001)
	assert.Equal(t, 2, rep.Genuine)
	assert.InDelta(t, 1, rep.AUC, 0)
	assert.False(t, rep.AtFMR[0].Bounded, "2 impostors cannot show FMR 0.1%")
	assert.Zero(t, rep.AtFMR[0].FNMR)
	assert.InDelta(t, 0.8, rep.GenuineMin, 0)
	assert.InDelta(t, 0.3, rep.ImpostorMax, 0)
}

func TestSensitivity(t *testing.T) {
	t.Parallel()
	g := []float64{0.3, 0.6, 0.7, 0.9}
	im := []float64{0.1, 0.2, 0.4, 0.55}
	s := Sensitivity(g, im, 0.5, 0.25)
	assert.Equal(t, [3]ROCPoint{
		{Threshold: 0.25, FMR: 0.5, FNMR: 0},
		{Threshold: 0.5, FMR: 0.25, FNMR: 0.25},
		{Threshold: 0.75, FMR: 0, FNMR: 0.75},
	}, s)
}

func TestThresholdsDecide(t *testing.T) {
	t.Parallel()
	th := Thresholds{Match: 0.4, ReviewFloor: 0.3}
	require.NoError(t, th.Validate())
	for _, tc := range []struct {
		sim  float64
		want Decision
	}{
		{0.9, Match}, {0.4, Match}, {0.3999, Uncertain}, {0.3, Uncertain}, {0.2999, NonMatch}, {-1, NonMatch}, {math.NaN(), NonMatch},
	} {
		assert.Equal(t, tc.want, th.Decide(tc.sim), "%g", tc.sim)
	}
	assert.Equal(t, NonMatch, Thresholds{Match: 0.4, ReviewFloor: 0.4}.Decide(0.39))
	assert.Error(t, Thresholds{Match: 0.3, ReviewFloor: 0.4}.Validate())
	assert.Error(t, Thresholds{Match: math.NaN()}.Validate())
	assert.Error(t, Thresholds{Match: math.Inf(1)}.Validate())
}
