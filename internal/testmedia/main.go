// Command testmedia renders the derived test videos (darkened, blurred,
// shrunk, rotated, shaken, glared, two-face, photo-replay and screen-replay
// versions of the shared genuine clips) with a labels.tsv giving the
// reason each must produce.
//
//	go run ./internal/testmedia -data $HOVIYAT_DATA -out /tmp/hoviyat-media
//	go run ./internal/testmedia -list
//	go run ./internal/testmedia -data $HOVIYAT_DATA -out /tmp/heldout -seed 2
//
// Outputs already present with the same parameters are skipped, so a
// second run is instant. Parameters come from a fixed seed: the same data
// gives the same videos.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/hoviyat/hoviyat/internal/testmedia/derive"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testmedia", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", os.Getenv("HOVIYAT_DATA"), "shared data directory (default $HOVIYAT_DATA)")
	out := fs.String("out", "", "output directory")
	list := fs.Bool("list", false, "print the plan (labels.tsv rows) and exit")
	jobs := fs.Int("jobs", 0, "ffmpeg processes at once (default: number of CPUs)")
	only := fs.String("only", "", "comma-separated substrings of file names to generate")
	seed := fs.Uint64("seed", 0, "parameter seed (0: the standard set; another value: a held-out set)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		fmt.Fprintln(stdout, derive.LabelsHeader)
		for _, it := range derive.PlanSeed(*seed) {
			fmt.Fprintln(stdout, it.LabelLine())
		}
		return 0
	}
	if *data == "" || *out == "" {
		fmt.Fprintln(stderr, "testmedia: -data (or $HOVIYAT_DATA) and -out are required")
		fs.Usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := derive.Config{Data: *data, Out: *out, Jobs: *jobs, Log: stderr, Seed: *seed}
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
	}
	sum, err := derive.Generate(ctx, cfg)
	fmt.Fprintf(stderr, "testmedia: %d made, %d already present, %.1fs\n",
		len(sum.Made), len(sum.Skipped), sum.Elapsed.Seconds())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
