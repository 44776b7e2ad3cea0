package vault_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/vault"
)

// rawKey returns a deterministic 32-byte test key.
func rawKey(seed byte) []byte {
	k := make([]byte, vault.KeySize)
	for i := range k {
		k[i] = seed + byte(i)*7
	}
	return k
}

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// ring builds a key ring of the given IDs (keys derived from the IDs'
// first byte and length) with active first.
func ring(t testing.TB, active string, ids ...string) *vault.KeyRing {
	t.Helper()
	keys := map[string][]byte{}
	for _, id := range ids {
		keys[id] = keyFor(id)
	}
	r, err := vault.NewKeyRing(active, keys)
	require.NoError(t, err)
	return r
}

func keyFor(id string) []byte {
	h := sha256.Sum256([]byte("test key " + id))
	return h[:]
}

// content returns n deterministic pseudo-random bytes.
func content(n int, seed uint64) []byte {
	b := make([]byte, n)
	fill(b, seed)
	return b
}

func fill(b []byte, seed uint64) {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	c := mrand.NewChaCha8(s)
	_, _ = c.Read(b)
}

// stream is an io.Reader of n deterministic bytes that never holds them
// all, for large-object tests.
type stream struct {
	c *mrand.ChaCha8
	n int64
}

func newStream(n int64, seed byte) *stream {
	var s [32]byte
	s[0] = seed
	return &stream{c: mrand.NewChaCha8(s), n: n}
}

func (s *stream) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.n {
		p = p[:s.n]
	}
	n, _ := s.c.Read(p)
	s.n -= int64(n)
	return n, nil
}

// newDirVault returns a Vault on a fresh temporary Dir.
func newDirVault(t testing.TB, cfg vault.Config) (*vault.Vault, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "evidence")
	cfg.Dir = dir
	if cfg.Keys == nil {
		cfg.Keys = ring(t, "k1", "k1", "k2")
	}
	v, err := vault.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v, dir
}

// partPath is where the documented Dir layout keeps a part.
func partPath(dir, id string, p vault.Part) string {
	h := sha256.Sum256([]byte(id))
	return filepath.Join(dir, "objects", hex.EncodeToString(h[:1]), id, string(p))
}

// readAll reads an object fully.
func getAll(t testing.TB, v *vault.Vault, id string) ([]byte, []byte, error) {
	t.Helper()
	rc, rec, err := v.Get(context.Background(), id)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return b, rec, err
}

// regularFiles lists the regular files under root, relative.
func regularFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	}))
	sort.Strings(out)
	return out
}

// containsBytes reports whether any file under root contains needle.
func containsBytes(t testing.TB, root string, needle []byte) bool {
	t.Helper()
	found := false
	require.NoError(t, filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			found = true
		}
		return nil
	}))
	return found
}

// memBackend is an in-memory Backend: it shows that the interface is
// enough for a non-filesystem store, and the round-trip tests run on it.
type memBackend struct {
	mu      sync.Mutex
	objects map[string]map[vault.Part][]byte
}

func newMem() *memBackend { return &memBackend{objects: map[string]map[vault.Part][]byte{}} }

var _ vault.Backend = (*memBackend)(nil)

func (m *memBackend) Stage(ctx context.Context, id string) (vault.Staged, error) {
	return &memStaged{m: m, id: id, parts: map[vault.Part][]byte{}}, ctx.Err()
}

func (m *memBackend) Open(_ context.Context, id string, p vault.Part) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[id][p]
	if !ok {
		return nil, vault.Wrap(vault.ErrNotFound, id, nil, "")
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memBackend) Replace(_ context.Context, id string, p vault.Part, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[id]
	if !ok {
		return vault.Wrap(vault.ErrNotFound, id, nil, "")
	}
	o[p] = bytes.Clone(data)
	return nil
}

func (m *memBackend) Destroy(_ context.Context, id string, p vault.Part) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.objects[id][p]; ok {
		clear(b)
		delete(m.objects[id], p)
	}
	return nil
}

func (m *memBackend) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[id]; !ok {
		return vault.Wrap(vault.ErrNotFound, id, nil, "")
	}
	delete(m.objects, id)
	return nil
}

func (m *memBackend) List(ctx context.Context, fn func(string) error) error {
	m.mu.Lock()
	ids := make([]string, 0, len(m.objects))
	for id := range m.objects {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return ctx.Err()
}

type memStaged struct {
	m     *memBackend
	id    string
	parts map[vault.Part][]byte
	done  bool
}

func (s *memStaged) Write(_ context.Context, p vault.Part, r io.Reader) (int64, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, r)
	if err != nil {
		return n, err
	}
	s.parts[p] = buf.Bytes()
	return n, nil
}

func (s *memStaged) Commit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if _, ok := s.m.objects[s.id]; ok {
		return vault.Wrap(vault.ErrExists, s.id, nil, "")
	}
	s.m.objects[s.id] = s.parts
	s.done = true
	return nil
}

func (s *memStaged) Abort() error {
	s.done = true
	return nil
}

// failAfter is a reader that fails (or runs fn) after n bytes.
type failAfter struct {
	r   io.Reader
	n   int64
	err error
	fn  func()
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		if f.fn != nil {
			f.fn()
			f.fn = nil
		}
		if f.err != nil {
			return 0, f.err
		}
	}
	if int64(len(p)) > f.n && f.n > 0 {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}
