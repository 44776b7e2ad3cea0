package vision

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestModelPath(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, YuNetFile), []byte("x"), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "adir.onnx"), 0o700))

	t.Setenv(ModelsEnv, "")
	_, err := ModelPath("", YuNetFile)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrModelMissing)
	assert.Contains(t, err.Error(), YuNetFile)
	assert.Contains(t, err.Error(), "$"+ModelsEnv+" is not set")

	p, err := ModelPath(dir, YuNetFile)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, YuNetFile), p)

	_, err = ModelPath(dir, MobileFaceNetFile)
	var me *ModelError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, MobileFaceNetFile, me.File)
	assert.Equal(t, dir, me.Dir)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), ModelsEnv)

	_, err = ModelPath(dir, "adir.onnx")
	assert.ErrorIs(t, err, ErrModelMissing)

	t.Setenv(ModelsEnv, dir)
	assert.Equal(t, dir, ModelsDir())
	p, err = ModelPath("", YuNetFile)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, YuNetFile), p)
}

func TestModelID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "some_model.v2.onnx")
	content := []byte("model bytes one")
	require.NoError(t, os.WriteFile(p, content, 0o600))
	sum := sha256.Sum256(content)
	id, err := ModelID(p)
	require.NoError(t, err)
	assert.Equal(t, "some_model.v2@"+hex.EncodeToString(sum[:])[:12], id)

	// Rewriting the file invalidates the cache.
	content2 := []byte("model bytes two, longer")
	require.NoError(t, os.WriteFile(p, content2, 0o600))
	later := time.Now().Add(2 * time.Second)
	require.NoError(t, os.Chtimes(p, later, later))
	sum2 := sha256.Sum256(content2)
	id2, err := ModelID(p)
	require.NoError(t, err)
	assert.Equal(t, "some_model.v2@"+hex.EncodeToString(sum2[:])[:12], id2)

	_, err = ModelID(filepath.Join(dir, "absent.onnx"))
	assert.ErrorIs(t, err, ErrModelMissing)
}

// The shared models are the published files: their IDs carry the
// PROVENANCE.md checksums and CheckModel accepts them.
func TestSharedModelsChecksums(t *testing.T) {
	t.Parallel()
	dir := fmEnvDir(t, ModelsEnv)
	for _, f := range []string{YuNetFile, MobileFaceNetFile, MiniFASNetV2File, MiniFASNetV1SEFile} {
		p, err := ModelPath(dir, f)
		require.NoError(t, err)
		want, ok := KnownModelSHA256(f)
		require.True(t, ok)
		id, err := ModelID(p)
		require.NoError(t, err)
		assert.Equal(t, f[:len(f)-len(".onnx")]+"@"+want[:12], id)
		assert.NoError(t, CheckModel(p))
	}
	_, ok := KnownModelSHA256("unknown.onnx")
	assert.False(t, ok)
}

func TestCheckModel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	onnxLike := append([]byte{0x08, 0x07, 0x12, 0x07}, []byte("pytorch and more")...)
	for _, tc := range []struct {
		name string
		path string
		want error
	}{
		{"known name wrong bytes", write(MobileFaceNetFile, onnxLike), ErrModelCorrupt},
		{"custom onnx-like", write("sface.onnx", onnxLike), nil},
		{"custom html", write("html.onnx", []byte("<!DOCTYPE html><html></html>")), ErrModelCorrupt},
		{"custom short", write("short.onnx", []byte{0x08, 0x07}), ErrModelCorrupt},
		{"missing", filepath.Join(dir, "nope.onnx"), ErrModelMissing},
	} {
		err := CheckModel(tc.path)
		if tc.want == nil {
			assert.NoError(t, err, tc.name)
		} else {
			assert.ErrorIs(t, err, tc.want, tc.name)
		}
	}
}

// scripts/models.sh, run against a local mirror of the shared models
// (MODELS_BASE=file://...): downloads and verifies, skips verified files,
// replaces a damaged one, and fails loudly, leaving nothing behind, when
// a source file does not match its published checksum.
func TestModelsScript(t *testing.T) {
	shared := fmEnvDir(t, ModelsEnv)
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: cannot run scripts/models.sh", tool)
		}
	}
	root, err := filepath.Abs(".")
	require.NoError(t, err)
	for !fmFileExists(filepath.Join(root, "go.mod")) {
		require.NotEqual(t, root, filepath.Dir(root), "module root not found")
		root = filepath.Dir(root)
	}
	script := filepath.Join(root, "scripts", "models.sh")
	require.FileExists(t, script)
	files := []string{YuNetFile, MobileFaceNetFile, MiniFASNetV2File, MiniFASNetV1SEFile}

	// The script pins the same checksums as PROVENANCE (SHA256SUMS) and this package.
	src, err := os.ReadFile(script)
	require.NoError(t, err)
	sums, err := os.ReadFile(filepath.Join(shared, "SHA256SUMS"))
	require.NoError(t, err)
	for _, f := range files {
		want, _ := KnownModelSHA256(f)
		assert.Contains(t, string(src), f+"|"+want, "script checksum of %s", f)
		assert.Contains(t, string(sums), want, "SHA256SUMS lists %s", f)
	}

	mirror := func(corrupt string) string {
		d := t.TempDir()
		for _, f := range files {
			if f == corrupt {
				require.NoError(t, os.WriteFile(filepath.Join(d, f), []byte("tampered"), 0o644))
				continue
			}
			require.NoError(t, os.Symlink(filepath.Join(shared, f), filepath.Join(d, f)))
		}
		return d
	}
	run := func(base string, args ...string) (string, string, error) {
		cmd := exec.Command("bash", append([]string{script}, args...)...)
		cmd.Env = append(os.Environ(), "MODELS_BASE=file://"+base)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	verify := func(dir string) {
		for _, f := range files {
			want, _ := KnownModelSHA256(f)
			b, err := os.ReadFile(filepath.Join(dir, f))
			require.NoError(t, err)
			sum := sha256.Sum256(b)
			assert.Equal(t, want, hex.EncodeToString(sum[:]), f)
		}
	}
	good := mirror("")
	dest := filepath.Join(t.TempDir(), "models")

	out, errOut, err := run(good, dest)
	require.NoError(t, err, errOut)
	verify(dest)
	assert.Equal(t, 4, strings.Count(out, "downloaded and verified"))

	out, errOut, err = run(good, dest)
	require.NoError(t, err, errOut)
	assert.Equal(t, 4, strings.Count(out, "ok (present, checksum verified)"))

	_, _, err = run(good, "--check", dest)
	require.NoError(t, err)

	// A damaged local file is detected and replaced.
	require.NoError(t, os.WriteFile(filepath.Join(dest, MiniFASNetV2File), []byte("truncated"), 0o644))
	_, _, err = run(good, "--check", dest)
	assert.Error(t, err, "--check must fail on a damaged file")
	out, errOut, err = run(good, dest)
	require.NoError(t, err, errOut)
	assert.Contains(t, errOut, MiniFASNetV2File+" is present but its sha256 is")
	assert.Equal(t, 1, strings.Count(out, "downloaded and verified"))
	verify(dest)

	// A tampered source: loud failure, no file and no temporary left.
	fresh := filepath.Join(t.TempDir(), "models")
	_, errOut, err = run(mirror(MobileFaceNetFile), fresh)
	require.Error(t, err)
	assert.Contains(t, errOut, "CHECKSUM MISMATCH for "+MobileFaceNetFile)
	assert.Contains(t, errOut, "FAILED")
	assert.NoFileExists(t, filepath.Join(fresh, MobileFaceNetFile))
	assert.FileExists(t, filepath.Join(fresh, YuNetFile), "the other models are still fetched")
	left, err := filepath.Glob(filepath.Join(fresh, ".*"))
	require.NoError(t, err)
	assert.Empty(t, left, "temporary files left behind")

	// An unreachable source fails too.
	_, errOut, err = run(filepath.Join(t.TempDir(), "nowhere"), filepath.Join(t.TempDir(), "m"))
	require.Error(t, err)
	assert.Contains(t, errOut, "DOWNLOAD FAILED")
}

func fmFileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
