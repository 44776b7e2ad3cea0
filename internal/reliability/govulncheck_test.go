package reliability_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeVulnDB writes a vulnerability database in the layout govulncheck
// reads (index/db.json, index/modules.json, ID/<id>.json). With an
// advisory, it claims (falsely: GO-2099-0001 does not exist) that
// pgx.ParseConfig, which store/postgres calls, is vulnerable before
// v5.99.0. With stdlib, it claims instead that database/sql.OpenDB (which
// pgx's stdlib.OpenDB calls) is vulnerable before Go 1.99.0, a finding
// only a newer toolchain fixes.
func fakeVulnDB(t *testing.T, advisory bool, stdlib ...bool) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "index"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "ID"), 0o755))
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	write("index/db.json", `{"modified":"2026-01-01T00:00:00Z"}`)
	if !advisory {
		write("index/modules.json", `[]`)
		return "file://" + dir
	}
	if len(stdlib) > 0 && stdlib[0] {
		write("index/modules.json", `[{"path":"stdlib","vulns":[{"id":"GO-2099-0002","modified":"2026-01-01T00:00:00Z","fixed":"1.99.0"}]}]`)
		write("ID/GO-2099-0002.json", `{"schema_version":"1.3.1","id":"GO-2099-0002","modified":"2026-01-01T00:00:00Z",
"published":"2026-01-01T00:00:00Z","summary":"FAKE standard-library advisory testing scripts/govulncheck.sh","details":"Not a real vulnerability.",
"affected":[{"package":{"name":"stdlib","ecosystem":"Go"},
"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.99.0"}]}],
"ecosystem_specific":{"imports":[{"path":"database/sql","symbols":["OpenDB"]}]}}],
"database_specific":{"url":"https://example.invalid/GO-2099-0002"}}`)
		return "file://" + dir
	}
	write("index/modules.json", `[{"path":"github.com/jackc/pgx/v5","vulns":[{"id":"GO-2099-0001","modified":"2026-01-01T00:00:00Z","fixed":"5.99.0"}]}]`)
	write("ID/GO-2099-0001.json", `{"schema_version":"1.3.1","id":"GO-2099-0001","modified":"2026-01-01T00:00:00Z",
"published":"2026-01-01T00:00:00Z","summary":"FAKE advisory testing scripts/govulncheck.sh","details":"Not a real vulnerability.",
"affected":[{"package":{"name":"github.com/jackc/pgx/v5","ecosystem":"Go"},
"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"5.99.0"}]}],
"ecosystem_specific":{"imports":[{"path":"github.com/jackc/pgx/v5","symbols":["ParseConfig"]}]}}],
"database_specific":{"url":"https://example.invalid/GO-2099-0001"}}`)
	return "file://" + dir
}

// runVulnScript runs scripts/govulncheck.sh on store/postgres with db and
// returns its exit code and output.
func runVulnScript(t *testing.T, db string, extraEnv ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("./scripts/govulncheck.sh", "./store/postgres/")
	cmd.Dir = "../.."
	cmd.Env = append(append(os.Environ(), "GOVULNDB="+db), extraEnv...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("running the script: %v", err)
	return 0, ""
}

// TestGovulncheckScript checks scripts/govulncheck.sh's exit codes with
// local databases (the real one, vuln.go.dev, may be unreachable): 3 and
// the advisory on a finding in a dependency, 4 and the Go release to build
// with on a finding only in the standard library, 0 on a clean scan, 0 with a plain "DB
// unreachable" note when the database cannot be fetched (2 with
// GOVULNCHECK_STRICT=1). It builds govulncheck, so it needs the module
// cache or the Go proxy; -short skips it.
func TestGovulncheckScript(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs govulncheck")
	}
	if out, err := exec.Command("go", "install", "-n", "golang.org/x/vuln/cmd/govulncheck@v1.9.0").CombinedOutput(); err != nil {
		// Not a failure of the project: the tool is fetched, not vendored
		// (it is not in go.mod), and an offline CI may lack it.
		t.Skipf("govulncheck@v1.9.0 cannot be built here (no module cache or proxy): %s", out)
	}
	code, out := runVulnScript(t, fakeVulnDB(t, true))
	assert.Equal(t, 3, code, out)
	assert.Contains(t, out, "GO-2099-0001")
	assert.Contains(t, out, "postgres.Open calls pgx.ParseConfig", "the trace names our call site")
	assert.Contains(t, out, "VULNERABILITIES FOUND")

	code, out = runVulnScript(t, fakeVulnDB(t, true, true))
	assert.Equal(t, 4, code, out)
	assert.Contains(t, out, "GO-2099-0002")
	assert.Contains(t, out, "only the Go standard library")
	assert.Contains(t, out, "Go 1.99 or later")

	code, out = runVulnScript(t, fakeVulnDB(t, false))
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "no known vulnerabilities reached")

	code, out = runVulnScript(t, "http://127.0.0.1:1")
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "DB unreachable")
	assert.Contains(t, out, "NOTHING WAS CHECKED")
	code, out = runVulnScript(t, "http://127.0.0.1:1", "GOVULNCHECK_STRICT=1")
	assert.Equal(t, 2, code, out)
	assert.True(t, strings.Contains(out, "DB unreachable"))
}
