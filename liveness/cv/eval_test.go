package cv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
)

// The calibration report of docs/bench/liveness.md: every shared clip and
// every derived video of internal/testmedia is analysed once, then judged
// with the default thresholds and with each threshold moved by ±10% and
// ±20%. It runs only when HOVIYAT_LIVENESS_EVAL names the testmedia output
// directory (go run ./internal/testmedia -out DIR); the markdown goes to
// HOVIYAT_LIVENESS_EVAL_OUT (default stdout); HOVIYAT_LIVENESS_EVAL_EXTRA may
// name a directory of further attack videos (*.mp4) that must all be stopped.
//
//	HOVIYAT_LIVENESS_EVAL=/tmp/media go test -run TestLivenessEvaluation -timeout 30m ./liveness/cv

// evalItem is one video of the evaluation with what it must produce.
type evalItem struct {
	name     string
	path     string
	group    string // genuine, attack, negative, perturbation, synthetic_attack
	expected reason.Code
	ch       liveness.Challenge
	a        *analysis
	err      error
}

// talkingClips read or talk; they are judged with a challenge text.
var talkingClips = map[string]bool{"g06": true, "g08": true, "g12": true, "g16": true, "g17": true,
	"g21": true, "g24": true, "g27": true, "g29": true}

func TestLivenessEvaluation(t *testing.T) {
	media := os.Getenv("HOVIYAT_LIVENESS_EVAL")
	if media == "" {
		t.Skip("HOVIYAT_LIVENESS_EVAL not set (calibration report only)")
	}
	data := cvEnvDir(t, "HOVIYAT_DATA")
	var items []*evalItem
	clips, err := filepath.Glob(filepath.Join(data, "videos", "*", "*"))
	require.NoError(t, err)
	for _, p := range clips {
		base := filepath.Base(p)
		id := base[:3]
		it := &evalItem{name: id, path: p, group: filepath.Base(filepath.Dir(p))}
		switch it.group {
		case "genuine":
			if talkingClips[id] {
				it.ch = readChallenge
			}
		case "attack":
			it.expected = reason.SpoofSuspected
		}
		items = append(items, it)
	}
	labels, err := os.Open(filepath.Join(media, "labels.tsv"))
	require.NoError(t, err)
	sc := bufio.NewScanner(labels)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 4 || f[0] == "file" {
			continue
		}
		it := &evalItem{name: strings.TrimSuffix(f[0], ".mp4"), path: filepath.Join(media, f[0]),
			group: "perturbation", expected: reason.Code(f[3])}
		if it.expected == reason.SpoofSuspected {
			it.group = "synthetic_attack"
		}
		src, _, _ := strings.Cut(f[1], "+")
		if talkingClips[src] {
			it.ch = readChallenge
		}
		items = append(items, it)
	}
	labels.Close()
	// Further attack videos made elsewhere (e.g. another generator's photo,
	// print and screen replays): every one must be stopped.
	if extra := os.Getenv("HOVIYAT_LIVENESS_EVAL_EXTRA"); extra != "" {
		more, err := filepath.Glob(filepath.Join(extra, "*.mp4"))
		require.NoError(t, err)
		for _, p := range more {
			items = append(items, &evalItem{name: "extra/" + strings.TrimSuffix(filepath.Base(p), ".mp4"), path: p,
				group: "synthetic_attack", expected: reason.SpoofSuspected})
		}
	}

	cfg := Config{ModelsDir: cvModels(t), Workers: 1}
	if v := os.Getenv("HOVIYAT_LIVENESS_EVAL_DETECT_SIZE"); v != "" {
		_, err := fmt.Sscan(v, &cfg.DetectSize)
		require.NoError(t, err)
	}
	d, err := New(cfg)
	require.NoError(t, err)
	defer d.Close()
	w, err := d.acquire(context.Background())
	require.NoError(t, err)
	for _, it := range items {
		v, err := liveness.NewFileVideo(it.path)
		if err != nil {
			it.err = err
			continue
		}
		it.a, it.err = d.analyse(context.Background(), w, v)
	}
	d.release(w)

	out := os.Stdout
	if p := os.Getenv("HOVIYAT_LIVENESS_EVAL_OUT"); p != "" {
		f, err := os.Create(p)
		require.NoError(t, err)
		defer f.Close()
		out = f
	}
	writeEvaluation(out, items)
}

// outcome summarises how a configuration does on the items.
type outcome struct {
	genuineLive, genuine     int
	attacksStopped, attacks  int // not live (any reason)
	attacksAsExpected        int // spoof_suspected
	perturbHit, perturb      int // expected quality reason produced
	perturbApproved          int // perturbed video judged live
	synthStopped, synth      int
	synthAsExpected          int
	genuineRejectedFor       map[string]int
	missedPerturbations      []string
	approvedAttacksOrPerturb []string
}

func judge(it *evalItem, qc liveness.QualityConfig, lc liveness.LivenessConfig) liveness.Result {
	return liveness.JudgeTemporal(it.a.recs, it.a.tm, it.a.obs, it.ch, qc, lc)
}

func has(r liveness.Result, c reason.Code) bool {
	for _, x := range append(append([]reason.Code{}, r.Quality...), r.Reasons...) {
		if x == c {
			return true
		}
	}
	return false
}

func evaluate(items []*evalItem, qc liveness.QualityConfig, lc liveness.LivenessConfig) outcome {
	o := outcome{genuineRejectedFor: map[string]int{}}
	for _, it := range items {
		if it.err != nil || it.a == nil {
			continue
		}
		r := judge(it, qc, lc)
		live := r.Verdict == liveness.Live && len(r.Reasons) == 0
		switch it.group {
		case "genuine":
			o.genuine++
			if live {
				o.genuineLive++
			} else {
				o.genuineRejectedFor[fmt.Sprint(r.Verdict, r.Quality, r.Reasons)]++
			}
		case "attack":
			if it.name == "a05" { // a digital deepfake, not a presentation attack
				continue
			}
			o.attacks++
			if !live {
				o.attacksStopped++
			} else {
				o.approvedAttacksOrPerturb = append(o.approvedAttacksOrPerturb, it.name)
			}
			if r.Verdict == liveness.SpoofSuspected {
				o.attacksAsExpected++
			}
		case "perturbation":
			o.perturb++
			if has(r, it.expected) {
				o.perturbHit++
			} else {
				o.missedPerturbations = append(o.missedPerturbations, it.name)
			}
			if live {
				o.perturbApproved++
				o.approvedAttacksOrPerturb = append(o.approvedAttacksOrPerturb, it.name)
			}
		case "synthetic_attack":
			o.synth++
			if !live {
				o.synthStopped++
			} else {
				o.approvedAttacksOrPerturb = append(o.approvedAttacksOrPerturb, it.name)
			}
			if r.Verdict == liveness.SpoofSuspected {
				o.synthAsExpected++
			}
		}
	}
	return o
}

func (o outcome) summary() string {
	return fmt.Sprintf("genuine live %d/%d · attacks stopped %d/%d · synthetic replays stopped %d/%d (spoof_suspected %d) · perturbations with expected reason %d/%d, approved %d",
		o.genuineLive, o.genuine, o.attacksStopped, o.attacks, o.synthStopped, o.synth, o.synthAsExpected, o.perturbHit, o.perturb, o.perturbApproved)
}

func writeEvaluation(w *os.File, items []*evalItem) {
	qc, lc := liveness.DefaultQualityConfig(), liveness.DefaultLivenessConfig()
	fmt.Fprintln(w, "### Per video (default thresholds)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| video | group | challenge | verdict | score | quality | reasons | expected | key measures |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, it := range items {
		if it.err != nil {
			var ie *liveness.InputError
			code := "error"
			if errors.As(it.err, &ie) {
				code = string(ie.Code)
			}
			fmt.Fprintf(w, "| %s | %s | | input error | | | %s | %s | |\n", it.name, it.group, code, it.expected)
			continue
		}
		r := judge(it, qc, lc)
		chal := ""
		if it.ch.Text != "" {
			chal = "text"
		}
		m := r.Measures
		key := fmt.Sprintf("as %.2f · framed %.2f · parallax %.2f · change %.2f · mouth %.2f · eye events %.0f · sharp %.2f · luma %.0f",
			m["antispoof_p50"], m["replay_framed_share"], m["parallax_p90"], m["face_change"], m["mouth_activity"], m["eye_events"], m["sharpness"], m["luminance_mean"])
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.2f | %s | %s | %s | %s |\n", it.name, it.group, chal, r.Verdict, r.Score,
			codes(r.Quality), codes(r.Reasons), it.expected, key)
	}
	base := evaluate(items, qc, lc)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Default thresholds: "+base.summary()+".")
	if len(base.missedPerturbations) > 0 {
		fmt.Fprintln(w, "Perturbations without their expected reason:", strings.Join(base.missedPerturbations, ", "))
	}
	writeMargins(w, items, qc, lc)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Sensitivity (each threshold alone moved by the factor; other thresholds at default)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| threshold | default | ×0.8 | ×0.9 | ×1.1 | ×1.2 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, th := range sensitivityThresholds() {
		cells := []string{}
		for _, f := range []float64{0.8, 0.9, 1.1, 1.2} {
			q, l := qc, lc
			th.set(&q, &l, th.get(qc, lc)*f)
			o := evaluate(items, q, l)
			cells = append(cells, diff(base, o))
		}
		fmt.Fprintf(w, "| %s | %g | %s |\n", th.name, th.get(qc, lc), strings.Join(cells, " | "))
	}
}

func codes(c []reason.Code) string {
	s := make([]string, len(c))
	for i, x := range c {
		s[i] = string(x)
	}
	return strings.Join(s, " ")
}

// diff describes how o differs from the default outcome.
func diff(base, o outcome) string {
	var parts []string
	if d := o.genuineLive - base.genuineLive; d != 0 {
		parts = append(parts, fmt.Sprintf("genuine live %+d", d))
	}
	if d := o.attacksStopped - base.attacksStopped; d != 0 {
		parts = append(parts, fmt.Sprintf("attacks stopped %+d", d))
	}
	if d := o.synthStopped - base.synthStopped; d != 0 {
		parts = append(parts, fmt.Sprintf("replays stopped %+d", d))
	}
	if d := o.synthAsExpected - base.synthAsExpected; d != 0 {
		parts = append(parts, fmt.Sprintf("replays spoof_suspected %+d", d))
	}
	if d := o.perturbHit - base.perturbHit; d != 0 {
		parts = append(parts, fmt.Sprintf("expected reasons %+d", d))
	}
	if d := o.perturbApproved - base.perturbApproved; d != 0 {
		parts = append(parts, fmt.Sprintf("perturbed approved %+d", d))
	}
	if len(parts) == 0 {
		return "="
	}
	return strings.Join(parts, ", ")
}

type threshold struct {
	name string
	get  func(liveness.QualityConfig, liveness.LivenessConfig) float64
	set  func(*liveness.QualityConfig, *liveness.LivenessConfig, float64)
}

// sensitivityThresholds lists every float threshold of both configs by
// reflection, so a new threshold is covered without editing this list.
func sensitivityThresholds() []threshold {
	var out []threshold
	add := func(prefix string, typ reflect.Type, pick func(*liveness.QualityConfig, *liveness.LivenessConfig) reflect.Value) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if f.Type.Kind() != reflect.Float64 || strings.HasPrefix(f.Name, "Weight") {
				continue
			}
			idx := i
			out = append(out, threshold{
				name: prefix + f.Name,
				get: func(q liveness.QualityConfig, l liveness.LivenessConfig) float64 {
					return pick(&q, &l).Field(idx).Float()
				},
				set: func(q *liveness.QualityConfig, l *liveness.LivenessConfig, v float64) {
					pick(q, l).Field(idx).SetFloat(v)
				},
			})
		}
	}
	add("Quality.", reflect.TypeOf(liveness.QualityConfig{}), func(q *liveness.QualityConfig, _ *liveness.LivenessConfig) reflect.Value {
		return reflect.ValueOf(q).Elem()
	})
	add("Liveness.", reflect.TypeOf(liveness.LivenessConfig{}), func(_ *liveness.QualityConfig, l *liveness.LivenessConfig) reflect.Value {
		return reflect.ValueOf(l).Elem()
	})
	return out
}

// margin is one threshold's data margin: the measure's values on the
// videos that must pass it and on those it is meant to stop.
type margin struct {
	threshold string
	value     float64
	measure   string
	pass      func(*evalItem) bool // videos that must stay on the good side
	fail      func(*evalItem) bool // videos the threshold is meant to stop
	higherOK  bool                 // good side is above the threshold
}

func prefix(p string) func(*evalItem) bool {
	return func(it *evalItem) bool { return strings.HasPrefix(it.name, p) }
}

func isGenuine(it *evalItem) bool { return it.group == "genuine" }

func writeMargins(w *os.File, items []*evalItem, qc liveness.QualityConfig, lc liveness.LivenessConfig) {
	photo := func(it *evalItem) bool { return strings.HasPrefix(it.name, "photo_replay") }
	screen := func(it *evalItem) bool {
		return strings.HasPrefix(it.name, "screen_replay") || it.name == "a01" || it.name == "a02"
	}
	margins := []margin{
		{"Quality.MinLuma / DimLuma+MinDynamicRange", qc.MinLuma, "luminance_mean", isGenuine, prefix("dark_"), true},
		{"Quality.MinDynamicRange", qc.MinDynamicRange, "dynamic_range", isGenuine, prefix("dark_"), true},
		{"Quality.MinSharpness", qc.MinSharpness, "sharpness", isGenuine, func(it *evalItem) bool {
			return strings.HasPrefix(it.name, "blur_") || strings.HasPrefix(it.name, "downscale_")
		}, true},
		{"Quality.MinFaceHeight", qc.MinFaceHeight, "face_height_ratio", isGenuine, prefix("far_"), true},
		{"Quality.MaxRoll", qc.MaxRoll, "roll_abs_p50", isGenuine, prefix("rotate_"), false},
		{"Quality.MaxGlare", qc.MaxGlare, "glare_share", isGenuine, prefix("glare_"), false},
		{"Quality.MaxShake", qc.MaxShake, "shake", isGenuine, prefix("shake_"), false},
		{"Quality.MultiFacePersistence", qc.MultiFacePersistence, "multi_face_share", isGenuine, func(it *evalItem) bool {
			return strings.HasPrefix(it.name, "second_face") || it.name == "a02"
		}, false},
		{"Liveness.MinAntiSpoof (screens)", lc.MinAntiSpoof, "antispoof_p50", isGenuine, screen, true},
		{"Liveness.replay framing share 0.5", 0.5, "replay_framed_share", isGenuine, screen, false},
		{"Liveness.MinParallax", lc.MinParallax, "parallax_p90", nil, photo, true},
		{"Liveness.MinChange", lc.MinChange, "face_change", nil, photo, true},
		{"Liveness.MinMouth (talking, challenge)", lc.MinMouth, "mouth_activity", func(it *evalItem) bool {
			return isGenuine(it) && it.ch.Text != ""
		}, photo, true},
		{"EyeEventThreshold (events >= 1)", float64(lc.MinEyeEvents), "eye_events", nil, photo, true},
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Margins (per-video measure values around each threshold)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| threshold | value | measure | worst video that must pass | best video it must stop |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, m := range margins {
		var worstPass, bestFail string
		wp, bf := math.NaN(), math.NaN()
		for _, it := range items {
			if it.a == nil {
				continue
			}
			v, ok := judge(it, qc, lc).Measures[m.measure]
			if !ok {
				continue
			}
			worse := func(a, b float64) bool { // a is closer to failing than b
				if m.higherOK {
					return a < b
				}
				return a > b
			}
			if m.pass != nil && m.pass(it) && (math.IsNaN(wp) || worse(v, wp)) {
				wp, worstPass = v, it.name
			}
			if m.fail(it) && (math.IsNaN(bf) || worse(bf, v)) {
				bf, bestFail = v, it.name
			}
		}
		cell := func(name string, v float64) string {
			if name == "" {
				return "–"
			}
			return fmt.Sprintf("%s %.3g", name, v)
		}
		fmt.Fprintf(w, "| %s | %g | %s | %s | %s |\n", m.threshold, m.value, m.measure, cell(worstPass, wp), cell(bestFail, bf))
	}
}
