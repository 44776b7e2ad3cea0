package archtest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// core are the packages that must build without cgo and must not depend
// on the computer-vision libraries.
var core = []string{
	"./kyc/...", "./policy/...", "./registry/...", "./store/...", "./vault/...", "./reason/...",
	"./liveness", "./facematch",
}

var forbidden = []string{"gocv.io/x/gocv", "github.com/Kagami/go-face", "github.com/hoviyat/hoviyat/internal/vision"}

func goCmd(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

func TestCoreHasNoVisionDependencies(t *testing.T) {
	t.Parallel()
	out := goCmd(t, nil, append([]string{"list", "-deps", "-test"}, core...)...)
	deps := strings.Fields(out)
	require.NotEmpty(t, deps)
	assert.Contains(t, deps, "github.com/hoviyat/hoviyat/kyc", "the listing covers the core")
	for _, d := range deps {
		for _, f := range forbidden {
			assert.False(t, d == f || strings.HasPrefix(d, f+"/"), "core depends on %s", d)
		}
	}
}

func TestCoreBuildsWithoutCgo(t *testing.T) {
	t.Parallel()
	goCmd(t, []string{"CGO_ENABLED=0"}, append([]string{"build"}, core...)...)
	// Test binaries too: a host's CI may run our harness without cgo.
	goCmd(t, []string{"CGO_ENABLED=0"}, append([]string{"vet"}, core...)...)
}

func TestVisionPackagesNeedCgo(t *testing.T) {
	t.Parallel()
	// The reverse check keeps the split honest: if the vision packages
	// built without cgo they would be silently stubbed out.
	cmd := exec.Command("go", "build", "./internal/vision/")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	assert.Error(t, err, "internal/vision built without cgo:\n%s", out)
}
