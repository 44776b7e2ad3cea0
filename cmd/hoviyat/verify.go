package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
)

// verifyJSON is the --json output of a decision. Its keys are a contract:
// add, never rename.
type verifyJSON struct {
	Outcome   string             `json:"outcome"`
	Reasons   []reason.Code      `json:"reasons"`
	Liveness  livenessJSON       `json:"liveness"`
	Match     *matchJSON         `json:"match"`
	Quality   map[string]float64 `json:"quality"`
	TimingsMS map[string]int64   `json:"timings_ms"`
}

type livenessJSON struct {
	Live  bool    `json:"live"`
	Score float64 `json:"score"`
}

type matchJSON struct {
	Score float64 `json:"score"`
	Same  bool    `json:"same"`
}

// errorJSON is the --json output when no decision could be made.
type errorJSON struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func toVerifyJSON(v verification) verifyJSON {
	out := verifyJSON{
		Outcome:   string(v.Judgement.Outcome),
		Reasons:   v.Judgement.Reasons,
		Liveness:  livenessJSON{Live: v.Live.Verdict == liveness.Live, Score: finite(v.Live.Score)},
		Quality:   map[string]float64{},
		TimingsMS: map[string]int64{},
	}
	if out.Reasons == nil {
		out.Reasons = []reason.Code{}
	}
	if v.Score != nil {
		out.Match = &matchJSON{Score: finite(v.Score.Similarity), Same: v.Score.Decision == "match"}
	}
	for k, x := range v.Live.Measures {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out.Quality[k] = x
		}
	}
	for k, d := range v.Timings {
		out.TimingsMS[k] = d.Milliseconds()
	}
	return out
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	video := fs.String("video", "", "selfie video file (required)")
	photo := fs.String("photo", "", "reference photo, JPEG/PNG/WebP (required)")
	challenge := fs.String("challenge", "", "text the person was asked to read aloud")
	models := fs.String("models", "", "models directory (default $HOVIYAT_MODELS)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a summary")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hoviyat verify --video FILE --photo FILE [--challenge TEXT] [--models DIR] [--json]")
		fmt.Fprintln(stderr, "Exit 0 with a decision (approved, rejected or review), 1 when no decision could be made.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *video == "" || *photo == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "hoviyat verify: --video and --photo are required")
		fs.Usage()
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	fail := func(err error) int {
		ce := classify(err)
		if *asJSON {
			var e errorJSON
			e.Error.Code, e.Error.Message = ce.Code, ce.Error()
			writeJSON(stdout, e)
		} else {
			fmt.Fprintf(stderr, "hoviyat verify: %s: %v\n", ce.Code, ce.Err)
			if in, ok := reason.Lookup(reason.Code(ce.Code)); ok {
				fmt.Fprintf(stderr, "  %s\n  %s\n", in.EN, in.HintEN)
			}
		}
		return exitFail
	}
	progress := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stderr, format+"\n", a...)
		}
	}

	ref, err := loadReference(*photo)
	if err != nil {
		return fail(err)
	}
	if _, err := liveness.NewFileVideo(*video); err != nil {
		return fail(&cliError{Code: string(reason.VideoInvalid), Err: err})
	}
	progress("loading models…")
	t0 := time.Now()
	eng, err := newEngine(*models)
	if err != nil {
		return fail(err)
	}
	defer eng.Close()
	progress("models loaded in %.1f s; analysing video…", time.Since(t0).Seconds())
	v, err := eng.verify(ctx, *video, ref, liveness.Challenge{Text: *challenge}, verifyOptions{})
	if err != nil {
		return fail(err)
	}
	if *asJSON {
		writeJSON(stdout, toVerifyJSON(v))
		return exitOK
	}
	writeSummary(stdout, v)
	return exitOK
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeSummary prints a decision for people.
func writeSummary(w io.Writer, v verification) {
	j := v.Judgement
	fmt.Fprintf(w, "Outcome: %s\n", strings.ToUpper(string(j.Outcome)))
	if len(j.Reasons) > 0 {
		fmt.Fprintln(w, "Reasons:")
		for _, c := range j.Reasons {
			fmt.Fprintf(w, "  - %s\n", c)
			if in, ok := reason.Lookup(c); ok {
				fmt.Fprintf(w, "      %s\n      %s\n", in.EN, in.FA)
				fmt.Fprintf(w, "      what to do: %s\n      %s\n", in.HintEN, in.HintFA)
			}
		}
	}
	if j.InPersonRequired {
		fmt.Fprintln(w, "In-person verification at a service centre is required.")
	}
	fmt.Fprintf(w, "Liveness: %s (score %.3f)\n", v.Live.Verdict, v.Live.Score)
	switch {
	case v.Score != nil:
		fmt.Fprintf(w, "Face match: %s (similarity %.3f; match at ≥ %.3f, review at ≥ %.3f)\n",
			v.Score.Decision, v.Score.Similarity, v.Score.Threshold, v.Score.ReviewFloor)
	case v.RefUnusable:
		fmt.Fprintln(w, "Face match: not run (no usable face in the reference photo)")
	default:
		fmt.Fprintln(w, "Face match: not run")
	}
	if len(v.Live.Measures) > 0 {
		keys := make([]string, 0, len(v.Live.Measures))
		for k := range v.Live.Measures {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%.3g", k, v.Live.Measures[k]))
		}
		fmt.Fprintf(w, "Quality: %s\n", strings.Join(parts, " "))
	}
	keys := make([]string, 0, len(v.Timings))
	for k := range v.Timings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d ms", k, v.Timings[k].Milliseconds()))
	}
	fmt.Fprintf(w, "Timings: %s\n", strings.Join(parts, ", "))
}
