package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hoviyat/hoviyat/registry"
)

// runNID prints one line per code: the normalised code and "valid", or the
// input and "invalid" with the problem. Exit 1 if any code is invalid.
func runNID(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nid", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hoviyat nid CODE...")
		fmt.Fprintln(stderr, "Checks Iranian national IDs (ASCII, Persian or Arabic digits; dashes and spaces allowed).")
		fmt.Fprintln(stderr, "Prints `NORMALISED valid` or `INPUT invalid: PROBLEM (detail)` per code; exit 1 if any is invalid.")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	status := exitOK
	for _, s := range fs.Args() {
		id, err := registry.ParseNationalID(s)
		if err == nil {
			fmt.Fprintf(stdout, "%s\tvalid\n", id)
			continue
		}
		status = exitFail
		var pe *registry.ParseError
		if errors.As(err, &pe) {
			msg := string(pe.Problem)
			if pe.Detail != "" {
				msg += " (" + pe.Detail + ")"
			}
			fmt.Fprintf(stdout, "%q\tinvalid: %s\n", s, msg)
			continue
		}
		fmt.Fprintf(stdout, "%q\tinvalid: %v\n", s, err)
	}
	return status
}
