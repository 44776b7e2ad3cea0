package calib

import (
	"fmt"
	"image"
	"strings"

	"github.com/hoviyat/hoviyat/facematch"
)

func imageRect(x0, y0, x1, y1 int) image.Rectangle { return image.Rect(x0, y0, x1, y1) }

func pct(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }

// Markdown renders the result as tables for docs/bench/facematch.md.
func (r *Result) Markdown() string {
	var b strings.Builder
	th := r.Thresholds
	fmt.Fprintf(&b, "Model `%s`; thresholds: match >= %.2f, review band [%.2f, %.2f).\n\n", r.Model, th.Match, th.ReviewFloor, th.Match)
	b.WriteString("| set | genuine | impostor | AUC | EER (thr) | FNMR @ FMR 0.1% (thr) | FNMR @ FMR 1% (thr) | max impostor | min genuine |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Sets {
		rp := s.Report
		op := func(o facematch.OperatingPoint) string {
			mark := ""
			if !o.Bounded {
				mark = "†"
			}
			return fmt.Sprintf("%s (%.3f)%s", pct(o.FNMR), o.Threshold, mark)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %.4f | %s (%.3f) | %s | %s | %.3f | %.3f |\n",
			s.Name, rp.Genuine, rp.Impostor, rp.AUC, pct(rp.EER), rp.EERThreshold,
			op(rp.AtFMR[0]), op(rp.AtFMR[1]), rp.ImpostorMax, rp.GenuineMin)
	}
	b.WriteString("\n† fewer than 1/FMR impostor pairs: the threshold is just above the highest impostor score (zero observed false matches).\n\n")

	fmt.Fprintf(&b, "Sensitivity of the operating point (match threshold %.2f ± %.2f) and the review floor:\n\n", th.Match, r.delta())
	b.WriteString("| set | FMR / FNMR @ thr-δ | FMR / FNMR @ thr | FMR / FNMR @ thr+δ | FMR / FNMR @ review floor |\n|---|---|---|---|---|\n")
	for _, s := range r.Sets {
		cell := func(p facematch.ROCPoint) string { return fmt.Sprintf("%s / %s", pct(p.FMR), pct(p.FNMR)) }
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", s.Name, cell(s.Sensitivity[0]), cell(s.Sensitivity[1]), cell(s.Sensitivity[2]), cell(s.AtReview))
	}
	b.WriteString("\nDecisions at these thresholds:\n\n| set | genuine match / uncertain / non-match | impostor match / uncertain / non-match |\n|---|---|---|\n")
	for _, s := range r.Sets {
		d := func(m map[facematch.Decision]int) string {
			return fmt.Sprintf("%d / %d / %d", m[facematch.Match], m[facematch.Uncertain], m[facematch.NonMatch])
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", s.Name, d(s.Genuine), d(s.Impostor))
	}
	b.WriteString("\nClosest impostor and weakest genuine pairs:\n\n")
	for _, s := range r.Sets {
		fmt.Fprintf(&b, "- %s: impostors", s.Name)
		for _, p := range s.ClosestImpostors {
			fmt.Fprintf(&b, " %s~%s %.3f;", p.Probe, p.Reference, p.Score)
		}
		b.WriteString(" genuine")
		for _, p := range s.WeakestGenuine {
			fmt.Fprintf(&b, " %s~%s %.3f;", p.Probe, p.Reference, p.Score)
		}
		b.WriteString("\n")
	}
	if len(r.Fusions) > 0 {
		b.WriteString("\nFusion rules on the video set (same probes and embeddings; the gap is min genuine - max impostor):\n\n| fusion | AUC | EER | min genuine | max impostor | gap |\n|---|---:|---:|---:|---:|---:|\n")
		for _, f := range r.Fusions {
			fmt.Fprintf(&b, "| %s | %.4f | %s | %.3f | %.3f | %.3f |\n", f.Name, f.AUC, pct(f.EER), f.GenuineMin, f.ImpostorMax, f.GenuineMin-f.ImpostorMax)
		}
	}
	if len(r.Attacks) > 0 {
		b.WriteString("\nPresentation attacks against the still of the person shown (matching is expected to succeed; liveness must reject them):\n\n")
		for _, p := range r.Attacks {
			fmt.Fprintf(&b, "- %s vs %s: %.3f (%s)\n", p.Probe, p.Reference, p.Score, p.Decision)
		}
	}
	for _, s := range r.Sets {
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "\nNote (%s): %s", s.Name, n)
		}
	}
	fmt.Fprintf(&b, "\n\nRun time %s.\n", r.Elapsed.Round(1e9))
	return b.String()
}

func (r *Result) delta() float64 {
	if len(r.Sets) == 0 {
		return 0
	}
	s := r.Sets[0].Sensitivity
	return s[1].Threshold - s[0].Threshold
}
