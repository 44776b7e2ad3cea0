// Package visiontest holds test helpers shared by the vision packages'
// tests (internal/vision, liveness/cv, facematch/onnx).
package visiontest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RunFresh runs the test named child of the current test binary in a new
// process, for process-wide state that can only be set once (glibc
// malloc's tuning): the child's environment is the parent's without
// MALLOC_* and GLIBC_TUNABLES, plus modeEnv=mode (which the child reads
// to know what to check, and skips without) and extra ("KEY=value"). It
// fails t unless the child ran and passed. Safe for concurrent use from
// parallel subtests.
func RunFresh(t *testing.T, child, modeEnv, mode string, extra ...string) {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MALLOC_") && !strings.HasPrefix(kv, "GLIBC_TUNABLES=") {
			env = append(env, kv)
		}
	}
	env = append(append(env, modeEnv+"="+mode), extra...)
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.v")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--- PASS: "+child, "%s", out)
}
