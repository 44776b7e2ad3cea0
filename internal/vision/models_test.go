package vision

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
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
