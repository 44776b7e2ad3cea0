package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image/jpeg"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/eval"
	"github.com/hoviyat/hoviyat/internal/vision"
	"github.com/hoviyat/hoviyat/liveness"
)

// benchJSON is the --json output of bench.
type benchJSON struct {
	Video       string      `json:"video"`
	Width       int         `json:"width"`
	Height      int         `json:"height"`
	DurationS   float64     `json:"duration_s"`
	Codec       string      `json:"codec"`
	Runs        int         `json:"runs"`
	Concurrency int         `json:"concurrency"`
	CPUs        int         `json:"cpus"`
	DecodeMS    eval.Spread `json:"decode_only_ms"`
	ProbeMS     eval.Spread `json:"probe_ms"`
	EndToEndMS  eval.Spread `json:"end_to_end_ms"`
	// CPU time of the process per run (user+system, all threads): on a
	// shared machine it moves far less with other load than wall time.
	// Per run at concurrency 1; the mean over the phase otherwise.
	DecodeCPUMS eval.Spread            `json:"decode_only_cpu_ms"`
	E2ECPUMS    eval.Spread            `json:"end_to_end_cpu_ms"`
	RatioCPU    float64                `json:"ratio_cpu_median"`
	Ratio       float64                `json:"ratio_median"`
	PerMinute   float64                `json:"videos_per_minute"`
	StagesMS    map[string]eval.Spread `json:"stages_ms"`
	PeakRSSMB   float64                `json:"peak_rss_mb"`
	Outcome     string                 `json:"outcome"`
	Reasons     []string               `json:"reasons,omitempty"`
	Reference   string                 `json:"reference"`
	FramesRead  int                    `json:"frames_decoded"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	video := fs.String("video", "", "video file (required)")
	photo := fs.String("photo", "", "reference photo (default: the best face of a warm-up run)")
	runs := fs.Int("runs", 10, "timed runs of each kind")
	conc := fs.Int("concurrency", 1, "videos processed at once")
	models := fs.String("models", "", "models directory (default $HOVIYAT_MODELS)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hoviyat bench --video FILE [--photo FILE] [--runs N] [--concurrency C] [--models DIR] [--json]")
		fmt.Fprintln(stderr, "Times decode-only (probe + decode every frame) against end-to-end Detect+Compare+Decide on the same clip.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *video == "" || *runs < 1 || *conc < 1 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "hoviyat bench: --video is required; --runs and --concurrency must be ≥ 1")
		fs.Usage()
		return exitUsage
	}
	fail := func(err error) int {
		ce := classify(err)
		fmt.Fprintf(stderr, "hoviyat bench: %s: %v\n", ce.Code, ce.Err)
		return exitFail
	}
	fv, err := liveness.NewFileVideo(*video)
	if err != nil {
		return fail(&cliError{Code: "video_invalid", Err: err})
	}
	info, err := vision.Probe(ctx, *video, vision.Limits{})
	if err != nil {
		return fail(err)
	}
	eng, err := newEngine(*models)
	if err != nil {
		return fail(err)
	}
	defer eng.Close()

	// Warm-up: one end-to-end run (loads lazy state, fills caches the way a
	// server would be after its first request) which also gives the
	// reference when none is given.
	var ref reference
	refDesc := *photo
	if *photo != "" {
		if ref, err = loadReference(*photo); err != nil {
			return fail(err)
		}
	}
	fmt.Fprintln(stderr, "bench: warm-up run…")
	v, err := eng.det.Detect(ctx, fv, liveness.Challenge{})
	if err != nil {
		return fail(err)
	}
	if *photo == "" {
		if len(v.Probes) == 0 {
			return fail(fmt.Errorf("hoviyat bench: the warm-up run found no face to use as reference; pass --photo"))
		}
		ref, err = probeReference(v.Probes[0])
		if err != nil {
			return fail(err)
		}
		refDesc = fmt.Sprintf("best probe of the warm-up run (frame %d)", v.Probes[0].Frame)
	}
	last, err := eng.verify(ctx, *video, ref, liveness.Challenge{}, verifyOptions{})
	if err != nil {
		return fail(err)
	}

	var (
		mu      sync.Mutex
		decode  []float64
		probe   []float64
		e2e     []float64
		dCPU    []float64
		eCPU    []float64
		stages  = map[string][]float64{}
		frames  int
		firstEr error
	)
	decodeOnce := func() {
		t0 := time.Now()
		n, pd, err := decodeAll(ctx, *video)
		d := time.Since(t0)
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstEr == nil {
			firstEr = err
		}
		frames = n
		decode = append(decode, ms(d))
		probe = append(probe, ms(pd))
	}
	e2eOnce := func() {
		t0 := time.Now()
		r, err := eng.verify(ctx, *video, ref, liveness.Challenge{}, verifyOptions{})
		d := time.Since(t0)
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstEr == nil {
			firstEr = err
		}
		e2e = append(e2e, ms(d))
		for k, s := range r.Timings {
			stages[k] = append(stages[k], ms(s))
		}
	}
	parallel := func(n int, f func()) time.Duration {
		t0 := time.Now()
		jobs := make(chan struct{})
		var wg sync.WaitGroup
		for range *conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range jobs {
					f()
				}
			}()
		}
		for range n {
			if ctx.Err() != nil {
				break
			}
			jobs <- struct{}{}
		}
		close(jobs)
		wg.Wait()
		return time.Since(t0)
	}

	fmt.Fprintf(stderr, "bench: %d decode-only and %d end-to-end runs, concurrency %d…\n", *runs, *runs, *conc)
	var wall time.Duration
	if *conc == 1 {
		// Alternate the two kinds so load changes on a shared machine hit
		// both alike.
		for range *runs {
			c0 := cpuTime()
			decodeOnce()
			c1 := cpuTime()
			t0 := time.Now()
			e2eOnce()
			wall += time.Since(t0)
			dCPU = append(dCPU, ms(c1-c0))
			eCPU = append(eCPU, ms(cpuTime()-c1))
		}
	} else {
		c0 := cpuTime()
		parallel(*runs, decodeOnce)
		c1 := cpuTime()
		wall = parallel(*runs, e2eOnce)
		dCPU = []float64{ms(c1-c0) / float64(*runs)}
		eCPU = []float64{ms(cpuTime()-c1) / float64(*runs)}
	}
	if firstEr != nil {
		return fail(firstEr)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	out := benchJSON{
		Video: *video, Width: info.Width, Height: info.Height, DurationS: info.Duration.Seconds(), Codec: info.Codec,
		Runs: *runs, Concurrency: *conc, CPUs: runtime.NumCPU(),
		DecodeMS: eval.Summarize(decode), ProbeMS: eval.Summarize(probe), EndToEndMS: eval.Summarize(e2e),
		StagesMS: map[string]eval.Spread{}, PeakRSSMB: peakRSSMB(),
		Outcome: string(last.Judgement.Outcome), Reference: refDesc, FramesRead: frames,
	}
	if w, h := info.DisplaySize(); w > 0 {
		out.Width, out.Height = w, h
	}
	for _, c := range last.Judgement.Reasons {
		out.Reasons = append(out.Reasons, string(c))
	}
	out.DecodeCPUMS, out.E2ECPUMS = eval.Summarize(dCPU), eval.Summarize(eCPU)
	if out.DecodeMS.Median > 0 {
		out.Ratio = out.EndToEndMS.Median / out.DecodeMS.Median
	}
	if out.DecodeCPUMS.Median > 0 {
		out.RatioCPU = out.E2ECPUMS.Median / out.DecodeCPUMS.Median
	}
	if wall > 0 {
		out.PerMinute = float64(len(e2e)) / wall.Minutes()
	}
	for k, v := range stages {
		out.StagesMS[k] = eval.Summarize(v)
	}
	if *asJSON {
		writeJSON(stdout, out)
		return exitOK
	}
	writeBenchTable(stdout, out)
	return exitOK
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// decodeAll probes the video and decodes every frame to upright BGR
// through the ingestion path Detect uses (internal/vision), without
// sampling: what reading the whole video costs. Frames are read into
// recycled Mats (a FramePool, as Detect does), so the floor is not raised
// by allocating a fresh frame buffer each time: with glibc's mmap
// threshold fixed (vision.TuneAllocator, done by the pipeline's
// constructors) that allocation alone costs about a third more. It
// returns the number of frames and the time the probe took.
func decodeAll(ctx context.Context, path string) (int, time.Duration, error) {
	t0 := time.Now()
	info, err := vision.Probe(ctx, path, vision.Limits{})
	pd := time.Since(t0)
	if err != nil {
		return 0, pd, err
	}
	pool := vision.NewFramePool(2, 0)
	defer pool.Close()
	d, err := vision.NewDecoder(path, info, vision.DecodeOptions{Pool: pool})
	if err != nil {
		return 0, pd, err
	}
	defer d.Close()
	n := 0
	for {
		f, err := d.Next(ctx)
		if errors.Is(err, io.EOF) {
			return n, pd, nil
		}
		if err != nil {
			return n, pd, err
		}
		pool.Put(f.Mat)
		n++
	}
}

// probeReference encodes a probe's face crop as a JPEG reference photo.
func probeReference(p facematch.Probe) (reference, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, p.Image, &jpeg.Options{Quality: 95}); err != nil {
		return reference{}, fmt.Errorf("hoviyat: encoding the reference: %w", err)
	}
	return reference{path: "(probe)", ref: facematch.Reference{Key: "bench-probe", Photo: b.Bytes()}}, nil
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSSMB reads the process's peak resident set (VmHWM) from
// /proc/self/status; 0 where that file does not exist.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 1 {
				kb, err := strconv.ParseFloat(fields[0], 64)
				if err == nil {
					return kb / 1024
				}
			}
		}
	}
	return 0
}

func writeBenchTable(w io.Writer, b benchJSON) {
	fmt.Fprintf(w, "video: %s (%dx%d %s, %.2f s, %d frames decoded)\n", b.Video, b.Width, b.Height, b.Codec, b.DurationS, b.FramesRead)
	fmt.Fprintf(w, "runs: %d each, concurrency %d, %d CPUs; reference: %s; outcome: %s %s\n\n",
		b.Runs, b.Concurrency, b.CPUs, b.Reference, b.Outcome, strings.Join(b.Reasons, ","))
	fmt.Fprintf(w, "%-22s %9s %9s %9s %9s\n", "ms", "median", "p90", "min", "max")
	row := func(name string, s eval.Spread) {
		fmt.Fprintf(w, "%-22s %9.0f %9.0f %9.0f %9.0f\n", name, s.Median, s.P90, s.Min, s.Max)
	}
	row("decode-only", b.DecodeMS)
	row("  of which probe", b.ProbeMS)
	row("end-to-end", b.EndToEndMS)
	keys := make([]string, 0, len(b.StagesMS))
	for k := range b.StagesMS {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "total" {
			row("  stage "+k, b.StagesMS[k])
		}
	}
	fmt.Fprintf(w, "\nCPU ms per video (user+system, all threads)\n")
	row("decode-only CPU", b.DecodeCPUMS)
	row("end-to-end CPU", b.E2ECPUMS)
	fmt.Fprintf(w, "\nend-to-end / decode-only (medians): %.2f× wall, %.2f× CPU\n", b.Ratio, b.RatioCPU)
	fmt.Fprintf(w, "throughput: %.1f videos/min at concurrency %d\n", b.PerMinute, b.Concurrency)
	fmt.Fprintf(w, "peak RSS (VmHWM): %.0f MB\n", b.PeakRSSMB)
}
