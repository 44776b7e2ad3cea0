package vault_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/vault"
)

// Vault must satisfy kyc.Vault; spelled out here so this package's tests
// do not depend on kyc compiling.
var _ interface {
	Put(ctx context.Context, id string, video io.Reader, record []byte) error
} = (*vault.Vault)(nil)

const testChunk = 1024

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	sizes := []struct {
		name string
		n    int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"chunk minus one", testChunk - 1},
		{"exactly one chunk", testChunk},
		{"chunk plus one", testChunk + 1},
		{"exactly three chunks", 3 * testChunk},
		{"many chunks", 37*testChunk + 11},
	}
	backends := map[string]func(t *testing.T) *vault.Vault{
		"dir": func(t *testing.T) *vault.Vault {
			v, _ := newDirVault(t, vault.Config{ChunkSize: testChunk})
			return v
		},
		"mem": func(t *testing.T) *vault.Vault {
			v, err := vault.New(vault.Config{Keys: ring(t, "k1", "k1"), Backend: newMem(), ChunkSize: testChunk})
			require.NoError(t, err)
			return v
		},
	}
	for bname, mk := range backends {
		for i, sz := range sizes {
			t.Run(bname+"/"+sz.name, func(t *testing.T) {
				t.Parallel()
				v := mk(t)
				ctx := context.Background()
				video := content(sz.n, uint64(i))
				record := []byte(fmt.Sprintf(`{"outcome":"approved","size":%d}`, sz.n))
				require.NoError(t, v.Put(ctx, "att_"+sz.name[:3], bytes.NewReader(video), record))
				got, rec, err := getAll(t, v, "att_"+sz.name[:3])
				require.NoError(t, err)
				assert.Equal(t, video, got, "video")
				assert.Equal(t, record, rec, "record")

				rec2, err := v.Record(ctx, "att_"+sz.name[:3])
				require.NoError(t, err)
				assert.Equal(t, record, rec2)
				info, err := v.Stat(ctx, "att_"+sz.name[:3])
				require.NoError(t, err)
				assert.Equal(t, int64(sz.n), info.VideoSize)
				assert.Equal(t, len(record), info.RecordSize)
				assert.Equal(t, "k1", info.KeyID)
			})
		}
	}
}

func TestEmptyAndNilRecordAndVideo(t *testing.T) {
	t.Parallel()
	v, _ := newDirVault(t, vault.Config{})
	ctx := context.Background()
	require.NoError(t, v.Put(ctx, "a", nil, nil))
	got, rec, err := getAll(t, v, "a")
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.NotNil(t, rec)
	assert.Empty(t, rec)
}

func TestReaderSmallReadsAndWriteTo(t *testing.T) {
	t.Parallel()
	v, _ := newDirVault(t, vault.Config{ChunkSize: 100})
	ctx := context.Background()
	video := content(1234, 7)
	require.NoError(t, v.Put(ctx, "x", bytes.NewReader(video), []byte("{}")))

	rc, _, err := v.Get(ctx, "x")
	require.NoError(t, err)
	var got []byte
	p := make([]byte, 7)
	for {
		n, err := rc.Read(p)
		got = append(got, p[:n]...)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	assert.Equal(t, video, got)
	require.NoError(t, rc.Close())
	require.NoError(t, rc.Close(), "Close is idempotent")
	_, err = rc.Read(p)
	assert.Error(t, err, "read after close")

	rc, _, err = v.Get(ctx, "x")
	require.NoError(t, err)
	var buf bytes.Buffer
	n, err := io.Copy(&buf, rc) // uses WriteTo
	require.NoError(t, err)
	assert.Equal(t, int64(len(video)), n)
	assert.Equal(t, video, buf.Bytes())
	require.NoError(t, rc.Close())
}

func TestPutTwiceFails(t *testing.T) {
	t.Parallel()
	v, _ := newDirVault(t, vault.Config{})
	ctx := context.Background()
	require.NoError(t, v.Put(ctx, "dup", strings.NewReader("first"), []byte("1")))
	err := v.Put(ctx, "dup", strings.NewReader("second"), []byte("2"))
	require.ErrorIs(t, err, vault.ErrExists)
	assert.ErrorIs(t, err, &vault.Error{ID: "dup"}, "the error names the object")
	got, rec, err := getAll(t, v, "dup")
	require.NoError(t, err)
	assert.Equal(t, "first", string(got))
	assert.Equal(t, "1", string(rec))
}

func TestInvalidIDs(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{})
	ctx := context.Background()
	bad := []string{
		"", ".", "..", "../x", "../../etc/passwd", "a/b", `a\b`, "/abs", ".hidden",
		"a b", "a\x00b", "ü", "a:b", strings.Repeat("a", 129), "objects/../../x",
	}
	d, err := vault.NewDir(dir)
	require.NoError(t, err)
	for _, id := range bad {
		assert.ErrorIs(t, v.Put(ctx, id, strings.NewReader("v"), nil), vault.ErrInvalidID, "Put %q", id)
		_, _, err := v.Get(ctx, id)
		assert.ErrorIs(t, err, vault.ErrInvalidID, "Get %q", id)
		_, err = v.Record(ctx, id)
		assert.ErrorIs(t, err, vault.ErrInvalidID, "Record %q", id)
		_, err = v.Stat(ctx, id)
		assert.ErrorIs(t, err, vault.ErrInvalidID, "Stat %q", id)
		assert.ErrorIs(t, v.Shred(ctx, id), vault.ErrInvalidID, "Shred %q", id)
		assert.ErrorIs(t, v.Delete(ctx, id), vault.ErrInvalidID, "Delete %q", id)
		// The backend validates on its own too.
		_, err = d.Stage(ctx, id)
		assert.ErrorIs(t, err, vault.ErrInvalidID, "Dir.Stage %q", id)
		_, err = d.Open(ctx, id, vault.PartKey)
		assert.ErrorIs(t, err, vault.ErrInvalidID, "Dir.Open %q", id)
		assert.ErrorIs(t, d.Replace(ctx, id, vault.PartKey, []byte("x")), vault.ErrInvalidID)
		assert.ErrorIs(t, d.Destroy(ctx, id, vault.PartKey), vault.ErrInvalidID)
		assert.ErrorIs(t, d.Delete(ctx, id), vault.ErrInvalidID)
	}
	assert.Empty(t, regularFiles(t, filepath.Dir(dir)), "nothing written anywhere")
	good := []string{"a", "att_0123456789abcdef0123456789abcdef", "doc-1.v2", "A_b-C.d", strings.Repeat("z", 128)}
	for _, id := range good {
		assert.NoError(t, v.Put(ctx, id, strings.NewReader("v"), nil), id)
	}
}

func TestFilePermissions(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{})
	ctx := context.Background()
	require.NoError(t, v.Put(ctx, "p1", strings.NewReader("video"), []byte("{}")))
	require.NoError(t, v.Put(ctx, "p2", strings.NewReader("video"), []byte("{}")))
	_, err := v.Rotate(ctx, "k2")
	require.NoError(t, err)
	require.NoError(t, v.Shred(ctx, "p2"))
	nfiles := 0
	require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		require.NoError(t, err)
		if fi.IsDir() {
			assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), p)
		} else {
			nfiles++
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), p)
		}
		return nil
	}))
	assert.Equal(t, 4, nfiles, "p1 key, video, record; p2 tombstone")
}

func TestNewDirRefusesOpenPermissions(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "open")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.Chmod(dir, 0o755))
	_, err := vault.New(vault.Config{Keys: ring(t, "k1", "k1"), Dir: dir})
	require.ErrorIs(t, err, vault.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "0755")

	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = vault.NewDir(file)
	assert.Error(t, err)
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	r := ring(t, "k1", "k1")
	dir := filepath.Join(t.TempDir(), "v")
	tests := map[string]vault.Config{
		"no keys":           {Dir: dir},
		"no storage":        {Keys: r},
		"both storages":     {Keys: r, Dir: dir, Backend: newMem()},
		"chunk too small":   {Keys: r, Dir: dir, ChunkSize: vault.MinChunkSize - 1},
		"chunk too large":   {Keys: r, Dir: dir, ChunkSize: vault.MaxChunkSize + 1},
		"negative max":      {Keys: r, Dir: dir, MaxVideoSize: -1},
		"max beyond chunks": {Keys: r, Dir: dir, ChunkSize: 64, MaxVideoSize: 64 << 32},
		"negative record":   {Keys: r, Dir: dir, MaxRecordSize: -1},
		"empty ring":        {Keys: &vault.KeyRing{}, Dir: dir},
	}
	for name, cfg := range tests {
		_, err := vault.New(cfg)
		assert.ErrorIs(t, err, vault.ErrInvalidConfig, name)
	}
	v, err := vault.New(vault.Config{Keys: r, Dir: dir})
	require.NoError(t, err)
	require.NoError(t, v.Close())
}

func TestLimits(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{ChunkSize: 64, MaxVideoSize: 1000, MaxRecordSize: 10})
	ctx := context.Background()
	require.NoError(t, v.Put(ctx, "ok", bytes.NewReader(content(1000, 1)), []byte("0123456789")))
	err := v.Put(ctx, "big", bytes.NewReader(content(1001, 1)), nil)
	assert.ErrorIs(t, err, vault.ErrTooLarge)
	err = v.Put(ctx, "bigrec", nil, []byte("0123456789a"))
	assert.ErrorIs(t, err, vault.ErrTooLarge)
	_, _, err = v.Get(ctx, "big")
	assert.ErrorIs(t, err, vault.ErrNotFound)
	files := regularFiles(t, dir)
	assert.Len(t, files, 3, "only the object that fit: %v", files)
}

// tamperCase changes stored bytes of object "t" (and may use "u", an
// object of the same size) and says which error reading must give.
type tamperCase struct {
	name   string
	mutate func(t *testing.T, dir string)
	// want is the error Get or a Read must match.
	want error
}

func flip(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if off < 0 {
		off += len(b)
	}
	require.Less(t, off, len(b))
	b[off] ^= 0x01
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

func editFile(t *testing.T, path string, fn func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, fn(b), 0o600))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}

const (
	hdr   = 16             // video header bytes
	ctChk = testChunk + 16 // sealed chunk bytes
)

func TestTamperDetected(t *testing.T) {
	t.Parallel()
	// 5 chunks and a bit: chunk 5 is a short last chunk.
	size := 5*testChunk + 100
	video := func(dir string) string { return partPath(dir, "t", vault.PartVideo) }
	record := func(dir string) string { return partPath(dir, "t", vault.PartRecord) }
	key := func(dir string) string { return partPath(dir, "t", vault.PartKey) }
	cases := []tamperCase{
		{"video: header magic", func(t *testing.T, d string) { flip(t, video(d), 0) }, vault.ErrTampered},
		{"video: header version", func(t *testing.T, d string) { flip(t, video(d), 4) }, vault.ErrTampered},
		{"video: header chunk size", func(t *testing.T, d string) { flip(t, video(d), 8) }, vault.ErrTampered},
		{"video: header chunk size out of range", func(t *testing.T, d string) { flip(t, video(d), 5) }, vault.ErrTampered},
		{"video: header nonce prefix", func(t *testing.T, d string) { flip(t, video(d), 12) }, vault.ErrTampered},
		{"video: first chunk ciphertext", func(t *testing.T, d string) { flip(t, video(d), hdr+10) }, vault.ErrTampered},
		{"video: first chunk tag", func(t *testing.T, d string) { flip(t, video(d), hdr+ctChk-1) }, vault.ErrTampered},
		{"video: middle chunk", func(t *testing.T, d string) { flip(t, video(d), hdr+2*ctChk+5) }, vault.ErrTampered},
		{"video: last byte", func(t *testing.T, d string) { flip(t, video(d), -1) }, vault.ErrTampered},
		{"video: truncated at chunk boundary", func(t *testing.T, d string) {
			editFile(t, video(d), func(b []byte) []byte { return b[:hdr+3*ctChk] })
		}, vault.ErrTampered},
		{"video: last chunk dropped", func(t *testing.T, d string) {
			editFile(t, video(d), func(b []byte) []byte { return b[:hdr+5*ctChk] })
		}, vault.ErrTampered},
		{"video: truncated mid chunk", func(t *testing.T, d string) {
			editFile(t, video(d), func(b []byte) []byte { return b[:hdr+2*ctChk+100] })
		}, vault.ErrTampered},
		{"video: truncated inside tag of last chunk", func(t *testing.T, d string) {
			editFile(t, video(d), func(b []byte) []byte { return b[:len(b)-3] })
		}, vault.ErrTampered},
		{"video: header only", func(t *testing.T, d string) {
			editFile(t, video(d), func(b []byte) []byte { return b[:hdr] })
		}, vault.ErrTampered},
		{"video: empty file", func(t *testing.T, d string) {
			editFile(t, video(d), func(b []byte) []byte { return nil })
		}, vault.ErrTampered},
		{"video: byte appended", func(t *testing.T, d string) {
			editFile(t, video(d), func(b []byte) []byte { return append(b, 0) })
		}, vault.ErrTampered},
		{"video: chunk duplicated at end", func(t *testing.T, d string) {
			editFile(t, video(d), func(b []byte) []byte { return append(b, b[hdr:hdr+ctChk]...) })
		}, vault.ErrTampered},
		{"video: chunks 1 and 2 swapped", func(t *testing.T, d string) {
			editFile(t, video(d), func(b []byte) []byte {
				c1 := bytes.Clone(b[hdr+ctChk : hdr+2*ctChk])
				copy(b[hdr+ctChk:], b[hdr+2*ctChk:hdr+3*ctChk])
				copy(b[hdr+2*ctChk:], c1)
				return b
			})
		}, vault.ErrTampered},
		{"video: chunk removed from the middle", func(t *testing.T, d string) {
			editFile(t, video(d), func(b []byte) []byte {
				return append(b[:hdr+ctChk:hdr+ctChk], b[hdr+2*ctChk:]...)
			})
		}, vault.ErrTampered},
		{"video: chunk swapped in from another object", func(t *testing.T, d string) {
			other, err := os.ReadFile(partPath(d, "u", vault.PartVideo))
			require.NoError(t, err)
			editFile(t, video(d), func(b []byte) []byte {
				copy(b[hdr+ctChk:hdr+2*ctChk], other[hdr+ctChk:hdr+2*ctChk])
				return b
			})
		}, vault.ErrTampered},
		{"video: header from another object", func(t *testing.T, d string) {
			other, err := os.ReadFile(partPath(d, "u", vault.PartVideo))
			require.NoError(t, err)
			editFile(t, video(d), func(b []byte) []byte { copy(b, other[:hdr]); return b })
		}, vault.ErrTampered},
		{"video: whole file from another object", func(t *testing.T, d string) {
			copyFile(t, partPath(d, "u", vault.PartVideo), video(d))
		}, vault.ErrTampered},
		{"video: part removed", func(t *testing.T, d string) { require.NoError(t, os.Remove(video(d))) }, vault.ErrTampered},
		{"record: magic", func(t *testing.T, d string) { flip(t, record(d), 1) }, vault.ErrTampered},
		{"record: version", func(t *testing.T, d string) { flip(t, record(d), 4) }, vault.ErrTampered},
		{"record: nonce", func(t *testing.T, d string) { flip(t, record(d), 8) }, vault.ErrTampered},
		{"record: ciphertext", func(t *testing.T, d string) { flip(t, record(d), 20) }, vault.ErrTampered},
		{"record: tag", func(t *testing.T, d string) { flip(t, record(d), -1) }, vault.ErrTampered},
		{"record: truncated", func(t *testing.T, d string) {
			editFile(t, record(d), func(b []byte) []byte { return b[:len(b)-1] })
		}, vault.ErrTampered},
		{"record: extended", func(t *testing.T, d string) {
			editFile(t, record(d), func(b []byte) []byte { return append(b, 'x') })
		}, vault.ErrTampered},
		{"record: from another object", func(t *testing.T, d string) {
			copyFile(t, partPath(d, "u", vault.PartRecord), record(d))
		}, vault.ErrTampered},
		{"record: part removed", func(t *testing.T, d string) { require.NoError(t, os.Remove(record(d))) }, vault.ErrTampered},
		{"key: magic", func(t *testing.T, d string) { flip(t, key(d), 0) }, vault.ErrTampered},
		{"key: version", func(t *testing.T, d string) { flip(t, key(d), 4) }, vault.ErrTampered},
		{"key: key ID length", func(t *testing.T, d string) { flip(t, key(d), 5) }, vault.ErrTampered},
		{"key: key ID renamed to one not in ring", func(t *testing.T, d string) { flip(t, key(d), 7) }, vault.ErrUnknownKey},
		{"key: key ID pointed at the other key", func(t *testing.T, d string) {
			editFile(t, key(d), func(b []byte) []byte { b[7] = '2'; return b }) // k1 -> k2
		}, vault.ErrWrongKey},
		{"key: fingerprint", func(t *testing.T, d string) { flip(t, key(d), 6+2+1) }, vault.ErrWrongKey},
		{"key: created time", func(t *testing.T, d string) { flip(t, key(d), 6+2+8+7) }, vault.ErrTampered},
		{"key: video length", func(t *testing.T, d string) { flip(t, key(d), 6+2+8+8+7) }, vault.ErrTampered},
		{"key: record length", func(t *testing.T, d string) { flip(t, key(d), 6+2+8+8+8+3) }, vault.ErrTampered},
		{"key: wrap nonce", func(t *testing.T, d string) { flip(t, key(d), 6+2+8+8+8+4+1) }, vault.ErrTampered},
		{"key: wrapped data key", func(t *testing.T, d string) { flip(t, key(d), -20) }, vault.ErrTampered},
		{"key: wrapped key tag", func(t *testing.T, d string) { flip(t, key(d), -1) }, vault.ErrTampered},
		{"key: truncated", func(t *testing.T, d string) {
			editFile(t, key(d), func(b []byte) []byte { return b[:len(b)-1] })
		}, vault.ErrTampered},
		{"key: extended", func(t *testing.T, d string) {
			editFile(t, key(d), func(b []byte) []byte { return append(b, 0) })
		}, vault.ErrTampered},
		{"key: huge", func(t *testing.T, d string) {
			editFile(t, key(d), func(b []byte) []byte { return append(b, make([]byte, 1<<16)...) })
		}, vault.ErrTampered},
		{"key: from another object", func(t *testing.T, d string) {
			copyFile(t, partPath(d, "u", vault.PartKey), key(d))
		}, vault.ErrTampered},
		{"whole object directory moved to another ID", func(t *testing.T, d string) {
			for _, p := range []vault.Part{vault.PartKey, vault.PartVideo, vault.PartRecord} {
				copyFile(t, partPath(d, "u", p), partPath(d, "t", p))
			}
		}, vault.ErrTampered},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, dir := newDirVault(t, vault.Config{ChunkSize: testChunk})
			ctx := context.Background()
			orig := content(size, 42)
			require.NoError(t, v.Put(ctx, "t", bytes.NewReader(orig), []byte(`{"outcome":"approved"}`)))
			require.NoError(t, v.Put(ctx, "u", bytes.NewReader(content(size, 43)), []byte(`{"outcome":"rejected"}`)))
			tc.mutate(t, dir)

			rc, _, err := v.Get(ctx, "t")
			if err == nil {
				got, rerr := io.ReadAll(rc)
				rc.Close()
				err = rerr
				// Only authenticated whole chunks were handed out, and
				// they are the original bytes.
				assert.Zero(t, len(got)%testChunk, "partial chunk returned")
				assert.Equal(t, orig[:len(got)], got)
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			assert.ErrorIs(t, err, &vault.Error{ID: "t"})
			assert.True(t, strings.HasPrefix(err.Error(), "vault: "), err.Error())
			// The untouched object still reads.
			got, _, err := getAll(t, v, "u")
			require.NoError(t, err)
			assert.Equal(t, content(size, 43), got)
		})
	}
}

func TestRecordAndStatDetectKeyTampering(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{})
	ctx := context.Background()
	require.NoError(t, v.Put(ctx, "t", strings.NewReader("v"), []byte("{}")))
	flip(t, partPath(dir, "t", vault.PartKey), -5)
	_, err := v.Record(ctx, "t")
	assert.ErrorIs(t, err, vault.ErrTampered)
	_, err = v.Stat(ctx, "t")
	assert.ErrorIs(t, err, vault.ErrTampered)
}

func TestWrongAndMissingMasterKey(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "v")
	ctx := context.Background()
	w, err := vault.New(vault.Config{Keys: ring(t, "k1", "k1"), Dir: dir})
	require.NoError(t, err)
	require.NoError(t, w.Put(ctx, "obj", strings.NewReader("secret video"), []byte("{}")))

	// Same ID, other bytes.
	wrong, err := vault.NewKeyRing("", map[string][]byte{"k1": rawKey(99)})
	require.NoError(t, err)
	r, err := vault.New(vault.Config{Keys: wrong, Dir: dir})
	require.NoError(t, err)
	_, _, err = r.Get(ctx, "obj")
	assert.ErrorIs(t, err, vault.ErrWrongKey)
	_, err = r.Stat(ctx, "obj")
	assert.ErrorIs(t, err, vault.ErrWrongKey)

	// Ring without k1.
	other, err := vault.New(vault.Config{Keys: ring(t, "k2", "k2"), Dir: dir})
	require.NoError(t, err)
	_, _, err = other.Get(ctx, "obj")
	assert.ErrorIs(t, err, vault.ErrUnknownKey)
	assert.Contains(t, err.Error(), `"k1"`)
}

func TestDataKeyNeverStoredInPlaintext(t *testing.T) {
	t.Parallel()
	// A deterministic Rand lets the test know the data key: it is the
	// first KeySize bytes Put reads.
	seed := content(4096, 5)
	v, dir := newDirVault(t, vault.Config{Rand: bytes.NewReader(seed)})
	video := bytes.Repeat([]byte("plain video "), 1000)
	record := []byte(`{"secret":"decision record text"}`)
	require.NoError(t, v.Put(context.Background(), "obj", bytes.NewReader(video), record))
	dk := seed[:vault.KeySize]
	assert.False(t, containsBytes(t, dir, dk), "data key on disk")
	assert.False(t, containsBytes(t, dir, dk[:8]), "part of data key on disk")
	assert.False(t, containsBytes(t, dir, []byte("plain video")), "video plaintext on disk")
	assert.False(t, containsBytes(t, dir, []byte("decision record")), "record plaintext on disk")
	assert.False(t, containsBytes(t, dir, keyFor("k1")[:8]), "master key on disk")
}

func TestRotate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "v")
	v, err := vault.New(vault.Config{Keys: ring(t, "k1", "k1", "k2"), Dir: dir, ChunkSize: testChunk})
	require.NoError(t, err)
	ids := []string{"a", "b", "c", "d"}
	videos := map[string][]byte{}
	for i, id := range ids {
		videos[id] = content(3*testChunk+i, uint64(i))
		require.NoError(t, v.Put(ctx, id, bytes.NewReader(videos[id]), []byte(`{"id":"`+id+`"}`)))
	}
	require.NoError(t, v.Shred(ctx, "d"))
	type snap struct{ video, record, key []byte }
	before := map[string]snap{}
	for _, id := range ids[:3] {
		var s snap
		s.video, _ = os.ReadFile(partPath(dir, id, vault.PartVideo))
		s.record, _ = os.ReadFile(partPath(dir, id, vault.PartRecord))
		s.key, _ = os.ReadFile(partPath(dir, id, vault.PartKey))
		before[id] = s
	}
	videoStat := func(id string) os.FileInfo {
		fi, err := os.Stat(partPath(dir, id, vault.PartVideo))
		require.NoError(t, err)
		return fi
	}
	vfi := videoStat("a")

	_, err = v.Rotate(ctx, "nope")
	require.ErrorIs(t, err, vault.ErrUnknownKey)

	st, err := v.Rotate(ctx, "k2")
	require.NoError(t, err)
	assert.Equal(t, vault.RotateStats{Scanned: 4, Rewrapped: 3, Skipped: 1}, st)
	assert.Equal(t, "k2", v.Keys().Active())

	for _, id := range ids[:3] {
		video, _ := os.ReadFile(partPath(dir, id, vault.PartVideo))
		record, _ := os.ReadFile(partPath(dir, id, vault.PartRecord))
		key, _ := os.ReadFile(partPath(dir, id, vault.PartKey))
		assert.Equal(t, before[id].video, video, "video bytes of %s changed", id)
		assert.Equal(t, before[id].record, record, "record bytes of %s changed", id)
		assert.NotEqual(t, before[id].key, key, "key file of %s not rewritten", id)
		info, err := v.Stat(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, "k2", info.KeyID)
	}
	assert.True(t, os.SameFile(vfi, videoStat("a")), "video file replaced")
	assert.Equal(t, vfi.ModTime(), videoStat("a").ModTime(), "video file written")

	// Readers: old+new ring, new only: everything reads; old only: nothing.
	rings := map[string]*vault.KeyRing{
		"same vault":   v.Keys(),
		"both keys":    ring(t, "k1", "k1", "k2"),
		"new key only": ring(t, "k2", "k2"),
	}
	for name, r := range rings {
		rv, err := vault.New(vault.Config{Keys: r, Dir: dir})
		require.NoError(t, err)
		for _, id := range ids[:3] {
			got, rec, err := getAll(t, rv, id)
			require.NoError(t, err, name)
			assert.Equal(t, videos[id], got, name)
			assert.Equal(t, `{"id":"`+id+`"}`, string(rec), name)
		}
		_, _, err = rv.Get(ctx, "d")
		assert.ErrorIs(t, err, vault.ErrShredded)
	}
	oldOnly, err := vault.New(vault.Config{Keys: ring(t, "k1", "k1"), Dir: dir})
	require.NoError(t, err)
	_, _, err = oldOnly.Get(ctx, "a")
	assert.ErrorIs(t, err, vault.ErrUnknownKey)

	// New objects use k2; rotating again is a no-op; rotating back works.
	require.NoError(t, v.Put(ctx, "e", strings.NewReader("new"), nil))
	info, err := v.Stat(ctx, "e")
	require.NoError(t, err)
	assert.Equal(t, "k2", info.KeyID)
	st, err = v.Rotate(ctx, "k2")
	require.NoError(t, err)
	assert.Equal(t, vault.RotateStats{Scanned: 5, Current: 4, Skipped: 1}, st)
	st, err = v.Rotate(ctx, "k1")
	require.NoError(t, err)
	assert.Equal(t, 4, st.Rewrapped)
	for _, id := range []string{"a", "b", "c", "e"} {
		video, _ := os.ReadFile(partPath(dir, id, vault.PartVideo))
		if id != "e" {
			assert.Equal(t, before[id].video, video)
		}
		_, _, err := getAll(t, oldOnly, id)
		assert.NoError(t, err)
	}
}

func TestRotateReportsFailures(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{})
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, v.Put(ctx, id, strings.NewReader(id), nil))
	}
	flip(t, partPath(dir, "b", vault.PartKey), -1)
	st, err := v.Rotate(ctx, "k2")
	require.Error(t, err)
	assert.ErrorIs(t, err, vault.ErrTampered)
	assert.ErrorIs(t, err, &vault.Error{ID: "b"})
	assert.Equal(t, vault.RotateStats{Scanned: 3, Rewrapped: 2, Failed: 1}, st)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = v.Rotate(cctx, "k1")
	assert.ErrorIs(t, err, context.Canceled)
}

func TestShred(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{})
	ctx := context.Background()
	require.NoError(t, v.Put(ctx, "s", strings.NewReader("video to shred"), []byte(`{"r":1}`)))
	require.NoError(t, v.Put(ctx, "keep", strings.NewReader("kept"), nil))
	keyBytes, err := os.ReadFile(partPath(dir, "s", vault.PartKey))
	require.NoError(t, err)
	wrapped := keyBytes[len(keyBytes)-48:]
	// A reader opened before the shred (documented: it may finish).
	early, _, err := v.Get(ctx, "s")
	require.NoError(t, err)

	require.NoError(t, v.Shred(ctx, "s"))
	_, _, err = v.Get(ctx, "s")
	assert.ErrorIs(t, err, vault.ErrShredded)
	_, err = v.Record(ctx, "s")
	assert.ErrorIs(t, err, vault.ErrShredded)
	_, err = v.Stat(ctx, "s")
	assert.ErrorIs(t, err, vault.ErrShredded)
	assert.ErrorIs(t, v.Put(ctx, "s", strings.NewReader("again"), nil), vault.ErrExists, "shredded IDs are not reused")
	assert.False(t, containsBytes(t, dir, wrapped), "wrapped data key survives")
	files := regularFiles(t, filepath.Dir(partPath(dir, "s", vault.PartKey)))
	assert.Equal(t, []string{string(vault.PartTombstone)}, files)
	require.NoError(t, v.Shred(ctx, "s"), "shredding twice is fine")
	assert.ErrorIs(t, v.Shred(ctx, "never"), vault.ErrNotFound)
	_, err = io.ReadAll(early)
	assert.NoError(t, err)
	early.Close()

	var listed []string
	require.NoError(t, v.List(ctx, func(id string) error { listed = append(listed, id); return nil }))
	assert.ElementsMatch(t, []string{"s", "keep"}, listed)
	got, _, err := getAll(t, v, "keep")
	require.NoError(t, err)
	assert.Equal(t, "kept", string(got))
}

func TestShredEvenWithMasterKeyKept(t *testing.T) {
	t.Parallel()
	// Crypto-shredding must not depend on the data parts going away: with
	// the video and record restored from a copy, the object stays
	// unreadable because its data key is gone.
	v, dir := newDirVault(t, vault.Config{})
	ctx := context.Background()
	require.NoError(t, v.Put(ctx, "s", strings.NewReader("video"), []byte("{}")))
	video, _ := os.ReadFile(partPath(dir, "s", vault.PartVideo))
	record, _ := os.ReadFile(partPath(dir, "s", vault.PartRecord))
	require.NoError(t, v.Shred(ctx, "s"))
	require.NoError(t, os.WriteFile(partPath(dir, "s", vault.PartVideo), video, 0o600))
	require.NoError(t, os.WriteFile(partPath(dir, "s", vault.PartRecord), record, 0o600))
	require.NoError(t, os.Remove(partPath(dir, "s", vault.PartTombstone)))
	_, _, err := v.Get(ctx, "s")
	assert.ErrorIs(t, err, vault.ErrNotFound)
}

func TestInterruptedShred(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{})
	ctx := context.Background()
	require.NoError(t, v.Put(ctx, "s", strings.NewReader("video"), []byte("{}")))
	d, err := vault.NewDir(dir)
	require.NoError(t, err)
	// A Shred that died after writing its tombstone.
	require.NoError(t, d.Replace(ctx, "s", vault.PartTombstone, []byte("HVTS")))
	_, _, err = v.Get(ctx, "s")
	assert.ErrorIs(t, err, vault.ErrShredded)
	_, err = v.Stat(ctx, "s")
	assert.ErrorIs(t, err, vault.ErrShredded)
	require.NoError(t, v.Shred(ctx, "s"))
	assert.Equal(t, []string{string(vault.PartTombstone)},
		regularFiles(t, filepath.Dir(partPath(dir, "s", vault.PartKey))))
	// And one that died after destroying the key but before the data.
	require.NoError(t, v.Put(ctx, "t", strings.NewReader("video"), []byte("{}")))
	require.NoError(t, d.Replace(ctx, "t", vault.PartTombstone, []byte("HVTS")))
	require.NoError(t, d.Destroy(ctx, "t", vault.PartKey))
	_, _, err = v.Get(ctx, "t")
	assert.ErrorIs(t, err, vault.ErrShredded)
	require.NoError(t, v.Shred(ctx, "t"))
	assert.Equal(t, []string{string(vault.PartTombstone)},
		regularFiles(t, filepath.Dir(partPath(dir, "t", vault.PartKey))))
}

func TestDelete(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{})
	ctx := context.Background()
	require.NoError(t, v.Put(ctx, "d", strings.NewReader("one"), []byte("1")))
	require.NoError(t, v.Delete(ctx, "d"))
	_, _, err := v.Get(ctx, "d")
	assert.ErrorIs(t, err, vault.ErrNotFound)
	assert.ErrorIs(t, v.Delete(ctx, "d"), vault.ErrNotFound)
	assert.Empty(t, regularFiles(t, dir))
	// The ID may be used again after Delete, also after a Shred.
	require.NoError(t, v.Put(ctx, "d", strings.NewReader("two"), []byte("2")))
	require.NoError(t, v.Shred(ctx, "d"))
	require.NoError(t, v.Delete(ctx, "d"))
	_, _, err = v.Get(ctx, "d")
	assert.ErrorIs(t, err, vault.ErrNotFound)
	require.NoError(t, v.Put(ctx, "d", strings.NewReader("three"), []byte("3")))
	got, rec, err := getAll(t, v, "d")
	require.NoError(t, err)
	assert.Equal(t, "three", string(got))
	assert.Equal(t, "3", string(rec))
}

func TestPutCancelledLeavesNothing(t *testing.T) {
	t.Parallel()
	for _, at := range []int64{0, 1, testChunk, 10*testChunk + 5} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			t.Parallel()
			v, dir := newDirVault(t, vault.Config{ChunkSize: testChunk})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := &failAfter{r: bytes.NewReader(content(50*testChunk, 1)), n: at, fn: cancel}
			err := v.Put(ctx, "c", r, []byte("{}"))
			require.ErrorIs(t, err, context.Canceled)
			assert.Contains(t, err.Error(), `"c"`)
			assert.Empty(t, regularFiles(t, dir))
			entries, err := os.ReadDir(filepath.Join(dir, "staging"))
			require.NoError(t, err)
			assert.Empty(t, entries, "staging debris")
			_, _, err = v.Get(context.Background(), "c")
			assert.ErrorIs(t, err, vault.ErrNotFound)
			// The ID is free again.
			require.NoError(t, v.Put(context.Background(), "c", strings.NewReader("ok"), nil))
		})
	}
}

func TestPutReaderErrorLeavesNothing(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{ChunkSize: testChunk})
	boom := errors.New("client went away")
	r := &failAfter{r: bytes.NewReader(content(50*testChunk, 1)), n: 3*testChunk + 7, err: boom}
	err := v.Put(context.Background(), "e", r, nil)
	require.ErrorIs(t, err, boom)
	assert.NotErrorIs(t, err, vault.ErrIO, "the caller's reader failed, not storage")
	assert.Equal(t, `vault: object "e": reading video: client went away`, err.Error())
	assert.Empty(t, regularFiles(t, dir))
}

func TestGetHonoursContext(t *testing.T) {
	t.Parallel()
	v, _ := newDirVault(t, vault.Config{ChunkSize: testChunk})
	require.NoError(t, v.Put(context.Background(), "g", bytes.NewReader(content(10*testChunk, 1)), nil))
	ctx, cancel := context.WithCancel(context.Background())
	rc, _, err := v.Get(ctx, "g")
	require.NoError(t, err)
	defer rc.Close()
	buf := make([]byte, testChunk)
	_, err = io.ReadFull(rc, buf)
	require.NoError(t, err)
	cancel()
	_, err = io.ReadAll(rc)
	assert.ErrorIs(t, err, context.Canceled)

	_, _, err = v.Get(ctx, "g")
	assert.ErrorIs(t, err, context.Canceled)
}

func TestClose(t *testing.T) {
	t.Parallel()
	v, _ := newDirVault(t, vault.Config{})
	ctx := context.Background()
	require.NoError(t, v.Put(ctx, "a", strings.NewReader("video"), nil))
	rc, _, err := v.Get(ctx, "a")
	require.NoError(t, err)
	require.NoError(t, v.Close())
	require.NoError(t, v.Close())
	assert.ErrorIs(t, v.Put(ctx, "b", nil, nil), vault.ErrClosed)
	_, _, err = v.Get(ctx, "a")
	assert.ErrorIs(t, err, vault.ErrClosed)
	assert.ErrorIs(t, v.Shred(ctx, "a"), vault.ErrClosed)
	assert.ErrorIs(t, v.Delete(ctx, "a"), vault.ErrClosed)
	_, err = v.Rotate(ctx, "k2")
	assert.ErrorIs(t, err, vault.ErrClosed)
	assert.ErrorIs(t, v.List(ctx, func(string) error { return nil }), vault.ErrClosed)
	got, err := io.ReadAll(rc)
	require.NoError(t, err, "a reader from before Close finishes")
	assert.Equal(t, "video", string(got))
}

func TestStatAndList(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 21, 8, 30, 0, 0, time.UTC)
	v, _ := newDirVault(t, vault.Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	want := map[string]int{}
	for i := range 20 {
		id := fmt.Sprintf("att_%02d", i)
		want[id] = i * 100
		require.NoError(t, v.Put(ctx, id, bytes.NewReader(content(i*100, 1)), []byte("{}")))
	}
	got := map[string]int{}
	require.NoError(t, v.List(ctx, func(id string) error {
		info, err := v.Stat(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, id, info.ID)
		assert.True(t, now.Equal(info.Created), info.Created)
		got[id] = int(info.VideoSize)
		return nil
	}))
	assert.Equal(t, want, got)
	stop := errors.New("stop")
	n := 0
	err := v.List(ctx, func(string) error { n++; return stop })
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 1, n)
	_, err = v.Stat(ctx, "missing")
	assert.ErrorIs(t, err, vault.ErrNotFound)
}

func TestStagingSweep(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{})
	require.NoError(t, v.Put(context.Background(), "a", strings.NewReader("x"), nil))
	old := filepath.Join(dir, "staging", "put-crashed")
	fresh := filepath.Join(dir, "staging", "put-inflight")
	for _, p := range []string{old, fresh} {
		require.NoError(t, os.Mkdir(p, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(p, "key"), []byte("wrapped"), 0o600))
	}
	long := time.Now().Add(-25 * time.Hour)
	require.NoError(t, os.Chtimes(old, long, long))
	_, err := vault.NewDir(dir)
	require.NoError(t, err)
	_, err = os.Stat(old)
	assert.ErrorIs(t, err, os.ErrNotExist, "stale staging removed")
	_, err = os.Stat(fresh)
	assert.NoError(t, err, "recent staging kept (may be another process's Put)")
	_, _, err = getAll(t, v, "a")
	assert.NoError(t, err)
}

func TestDirReplaceAndDestroy(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "d")
	d, err := vault.NewDir(dir)
	require.NoError(t, err)
	ctx := context.Background()
	assert.ErrorIs(t, d.Replace(ctx, "none", vault.PartKey, []byte("k")), vault.ErrNotFound)
	assert.ErrorIs(t, d.Delete(ctx, "none"), vault.ErrNotFound)
	_, err = d.Open(ctx, "none", vault.PartKey)
	assert.ErrorIs(t, err, vault.ErrNotFound)

	st, err := d.Stage(ctx, "obj")
	require.NoError(t, err)
	_, err = st.Write(ctx, vault.PartKey, strings.NewReader("key-v1"))
	require.NoError(t, err)
	_, err = d.Open(ctx, "obj", vault.PartKey)
	assert.ErrorIs(t, err, vault.ErrNotFound, "staged parts are invisible")
	require.NoError(t, st.Commit(ctx))
	require.NoError(t, st.Abort(), "Abort after Commit does nothing")
	rc, err := d.Open(ctx, "obj", vault.PartKey)
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	rc.Close()
	assert.Equal(t, "key-v1", string(b))

	// A second staging of the same ID cannot commit over it.
	st2, err := d.Stage(ctx, "obj2")
	require.NoError(t, err)
	_, err = st2.Write(ctx, vault.PartKey, strings.NewReader("other"))
	require.NoError(t, err)
	st3, err := d.Stage(ctx, "obj2")
	require.NoError(t, err)
	_, err = st3.Write(ctx, vault.PartKey, strings.NewReader("third"))
	require.NoError(t, err)
	require.NoError(t, st2.Commit(ctx))
	assert.ErrorIs(t, st3.Commit(ctx), vault.ErrExists)
	require.NoError(t, st3.Abort())

	require.NoError(t, d.Replace(ctx, "obj", vault.PartKey, []byte("key-v2")))
	rc, err = d.Open(ctx, "obj", vault.PartKey)
	require.NoError(t, err)
	b, _ = io.ReadAll(rc)
	rc.Close()
	assert.Equal(t, "key-v2", string(b))

	// A temporary key file left by an interrupted Replace is destroyed
	// with the key.
	objDir := filepath.Dir(partPath(dir, "obj", vault.PartKey))
	leftover := filepath.Join(objDir, ".tmp-key-123")
	require.NoError(t, os.WriteFile(leftover, []byte("key-v3"), 0o600))
	require.NoError(t, d.Destroy(ctx, "obj", vault.PartKey))
	require.NoError(t, d.Destroy(ctx, "obj", vault.PartKey), "destroying a missing part is fine")
	assert.Empty(t, regularFiles(t, objDir))
	assert.False(t, containsBytes(t, dir, []byte("key-v")))
}

func TestConcurrentPutGet(t *testing.T) {
	t.Parallel()
	v, _ := newDirVault(t, vault.Config{ChunkSize: testChunk})
	ctx := context.Background()
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("c%02d", i)
			video := content(i*testChunk/2+i, uint64(i))
			if err := v.Put(ctx, id, bytes.NewReader(video), []byte(id)); err != nil {
				errs <- err
				return
			}
			for range 3 {
				got, rec, err := getAll(t, v, id)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, video) || string(rec) != id {
					errs <- fmt.Errorf("%s: content mismatch", id)
				}
			}
		}()
	}
	// Racing Puts of one ID: exactly one wins.
	var winners sync.Map
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := v.Put(ctx, "same", bytes.NewReader(content(5*testChunk, uint64(i))), []byte(fmt.Sprint(i)))
			switch {
			case err == nil:
				winners.Store(i, true)
			case !errors.Is(err, vault.ErrExists):
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	count := 0
	winner := -1
	winners.Range(func(k, _ any) bool { count++; winner = k.(int); return true })
	require.Equal(t, 1, count)
	got, rec, err := getAll(t, v, "same")
	require.NoError(t, err)
	assert.Equal(t, content(5*testChunk, uint64(winner)), got)
	assert.Equal(t, fmt.Sprint(winner), string(rec))
}

func TestConcurrentRotatePutShred(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{ChunkSize: testChunk})
	ctx := context.Background()
	for i := range 30 {
		require.NoError(t, v.Put(ctx, fmt.Sprintf("old%02d", i), bytes.NewReader(content(2*testChunk, 1)), nil))
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		_, err := v.Rotate(ctx, "k2")
		assert.NoError(t, err)
	}()
	go func() {
		defer wg.Done()
		for i := range 20 {
			assert.NoError(t, v.Put(ctx, fmt.Sprintf("new%02d", i), bytes.NewReader(content(3*testChunk, 2)), nil))
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 30; i += 3 {
			assert.NoError(t, v.Shred(ctx, fmt.Sprintf("old%02d", i)))
		}
	}()
	wg.Wait()
	// Every live object is under k2 once Rotate returned, unless it was
	// written after Rotate's listing passed it (then it was written under
	// k2 anyway); shredded ones have no key file.
	require.NoError(t, v.List(ctx, func(id string) error {
		info, err := v.Stat(ctx, id)
		if errors.Is(err, vault.ErrShredded) {
			_, serr := os.Stat(partPath(dir, id, vault.PartKey))
			assert.ErrorIs(t, serr, os.ErrNotExist, "%s: key file after shred", id)
			return nil
		}
		require.NoError(t, err)
		assert.Equal(t, "k2", info.KeyID, id)
		return nil
	}))
}

func TestLargeStreamBoundedMemory(t *testing.T) {
	// Not parallel: it measures allocation. 50 MB, a long selfie video.
	const size = 50 << 20
	if testing.Short() {
		t.Skip("50 MB object")
	}
	v, _ := newDirVault(t, vault.Config{})
	ctx := context.Background()

	src := newStream(size, 9)
	srcHash := sha256.New()
	alloc := allocated(func() {
		require.NoError(t, v.Put(ctx, "big", io.TeeReader(src, srcHash), []byte("{}")))
	})
	t.Logf("Put 50 MB: %d KiB allocated", alloc>>10)
	assert.Less(t, alloc, uint64(1<<20), "Put must stream, not buffer")

	outHash := sha256.New()
	alloc = allocated(func() {
		rc, _, err := v.Get(ctx, "big")
		require.NoError(t, err)
		n, err := io.Copy(outHash, rc)
		require.NoError(t, err)
		require.Equal(t, int64(size), n)
		require.NoError(t, rc.Close())
	})
	t.Logf("Get 50 MB: %d KiB allocated", alloc>>10)
	assert.Less(t, alloc, uint64(1<<20), "Get must stream, not buffer")
	assert.Equal(t, srcHash.Sum(nil), outHash.Sum(nil))
}

func TestShredDoesNotWriteThroughSymlinks(t *testing.T) {
	t.Parallel()
	v, dir := newDirVault(t, vault.Config{})
	ctx := context.Background()
	require.NoError(t, v.Put(ctx, "s", strings.NewReader("video"), nil))
	outside := filepath.Join(t.TempDir(), "precious")
	require.NoError(t, os.WriteFile(outside, []byte("do not overwrite"), 0o600))
	key := partPath(dir, "s", vault.PartKey)
	require.NoError(t, os.Remove(key))
	require.NoError(t, os.Symlink(outside, key))
	require.NoError(t, v.Shred(ctx, "s"))
	b, err := os.ReadFile(outside)
	require.NoError(t, err)
	assert.Equal(t, "do not overwrite", string(b))
	_, err = os.Lstat(key)
	assert.ErrorIs(t, err, os.ErrNotExist, "the link itself is removed")
}
