package vision

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"
)

// The evaluation behind docs/bench/antispoof.md. It runs only when
// HOVIYAT_ANTISPOOF_EVAL names an output directory; HOVIYAT_ANTISPOOF_SYN
// may name a directory of synthetic replays (<id>_photo.mp4,
// <id>_print.mp4, <id>_screen.mp4, <id>_screenfull.mp4, made by the ffmpeg commands in that
// document). It writes frames.tsv (one row per sampled frame) and
// summary.md (AUC per cue).

type evalClip struct {
	path, id, class string
}

type evalRow struct {
	clip, class string
	frame       int
	faces       int
	score       SpoofScore
	cues        ReplayCues
	// sides[i] is BezelSides under bezelVariants[i].
	sides []float64
}

// bezelVariants vary one bezel parameter at a time around the default.
var bezelVariants = func() []struct {
	name string
	p    bezelParams
} {
	type v = struct {
		name string
		p    bezelParams
	}
	d := defaultBezel
	out := []v{{"default (15 deg, 0.4 face, Canny 40/120, context 4)", d}}
	add := func(name string, f func(p *bezelParams)) {
		p := d
		f(&p)
		out = append(out, v{name, p})
	}
	add("angle 10 deg", func(p *bezelParams) { p.angleTol = 10 })
	add("angle 20 deg", func(p *bezelParams) { p.angleTol = 20 })
	add("min length 0.3 face", func(p *bezelParams) { p.minLen = 0.3 })
	add("min length 0.6 face", func(p *bezelParams) { p.minLen = 0.6 })
	add("Canny 25/75", func(p *bezelParams) { p.cannyLo, p.cannyHi = 25, 75 })
	add("Canny 60/180", func(p *bezelParams) { p.cannyLo, p.cannyHi = 60, 180 })
	add("context 3", func(p *bezelParams) { p.context = 3 })
	add("context 5", func(p *bezelParams) { p.context = 5 })
	return out
}()

// evalCue is one column of the evaluation: a name and how to read it from
// a row as an attack score (higher = more attack-like, as used for AUC).
type evalCue struct {
	name string
	get  func(r evalRow) float64
}

var evalCues = []evalCue{
	{"minifasnet (1-Real)", func(r evalRow) float64 { return 1 - r.score.Real }},
	{"v2 (1-live)", func(r evalRow) float64 { return 1 - r.score.V2[1] }},
	{"v1se (1-live)", func(r evalRow) float64 { return 1 - r.score.V1SE[1] }},
	{"Moire", func(r evalRow) float64 { return r.cues.Moire }},
	{"MoireChroma", func(r evalRow) float64 { return r.cues.MoireChroma }},
	{"Bezel", func(r evalRow) float64 { return r.cues.Bezel }},
	{"BezelSides", func(r evalRow) float64 { return r.cues.BezelSides }},
	{"Detail", func(r evalRow) float64 { return r.cues.Detail }},
	{"Contrast", func(r evalRow) float64 { return r.cues.Contrast }},
	{"DarkLevel", func(r evalRow) float64 { return r.cues.DarkLevel }},
	{"Saturation", func(r evalRow) float64 { return r.cues.Saturation }},
	{"Specular", func(r evalRow) float64 { return r.cues.Specular }},
}

func TestReplayEvaluation(t *testing.T) {
	out := os.Getenv("HOVIYAT_ANTISPOOF_EVAL")
	if out == "" {
		t.Skip("set HOVIYAT_ANTISPOOF_EVAL to an output directory to run the anti-spoof evaluation")
	}
	data := asData(t)
	require.NoError(t, os.MkdirAll(out, 0o755))
	a := asNewAntiSpoof(t)
	d := asNewDetector(t)

	var clips []evalClip
	add := func(glob, class string) {
		m, err := filepath.Glob(glob)
		require.NoError(t, err)
		sort.Strings(m)
		for _, p := range m {
			base := filepath.Base(p)
			clips = append(clips, evalClip{path: p, id: strings.TrimSuffix(base, filepath.Ext(base)), class: class})
		}
	}
	add(filepath.Join(data, "videos", "genuine", "*"), "genuine")
	add(filepath.Join(data, "videos", "attack", "a01*"), "screen_real")
	add(filepath.Join(data, "videos", "attack", "a02*"), "phone_real")
	add(filepath.Join(data, "videos", "attack", "a05*"), "deepfake")
	if syn := os.Getenv("HOVIYAT_ANTISPOOF_SYN"); syn != "" {
		add(filepath.Join(syn, "*_photo.mp4"), "syn_photo")
		add(filepath.Join(syn, "*_print.mp4"), "syn_print")
		add(filepath.Join(syn, "*_screen.mp4"), "syn_screen")
		add(filepath.Join(syn, "*_screenfull.mp4"), "syn_screen_full")
	}

	var rows []evalRow
	var scoreDur, cueDur []time.Duration
	for _, c := range clips {
		vc, err := gocv.VideoCaptureFile(c.path)
		require.NoError(t, err, c.path)
		fps := vc.Get(gocv.VideoCaptureFPS)
		if fps <= 0 || fps > 120 {
			fps = 25
		}
		step := max(1, int(math.Round(fps*0.4))) // a frame every 0.4 s
		limit := int(fps * 10)                   // the first 10 s
		frame := gocv.NewMat()
		for i := 0; i < limit && vc.Read(&frame); i++ {
			if i%step != 0 || frame.Empty() {
				continue
			}
			faces, err := d.Detect(frame)
			require.NoError(t, err)
			if len(faces) == 0 {
				continue
			}
			f := faces[0]
			for _, g := range faces[1:] {
				if g.Box.W*g.Box.H > f.Box.W*f.Box.H {
					f = g
				}
			}
			t0 := time.Now()
			s, err := a.Score(frame, f.Box)
			scoreDur = append(scoreDur, time.Since(t0))
			require.NoError(t, err)
			t0 = time.Now()
			cues, err := MeasureReplayCues(frame, f)
			cueDur = append(cueDur, time.Since(t0))
			require.NoError(t, err)
			row := evalRow{clip: c.id, class: c.class, frame: i, faces: len(faces), score: s, cues: cues}
			for _, v := range bezelVariants {
				var vc ReplayCues
				measureContext(frame, f, v.p, &vc)
				row.sides = append(row.sides, vc.BezelSides)
			}
			rows = append(rows, row)
		}
		frame.Close()
		vc.Close()
	}
	require.NotEmpty(t, rows)

	// frames.tsv
	var b strings.Builder
	b.WriteString("clip\tclass\tframe\tfaces")
	for _, c := range evalCues {
		b.WriteString("\t" + c.name)
	}
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s\t%s\t%d\t%d", r.clip, r.class, r.frame, r.faces)
		for _, c := range evalCues {
			fmt.Fprintf(&b, "\t%.4f", c.get(r))
		}
		b.WriteString("\n")
	}
	require.NoError(t, os.WriteFile(filepath.Join(out, "frames.tsv"), []byte(b.String()), 0o644))

	// summary.md: per cue, median per class, AUC genuine vs each attack
	// class per frame and per clip (clip = mean over its frames).
	classes := []string{"genuine", "screen_real", "phone_real", "syn_photo", "syn_print", "syn_screen", "syn_screen_full", "deepfake"}
	attacks := []string{"screen_real", "phone_real", "syn_photo", "syn_print", "syn_screen", "syn_screen_full"}
	var m strings.Builder
	fmt.Fprintf(&m, "frames per class:")
	for _, cl := range classes {
		fmt.Fprintf(&m, " %s %d (clips %d);", cl, len(evalValues(rows, cl, nil)), len(evalClipMeans(rows, cl, nil)))
	}
	m.WriteString("\n\nMedian per class (per frame):\n\n| cue |")
	for _, cl := range classes {
		m.WriteString(" " + cl + " |")
	}
	m.WriteString("\n|---|" + strings.Repeat("---|", len(classes)) + "\n")
	for _, c := range evalCues {
		fmt.Fprintf(&m, "| %s |", c.name)
		for _, cl := range classes {
			v := evalValues(rows, cl, c.get)
			if len(v) == 0 {
				m.WriteString(" - |")
				continue
			}
			fmt.Fprintf(&m, " %.3f |", quantile(v, 0.5))
		}
		m.WriteString("\n")
	}
	m.WriteString("\nAUC, genuine vs attack (attack scored higher = 1; below 0.5 means the cue is lower in attacks), per frame / per clip mean:\n\n| cue |")
	for _, cl := range attacks {
		m.WriteString(" " + cl + " |")
	}
	m.WriteString(" all attacks |\n|---|" + strings.Repeat("---|", len(attacks)+1) + "\n")
	for _, c := range evalCues {
		fmt.Fprintf(&m, "| %s |", c.name)
		g := evalValues(rows, "genuine", c.get)
		gc := evalClipMeans(rows, "genuine", c.get)
		var allF, allC []float64
		for _, cl := range attacks {
			af := evalValues(rows, cl, c.get)
			ac := evalClipMeans(rows, cl, c.get)
			allF, allC = append(allF, af...), append(allC, ac...)
			if len(af) == 0 {
				m.WriteString(" - |")
				continue
			}
			fmt.Fprintf(&m, " %.2f / %.2f |", auc(g, af), auc(gc, ac))
		}
		fmt.Fprintf(&m, " %.2f / %.2f |\n", auc(g, allF), auc(gc, allC))
	}
	fmt.Fprintf(&m, "\nGenuine per-frame quantiles (p05 / p50 / p95) and worst genuine clip mean:\n\n| cue | p05 | p50 | p95 | max clip mean | min clip mean |\n|---|---|---|---|---|---|\n")
	for _, c := range evalCues {
		g := evalValues(rows, "genuine", c.get)
		gc := evalClipMeans(rows, "genuine", c.get)
		fmt.Fprintf(&m, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f |\n", c.name, quantile(g, 0.05), quantile(g, 0.5), quantile(g, 0.95), quantile(gc, 1), quantile(gc, 0))
	}
	fmt.Fprintf(&m, "\nPer-clip means:\n\n| clip | class | frames |")
	for _, c := range evalCues {
		m.WriteString(" " + c.name + " |")
	}
	m.WriteString("\n|---|---|---|" + strings.Repeat("---|", len(evalCues)) + "\n")
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.clip] {
			continue
		}
		seen[r.clip] = true
		n := 0
		sums := make([]float64, len(evalCues))
		for _, q := range rows {
			if q.clip != r.clip {
				continue
			}
			n++
			for i, c := range evalCues {
				sums[i] += c.get(q)
			}
		}
		fmt.Fprintf(&m, "| %s | %s | %d |", r.clip, r.class, n)
		for i := range evalCues {
			fmt.Fprintf(&m, " %.3f |", sums[i]/float64(n))
		}
		m.WriteString("\n")
	}
	// Clip-level rules at a few thresholds: the share of clips flagged
	// per class (for genuine that is BPCER, for attacks 1-APCER).
	m.WriteString("\nClip-level rules (share of clips flagged as spoof per class; genuine = BPCER, attacks = detection rate):\n\n| rule |")
	for _, cl := range classes {
		m.WriteString(" " + cl + " |")
	}
	m.WriteString("\n|---|" + strings.Repeat("---|", len(classes)) + "\n")
	type rule struct {
		name string
		flag func(realMean, bezelShare float64) bool
	}
	var rules []rule
	for _, th := range []float64{0.3, 0.5, 0.7} {
		rules = append(rules, rule{fmt.Sprintf("mean Real < %.1f", th), func(r, _ float64) bool { return r < th }})
	}
	for _, th := range []float64{0.25, 0.5, 0.75} {
		rules = append(rules, rule{fmt.Sprintf("share of frames with BezelSides >= 0.75 >= %.2f", th), func(_, b float64) bool { return b >= th }})
	}
	rules = append(rules, rule{"mean Real < 0.5 OR bezel share >= 0.5", func(r, b float64) bool { return r < 0.5 || b >= 0.5 }})
	for _, ru := range rules {
		fmt.Fprintf(&m, "| %s |", ru.name)
		for _, cl := range classes {
			reals := evalClipMeans(rows, cl, func(r evalRow) float64 { return r.score.Real })
			bez := evalClipMeans(rows, cl, func(r evalRow) float64 {
				if r.cues.BezelSides >= 0.75 {
					return 1
				}
				return 0
			})
			if len(reals) == 0 {
				m.WriteString(" - |")
				continue
			}
			n := 0
			for i := range reals {
				if ru.flag(reals[i], bez[i]) {
					n++
				}
			}
			fmt.Fprintf(&m, " %d/%d |", n, len(reals))
		}
		m.WriteString("\n")
	}
	// Bezel sensitivity: per variant, the share of frames with at least
	// three framed sides, and of clips where such frames are at least a
	// quarter of the frames.
	m.WriteString("\nBezel sensitivity (one parameter varied at a time): frames with BezelSides >= 0.75, and clips where they are >= 25% of frames:\n\n| variant |")
	for _, cl := range classes {
		m.WriteString(" " + cl + " |")
	}
	m.WriteString("\n|---|" + strings.Repeat("---|", len(classes)) + "\n")
	for vi, v := range bezelVariants {
		fmt.Fprintf(&m, "| %s |", v.name)
		for _, cl := range classes {
			get := func(r evalRow) float64 {
				if r.sides[vi] >= 0.75 {
					return 1
				}
				return 0
			}
			fr := evalValues(rows, cl, get)
			cm := evalClipMeans(rows, cl, get)
			if len(fr) == 0 {
				m.WriteString(" - |")
				continue
			}
			nf, nc := 0.0, 0
			for _, x := range fr {
				nf += x
			}
			for _, x := range cm {
				if x >= 0.25 {
					nc++
				}
			}
			fmt.Fprintf(&m, " %.1f%% / %d/%d |", 100*nf/float64(len(fr)), nc, len(cm))
		}
		m.WriteString("\n")
	}
	fmt.Fprintf(&m, "\nTimings inside this run (noisy, shared machine): Score median %v, MeasureReplayCues median %v over %d frames.\n",
		medianDur(scoreDur), medianDur(cueDur), len(cueDur))
	require.NoError(t, os.WriteFile(filepath.Join(out, "summary.md"), []byte(m.String()), 0o644))
	t.Logf("wrote %s (%d frames)", out, len(rows))
}

func evalValues(rows []evalRow, class string, get func(evalRow) float64) []float64 {
	var v []float64
	for _, r := range rows {
		if r.class == class {
			if get == nil {
				v = append(v, 0)
			} else {
				v = append(v, get(r))
			}
		}
	}
	return v
}

func evalClipMeans(rows []evalRow, class string, get func(evalRow) float64) []float64 {
	sum := map[string]float64{}
	n := map[string]int{}
	var order []string
	for _, r := range rows {
		if r.class != class {
			continue
		}
		if _, ok := n[r.clip]; !ok {
			order = append(order, r.clip)
		}
		n[r.clip]++
		if get != nil {
			sum[r.clip] += get(r)
		}
	}
	v := make([]float64, 0, len(order))
	for _, c := range order {
		v = append(v, sum[c]/float64(n[c]))
	}
	return v
}

// auc is the probability that a random attack value exceeds a random
// genuine value (ties count one half).
func auc(genuine, attack []float64) float64 {
	if len(genuine) == 0 || len(attack) == 0 {
		return math.NaN()
	}
	var s float64
	for _, a := range attack {
		for _, g := range genuine {
			switch {
			case a > g:
				s++
			case a == g:
				s += 0.5
			}
		}
	}
	return s / float64(len(genuine)*len(attack))
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[int(math.Round(q*float64(len(s)-1)))]
}

func medianDur(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
