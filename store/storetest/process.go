package storetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/hoviyat/hoviyat/kyc"
)

// The multi-process proof re-executes the running test binary in a helper
// mode selected by an environment variable (the os/exec pattern of the
// standard library's own tests). The parent (SpawnHammers) and the
// children (ChildHammer) talk over the children's stdin and stdout:
//
//	child  -> "ready"          store opened, sessions created
//	parent -> "go"             sent to every child once all are ready
//	child  -> HammerResult     one JSON line, then exit 0
//
// so that the children reserve at the same moment however long each took
// to start.

// SpawnHammers starts n copies of the running test binary, the i-th with
// envVar=payload(i) in its environment, waits until each reports ready,
// releases them together and returns their results in order. The test
// binary's TestMain must call ChildHammer when envVar is set.
func SpawnHammers(ctx context.Context, n int, envVar string, payload func(i int) string) ([]HammerResult, error) {
	type child struct {
		cmd    *exec.Cmd
		stdin  io.WriteCloser
		lines  *bufio.Scanner
		stderr bytes.Buffer
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kids := make([]*child, n)
	for i := range kids {
		c := &child{cmd: exec.CommandContext(ctx, os.Args[0], "-test.run=^$")}
		c.cmd.Env = append(os.Environ(), envVar+"="+payload(i))
		c.cmd.Stderr = &c.stderr
		var err error
		if c.stdin, err = c.cmd.StdinPipe(); err != nil {
			return nil, err
		}
		out, err := c.cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		c.lines = bufio.NewScanner(out)
		c.lines.Buffer(nil, 1<<20)
		if err := c.cmd.Start(); err != nil {
			return nil, fmt.Errorf("storetest: start helper %d: %w", i, err)
		}
		kids[i] = c
	}
	fail := func(i int, format string, args ...any) error {
		cancel()
		for _, c := range kids {
			_ = c.cmd.Wait()
		}
		return fmt.Errorf("storetest: helper %d: %s; stderr: %s", i, fmt.Sprintf(format, args...), strings.TrimSpace(kids[i].stderr.String()))
	}
	// Ready lines, concurrently (a slow child must not hold up reading
	// another's pipe).
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, c := range kids {
		wg.Go(func() {
			if !c.lines.Scan() || c.lines.Text() != "ready" {
				errs[i] = fmt.Errorf("no ready line (%q, %v)", c.lines.Text(), c.lines.Err())
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fail(i, "%v", err)
		}
	}
	for i, c := range kids {
		if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
			return nil, fail(i, "send go: %v", err)
		}
	}
	results := make([]HammerResult, n)
	for i, c := range kids {
		wg.Go(func() {
			if !c.lines.Scan() {
				errs[i] = fmt.Errorf("no result line (%v)", c.lines.Err())
				return
			}
			errs[i] = json.Unmarshal(c.lines.Bytes(), &results[i])
		})
	}
	wg.Wait()
	for i, c := range kids {
		if err := c.cmd.Wait(); err != nil && errs[i] == nil {
			errs[i] = err
		}
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("storetest: helper %d: %v; stderr: %s", i, err, strings.TrimSpace(kids[i].stderr.String()))
		}
	}
	return results, nil
}

// ChildHammer is the helper-process side of SpawnHammers: it creates the
// sessions, reports ready on stdout, waits for "go" on stdin, runs Hammer
// on st and prints the result. cfg.Ready is replaced.
func ChildHammer(ctx context.Context, st kyc.Store, cfg HammerConfig) error {
	in := bufio.NewScanner(os.Stdin)
	cfg.Ready = func(ctx context.Context) error {
		if _, err := fmt.Fprintln(os.Stdout, "ready"); err != nil {
			return err
		}
		if !in.Scan() || in.Text() != "go" {
			return errors.New("storetest: no go line on stdin")
		}
		return nil
	}
	res, err := Hammer(ctx, st, cfg)
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", b)
	return err
}
