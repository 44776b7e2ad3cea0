package eval

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/reason"
)

func TestQuantile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xs   []float64
		q    float64
		want float64
	}{
		{"median odd", []float64{3, 1, 2}, 0.5, 2},
		{"median even", []float64{4, 1, 3, 2}, 0.5, 2.5},
		{"p90 of 1..10", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9.1},
		{"min", []float64{5, 7}, 0, 5},
		{"max", []float64{5, 7}, 1, 7},
		{"nan ignored", []float64{math.NaN(), 1, 3}, 0.5, 2},
		{"single", []float64{42}, 0.9, 42},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.InDelta(t, tc.want, Quantile(tc.xs, tc.q), 1e-12)
		})
	}
	assert.True(t, math.IsNaN(Quantile(nil, 0.5)))
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	s := Summarize([]float64{10, 30, 20, math.NaN(), 40})
	assert.Equal(t, Spread{N: 4, Median: 25, P90: 37, Min: 10, Max: 40}, s)
	assert.Equal(t, Spread{}, Summarize([]float64{math.NaN()}))
}

func TestPAD(t *testing.T) {
	t.Parallel()
	ps := []Presentation{
		{ID: "g1", Outcome: Approved},
		{ID: "g2", Outcome: Rejected, Spoof: true},
		{ID: "g3", Outcome: Review},
		{ID: "g4", Outcome: Approved},
		{ID: "a1", Species: "screen", Outcome: Rejected},
		{ID: "a2", Species: "screen", Outcome: Review},
		{ID: "a3", Species: "photo", Outcome: Rejected, Spoof: true},
		{ID: "a4", Species: "photo", Outcome: Rejected},
		{ID: "a5", Species: "photo", Outcome: Locked},
		{ID: "a6", Species: "print", Outcome: Approved},
		{ID: "a7", Species: "print", Outcome: Error},
	}
	r := PAD(ps)
	require.Len(t, r.Species, 3)
	assert.Equal(t, []string{"photo", "print", "screen"}, []string{r.Species[0].Species, r.Species[1].Species, r.Species[2].Species})
	photo, print, screen := r.Species[0], r.Species[1], r.Species[2]
	assert.Equal(t, 0.0, photo.APCER)
	assert.Equal(t, 3, photo.Rejected, "locked counts as rejected")
	assert.Equal(t, 1, photo.Spoof)
	assert.Equal(t, 1, r.BonaFideSpoof)
	assert.Equal(t, 1.0, print.APCER)
	assert.Equal(t, 1, print.Approved)
	assert.Equal(t, 1, print.Errors)
	assert.Equal(t, []string{"a6", "a7"}, print.Missed)
	assert.Equal(t, 0.5, screen.APCER)
	assert.Equal(t, []string{"a2"}, screen.Missed)
	assert.Equal(t, 1.0, r.APCERMax)
	assert.Equal(t, 4, r.BonaFide)
	assert.Equal(t, 0.25, r.BPCER)
	assert.Equal(t, 0.25, r.ReviewRate)
	assert.Equal(t, []string{"g2"}, r.BonaFideRejected)

	empty := PAD(nil)
	assert.Zero(t, empty.BPCER)
	assert.Empty(t, empty.Species)
}

func TestConfusion(t *testing.T) {
	t.Parallel()
	ls := []Labelled{
		{ID: "d1", Expected: reason.LowLight, Outcome: Rejected, Produced: []reason.Code{reason.LowLight}},
		{ID: "d2", Expected: reason.LowLight, Outcome: Rejected, Produced: []reason.Code{reason.LowLight, reason.LowQuality}},
		{ID: "d3", Expected: reason.LowLight, Outcome: Rejected, Produced: []reason.Code{reason.NoFace}},
		{ID: "b1", Expected: reason.LowQuality, Outcome: Rejected, Produced: []reason.Code{reason.LowQuality, reason.LowQuality}},
		{ID: "s1", Expected: reason.SpoofSuspected, Outcome: Approved},
	}
	c := NewConfusion(ls)
	assert.Equal(t, []string{"low_light", "low_quality", "spoof_suspected"}, c.Expected)
	assert.Equal(t, []string{"low_light", "low_quality", "spoof_suspected", "no_face", ApprovedColumn}, c.Produced)
	assert.Equal(t, 2, c.Count["low_light"]["low_light"])
	assert.Equal(t, 1, c.Count["low_light"]["low_quality"])
	assert.Equal(t, 1, c.Count["low_light"]["no_face"])
	assert.Equal(t, 1, c.Count["low_quality"]["low_quality"], "a repeated code counts once")
	assert.Equal(t, 1, c.Count["spoof_suspected"][ApprovedColumn])
	assert.InDelta(t, 2.0/3, c.HitRate(reason.LowLight), 1e-12)
	assert.Equal(t, 1.0, c.HitRate(reason.LowQuality))
	assert.Equal(t, 0.0, c.HitRate(reason.SpoofSuspected))
	assert.Equal(t, 0.0, c.HitRate(reason.BadAngle), "unknown row")
	assert.Equal(t, []reason.Code{reason.LowLight, reason.SpoofSuspected}, c.Failing(0.9))
	assert.Equal(t, []string{"d3"}, c.Misses["low_light"])
	assert.Equal(t, []string{"s1"}, c.Approved)
}

func TestMatchRatesSeparated(t *testing.T) {
	t.Parallel()
	gen := []float64{0.8, 0.7, 0.9, 0.6}
	imp := []float64{0.1, 0.2, 0.3, 0.35, 0.0}
	m := Match("sep", gen, imp, facematch.Thresholds{Match: 0.5, ReviewFloor: 0.32})
	assert.Equal(t, 4, m.Genuine)
	assert.Equal(t, 5, m.Impostor)
	assert.Equal(t, 1.0, float64(m.AUC))
	assert.Equal(t, 0.0, float64(m.EER))
	assert.Equal(t, 0.0, float64(m.FMR))
	assert.Equal(t, 0.0, float64(m.FNMR))
	assert.InDelta(t, 0.2, float64(m.ImpostorReview), 1e-12, "0.35 is in [0.32, 0.5)")
	assert.Equal(t, 0.0, float64(m.GenuineReview))
	require.Len(t, m.AtFMR, 2)
	assert.False(t, m.AtFMR[0].Bounded, "5 impostors cannot measure FMR 0.1%")
	assert.Equal(t, 0.0, float64(m.AtFMR[0].FNMR))
	assert.Equal(t, 0.6, float64(m.GenuineMin))
	assert.Equal(t, 0.35, float64(m.ImpostorMax))
}

func TestMatchRatesOverlap(t *testing.T) {
	t.Parallel()
	// Two unit-variance normals 2 apart: AUC = Φ(2/√2) ≈ 0.921,
	// EER = Φ(-1) ≈ 0.159, FNMR at FMR 1% = Φ(2.326-2) ≈ 0.628.
	r := rand.New(rand.NewPCG(1, 2))
	var gen, imp []float64
	for range 20000 {
		gen = append(gen, 2+r.NormFloat64())
		imp = append(imp, r.NormFloat64())
	}
	m := Match("normal", gen, imp, facematch.Thresholds{Match: 1, ReviewFloor: 1})
	assert.InDelta(t, 0.921, float64(m.AUC), 0.01)
	assert.InDelta(t, 0.159, float64(m.EER), 0.01)
	assert.InDelta(t, 0.159, float64(m.FMR), 0.01, "FMR at 1 = 1-Φ(1)")
	assert.InDelta(t, 0.159, float64(m.FNMR), 0.01, "FNMR at 1 = Φ(-1)")
	require.Len(t, m.AtFMR, 2)
	assert.True(t, m.AtFMR[1].Bounded)
	assert.InDelta(t, 0.628, float64(m.AtFMR[1].FNMR), 0.02)
	assert.LessOrEqual(t, float64(m.AtFMR[1].FMR), 0.01)
}

func TestNumJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal([]Num{1.5, Num(math.NaN()), Num(math.Inf(-1)), 0})
	require.NoError(t, err)
	assert.Equal(t, "[1.5,null,null,0]", string(b))
	var back []Num
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, Num(1.5), back[0])
	assert.True(t, math.IsNaN(float64(back[1])))
	assert.Error(t, json.Unmarshal([]byte(`["x"]`), &back))
}

func TestProbit(t *testing.T) {
	t.Parallel()
	assert.InDelta(t, 0, probit(0.5), 1e-12)
	assert.InDelta(t, 1.959964, probit(0.975), 1e-5)
	assert.InDelta(t, -2.326348, probit(0.01), 1e-5)
	n := probitScale{}
	assert.InDelta(t, 0, n.Normalize(0.001, 0.5, 0.001), 1e-12)
	assert.InDelta(t, 1, n.Normalize(0.001, 0.5, 0.5), 1e-12)
	assert.InDelta(t, 0, n.Normalize(detFloor, 0.5, 0), 1e-12, "0 is drawn on the floor")
}

func num64(x float64) *Num { n := Num(x); return &n }

func sampleReport() *Report {
	r := &Report{
		Title:       "test",
		Command:     "hoviyat eval --data D --out O",
		Environment: map[string]string{"cpus": "2"},
		Clips: []Clip{
			{ID: "g1", Set: SetGenuine, Outcome: Approved, LivenessScore: num64(0.9), MatchScore: num64(0.8), TimingsMS: map[string]float64{"decode": 100, "total": 500}},
			{ID: "g2", Set: SetGenuine, Outcome: Rejected, Reasons: []reason.Code{reason.LowLight}, TimingsMS: map[string]float64{"decode": 200, "total": 700}},
			{ID: "a1", Set: SetAttack, Species: "screen_replay", Outcome: Rejected, Reasons: []reason.Code{reason.SpoofSuspected}},
			{ID: "a5", Set: SetDeepfake, Outcome: Review, Reasons: []reason.Code{reason.BorderlineLiveness}},
			{ID: "dark_x", Set: SetPerturbed, Expected: reason.LowLight, Outcome: Rejected, Reasons: []reason.Code{reason.LowLight}},
			{ID: "photo_x", Set: SetPerturbed, Expected: reason.SpoofSuspected, Species: "synthetic_photo_replay", Outcome: Approved},
			{ID: "n06", Set: SetNegative, Outcome: Error, ErrorCode: "video_invalid"},
			{ID: "empty", Set: SetMalformed, Outcome: Error, ErrorCode: "internal", Error: "boom"},
		},
		Pairs: []Pair{
			{Set: "video", A: "g1", B: "g1.jpg", Same: true, Score: 0.8, Outcome: Approved, Decision: "match"},
			{Set: "video", A: "g1", B: "g2.jpg", Same: false, Score: 0.45, Outcome: Approved, Decision: "match"},
			{Set: "photos", A: "p1", B: "p2", Same: true, Score: 0.7, Decision: "match"},
			{Set: "photos", A: "p1", B: "p3", Same: false, Score: 0.2, Decision: "non_match"},
			{Set: "photos", A: "p1", B: "p4", Same: false, Score: Num(math.NaN()), Error: "reference_unusable"},
		},
	}
	r.Compute(MatchThresholds{Match: 0.4, ReviewFloor: 0.3}, 0.9)
	r.Plots = []string{"det.png"}
	return r
}

func checkByPrefix(t *testing.T, r *Report, prefix string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if strings.HasPrefix(c.Name, prefix) {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", prefix, r.Checks)
	return Check{}
}

func TestReportComputeChecks(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	assert.Equal(t, 2, r.PAD.BonaFide)
	assert.Equal(t, 0.5, r.PAD.BPCER)
	require.Len(t, r.PAD.Species, 2, "a01-style attack and the synthetic photo replay")
	require.Len(t, r.Match, 2)
	assert.Equal(t, "video", r.Match[0].Name)
	assert.Equal(t, 2, r.Match[1].Impostor+r.Match[1].Genuine, "the NaN pair is left out")
	assert.Equal(t, Spread{N: 2, Median: 150, P90: 190, Min: 100, Max: 200}, r.Timings["decode"])

	tests := []struct {
		prefix string
		pass   *bool
	}{
		{"perturbation set", boolp(false)},
		{"no perturbed or attack video approved", boolp(false)},
		{"attacks a01", boolp(false)},
		{"genuine clips: BPCER", boolp(false)},
		{"genuine same-person", boolp(true)},
		{"impostor video-vs-reference pairs never approved", boolp(false)},
		{"corrupt", boolp(false)},
		{"deepfake a5", nil},
	}
	for _, tc := range tests {
		c := checkByPrefix(t, r, tc.prefix)
		assert.Equal(t, tc.pass, c.Pass, "%s: %s", c.Name, c.Detail)
	}
	assert.Contains(t, checkByPrefix(t, r, "corrupt").Detail, "failing: empty", "an untyped error code fails robustness")
}

func TestReportWriters(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	var md bytes.Buffer
	require.NoError(t, r.WriteMarkdown(&md, "img/eval"))
	s := md.String()
	for _, want := range []string{
		"# test", "hoviyat eval --data D --out O", "## Acceptance", "APCER", "BPCER 50%",
		"| low_light | 1 | 100% |", "| spoof_suspected | 1 | 0% **below** |", "(approved)",
		"![DET curves](img/eval/det.png)", "### Deepfake", "| a5 |", "error: video_invalid",
	} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, "match_hist.png", "a plot that was not drawn is not linked")
	var js bytes.Buffer
	require.NoError(t, r.WriteJSON(&js))
	var back Report
	require.NoError(t, json.Unmarshal(js.Bytes(), &back), "NaN scores must encode as null")
	assert.Len(t, back.Clips, len(r.Clips))
	assert.True(t, math.IsNaN(float64(back.Pairs[4].Score)))
}

func TestPlotsWritePNG(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gen := []float64{0.8, 0.7, 0.9, 0.6, 0.3}
	imp := []float64{0.1, 0.2, 0.3, 0.35, 0.0, 0.5}
	det := filepath.Join(dir, "det.png")
	require.NoError(t, SaveDET(det, "DET", []DETSeries{{Name: "a", Points: facematch.ROC(gen, imp)}, {Name: "empty"}}))
	hist := filepath.Join(dir, "hist.png")
	require.NoError(t, SaveHistogram(hist, "scores", "similarity", -0.2, 1, 24,
		[]Series{{Name: "genuine", Values: gen}, {Name: "impostor", Values: append(imp, math.NaN(), 7)}},
		[]Mark{{Name: "threshold", X: 0.4}}))
	for _, p := range []string{det, hist} {
		f, err := os.Open(p)
		require.NoError(t, err)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, p)
		assert.Greater(t, img.Bounds().Dx(), 300, p)
	}
}
