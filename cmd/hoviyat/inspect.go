package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/facematch/onnx"
	"github.com/hoviyat/hoviyat/internal/inspect"
	"github.com/hoviyat/hoviyat/internal/vision"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/liveness/cv"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
)

// Files hoviyat inspect writes into --out.
const (
	inspectSheet    = "contact-sheet.png"
	inspectTimeline = "timeline.png"
	inspectJSON     = "inspect.json"
)

// inspectOptions are the parsed flags of hoviyat inspect.
type inspectOptions struct {
	video, photo, out, models, title string
	challenge                        liveness.Challenge
	redact                           bool
	images                           int
}

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o inspectOptions
	fs.StringVar(&o.video, "video", "", "selfie video file (required)")
	fs.StringVar(&o.photo, "photo", "", "reference photo, JPEG/PNG/WebP: also match the face and decide")
	fs.StringVar(&o.challenge.Text, "challenge", "", "text the person was asked to read aloud")
	headTurn := fs.String("head-turn", "", `head turn the person was asked for: "left" or "right"`)
	fs.StringVar(&o.out, "out", "", "directory to write "+inspectSheet+", "+inspectTimeline+" and "+inspectJSON+" into (required)")
	fs.StringVar(&o.models, "models", "", "models directory (default $HOVIYAT_MODELS)")
	fs.StringVar(&o.title, "title", "", "title printed on the pictures (default: the video's file name)")
	fs.BoolVar(&o.redact, "redact", false, "pixelate every face (and frames with no face found) in the contact sheet, for pictures that are published")
	fs.IntVar(&o.images, "frames", inspect.DefaultMaxTiles, "frames shown on the contact sheet (1-48)")
	timeout := fs.Duration("timeout", 3*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hoviyat inspect --video FILE [--photo FILE] [--challenge TEXT] --out DIR [--models DIR] [--redact]")
		fmt.Fprintln(stderr, "Writes a contact sheet, a timeline plot and the per-frame values of one video.")
		fmt.Fprintln(stderr, "Exit 0 when the video was judged (and decided, with --photo), 1 when it could not be.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	o.challenge.HeadTurn = liveness.HeadTurn(*headTurn)
	switch {
	case o.video == "" || o.out == "" || fs.NArg() > 0:
		fmt.Fprintln(stderr, "hoviyat inspect: --video and --out are required")
		fs.Usage()
		return exitUsage
	case o.challenge.HeadTurn != liveness.TurnNone && o.challenge.HeadTurn != liveness.TurnLeft && o.challenge.HeadTurn != liveness.TurnRight:
		fmt.Fprintf(stderr, "hoviyat inspect: --head-turn %q: want left or right\n", *headTurn)
		return exitUsage
	case o.images < 1 || o.images > 48:
		fmt.Fprintln(stderr, "hoviyat inspect: --frames must be 1-48")
		return exitUsage
	}
	if o.title == "" {
		o.title = filepath.Base(o.video)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	paths, err := inspectVideo(ctx, o, func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) })
	if err != nil {
		ce := classify(err)
		fmt.Fprintf(stderr, "hoviyat inspect: %s: %v\n", ce.Code, ce.Err)
		if in, ok := reason.Lookup(reason.Code(ce.Code)); ok {
			fmt.Fprintf(stderr, "  %s\n  %s\n", in.EN, in.HintEN)
		}
		return exitFail
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	return exitOK
}

// inspectVideo runs the detector's trace (and the matcher and policy when
// a photo is given), draws the pictures and writes them with the JSON into
// o.out. It returns the paths written.
func inspectVideo(ctx context.Context, o inspectOptions, progress func(string, ...any)) ([]string, error) {
	var ref *reference
	if o.photo != "" {
		r, err := loadReference(o.photo)
		if err != nil {
			return nil, err
		}
		ref = &r
	}
	v, err := liveness.NewFileVideo(o.video)
	if err != nil {
		return nil, &cliError{Code: string(reason.VideoInvalid), Err: err}
	}
	dir := o.models
	if dir == "" {
		dir = vision.ModelsDir()
	}
	if dir == "" {
		return nil, &cliError{Code: codeModelsMissing, Err: fmt.Errorf("hoviyat: no models directory: pass --models or set $%s", vision.ModelsEnv)}
	}
	if err := os.MkdirAll(o.out, 0o700); err != nil {
		return nil, fmt.Errorf("hoviyat: --out: %w", err)
	}
	progress("loading models…")
	det, err := cv.New(cv.Config{ModelsDir: dir, Workers: 1})
	if err != nil {
		return nil, err
	}
	defer det.Close()
	progress("analysing %s…", o.video)
	res, tr, err := det.Trace(ctx, v, o.challenge, cv.TraceConfig{Images: o.images})
	if err != nil {
		return nil, err
	}
	rep := inspect.Report{Title: o.title, Trace: tr, Result: res}
	if ref != nil {
		d, err := inspectDecide(ctx, dir, res, *ref)
		if err != nil {
			return nil, err
		}
		rep.Decision = d
		progress("decision: %s %v", d.Outcome, d.Reasons)
	} else {
		progress("liveness: %s (score %.3f) %v %v", res.Verdict, res.Score, res.Quality, res.Reasons)
	}

	var opts []inspect.Option
	opts = append(opts, inspect.WithMaxTiles(o.images))
	if o.redact {
		opts = append(opts, inspect.WithRedaction())
	}
	sheet, err := inspect.ContactSheet(rep, opts...)
	if err != nil {
		return nil, err
	}
	tl, err := inspect.Timeline(rep, opts...)
	if err != nil {
		return nil, err
	}
	doc, err := inspect.Data(rep)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, out := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{inspectSheet, func(w io.Writer) error { return encodePNG(w, sheet) }},
		{inspectTimeline, func(w io.Writer) error { return encodePNG(w, tl) }},
		{inspectJSON, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			return enc.Encode(doc)
		}},
	} {
		p := filepath.Join(o.out, out.name)
		if err := writeFile(p, out.write); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// inspectDecide matches the probes against the reference like verify does
// and applies the policy.
func inspectDecide(ctx context.Context, models string, res liveness.Result, ref reference) (*inspect.Decision, error) {
	ev := policy.Evidence{Liveness: res}
	if len(res.Quality) == 0 && len(res.Probes) > 0 {
		m, err := onnx.New(onnx.Config{ModelsDir: models, Workers: 1})
		if err != nil {
			return nil, err
		}
		defer m.Close()
		s, err := m.Compare(ctx, res.Probes, ref.ref)
		switch {
		case err == nil:
			ev.Match = &s
		case errors.Is(err, facematch.ErrReferenceUnusable):
			ev.ReferenceUnusable = true
		case errors.Is(err, facematch.ErrNoProbes):
		default:
			return nil, err
		}
	}
	pol, err := policy.New(policy.Config{})
	if err != nil {
		return nil, fmt.Errorf("hoviyat: %w", err)
	}
	j := pol.Decide(ev)
	return &inspect.Decision{Outcome: j.Outcome, Reasons: j.Reasons, Match: ev.Match, ReferenceUnusable: ev.ReferenceUnusable,
		Note: "Decided by hoviyat inspect with the default policy against " + filepath.Base(ref.path) + "."}, nil
}

// encodePNG writes img as a PNG, compressed hard: the pictures are kept
// and sent around.
func encodePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	return enc.Encode(w, img)
}

// writeFile writes a file through a buffer, 0600 (the pictures show faces).
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("hoviyat: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		f.Close()
		return fmt.Errorf("hoviyat: writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("hoviyat: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("hoviyat: writing %s: %w", path, err)
	}
	return nil
}
