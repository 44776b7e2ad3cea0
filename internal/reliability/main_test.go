package reliability_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// childEnv selects a helper mode of the re-executed test binary; its value
// is a JSON childSpec.
const childEnv = "HOVIYAT_RELIABILITY_CHILD"

// childSpec tells a helper process what to do.
type childSpec struct {
	// Mode: "crash" (one Submit that blocks in the detector until the
	// process is killed), "storm" (concurrent submissions until killed),
	// "replica" (concurrent submissions after a go line, then a result
	// line), "vision" (the real-pipeline load run).
	Mode string
	Node nodeConfig
	// Workers and Submissions shape the concurrent modes.
	Workers     int
	Submissions int
	// Seed varies the random choices between processes.
	Seed uint64
	// Prefix makes IDs unique per process.
	Prefix string
	// Vision configures the "vision" mode.
	Vision visionSpec
	// CrashIn is where the "crash" mode blocks: "detector" (default;
	// the attempt is reserved and its fee recorded) or "charger" (the
	// provider has taken the fee, the store has not recorded it yet).
	CrashIn string
}

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		var spec childSpec
		if err := json.Unmarshal([]byte(v), &spec); err != nil {
			fmt.Fprintln(os.Stderr, "reliability child: bad spec:", err)
			os.Exit(2)
		}
		if err := runChild(context.Background(), spec); err != nil {
			fmt.Fprintln(os.Stderr, "reliability child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild runs one helper process.
func runChild(ctx context.Context, spec childSpec) error {
	out := &lineWriter{w: os.Stdout}
	in := bufio.NewScanner(os.Stdin)
	switch spec.Mode {
	case "crash":
		return childCrash(ctx, spec, out)
	case "storm":
		return childStorm(ctx, spec, out)
	case "replica":
		return childReplica(ctx, spec, out, in)
	case "vision":
		return childVision(ctx, spec, out, in)
	}
	return fmt.Errorf("unknown mode %q", spec.Mode)
}

// lineWriter writes whole lines to a helper's stdout, one at a time.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) line(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}

func (l *lineWriter) json(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	l.line("%s", b)
	return nil
}

// child is a running helper process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine of exec and
// readers in the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startChild re-executes the test binary in the helper mode of spec. The
// process is killed at cleanup if still running.
func startChild(t *testing.T, spec childSpec) *child {
	t.Helper()
	payload, err := json.Marshal(spec)
	require.NoError(t, err)
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$"), lines: make(chan string, 1024),
		stderr: &syncBuffer{}, done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(payload))
	c.cmd.Stderr = c.stderr
	c.stdin, err = c.cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := c.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, c.cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// next returns the child's next stdout line, failing the test on EOF or
// after timeout.
func (c *child) next(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			<-c.done
			t.Fatalf("helper exited (%v) before writing the expected line; stderr:\n%s", c.err, tail(c.stderr.String(), 4000))
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("helper wrote nothing for %v; stderr:\n%s", timeout, tail(c.stderr.String(), 4000))
	}
	return ""
}

// expect reads lines until one starts with prefix and returns the rest.
func (c *child) expect(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l := c.next(t, time.Until(deadline))
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
}

// send writes one line to the child's stdin.
func (c *child) send(t *testing.T, line string) {
	t.Helper()
	_, err := io.WriteString(c.stdin, line+"\n")
	require.NoError(t, err)
}

// kill sends SIGKILL and waits for the process to die.
func (c *child) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Kill())
	<-c.done
}

// wait waits for a normal exit.
func (c *child) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-c.done:
		require.NoError(t, c.err, "helper failed; stderr:\n%s", tail(c.stderr.String(), 4000))
	case <-time.After(timeout):
		t.Fatalf("helper still running after %v; stderr:\n%s", timeout, tail(c.stderr.String(), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
