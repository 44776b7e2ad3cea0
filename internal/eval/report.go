package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/reason"
)

// Sets a clip can belong to.
const (
	SetGenuine   = "genuine"
	SetAttack    = "attack"
	SetDeepfake  = "deepfake"
	SetNegative  = "negative"
	SetPerturbed = "perturbed"
	SetMalformed = "malformed"
)

// Clip is the result of verifying one video.
type Clip struct {
	ID   string `json:"id"`
	Set  string `json:"set"`
	File string `json:"file"`
	// Species is the attack species of an attack presentation.
	Species string `json:"species,omitempty"`
	// Expected is the reason a labelled video must produce ("" for a
	// genuine clip, which should be approved).
	Expected reason.Code `json:"expected,omitempty"`
	// Reference describes the reference photo used.
	Reference string        `json:"reference,omitempty"`
	Outcome   Outcome       `json:"outcome"`
	Reasons   []reason.Code `json:"reasons,omitempty"`
	// ErrorCode and Error are set when the system could not decide.
	ErrorCode string `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
	// Panicked reports a recovered panic; TimedOut a run stopped by the
	// per-video deadline.
	Panicked bool `json:"panicked,omitempty"`
	TimedOut bool `json:"timed_out,omitempty"`
	// Verdict and LivenessScore are the detector's; MatchScore and
	// MatchDecision the matcher's (nil when not run).
	Verdict       string             `json:"verdict,omitempty"`
	LivenessScore *Num               `json:"liveness_score,omitempty"`
	MatchScore    *Num               `json:"match_score,omitempty"`
	MatchDecision string             `json:"match_decision,omitempty"`
	Probes        int                `json:"probes"`
	Frames        int                `json:"frames"`
	TimingsMS     map[string]float64 `json:"timings_ms,omitempty"`
	Measures      map[string]float64 `json:"measures,omitempty"`
	Evidence      []EvidenceItem     `json:"evidence,omitempty"`
}

// EvidenceItem is one liveness signal (see liveness.Evidence).
type EvidenceItem struct {
	Name      string `json:"name"`
	Value     Num    `json:"value"`
	Threshold Num    `json:"threshold"`
	Pass      bool   `json:"pass"`
}

// Pair is one face-match comparison of a labelled pair.
type Pair struct {
	Set  string `json:"set"`
	A    string `json:"a"`
	B    string `json:"b"`
	Same bool   `json:"same"`
	// Score is the similarity; NaN (null) when a face could not be
	// enrolled, with Error saying why.
	Score Num    `json:"score"`
	Error string `json:"error,omitempty"`
	// Outcome is the system decision for a video pair (liveness of the
	// clip fused with this score by policy.Decide); "" for photo pairs.
	Outcome Outcome `json:"outcome,omitempty"`
	// Decision is the matcher's decision on Score.
	Decision string `json:"decision,omitempty"`
}

// Check is one acceptance point and whether it holds. Pass is nil for a
// point that is only reported.
type Check struct {
	Name   string `json:"name"`
	Pass   *bool  `json:"pass"`
	Detail string `json:"detail"`
}

// Report is everything `hoviyat eval` measured.
type Report struct {
	Title string `json:"title"`
	// Command regenerates the report.
	Command     string            `json:"command"`
	Environment map[string]string `json:"environment"`
	Models      map[string]string `json:"models,omitempty"`
	// Thresholds in force (matcher and detector).
	Thresholds map[string]float64 `json:"thresholds,omitempty"`

	Clips      []Clip            `json:"clips"`
	PAD        PADRates          `json:"pad"`
	Confusion  Confusion         `json:"confusion"`
	MinHitRate float64           `json:"min_hit_rate"`
	Match      []MatchRates      `json:"match"`
	Pairs      []Pair            `json:"pairs"`
	Timings    map[string]Spread `json:"timings_ms"`
	// PeakRSSMB is the evaluation process's peak resident set.
	PeakRSSMB float64  `json:"peak_rss_mb"`
	ElapsedS  float64  `json:"elapsed_s"`
	Checks    []Check  `json:"checks"`
	Plots     []string `json:"plots,omitempty"`
	Notes     []string `json:"notes,omitempty"`
}

// ClipsOf returns the clips of set, in report order.
func (r *Report) ClipsOf(set string) []Clip {
	var out []Clip
	for _, c := range r.Clips {
		if c.Set == set {
			out = append(out, c)
		}
	}
	return out
}

func boolp(b bool) *bool { return &b }

// Compute fills PAD, Confusion, Timings and Checks from Clips and Pairs,
// and Match from Pairs with the given matcher thresholds (see Match).
// minHit is the per-reason hit rate required of the perturbation set.
func (r *Report) Compute(thr MatchThresholds, minHit float64) {
	r.MinHitRate = minHit
	var ps []Presentation
	var ls []Labelled
	timings := map[string][]float64{}
	for _, c := range r.Clips {
		switch c.Set {
		case SetGenuine:
			ps = append(ps, Presentation{ID: c.ID, Outcome: c.Outcome, Spoof: spoof(c)})
		case SetAttack:
			ps = append(ps, Presentation{ID: c.ID, Species: c.Species, Outcome: c.Outcome, Spoof: spoof(c)})
		case SetPerturbed:
			produced := slices.Clone(c.Reasons)
			if c.ErrorCode != "" {
				produced = append(produced, reason.Code(c.ErrorCode))
			}
			ls = append(ls, Labelled{ID: c.ID, Expected: c.Expected, Outcome: c.Outcome, Produced: produced})
			if c.Species != "" {
				ps = append(ps, Presentation{ID: c.ID, Species: c.Species, Outcome: c.Outcome, Spoof: spoof(c)})
			}
		}
		if c.Set != SetMalformed {
			for k, v := range c.TimingsMS {
				timings[k] = append(timings[k], v)
			}
		}
	}
	r.PAD = PAD(ps)
	r.Confusion = NewConfusion(ls)
	r.Timings = map[string]Spread{}
	for k, v := range timings {
		r.Timings[k] = Summarize(v)
	}

	bySet := map[string][2][]float64{}
	var setOrder []string
	for _, p := range r.Pairs {
		if math.IsNaN(float64(p.Score)) {
			continue
		}
		v, ok := bySet[p.Set]
		if !ok {
			setOrder = append(setOrder, p.Set)
		}
		if p.Same {
			v[0] = append(v[0], float64(p.Score))
		} else {
			v[1] = append(v[1], float64(p.Score))
		}
		bySet[p.Set] = v
	}
	r.Match = nil
	for _, s := range setOrder {
		r.Match = append(r.Match, Match(s, bySet[s][0], bySet[s][1], thr.facematch()))
	}
	r.Checks = r.checks()
}

func spoof(c Clip) bool { return slices.Contains(c.Reasons, reason.SpoofSuspected) }

// MatchThresholds are the matcher's operating threshold and review floor.
type MatchThresholds struct {
	Match       float64
	ReviewFloor float64
}

func (r *Report) checks() []Check {
	var cs []Check
	add := func(name string, pass *bool, format string, a ...any) {
		cs = append(cs, Check{Name: name, Pass: pass, Detail: fmt.Sprintf(format, a...)})
	}

	// Perturbation reasons.
	if len(r.Confusion.Expected) > 0 {
		var parts []string
		for _, e := range r.Confusion.Expected {
			parts = append(parts, fmt.Sprintf("%s %d/%d", e, r.Confusion.Hits[e], r.Confusion.Total[e]))
		}
		fail := r.Confusion.Failing(r.MinHitRate)
		add(fmt.Sprintf("perturbation set: each expected reason produced for ≥ %.0f%% of its videos", r.MinHitRate*100),
			boolp(len(fail) == 0), "%s; below: %s", strings.Join(parts, ", "), listOrNone(codes(fail)))
	}
	// Nothing perturbed or attacking approved.
	var approved []string
	for _, c := range r.Clips {
		if (c.Set == SetPerturbed || c.Set == SetAttack) && c.Outcome == Approved {
			approved = append(approved, c.ID)
		}
	}
	if len(r.ClipsOf(SetPerturbed))+len(r.ClipsOf(SetAttack)) > 0 {
		add("no perturbed or attack video approved", boolp(len(approved) == 0), "approved: %s", listOrNone(approved))
	}
	// APCER.
	if len(r.PAD.Species) > 0 {
		var parts []string
		for _, s := range r.PAD.Species {
			parts = append(parts, fmt.Sprintf("%s %s (%d/%d missed)", s.Species, pct(s.APCER), s.N-s.Rejected, s.N))
		}
		add("attacks a01, a02 and every synthetic replay rejected (APCER 0%)", boolp(r.PAD.APCERMax == 0),
			"%s", strings.Join(parts, "; "))
	}
	if r.PAD.BonaFide > 0 {
		add("genuine clips: BPCER ≤ 10%", boolp(r.PAD.BPCER <= 0.10),
			"BPCER %s (%d of %d rejected: %s); review %s",
			pct(r.PAD.BPCER), len(r.PAD.BonaFideRejected), r.PAD.BonaFide, listOrNone(r.PAD.BonaFideRejected), pct(r.PAD.ReviewRate))
	}
	// Deepfake, reported separately.
	for _, c := range r.ClipsOf(SetDeepfake) {
		add("deepfake "+c.ID+" (not a presentation attack; reported only)", nil, "outcome %s, reasons %s",
			c.Outcome, listOrNone(codes(c.Reasons)))
	}
	// Face matching.
	for _, m := range r.Match {
		var parts []string
		for _, op := range m.AtFMR {
			b := ""
			if !op.Bounded {
				b = " (too few impostors: FMR only bounded)"
			}
			parts = append(parts, fmt.Sprintf("FNMR %s at FMR %s%s", pct(float64(op.FNMR)), pct(float64(op.TargetFMR)), b))
		}
		add("face match "+m.Name+": FNMR at FMR 0.1% and 1%", nil, "%d genuine, %d impostor pairs; %s; AUC %.4f, EER %s",
			m.Genuine, m.Impostor, strings.Join(parts, ", "), float64(m.AUC), pct(float64(m.EER)))
	}
	var genMissed, impApproved, impMatched []string
	video := false
	for _, p := range r.Pairs {
		if p.Outcome == "" {
			if !p.Same && p.Decision == "match" {
				impMatched = append(impMatched, p.Set+":"+p.A+"~"+p.B)
			}
			continue
		}
		video = true
		if p.Same && p.Decision != "match" {
			genMissed = append(genMissed, fmt.Sprintf("%s~%s (%s %.3f)", p.A, p.B, p.Decision, float64(p.Score)))
		}
		if !p.Same && p.Outcome == Approved {
			impApproved = append(impApproved, p.A+"~"+p.B)
		}
	}
	if video {
		add("genuine same-person video-vs-reference pairs matched", boolp(len(genMissed) == 0), "not matched: %s", listOrNone(genMissed))
		add("impostor video-vs-reference pairs never approved", boolp(len(impApproved) == 0), "approved: %s", listOrNone(firstN(impApproved, 12)))
	}
	if len(r.Pairs) > 0 {
		add("impostor photo pairs scored as a match at the operating threshold", nil, "%d: %s",
			len(impMatched), listOrNone(firstN(impMatched, 12)))
	}
	// Robustness.
	mal := r.ClipsOf(SetMalformed)
	mal = append(mal, r.ClipsOf(SetNegative)...)
	if len(mal) > 0 {
		var bad, parts []string
		for _, c := range mal {
			res := c.ErrorCode
			if res == "" {
				res = string(c.Outcome) + " " + strings.Join(codeStrings(c.Reasons), "+")
			}
			parts = append(parts, c.ID+" → "+res)
			typed := (c.ErrorCode != "" && reason.Code(c.ErrorCode).Known()) || (c.Outcome != Approved && c.Outcome != Error && len(c.Reasons) > 0)
			if c.Panicked || c.TimedOut || !typed {
				bad = append(bad, c.ID)
			}
		}
		add("corrupt, truncated, empty, HTML and 0.2 s inputs: typed error or reason, no panic or hang", boolp(len(bad) == 0),
			"%s; failing: %s", strings.Join(parts, "; "), listOrNone(bad))
	}
	return cs
}

func firstN(xs []string, n int) []string {
	if len(xs) <= n {
		return xs
	}
	return append(slices.Clone(xs[:n]), fmt.Sprintf("… %d more", len(xs)-n))
}

func codes(cs []reason.Code) []string { return codeStrings(cs) }

func codeStrings(cs []reason.Code) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.2f", x*100), "0"), ".0") + "%"
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

func num(p *Num, prec int) string {
	if p == nil || math.IsNaN(float64(*p)) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, float64(*p))
}

func ms(m map[string]float64, k string) string {
	v, ok := m[k]
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}

// WriteMarkdown writes r as the Markdown report. imgDir is the path of
// the plots relative to the Markdown file ("" for the same directory).
func (r *Report) WriteMarkdown(w io.Writer, imgDir string) error {
	b := &strings.Builder{}
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	// fig links a plot when it was drawn.
	fig := func(name, alt string) {
		if !slices.Contains(r.Plots, name) {
			return
		}
		if imgDir != "" {
			name = strings.TrimSuffix(imgDir, "/") + "/" + name
		}
		p("![%s](%s)\n\n", alt, name)
	}

	p("# %s\n\n", r.Title)
	p("Regenerate with:\n\n```sh\n%s\n```\n\n", r.Command)
	keys := sortedKeys(r.Environment)
	for _, k := range keys {
		p("- %s: %s\n", k, r.Environment[k])
	}
	p("- elapsed: %.0f s; peak RSS of the evaluation process: %.0f MB\n\n", r.ElapsedS, r.PeakRSSMB)
	if len(r.Models) > 0 {
		p("Models: ")
		var ms []string
		for _, k := range sortedKeys(r.Models) {
			ms = append(ms, fmt.Sprintf("`%s` %s", k, r.Models[k]))
		}
		p("%s.\n\n", strings.Join(ms, ", "))
	}
	if len(r.Thresholds) > 0 {
		p("Thresholds in force: ")
		var ts []string
		for _, k := range sortedKeys(r.Thresholds) {
			ts = append(ts, fmt.Sprintf("%s = %g", k, r.Thresholds[k]))
		}
		p("%s.\n\n", strings.Join(ts, ", "))
	}

	p("## Acceptance\n\n| point | holds | measured |\n|---|---|---|\n")
	for _, c := range r.Checks {
		s := "reported"
		if c.Pass != nil {
			s = "**no**"
			if *c.Pass {
				s = "yes"
			}
		}
		p("| %s | %s | %s |\n", esc(c.Name), s, esc(c.Detail))
	}
	p("\n")

	p("## Terms\n\n")
	p("- **Bona fide presentation**: a genuine person in front of the camera. **Attack presentation**: a presentation attack instrument (PAI) shown to the camera; its kind is the **PAI species** (screen replay, phone replay, printed or displayed photo).\n")
	p("- **APCER** (attack presentation classification error rate, ISO/IEC 30107-3): per species, the share of attack presentations not rejected. Here an attack counts as an error when the decision is `approved` or `review` (an operator would have to catch it) or the system could not decide.\n")
	p("- **BPCER** (bona fide presentation classification error rate): the share of bona fide presentations rejected, for any reason (a genuine clip rejected for a real quality problem counts too). Review is reported apart as operator load.\n")
	p("- **FMR / FNMR** (false match / false non-match rate, ISO/IEC 19795-1): the share of impostor pairs scored at or above the threshold, and of genuine pairs below it. **EER**: the rate where they are equal. **AUC**: area under the ROC curve (probability a genuine pair outscores an impostor pair). FNMR at FMR x uses the lowest threshold whose FMR on the impostor pairs is at most x; with fewer than 1/x impostor pairs the target can only be met with no false match observed, so the true FMR is bounded, not measured.\n\n")

	p("## Presentation attack detection\n\n")
	p("`spoof_suspected`: how many of the rejections named the liveness verdict; the others were stopped by the quality gate alone (for example a second face), which rejects them just the same but is not a presentation-attack classification.\n\n")
	p("| species | n | rejected | of which spoof_suspected | review | approved | APCER | missed |\n|---|---|---|---|---|---|---|---|\n")
	for _, s := range r.PAD.Species {
		p("| %s | %d | %d | %d | %d | %d | %s | %s |\n", s.Species, s.N, s.Rejected, s.Spoof, s.Review, s.Approved, pct(s.APCER), listOrNone(s.Missed))
	}
	p("\nBona fide (genuine clips): %d; BPCER %s (rejected: %s); called spoof_suspected: %d; review %s; could not decide %s.\n\n",
		r.PAD.BonaFide, pct(r.PAD.BPCER), listOrNone(r.PAD.BonaFideRejected), r.PAD.BonaFideSpoof, pct(r.PAD.ReviewRate), pct(r.PAD.ErrorRate))
	if df := r.ClipsOf(SetDeepfake); len(df) > 0 {
		p("### Deepfake (not a presentation attack)\n\n")
		p("A digital face manipulation replayed as a file is an injection-type attack, outside ISO/IEC 30107-3's presentation attacks, so it is not in APCER.\n\n")
		r.clipTable(b, df)
	}
	fig("liveness_hist.png", "liveness scores")

	if len(r.Match) > 0 {
		p("## Face matching\n\n| set | genuine | impostor | AUC | EER | threshold | FMR at thr | FNMR at thr | FNMR @ FMR 0.1%% | FNMR @ FMR 1%% | min genuine | max impostor |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, m := range r.Match {
			at := map[float64]string{}
			for _, op := range m.AtFMR {
				s := pct(float64(op.FNMR))
				if !op.Bounded {
					s += "†"
				}
				at[float64(op.TargetFMR)] = s
			}
			p("| %s | %d | %d | %.4f | %s | %.3f | %s | %s | %s | %s | %.3f | %.3f |\n", m.Name, m.Genuine, m.Impostor,
				float64(m.AUC), pct(float64(m.EER)), float64(m.Threshold), pct(float64(m.FMR)), pct(float64(m.FNMR)),
				at[0.001], at[0.01], float64(m.GenuineMin), float64(m.ImpostorMax))
		}
		p("\n† fewer impostor pairs than 1/FMR: the threshold is set just above the highest impostor score, so the FMR is only known to be below about 3/impostors.\n\n")
		unscored := map[string]int{}
		for _, pr := range r.Pairs {
			if math.IsNaN(float64(pr.Score)) {
				unscored[pr.Set]++
			}
		}
		for _, set := range sortedKeys(unscored) {
			p("%s: %d pairs have no score (a face could not be enrolled or no probe was usable; see the notes and report.json) and are left out of the rates.\n\n", set, unscored[set])
		}
		fig("det.png", "DET curves")
		fig("match_hist.png", "match scores, video pairs")
		fig("match_hist_photos.png", "match scores, photo pairs")
	}

	if len(r.Confusion.Expected) > 0 {
		c := r.Confusion
		p("## Perturbation set: reason confusion matrix\n\nRows: the reason each derived video was made to produce; columns: the reasons the decision gave (a video can give several, so a row may sum to more than n). Hit rate: videos whose reasons include the expected one.\n\n")
		p("| expected \\ produced | n | hit rate |")
		for _, col := range c.Produced {
			p(" %s |", col)
		}
		p("\n|---|---|---|%s\n", strings.Repeat("---|", len(c.Produced)))
		for _, e := range c.Expected {
			mark := ""
			if c.HitRate(reason.Code(e)) < r.MinHitRate {
				mark = " **below**"
			}
			p("| %s | %d | %s%s |", e, c.Total[e], pct(c.HitRate(reason.Code(e))), mark)
			for _, col := range c.Produced {
				if n := c.Count[e][col]; n > 0 {
					p(" %d |", n)
				} else {
					p(" |")
				}
			}
			p("\n")
		}
		p("\n")
		for _, e := range c.Expected {
			if m := c.Misses[e]; len(m) > 0 {
				p("- %s missed: %s\n", e, strings.Join(m, ", "))
			}
		}
		p("\n")
	}

	p("## Per clip\n\n")
	for _, set := range []string{SetGenuine, SetAttack, SetNegative, SetMalformed, SetPerturbed} {
		cs := r.ClipsOf(set)
		if len(cs) == 0 {
			continue
		}
		p("### %s\n\n", set)
		r.clipTable(b, cs)
	}

	if len(r.Timings) > 0 {
		p("## Timings (ms, every verified video)\n\n| stage | n | median | p90 | max |\n|---|---|---|---|---|\n")
		for _, k := range sortedKeys(r.Timings) {
			s := r.Timings[k]
			p("| %s | %d | %.0f | %.0f | %.0f |\n", k, s.N, s.Median, s.P90, s.Max)
		}
		p("\n")
	}
	if len(r.Notes) > 0 {
		p("## Notes\n\n")
		for _, n := range r.Notes {
			p("- %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

func (r *Report) clipTable(b *strings.Builder, cs []Clip) {
	fmt.Fprintf(b, "| clip | expected | reference | outcome | reasons / error | verdict | liveness | match | decode ms | total ms |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range cs {
		rs := strings.Join(codeStrings(c.Reasons), ", ")
		if c.ErrorCode != "" {
			rs = "error: " + c.ErrorCode
		}
		if c.Panicked {
			rs += " (panic)"
		}
		if c.TimedOut {
			rs += " (timeout)"
		}
		exp := string(c.Expected)
		if c.Species != "" {
			exp = c.Species
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c.ID, esc(exp), esc(c.Reference), c.Outcome,
			esc(rs), c.Verdict, num(c.LivenessScore, 3), num(c.MatchScore, 3), ms(c.TimingsMS, "decode"), ms(c.TimingsMS, "total"))
	}
	b.WriteString("\n")
}

func esc(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (t MatchThresholds) facematch() facematch.Thresholds {
	return facematch.Thresholds{Match: t.Match, ReviewFloor: t.ReviewFloor}
}
