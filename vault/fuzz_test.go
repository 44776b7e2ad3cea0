package vault

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// fixture is one object sealed deterministically, for the fuzz targets.
type fixture struct {
	ring    *KeyRing
	id      string
	dk      []byte
	keyFile []byte
	video   []byte // sealed video part (header + chunks)
	plain   []byte // its plaintext
	record  []byte // sealed record part
	recPT   []byte
}

// fuzzChunk is small so short inputs span several chunks.
const fuzzChunk = MinChunkSize

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	keys := map[string][]byte{"k1": bytes.Repeat([]byte{1}, KeySize), "k2": bytes.Repeat([]byte{2}, KeySize)}
	r, err := NewKeyRing("k1", keys)
	if err != nil {
		tb.Fatal(err)
	}
	fx := &fixture{ring: r, id: "att_fuzz", dk: bytes.Repeat([]byte{7}, KeySize)}
	rnd := bytes.NewReader(bytes.Repeat([]byte{9}, 1024))
	fx.plain = []byte(strings.Repeat("0123456789abcdef", 14)) // 224 bytes: 3.5 chunks
	h := videoHeader{chunkSize: fuzzChunk, prefix: [prefixSize]byte{1, 2, 3, 4, 5, 6, 7}}
	va, err := subkeyAEAD(fx.dk, infoVideo)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	s := newSealer(context.Background(), bytes.NewReader(fx.plain), va, h, fx.id, 1<<20)
	if _, err := io.Copy(&buf, s); err != nil {
		tb.Fatal(err)
	}
	fx.video = buf.Bytes()
	ra, err := subkeyAEAD(fx.dk, infoRecord)
	if err != nil {
		tb.Fatal(err)
	}
	fx.recPT = []byte(`{"outcome":"approved","liveness":0.97}`)
	if fx.record, err = sealRecord(ra, fx.id, fx.recPT, rnd); err != nil {
		tb.Fatal(err)
	}
	kf := keyFile{created: 1700000000000, videoLen: uint64(len(fx.plain)), recordLen: uint32(len(fx.recPT))}
	mk, _ := r.key("k1")
	if err := kf.wrap(mk, fx.dk, fx.id, rnd); err != nil {
		tb.Fatal(err)
	}
	fx.keyFile = kf.marshal()
	return fx
}

// mustBeTampered fails unless err is a vault *Error matching ErrTampered
// (or, for key files, the two key errors).
func mustBeTyped(t *testing.T, err error, allowed ...*Error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	for _, a := range allowed {
		if errors.Is(err, a) {
			return
		}
	}
	t.Fatalf("unexpected error code %q: %v", e.Code, err)
}

func FuzzKeyFile(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.keyFile)
	f.Add(fx.keyFile[:10])
	f.Add([]byte{})
	f.Add([]byte("HVKF\x01\x40"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kf, err := parseKeyFile(b)
		if err != nil {
			mustBeTyped(t, err, ErrTampered)
			return
		}
		if !bytes.Equal(kf.marshal(), b) {
			t.Fatalf("parse/marshal round trip differs")
		}
		dk, err := kf.unwrap(fx.ring, fx.id)
		if err != nil {
			mustBeTyped(t, err, ErrTampered, ErrUnknownKey, ErrWrongKey)
			return
		}
		if !bytes.Equal(b, fx.keyFile) || !bytes.Equal(dk, fx.dk) {
			t.Fatalf("a key file other than the genuine one unwrapped")
		}
	})
}

func FuzzVideoHeader(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.video[:videoHeaderSize])
	f.Add([]byte("HVVD\x01\xff\xff\xff\xff1234567"))
	f.Add([]byte("HVVD\x02\x00\x00\x04\x001234567"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseVideoHeader(b)
		if err != nil {
			mustBeTyped(t, err, ErrTampered)
			return
		}
		if h.chunkSize < MinChunkSize || h.chunkSize > MaxChunkSize {
			t.Fatalf("chunk size %d accepted", h.chunkSize)
		}
		if !bytes.Equal(h.marshal(), b[:videoHeaderSize]) {
			t.Fatalf("parse/marshal round trip differs")
		}
	})
}

// FuzzVideoStream feeds arbitrary bytes to the reader as the stored video
// of the fixture's object: it must either return exactly the genuine
// plaintext (only for the genuine ciphertext) or a typed ErrTampered, and
// before failing it may only have returned whole, genuine chunks.
func FuzzVideoStream(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.video)
	f.Add(fx.video[:len(fx.video)-1])
	f.Add(fx.video[:videoHeaderSize+fuzzChunk+tagSize])
	f.Add(append(bytes.Clone(fx.video), 0))
	f.Add(fx.video[:videoHeaderSize])
	va, err := subkeyAEAD(fx.dk, infoVideo)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseVideoHeader(b)
		if err != nil {
			mustBeTyped(t, err, ErrTampered)
			return
		}
		o := newOpener(context.Background(), io.NopCloser(bytes.NewReader(b[videoHeaderSize:])), va, h, fx.id, int64(len(fx.plain)))
		got, err := io.ReadAll(o)
		if !bytes.HasPrefix(fx.plain, got) {
			t.Fatalf("returned bytes that are not the genuine plaintext")
		}
		if err != nil {
			mustBeTyped(t, err, ErrTampered)
			if len(got)%fuzzChunk != 0 {
				t.Fatalf("returned part of a chunk (%d bytes) before failing", len(got))
			}
			return
		}
		if !bytes.Equal(b, fx.video) || !bytes.Equal(got, fx.plain) {
			t.Fatalf("a forged stream was accepted")
		}
	})
}

func FuzzRecord(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.record, uint32(len(fx.recPT)))
	f.Add(fx.record[:20], uint32(3))
	f.Add([]byte("HVRC\x01"), uint32(0))
	ra, err := subkeyAEAD(fx.dk, infoRecord)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte, want uint32) {
		rec, err := openRecord(ra, fx.id, b, want)
		if err != nil {
			mustBeTyped(t, err, ErrTampered)
			return
		}
		if !bytes.Equal(b, fx.record) || !bytes.Equal(rec, fx.recPT) {
			t.Fatalf("a forged record was accepted")
		}
	})
}

func FuzzParseKeyRing(f *testing.F) {
	f.Add("k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
	f.Add("k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE,k2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI,active=k2")
	f.Add("active=,:")
	f.Add(",,,")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseKeyRing(s)
		if err != nil {
			mustBeTyped(t, err, ErrInvalidKey)
			return
		}
		if !r.Has(r.Active()) || len(r.IDs()) == 0 {
			t.Fatalf("ring without its active key")
		}
	})
}

func FuzzCheckID(f *testing.F) {
	for _, s := range []string{"att_0a", "..", "../x", "a/b", ".x", "", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := checkID(id)
		if err != nil {
			mustBeTyped(t, err, ErrInvalidID)
			return
		}
		if strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") || len(id) > maxIDLen || id == "" {
			t.Fatalf("unsafe ID %q accepted", id)
		}
	})
}
