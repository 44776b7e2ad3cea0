package vault_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/vault"
)

// Object sizes: a typical 5 s 720p selfie clip, and the largest upload.
var benchSizes = []struct {
	name string
	n    int64
}{
	{"5MB", 5 << 20},
	{"50MB", 50 << 20},
}

// repeatReader yields n bytes by repeating a 1 MiB pseudo-random block,
// so generating input costs next to nothing.
type repeatReader struct {
	block []byte
	off   int
	n     int64
}

var benchBlock = content(1<<20, 77)

func newRepeat(n int64) *repeatReader { return &repeatReader{block: benchBlock, n: n} }

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n := copy(p, r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	r.n -= int64(n)
	return n, nil
}

// discardBackend stores nothing: it isolates the cost of encryption.
type discardBackend struct{ memBackend }

func (*discardBackend) Stage(context.Context, string) (vault.Staged, error) {
	return discardStaged{}, nil
}

type discardStaged struct{}

func (discardStaged) Write(_ context.Context, _ vault.Part, r io.Reader) (int64, error) {
	return io.Copy(io.Discard, r)
}
func (discardStaged) Commit(context.Context) error { return nil }
func (discardStaged) Abort() error                 { return nil }

func benchVault(b *testing.B, backend string) *vault.Vault {
	b.Helper()
	switch backend {
	case "dir":
		v, _ := newDirVault(b, vault.Config{})
		return v
	case "nostore":
		v, err := vault.New(vault.Config{Keys: ring(b, "k1", "k1"), Backend: &discardBackend{}})
		require.NoError(b, err)
		return v
	default: // mem
		v, err := vault.New(vault.Config{Keys: ring(b, "k1", "k1"), Backend: newMem()})
		require.NoError(b, err)
		return v
	}
}

// BenchmarkPut measures Put throughput: "dir" writes to the filesystem
// backend (fsync included), "nostore" only encrypts.
func BenchmarkPut(b *testing.B) {
	record := []byte(`{"outcome":"approved"}`)
	for _, backend := range []string{"dir", "nostore"} {
		for _, sz := range benchSizes {
			b.Run(backend+"/"+sz.name, func(b *testing.B) {
				v := benchVault(b, backend)
				ctx := context.Background()
				b.SetBytes(sz.n)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					id := fmt.Sprintf("bench_%d", i)
					if err := v.Put(ctx, id, newRepeat(sz.n), record); err != nil {
						b.Fatal(err)
					}
					if backend == "dir" {
						b.StopTimer()
						if err := v.Delete(ctx, id); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
				}
			})
		}
	}
}

// BenchmarkGet measures Get throughput, reading the whole video: "dir"
// from the filesystem backend (page cache warm after the first read),
// "mem" from memory, which isolates decryption.
func BenchmarkGet(b *testing.B) {
	for _, backend := range []string{"dir", "mem"} {
		for _, sz := range benchSizes {
			b.Run(backend+"/"+sz.name, func(b *testing.B) {
				v := benchVault(b, backend)
				ctx := context.Background()
				require.NoError(b, v.Put(ctx, "obj", newRepeat(sz.n), []byte("{}")))
				b.SetBytes(sz.n)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					rc, _, err := v.Get(ctx, "obj")
					if err != nil {
						b.Fatal(err)
					}
					if n, err := io.Copy(io.Discard, rc); err != nil || n != sz.n {
						b.Fatal(n, err)
					}
					rc.Close()
				}
			})
		}
	}
}
