// Command hoviyat verifies a selfie video against a photo, checks national
// IDs, evaluates the vision pipeline on a labelled data set and
// benchmarks it.
//
//	hoviyat verify --video FILE --photo FILE [--challenge TEXT] [--models DIR] [--json]
//	hoviyat nid CODE...
//	hoviyat eval --data DIR --out DIR [--media DIR] [--models DIR]
//	hoviyat bench --video FILE [--photo FILE] [--runs N] [--concurrency C] [--json]
//
// Exit status: 0 when the command did its job (verify: a decision was
// made, whatever it is), 1 when it could not (verify: no decision; nid: an
// invalid code), 2 for a usage error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"verify", "verify a selfie video against a reference photo", runVerify},
		{"nid", "check Iranian national ID codes", runNID},
		{"eval", "evaluate the pipeline on the shared data set and write a report", runEval},
		{"bench", "time decoding and end-to-end verification of one video", runBench},
		{"inspect", "draw a contact sheet and a timeline of one video's analysis", runInspect},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hoviyat <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `hoviyat <command> -h` for the flags of a command.")
	fmt.Fprintln(w, "Models come from --models or $HOVIYAT_MODELS; data from --data or $HOVIYAT_DATA.")
}

// run is main without the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runCtx(ctx, args, stdout, stderr)
}

func runCtx(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "hoviyat: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}
