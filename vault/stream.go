package vault

import (
	"context"
	"crypto/cipher"
	"errors"
	"io"
)

// sealer encrypts a plaintext stream into the video part (header, then
// sealed chunks) as it is read, holding one chunk in memory. It implements
// io.WriterTo so io.Copy needs no further buffer. ctx is checked before
// each chunk.
type sealer struct {
	ctx    context.Context
	src    io.Reader
	aead   cipher.AEAD
	aad    []byte
	prefix [prefixSize]byte
	chunk  int
	max    int64

	buf      []byte // one chunk plus tag; sealed in place
	out      []byte // bytes not yet handed out: header or a sealed chunk
	carry    byte   // the byte read ahead to tell whether a chunk is last
	hasCarry bool
	one      [1]byte // read-ahead buffer (a field, so it does not escape per chunk)
	nonce    [nonceSize]byte
	counter  uint64
	n        int64 // plaintext bytes consumed
	done     bool  // the last chunk has been sealed
	err      error
}

func newSealer(ctx context.Context, src io.Reader, aead cipher.AEAD, h videoHeader, id string, max int64) *sealer {
	hdr := h.marshal()
	return &sealer{
		ctx:    ctx,
		src:    src,
		aead:   aead,
		aad:    append(append([]byte(nil), hdr...), id...),
		prefix: h.prefix,
		chunk:  int(h.chunkSize),
		max:    max,
		buf:    make([]byte, int(h.chunkSize)+tagSize),
		out:    hdr,
	}
}

// next seals the next chunk into s.out.
func (s *sealer) next() error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if s.counter >= maxChunks {
		return newErr(ErrTooLarge, "", nil, "video exceeds %d chunks", uint64(maxChunks))
	}
	p := s.buf[:s.chunk]
	k := 0
	if s.hasCarry {
		p[0] = s.carry
		k, s.hasCarry = 1, false
	}
	m, err := io.ReadFull(s.src, p[k:])
	k += m
	last := false
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		last = true
	case err != nil:
		return &sourceError{err}
	default:
		m, err := io.ReadFull(s.src, s.one[:])
		switch {
		case m == 1:
			s.carry, s.hasCarry = s.one[0], true
		case err == io.EOF:
			last = true
		default:
			return &sourceError{err}
		}
	}
	s.n += int64(k)
	if s.n > s.max || s.hasCarry && s.n+1 > s.max {
		return newErr(ErrTooLarge, "", nil, "video exceeds %d bytes", s.max)
	}
	chunkNonce(&s.nonce, &s.prefix, s.counter, last)
	s.out = s.aead.Seal(s.buf[:0], s.nonce[:], p[:k], s.aad)
	s.counter++
	s.done = last
	return nil
}

func (s *sealer) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.done {
			return 0, io.EOF
		}
		s.err = s.next()
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

// WriteTo writes the whole encrypted part to w, a chunk per Write.
func (s *sealer) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(s.out) > 0 {
			n, err := w.Write(s.out)
			total += int64(n)
			s.out = s.out[n:]
			if err != nil {
				return total, err
			}
			continue
		}
		if s.err != nil {
			return total, s.err
		}
		if s.done {
			return total, nil
		}
		s.err = s.next()
	}
}

// sourceError is a failure of the caller's video reader (not of storage).
type sourceError struct{ err error }

func (e *sourceError) Error() string { return "reading video: " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// opener decrypts a video part after its header, one chunk at a time: a
// chunk's bytes are handed out only after its tag verified, and the end of
// the stream only after a chunk flagged last verified, so truncation is
// reported at the latest in place of io.EOF.
type opener struct {
	ctx    context.Context
	src    io.ReadCloser
	id     string
	aead   cipher.AEAD
	aad    []byte
	prefix [prefixSize]byte
	chunk  int
	want   int64 // plaintext length from the key file

	buf      []byte
	out      []byte // verified plaintext not yet read
	carry    byte
	hasCarry bool
	one      [1]byte
	nonce    [nonceSize]byte
	counter  uint64
	n        int64
	done     bool
	err      error // sticky
	closed   bool
}

func newOpener(ctx context.Context, src io.ReadCloser, aead cipher.AEAD, h videoHeader, id string, want int64) *opener {
	return &opener{
		ctx:    ctx,
		src:    src,
		id:     id,
		aead:   aead,
		aad:    append(h.marshal(), id...),
		prefix: h.prefix,
		chunk:  int(h.chunkSize),
		want:   want,
		buf:    make([]byte, int(h.chunkSize)+tagSize),
	}
}

// next reads, authenticates and decrypts one chunk into o.out.
func (o *opener) next() error {
	if err := o.ctx.Err(); err != nil {
		return err
	}
	ct := o.buf[:o.chunk+tagSize]
	k := 0
	if o.hasCarry {
		ct[0] = o.carry
		k, o.hasCarry = 1, false
	}
	m, err := io.ReadFull(o.src, ct[k:])
	k += m
	last := false
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		last = true
	case err != nil:
		return newErr(ErrIO, o.id, err, "reading video")
	default:
		m, err := io.ReadFull(o.src, o.one[:])
		switch {
		case m == 1:
			o.carry, o.hasCarry = o.one[0], true
		case err == io.EOF:
			last = true
		default:
			return newErr(ErrIO, o.id, err, "reading video")
		}
	}
	if k < tagSize {
		return newErr(ErrTampered, o.id, nil, "video chunk %d truncated", o.counter)
	}
	if o.counter >= maxChunks {
		return newErr(ErrTampered, o.id, nil, "video has more than %d chunks", uint64(maxChunks))
	}
	chunkNonce(&o.nonce, &o.prefix, o.counter, last)
	pt, err := o.aead.Open(ct[:0], o.nonce[:], ct[:k], o.aad)
	if err != nil {
		return newErr(ErrTampered, o.id, nil, "video chunk %d failed authentication", o.counter)
	}
	o.n += int64(len(pt))
	if o.n > o.want || last && o.n != o.want {
		// Unreachable without the data key; kept as a format check.
		return newErr(ErrTampered, o.id, nil, "video length %d, key file says %d", o.n, o.want)
	}
	if last && len(pt) == 0 && o.counter > 0 {
		return newErr(ErrTampered, o.id, nil, "empty final chunk")
	}
	o.out = pt
	o.counter++
	o.done = last
	return nil
}

// errReadClosed is returned by Read after Close.
var errReadClosed = errors.New("vault: read after close")

func (o *opener) Read(p []byte) (int, error) {
	for len(o.out) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		if o.done {
			return 0, io.EOF
		}
		o.err = o.next()
	}
	n := copy(p, o.out)
	o.out = o.out[n:]
	return n, nil
}

// WriteTo writes the remaining verified plaintext to w.
func (o *opener) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(o.out) > 0 {
			n, err := w.Write(o.out)
			total += int64(n)
			o.out = o.out[n:]
			if err != nil {
				return total, err
			}
			continue
		}
		if o.err != nil {
			return total, o.err
		}
		if o.done {
			return total, nil
		}
		o.err = o.next()
	}
}

// Close releases the underlying part; further reads fail. It is
// idempotent.
func (o *opener) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	o.out = nil
	o.err, o.done = errReadClosed, false
	return o.src.Close()
}
