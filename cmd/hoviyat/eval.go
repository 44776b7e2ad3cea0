package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/eval"
	"github.com/hoviyat/hoviyat/internal/testmedia/derive"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
)

// Pair-set names in the report.
const (
	pairsVideo   = "video_vs_reference"
	pairsDeep    = "deepface_photos"
	pairsGoFace  = "goface_photos"
	refStillTime = "0.5"
	thrMatch     = "match.threshold"
	thrReview    = "match.review_floor"
	// probesAfter is when probes may start for a clip whose reference is
	// its own still at 0.5 s.
	probesAfter = time.Second
)

// clipLabel is one row of the evaluation labels (testdata/eval/clips.tsv).
type clipLabel struct {
	ID, Set, Identity, Reference, Species, Note string
}

func readClipLabels(path string) ([]clipLabel, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hoviyat: evaluation labels: %w (run from the repository root or pass --labels)", err)
	}
	defer f.Close()
	var out []clipLabel
	sc := bufio.NewScanner(f)
	header := true
	n := 0
	for sc.Scan() {
		n++
		ln := sc.Text()
		if strings.HasPrefix(ln, "#") || strings.TrimSpace(ln) == "" {
			continue
		}
		fs := strings.Split(ln, "\t")
		if header {
			header = false
			if len(fs) < 6 || fs[0] != "id" {
				return nil, fmt.Errorf("hoviyat: %s:%d: want header id, set, identity, reference, species, note", path, n)
			}
			continue
		}
		if len(fs) < 5 {
			return nil, fmt.Errorf("hoviyat: %s:%d: %d fields, want 6", path, n, len(fs))
		}
		for len(fs) < 6 {
			fs = append(fs, "")
		}
		l := clipLabel{ID: fs[0], Set: fs[1], Identity: fs[2], Reference: fs[3], Species: fs[4], Note: fs[5]}
		if l.Species == "-" {
			l.Species = ""
		}
		switch l.Set {
		case eval.SetGenuine, eval.SetAttack, eval.SetDeepfake, eval.SetNegative, "exclude":
		default:
			return nil, fmt.Errorf("hoviyat: %s:%d: unknown set %q", path, n, l.Set)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hoviyat: %s: %w", path, err)
	}
	return out, nil
}

// evalItem is one video to verify.
type evalItem struct {
	clip     eval.Clip
	path     string
	ref      reference
	refOwner string // clip whose still is the reference ("" for a photo)
	opt      verifyOptions
	identity string
	keep     bool // keep the verification (probes) for the pair sets
}

type evaluator struct {
	eng      *engine
	data     string
	out      string
	ffmpeg   string
	perVideo time.Duration
	stderr   io.Writer
	refs     map[string]reference // by reference spec
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", os.Getenv("HOVIYAT_DATA"), "shared data directory (default $HOVIYAT_DATA)")
	out := fs.String("out", "", "output directory for report.md, report.json and plots (required)")
	media := fs.String("media", "", "derived test media (default OUT/media; generated when absent or stale)")
	mediaSeed := fs.Uint64("media-seed", 0, "parameter seed of the derived set (0: the standard set; another value: a held-out set)")
	models := fs.String("models", "", "models directory (default $HOVIYAT_MODELS)")
	labels := fs.String("labels", filepath.Join("testdata", "eval", "clips.tsv"), "evaluation labels")
	doc := fs.String("doc", "", "also write the Markdown report to this file, with the plots in img/eval/ beside it")
	jobs := fs.Int("jobs", 1, "videos verified at once (1 gives the cleanest per-clip timings)")
	perVideo := fs.Duration("video-timeout", 2*time.Minute, "deadline of one verification")
	setsFlag := fs.String("sets", "genuine,attack,deepfake,negative,malformed,perturbed,photos", "what to evaluate")
	minHit := fs.Float64("min-hit", 0.9, "per-reason hit rate required of the perturbation set")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hoviyat eval --data DIR --out DIR [--media DIR] [--models DIR] [--doc FILE]")
		fmt.Fprintln(stderr, "Verifies the genuine, attack and negative clips, malformed inputs and the derived perturbation set,")
		fmt.Fprintln(stderr, "scores the labelled photo pairs, and writes report.md, report.json and PNG plots.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *data == "" || *out == "" || fs.NArg() > 0 || *jobs < 1 {
		fmt.Fprintln(stderr, "hoviyat eval: --data (or $HOVIYAT_DATA) and --out are required")
		fs.Usage()
		return exitUsage
	}
	sets := map[string]bool{}
	for _, s := range strings.Split(*setsFlag, ",") {
		sets[strings.TrimSpace(s)] = true
	}
	fail := func(err error) int {
		ce := classify(err)
		fmt.Fprintf(stderr, "hoviyat eval: %s: %v\n", ce.Code, ce.Err)
		return exitFail
	}
	start := time.Now()
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "eval: "+format+"\n", a...) }

	lbls, err := readClipLabels(*labels)
	if err != nil {
		return fail(err)
	}
	manifest, err := derive.ReadManifest(*data)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fail(err)
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return fail(fmt.Errorf("hoviyat: eval needs ffmpeg (scripts/setup.sh installs it): %w", err))
	}

	var derived []derive.Label
	mediaDir := *media
	if sets[eval.SetPerturbed] {
		if mediaDir == "" {
			mediaDir = filepath.Join(*out, "media")
		}
		if !derive.UpToDate(mediaDir, *mediaSeed) {
			progress("generating the derived test media into %s (skips what is present)…", mediaDir)
			sum, err := derive.Generate(ctx, derive.Config{Data: *data, Out: mediaDir, Seed: *mediaSeed})
			if err != nil {
				return fail(err)
			}
			progress("%d videos made, %d present, %.0f s", len(sum.Made), len(sum.Skipped), sum.Elapsed.Seconds())
		}
		if derived, err = derive.ReadLabels(filepath.Join(mediaDir, derive.LabelsFile)); err != nil {
			return fail(err)
		}
	}

	progress("loading models…")
	eng, err := newEngine(*models)
	if err != nil {
		return fail(err)
	}
	defer eng.Close()
	ev := &evaluator{eng: eng, data: *data, out: *out, ffmpeg: ffmpeg, perVideo: *perVideo, stderr: stderr, refs: map[string]reference{}}

	items, notes, err := ev.plan(ctx, lbls, manifest, derived, mediaDir, sets)
	if err != nil {
		return fail(err)
	}
	progress("verifying %d videos…", len(items))
	clips, kept := ev.verifyAll(ctx, items, *jobs)
	if err := ctx.Err(); err != nil {
		return fail(err)
	}

	rep := &eval.Report{
		Title:       title(*mediaSeed),
		Command:     commandLine(args, *data, *models),
		Environment: environment(),
		Clips:       clips,
		Notes:       notes,
		Models:      map[string]string{"matcher": eng.matcher.Model()},
		Thresholds:  map[string]float64{},
	}
	th := eng.matcher.Thresholds()
	rep.Thresholds[thrMatch] = th.Match
	rep.Thresholds[thrReview] = th.ReviewFloor
	for _, k := range kept {
		// The detector's own names are already namespaced ("quality.",
		// "liveness.").
		for m, id := range k.v.Live.Models {
			rep.Models[m] = id
		}
		for t, x := range k.v.Live.Thresholds {
			rep.Thresholds[t] = x
		}
		break
	}

	if sets[eval.SetGenuine] {
		progress("scoring video-vs-reference pairs…")
		pairs, err := ev.videoPairs(ctx, kept, ev.photoRefs(lbls))
		if err != nil {
			return fail(err)
		}
		rep.Pairs = append(rep.Pairs, pairs...)
	}
	if sets["photos"] {
		progress("scoring photo pairs…")
		pairs, failed, err := ev.photoPairs(ctx, lbls)
		if err != nil {
			return fail(err)
		}
		rep.Pairs = append(rep.Pairs, pairs...)
		if len(failed) > 0 {
			rep.Notes = append(rep.Notes, "Photos that could not be enrolled (the matcher found no single clear face; their pairs are left out of the rates): "+strings.Join(failed, ", ")+".")
		}
	}
	rep.Compute(eval.MatchThresholds{Match: th.Match, ReviewFloor: th.ReviewFloor}, *minHit)
	for _, c := range rep.ClipsOf(eval.SetDeepfake) {
		if c.Outcome == eval.Approved {
			rep.Notes = append(rep.Notes, fmt.Sprintf("The deepfake %s was approved: the pipeline has no detector of digital face manipulation, and a deepfake played into the upload is an injection attack, outside what presentation-attack detection covers. Hosts must counter injection on the capture path (in-app recording, the session's challenge nonce, reading the displayed text aloud).", c.ID))
		}
	}

	progress("drawing plots…")
	plots, err := writePlots(*out, rep)
	if err != nil {
		return fail(err)
	}
	rep.Plots = plots
	rep.ElapsedS = time.Since(start).Seconds()
	rep.PeakRSSMB = peakRSSMB()

	if err := writeReport(filepath.Join(*out, "report.md"), rep, ""); err != nil {
		return fail(err)
	}
	jf, err := os.Create(filepath.Join(*out, "report.json"))
	if err != nil {
		return fail(err)
	}
	if err := rep.WriteJSON(jf); err != nil {
		jf.Close()
		return fail(err)
	}
	if err := jf.Close(); err != nil {
		return fail(err)
	}
	if *doc != "" {
		imgDir := filepath.Join(filepath.Dir(*doc), "img", "eval")
		if err := os.MkdirAll(imgDir, 0o755); err != nil {
			return fail(err)
		}
		for _, p := range plots {
			if err := copyFile(filepath.Join(*out, p), filepath.Join(imgDir, p)); err != nil {
				return fail(err)
			}
		}
		if err := writeReport(*doc, rep, "img/eval"); err != nil {
			return fail(err)
		}
	}
	fmt.Fprintf(stdout, "wrote %s and report.json (%.0f s)\n", filepath.Join(*out, "report.md"), rep.ElapsedS)
	for _, c := range rep.Checks {
		s := "reported"
		if c.Pass != nil {
			s = "FAIL"
			if *c.Pass {
				s = "ok"
			}
		}
		fmt.Fprintf(stdout, "  [%s] %s\n", s, c.Name)
	}
	return exitOK
}

func title(seed uint64) string {
	if seed == 0 || seed == derive.BaseSeed {
		return "Hoviyat evaluation on the shared data set"
	}
	return fmt.Sprintf("Hoviyat evaluation on the shared data set (held-out derived set, seed %d)", seed)
}

func writeReport(path string, rep *eval.Report, imgDir string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("hoviyat: %w", err)
	}
	if err := rep.WriteMarkdown(f, imgDir); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("hoviyat: %w", err)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("hoviyat: %w", err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("hoviyat: %w", err)
	}
	return nil
}

// commandLine is the command that regenerates the report, with the data
// and models directories written as their environment variables.
func commandLine(args []string, data, models string) string {
	out := []string{"go run ./cmd/hoviyat eval"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == data && data != "" && data == os.Getenv("HOVIYAT_DATA"):
			a = "$HOVIYAT_DATA"
		case a == models && models != "" && models == os.Getenv("HOVIYAT_MODELS"):
			a = "$HOVIYAT_MODELS"
		case strings.HasPrefix(a, "--data=") && os.Getenv("HOVIYAT_DATA") == strings.TrimPrefix(a, "--data="):
			a = "--data=$HOVIYAT_DATA"
		}
		out = append(out, a)
	}
	if !slices.ContainsFunc(args, func(s string) bool { return strings.HasPrefix(strings.TrimLeft(s, "-"), "data") }) {
		out = append(out, "--data", "$HOVIYAT_DATA")
	}
	return strings.Join(out, " ")
}

func environment() map[string]string {
	env := map[string]string{
		"go":     runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		"cpus":   fmt.Sprint(runtime.NumCPU()),
		"opencv": gocv.OpenCVVersion() + " (gocv " + gocv.Version() + ")",
		"date":   time.Now().UTC().Format("2006-01-02 15:04 UTC"),
	}
	if b, err := exec.Command("ffmpeg", "-version").Output(); err == nil {
		env["ffmpeg"] = strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "ffmpeg version ")
		if i := strings.Index(env["ffmpeg"], " Copyright"); i > 0 {
			env["ffmpeg"] = env["ffmpeg"][:i]
		}
	}
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if rev == "" {
		if b, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
			rev = strings.TrimSpace(string(b))
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		env["commit"] = rev
	}
	env["load"] = loadAverage()
	return env
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ") + " (1/5/15 min, at the end of the run; the machine is shared)"
}

// still extracts (once) the frame at 0.5 s of a clip as a JPEG reference.
func (ev *evaluator) still(ctx context.Context, id, clipPath string) (reference, error) {
	key := "still:" + id
	if r, ok := ev.refs[key]; ok {
		return r, nil
	}
	dir := filepath.Join(ev.out, "refs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return reference{}, fmt.Errorf("hoviyat: %w", err)
	}
	p := filepath.Join(dir, id+"_0.5s.jpg")
	if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
		cmd := exec.CommandContext(ctx, ev.ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-ss", refStillTime, "-i", clipPath,
			"-frames:v", "1", "-q:v", "2", p)
		if b, err := cmd.CombinedOutput(); err != nil {
			return reference{}, fmt.Errorf("hoviyat: still of %s: %w: %s", id, err, strings.TrimSpace(string(b)))
		}
	}
	r, err := loadReference(p)
	if err != nil {
		return reference{}, err
	}
	r.path = "still of " + id + " at 0.5 s"
	ev.refs[key] = r
	return r, nil
}

// refFor resolves a reference spec of clip id.
func (ev *evaluator) refFor(ctx context.Context, id, spec string, manifest map[string]derive.Clip) (reference, string, verifyOptions, error) {
	switch {
	case spec == "self":
		c, ok := manifest[id]
		if !ok {
			return reference{}, "", verifyOptions{}, fmt.Errorf("hoviyat: %s not in MANIFEST.tsv", id)
		}
		r, err := ev.still(ctx, id, filepath.Join(ev.data, "videos", c.File))
		return r, id, verifyOptions{MinProbeTime: probesAfter}, err
	case strings.HasPrefix(spec, "photos/"):
		r, err := loadReference(filepath.Join(ev.data, spec))
		r.path = spec
		return r, "", verifyOptions{}, err
	default:
		c, ok := manifest[spec]
		if !ok {
			return reference{}, "", verifyOptions{}, fmt.Errorf("hoviyat: reference clip %s not in MANIFEST.tsv", spec)
		}
		r, err := ev.still(ctx, spec, filepath.Join(ev.data, "videos", c.File))
		return r, spec, verifyOptions{}, err
	}
}

// plan lists the videos to verify with their references.
func (ev *evaluator) plan(ctx context.Context, lbls []clipLabel, manifest map[string]derive.Clip, derived []derive.Label, mediaDir string, sets map[string]bool) ([]evalItem, []string, error) {
	var items []evalItem
	byID := map[string]clipLabel{}
	for _, l := range lbls {
		byID[l.ID] = l
	}
	for _, l := range lbls {
		if l.Set == "exclude" || !sets[l.Set] {
			continue
		}
		c, ok := manifest[l.ID]
		if !ok {
			return nil, nil, fmt.Errorf("hoviyat: label %s not in MANIFEST.tsv", l.ID)
		}
		ref, owner, opt, err := ev.refFor(ctx, l.ID, l.Reference, manifest)
		if err != nil {
			return nil, nil, err
		}
		items = append(items, evalItem{
			clip: eval.Clip{ID: l.ID, Set: l.Set, File: c.File, Species: l.Species, Reference: ref.path},
			path: filepath.Join(ev.data, "videos", c.File),
			ref:  ref, refOwner: owner, opt: opt, identity: l.Identity,
			keep: l.Set == eval.SetGenuine,
		})
	}
	if sets[eval.SetMalformed] {
		ms, err := ev.malformed()
		if err != nil {
			return nil, nil, err
		}
		neutral, _, _, err := ev.refFor(ctx, "g06", "self", manifest)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range ms {
			items = append(items, evalItem{clip: eval.Clip{ID: m.id, Set: eval.SetMalformed, File: m.path, Reference: neutral.path}, path: m.path, ref: neutral})
		}
	}
	for _, d := range derived {
		src := d.SourceClip()
		it := evalItem{
			clip: eval.Clip{ID: strings.TrimSuffix(d.File, ".mp4"), Set: eval.SetPerturbed, File: d.File, Expected: d.Expected, Species: d.Species},
			path: filepath.Join(mediaDir, d.File),
		}
		switch {
		case src != "":
			l, ok := byID[src]
			if !ok {
				return nil, nil, fmt.Errorf("hoviyat: derived %s: source %s has no label", d.File, src)
			}
			ref, owner, opt, err := ev.refFor(ctx, src, l.Reference, manifest)
			if err != nil {
				return nil, nil, err
			}
			it.ref, it.refOwner, it.opt = ref, owner, opt
		default:
			// A replayed photo is matched against that very photo: the
			// attacker's best case, left to liveness to stop.
			photo, _, _ := strings.Cut(d.Source, "+")
			ref, _, _, err := ev.refFor(ctx, "", photo, manifest)
			if err != nil {
				return nil, nil, err
			}
			it.ref = ref
		}
		it.clip.Reference = it.ref.path
		items = append(items, it)
	}
	notes := []string{
		"Reference photos: for a clip with no other clip of the same person, the reference is its own frame at 0.5 s and only probes at or after 1.0 s are matched (`reference` column); g21 and g24 (same person, different videos) are each matched against a still of the other. a01 and a02 are matched against stills of g01 and g02. A replayed photo is matched against the photo itself (the attacker's best case). Negative and malformed inputs get g06's still.",
		"In-sample: the quality-gate and liveness thresholds (docs/bench/liveness.md) and the match threshold (facematch calibration) were tuned on these same clips and this derived set, so these rates are not a held-out estimate. A held-out derived set (same sources and ranges, other parameter draws) is one command away: `go run ./cmd/hoviyat eval --data $HOVIYAT_DATA --out out/eval-heldout --media-seed 2 --sets perturbed`; real held-out attacks (printed photos, masks, other screens and phones) are still missing from the data.",
		"The behaviour labels of the shared clips were read by eye; the derived set (`go run ./internal/testmedia -list`) is synthetic: strengths were chosen so that a person would agree the problem is visible.",
		"Timings were taken on a shared 2-core machine while other work ran; medians are more trustworthy than maxima.",
		"Video-vs-reference pairs: every genuine clip's matched probes against its own reference (same person) and, as impostors, against the reference still of every other person in the clips and every enrollable deepface and go-face photo (people who appear in no clip). Each pair is decided by policy.Decide with that clip's own liveness result, so an impostor pair can only be approved if the clip itself passed liveness and quality.",
		"Photo pairs: deepface's labelled pairs (pairs_master.csv) and every pair of go-face photos (pristin.jpg, a group photo, left out); each photo's main face is found and embedded as a reference photo is; the score is the cosine similarity of the two templates.",
	}
	return items, notes, nil
}

type malformedInput struct{ id, path string }

// malformed writes broken inputs derived from the shared clips: empty,
// truncated, random bytes and a JPEG named .mp4. The HTML page (n06) and
// the 0.2 s clip (n05) are in the negative set.
func (ev *evaluator) malformed() ([]malformedInput, error) {
	dir := filepath.Join(ev.out, "malformed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("hoviyat: %w", err)
	}
	g06, err := os.ReadFile(filepath.Join(ev.data, "videos", "genuine", "g06_phone_selfie_glasses_talking_blinks.mp4"))
	if err != nil {
		return nil, fmt.Errorf("hoviyat: %w", err)
	}
	jpg, err := os.ReadFile(filepath.Join(ev.data, "photos", "deepface", "img18.jpg"))
	if err != nil {
		return nil, fmt.Errorf("hoviyat: %w", err)
	}
	r := rand.New(rand.NewPCG(7, 11))
	noise := make([]byte, 256<<10)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	inputs := []struct {
		id string
		b  []byte
	}{
		{"empty", nil},
		{"truncated_g06_35pct", g06[:len(g06)*35/100]},
		{"truncated_g06_header_only", g06[:4096]},
		{"random_bytes", noise},
		{"jpeg_named_mp4", jpg},
	}
	var out []malformedInput
	for _, in := range inputs {
		p := filepath.Join(dir, in.id+".mp4")
		if err := os.WriteFile(p, in.b, 0o644); err != nil {
			return nil, fmt.Errorf("hoviyat: %w", err)
		}
		out = append(out, malformedInput{in.id, p})
	}
	return out, nil
}

type keptResult struct {
	item evalItem
	v    verification
}

// verifyAll runs the items with jobs workers and returns the report rows
// in item order and the kept verifications (genuine clips).
func (ev *evaluator) verifyAll(ctx context.Context, items []evalItem, jobs int) ([]eval.Clip, []keptResult) {
	clips := make([]eval.Clip, len(items))
	vs := make([]*verification, len(items))
	var wg sync.WaitGroup
	next := make(chan int)
	var mu sync.Mutex
	done := 0
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, v := ev.runOne(ctx, items[i])
				clips[i] = c
				if items[i].keep {
					vs[i] = v
				}
				mu.Lock()
				done++
				fmt.Fprintf(ev.stderr, "eval: [%d/%d] %-36s %-8s %s\n", done, len(items), c.ID, c.Outcome, reasonsOrError(c))
				mu.Unlock()
			}
		}()
	}
	for i := range items {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	var kept []keptResult
	for i, v := range vs {
		if v != nil {
			kept = append(kept, keptResult{items[i], *v})
		}
	}
	return clips, kept
}

func reasonsOrError(c eval.Clip) string {
	if c.ErrorCode != "" {
		return "error " + c.ErrorCode
	}
	s := make([]string, len(c.Reasons))
	for i, r := range c.Reasons {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// runOne verifies one item under a deadline, recovering from a panic and
// giving up on a call that outlives its deadline (a cgo call cannot be
// interrupted; it is left to finish in the background).
func (ev *evaluator) runOne(ctx context.Context, it evalItem) (eval.Clip, *verification) {
	c := it.clip
	vctx, cancel := context.WithTimeout(ctx, ev.perVideo)
	defer cancel()
	type result struct {
		v        verification
		err      error
		panicked bool
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- result{err: fmt.Errorf("panic: %v", p), panicked: true}
			}
		}()
		v, err := ev.eng.verify(vctx, it.path, it.ref, liveness.Challenge{}, it.opt)
		ch <- result{v: v, err: err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-time.After(ev.perVideo + 10*time.Second):
		c.Outcome, c.TimedOut = eval.Error, true
		c.ErrorCode, c.Error = codeTimeout, "no answer within the deadline"
		return c, nil
	}
	if r.err != nil {
		ce := classify(r.err)
		c.Outcome, c.ErrorCode, c.Error, c.Panicked = eval.Error, ce.Code, ce.Error(), r.panicked
		c.TimedOut = ce.Code == codeTimeout
		return c, nil
	}
	v := r.v
	c.Outcome = eval.Outcome(v.Judgement.Outcome)
	c.Reasons = v.Judgement.Reasons
	c.Verdict = string(v.Live.Verdict)
	ls := eval.Num(v.Live.Score)
	c.LivenessScore = &ls
	if v.Score != nil {
		s := eval.Num(v.Score.Similarity)
		c.MatchScore = &s
		c.MatchDecision = string(v.Score.Decision)
	}
	c.Probes = len(v.Probes)
	c.Frames = v.Live.Frames
	c.TimingsMS = map[string]float64{}
	for k, d := range v.Timings {
		c.TimingsMS[k] = ms(d)
	}
	c.Measures = v.Live.Measures
	for _, e := range v.Live.Evidence {
		c.Evidence = append(c.Evidence, eval.EvidenceItem{Name: e.Name, Value: eval.Num(e.Value), Threshold: eval.Num(e.Threshold), Pass: e.Pass})
	}
	return c, &v
}

// photoRefs lists the deepface and go-face photos (minus excluded ones):
// people who appear in none of the clips, used as further impostor
// references for the video probes.
func (ev *evaluator) photoRefs(lbls []clipLabel) []string {
	excluded := map[string]bool{}
	for _, l := range lbls {
		if l.Set == "exclude" {
			excluded[l.ID] = true
		}
	}
	var out []string
	for _, dir := range []string{"photos/deepface", "photos/goface"} {
		ms, _ := filepath.Glob(filepath.Join(ev.data, dir, "*.jpg"))
		sort.Strings(ms)
		for _, m := range ms {
			rel := dir + "/" + filepath.Base(m)
			if !excluded[rel] {
				out = append(out, rel)
			}
		}
	}
	return out
}

// videoPairs scores every kept genuine clip against its own reference
// (same person), the references of every other person in the clips, and
// the photos (impostors).
func (ev *evaluator) videoPairs(ctx context.Context, kept []keptResult, photos []string) ([]eval.Pair, error) {
	m := ev.eng.matcher
	type refEntry struct {
		owner    string // clip the still comes from
		identity string
		ref      reference
		tmpl     []float32
		err      error
	}
	identity := map[string]string{}
	for _, k := range kept {
		identity[k.item.clip.ID] = k.item.identity
	}
	var refs []*refEntry
	seen := map[string]bool{}
	for _, k := range kept {
		if k.item.refOwner == "" || seen[k.item.refOwner] {
			continue
		}
		seen[k.item.refOwner] = true
		e := &refEntry{owner: k.item.refOwner, identity: identity[k.item.refOwner], ref: k.item.ref}
		if e.identity == "" {
			e.identity = k.item.identity
		}
		e.tmpl, e.err = m.EmbedReference(ctx, k.item.ref.ref)
		refs = append(refs, e)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].owner < refs[j].owner })
	for _, rel := range photos {
		r, err := loadReference(filepath.Join(ev.data, rel))
		if err != nil {
			return nil, err
		}
		r.path = rel
		e := &refEntry{owner: rel, identity: "photo:" + rel, ref: r}
		e.tmpl, e.err = m.EmbedReference(ctx, r.ref)
		if e.err != nil {
			continue // not enrollable: listed with the photo pairs
		}
		refs = append(refs, e)
	}

	var pairs []eval.Pair
	for _, k := range kept {
		probes := k.v.Probes
		var embs [][]float32
		var perr string
		if len(probes) == 0 {
			perr = "no probes"
			if len(k.v.Live.Quality) > 0 {
				perr += " (quality: " + strings.Join(codeStrs(k.v.Live.Quality), ",") + ")"
			}
		} else {
			sel := m.SelectProbes(probes)
			chosen := make([]facematch.Probe, 0, len(sel))
			for _, i := range sel {
				chosen = append(chosen, probes[i])
			}
			var err error
			if embs, err = m.EmbedProbes(ctx, chosen); err != nil {
				return nil, err
			}
			if len(chosen) == 0 {
				perr = "no usable probe"
			}
		}
		for _, r := range refs {
			same := r.identity == k.item.identity
			if same && r.owner != k.item.refOwner {
				continue // a same-person still that is not this clip's reference
			}
			p := eval.Pair{Set: pairsVideo, A: k.item.clip.ID, B: r.ref.path, Same: same, Score: eval.Num(math.NaN())}
			switch {
			case r.err != nil:
				p.Error = "reference unusable: " + r.err.Error()
			case perr != "":
				p.Error = perr
			default:
				var sims []float64
				for _, e := range embs {
					if e != nil {
						sims = append(sims, facematch.Cosine(e, r.tmpl))
					}
				}
				s := m.Score(sims)
				p.Score = eval.Num(s.Similarity)
				p.Decision = string(s.Decision)
				j := ev.eng.pol.Decide(policy.Evidence{Liveness: k.v.Live, Match: &s})
				p.Outcome = eval.Outcome(j.Outcome)
			}
			pairs = append(pairs, p)
		}
	}
	return pairs, nil
}

func codeStrs(cs []reason.Code) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// photoPairs scores deepface's labelled pairs and every pair of go-face
// photos.
func (ev *evaluator) photoPairs(ctx context.Context, lbls []clipLabel) ([]eval.Pair, []string, error) {
	m := ev.eng.matcher
	type tmpl struct {
		v   []float32
		err error
	}
	cache := map[string]tmpl{}
	embed := func(rel string) tmpl {
		if t, ok := cache[rel]; ok {
			return t
		}
		var t tmpl
		b, err := os.ReadFile(filepath.Join(ev.data, rel))
		if err != nil {
			t.err = err
		} else {
			t.v, t.err = m.EmbedReference(ctx, facematch.Reference{Key: "eval:" + rel, Photo: b})
		}
		cache[rel] = t
		return t
	}
	th := m.Thresholds()
	score := func(set, a, b string, same bool) eval.Pair {
		p := eval.Pair{Set: set, A: filepath.Base(a), B: filepath.Base(b), Same: same, Score: eval.Num(math.NaN())}
		ta, tb := embed(a), embed(b)
		switch {
		case ta.err != nil:
			p.Error = shortErr(ta.err)
		case tb.err != nil:
			p.Error = shortErr(tb.err)
		default:
			s := facematch.Cosine(ta.v, tb.v)
			p.Score = eval.Num(s)
			p.Decision = string(th.Decide(s))
		}
		return p
	}
	var pairs []eval.Pair

	f, err := os.Open(filepath.Join(ev.data, "photos", "deepface", "pairs_master.csv"))
	if err != nil {
		return nil, nil, fmt.Errorf("hoviyat: %w", err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("hoviyat: pairs_master.csv: %w", err)
	}
	for i, r := range rows {
		if i == 0 || len(r) < 3 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		pairs = append(pairs, score(pairsDeep, "photos/deepface/"+r[0], "photos/deepface/"+r[1], strings.EqualFold(r[2], "yes")))
	}

	excluded := map[string]bool{}
	for _, l := range lbls {
		if l.Set == "exclude" {
			excluded[l.ID] = true
		}
	}
	lf, err := os.Open(filepath.Join(ev.data, "photos", "goface", "LABELS.tsv"))
	if err != nil {
		return nil, nil, fmt.Errorf("hoviyat: %w", err)
	}
	type photo struct{ rel, identity string }
	var photos []photo
	sc := bufio.NewScanner(lf)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) < 2 || fs[0] == "file" {
			continue
		}
		rel := "photos/goface/" + fs[0]
		if !excluded[rel] {
			photos = append(photos, photo{rel, fs[1]})
		}
	}
	lf.Close()
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("hoviyat: LABELS.tsv: %w", err)
	}
	for i := range photos {
		for j := i + 1; j < len(photos); j++ {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			pairs = append(pairs, score(pairsGoFace, photos[i].rel, photos[j].rel, photos[i].identity == photos[j].identity))
		}
	}
	var failed []string
	for rel, t := range cache {
		if t.err != nil {
			failed = append(failed, rel+" ("+shortErr(t.err)+")")
		}
	}
	sort.Strings(failed)
	return pairs, failed, nil
}

func shortErr(err error) string {
	if errors.Is(err, facematch.ErrReferenceUnusable) {
		return "no usable face"
	}
	return err.Error()
}

// writePlots draws the DET curves and score histograms into dir and
// returns their file names.
func writePlots(dir string, rep *eval.Report) ([]string, error) {
	var names []string
	type gi struct{ g, i []float64 }
	sets := map[string]*gi{}
	var order []string
	for _, p := range rep.Pairs {
		if math.IsNaN(float64(p.Score)) {
			continue
		}
		s := sets[p.Set]
		if s == nil {
			s = &gi{}
			sets[p.Set] = s
			order = append(order, p.Set)
		}
		if p.Same {
			s.g = append(s.g, float64(p.Score))
		} else {
			s.i = append(s.i, float64(p.Score))
		}
	}
	thr := rep.Thresholds[thrMatch]
	marks := []eval.Mark{{Name: "match threshold", X: thr}}
	if rf, ok := rep.Thresholds[thrReview]; ok && rf != thr {
		marks = append(marks, eval.Mark{Name: "review floor", X: rf})
	}
	if len(order) > 0 {
		var det []eval.DETSeries
		for _, s := range order {
			det = append(det, eval.DETSeries{Name: s, Points: facematch.ROC(sets[s].g, sets[s].i)})
		}
		if err := eval.SaveDET(filepath.Join(dir, "det.png"), "DET: face matching", det); err != nil {
			return nil, err
		}
		names = append(names, "det.png")
	}
	if s := sets[pairsVideo]; s != nil {
		err := eval.SaveHistogram(filepath.Join(dir, "match_hist.png"), "video probes vs reference (still or photo)", "cosine similarity (fused)",
			-0.3, 1, 26, []eval.Series{{Name: "same person", Values: s.g}, {Name: "different people", Values: s.i}}, marks)
		if err != nil {
			return nil, err
		}
		names = append(names, "match_hist.png")
	}
	var photoSeries []eval.Series
	for _, set := range []string{pairsDeep, pairsGoFace} {
		if s := sets[set]; s != nil {
			photoSeries = append(photoSeries, eval.Series{Name: set + " same", Values: s.g}, eval.Series{Name: set + " different", Values: s.i})
		}
	}
	if len(photoSeries) > 0 {
		if err := eval.SaveHistogram(filepath.Join(dir, "match_hist_photos.png"), "photo pairs", "cosine similarity",
			-0.3, 1, 26, photoSeries, marks); err != nil {
			return nil, err
		}
		names = append(names, "match_hist_photos.png")
	}
	var bona, attack, quality []float64
	for _, c := range rep.Clips {
		if c.LivenessScore == nil || c.Verdict == string(liveness.NotJudged) {
			continue
		}
		x := float64(*c.LivenessScore)
		switch {
		case c.Set == eval.SetGenuine:
			bona = append(bona, x)
		case c.Set == eval.SetAttack || c.Species != "":
			attack = append(attack, x)
		case c.Set == eval.SetPerturbed:
			quality = append(quality, x)
		}
	}
	if len(bona)+len(attack) > 0 {
		// The verdict is a rule over several signals, not a cut on the
		// fused score, so no threshold line is drawn.
		err := eval.SaveHistogram(filepath.Join(dir, "liveness_hist.png"), "liveness score of judged videos", "fused liveness score",
			0, 1, 20, []eval.Series{{Name: "bona fide", Values: bona}, {Name: "attacks (real + synthetic)", Values: attack}, {Name: "quality-perturbed", Values: quality}}, nil)
		if err != nil {
			return nil, err
		}
		names = append(names, "liveness_hist.png")
	}
	return names, nil
}
