package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Config's zero values.
const (
	DefaultMaxVideoSize  = 1 << 30 // 1 GiB
	DefaultMaxRecordSize = 1 << 20 // 1 MiB
)

// Config configures a Vault. New copies it; the zero value of each field
// means the documented default. A Config is a plain value: do not share
// one while mutating it.
type Config struct {
	// Keys holds the master keys; its active key wraps new objects'
	// data keys. Required.
	Keys *KeyRing
	// Dir is the root directory of the filesystem backend (see Dir),
	// created 0700 when missing. Used when Backend is nil; set one of
	// the two.
	Dir string
	// Backend stores the encrypted parts. Default: NewDir(Dir).
	Backend Backend
	// ChunkSize is the plaintext bytes per sealed video chunk, between
	// MinChunkSize and MaxChunkSize. Default DefaultChunkSize (64 KiB).
	// Stored per object, so it can change without affecting old objects.
	ChunkSize int
	// MaxVideoSize caps a stored video; Put fails with ErrTooLarge and
	// stores nothing beyond it. Default DefaultMaxVideoSize (1 GiB).
	MaxVideoSize int64
	// MaxRecordSize caps a decision record. Default DefaultMaxRecordSize
	// (1 MiB).
	MaxRecordSize int
	// Rand is the source of data keys and nonces; it must be safe for
	// concurrent use. Default crypto/rand. Only tests should set it.
	Rand io.Reader
	// Now stamps new objects. Default time.Now.
	Now func() time.Time
}

// Vault is encrypted evidence storage: each object is a video and a
// decision record, encrypted under a random per-object data key that a
// master key wraps (see the package documentation). A Vault is safe for
// concurrent use by many goroutines; several processes may share a Dir
// (see Rotate, Shred and Delete for what must not overlap across
// processes).
type Vault struct {
	cfg     Config
	backend Backend

	// putMu is held shared by every Put from wrapping the data key to
	// committing, and exclusively by Rotate while it switches the active
	// key, so no object wrapped by the old key commits after Rotate began
	// listing objects.
	putMu    sync.RWMutex
	ring     atomic.Pointer[KeyRing]
	rotateMu sync.Mutex
	// locks serialise the read-modify-write steps of Rotate, Shred, Delete
	// and Put's commit on one object (striped by ID hash).
	locks [64]sync.Mutex

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Info describes a stored object, from its authenticated key file. It is
// a plain value.
type Info struct {
	ID string
	// KeyID is the master key that wraps the object's data key.
	KeyID   string
	Created time.Time
	// VideoSize and RecordSize are plaintext lengths in bytes.
	VideoSize  int64
	RecordSize int
}

// RotateStats counts what Rotate did. It is a plain value.
type RotateStats struct {
	// Scanned objects, including shredded ones.
	Scanned int
	// Rewrapped under the new active key.
	Rewrapped int
	// Current: already wrapped by the new active key.
	Current int
	// Skipped: shredded, or deleted while Rotate ran.
	Skipped int
	// Failed to rewrap; the errors are joined in Rotate's error.
	Failed int
}

// New returns a Vault for cfg.
func New(cfg Config) (*Vault, error) {
	if cfg.Keys == nil || len(cfg.Keys.keys) == 0 {
		return nil, newErr(ErrInvalidConfig, "", nil, "Keys is required")
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	if cfg.ChunkSize < MinChunkSize || cfg.ChunkSize > MaxChunkSize {
		return nil, newErr(ErrInvalidConfig, "", nil, "ChunkSize %d not in [%d, %d]", cfg.ChunkSize, MinChunkSize, MaxChunkSize)
	}
	if cfg.MaxVideoSize == 0 {
		cfg.MaxVideoSize = DefaultMaxVideoSize
	}
	if limit := int64(cfg.ChunkSize) * (maxChunks - 1); cfg.MaxVideoSize < 0 || cfg.MaxVideoSize > limit {
		return nil, newErr(ErrInvalidConfig, "", nil, "MaxVideoSize %d not in [1, %d] for ChunkSize %d", cfg.MaxVideoSize, limit, cfg.ChunkSize)
	}
	if cfg.MaxRecordSize == 0 {
		cfg.MaxRecordSize = DefaultMaxRecordSize
	}
	if cfg.MaxRecordSize < 0 || int64(cfg.MaxRecordSize) > 1<<32-1 {
		return nil, newErr(ErrInvalidConfig, "", nil, "MaxRecordSize %d out of range", cfg.MaxRecordSize)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.Backend != nil && cfg.Dir != "":
		return nil, newErr(ErrInvalidConfig, "", nil, "set Dir or Backend, not both")
	case cfg.Backend == nil && cfg.Dir == "":
		return nil, newErr(ErrInvalidConfig, "", nil, "Dir or Backend is required")
	case cfg.Backend == nil:
		d, err := NewDir(cfg.Dir)
		if err != nil {
			return nil, err
		}
		cfg.Backend = d
	}
	v := &Vault{cfg: cfg, backend: cfg.Backend}
	v.ring.Store(cfg.Keys)
	return v, nil
}

// Keys returns the current key ring (its active key changes with Rotate).
func (v *Vault) Keys() *KeyRing { return v.ring.Load() }

func (v *Vault) lock(id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(id))
	return &v.locks[h.Sum32()%uint32(len(v.locks))]
}

// begin checks that v is open, id valid and ctx live.
func (v *Vault) begin(ctx context.Context, id string) error {
	if v.closed.Load() {
		return newErr(ErrClosed, id, nil, "")
	}
	if err := checkID(id); err != nil {
		return err
	}
	return ctxErr(ctx, id)
}

func ctxErr(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vault: object %q: %w", id, err)
	}
	return nil
}

// fail gives err the object ID.
func fail(err error, id string) error {
	var e *Error
	if errors.As(err, &e) {
		return withID(err, id)
	}
	var se *sourceError
	if errors.As(err, &se) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("vault: object %q: %w", id, err)
	}
	return newErr(ErrIO, id, err, "")
}

// Put stores video (read to EOF, streamed chunk by chunk, never held
// whole) and record under id, encrypted under a fresh data key wrapped by
// the active master key. Objects are write-once: an ID already in use, or
// once shredded, fails with ErrExists. A nil video stores an empty one.
//
// Put honours ctx between chunks. When it fails for any reason (ctx done,
// the video reader's error, which it wraps, ErrTooLarge, storage) it
// leaves nothing behind: the object becomes visible only when complete.
func (v *Vault) Put(ctx context.Context, id string, video io.Reader, record []byte) error {
	if err := v.begin(ctx, id); err != nil {
		return err
	}
	if len(record) > v.cfg.MaxRecordSize {
		return newErr(ErrTooLarge, id, nil, "record is %d bytes, limit %d", len(record), v.cfg.MaxRecordSize)
	}
	if video == nil {
		video = bytes.NewReader(nil)
	}
	dk := make([]byte, KeySize)
	defer clear(dk)
	var h videoHeader
	h.chunkSize = uint32(v.cfg.ChunkSize)
	if _, err := io.ReadFull(v.cfg.Rand, dk); err != nil {
		return newErr(ErrIO, id, err, "random")
	}
	if _, err := io.ReadFull(v.cfg.Rand, h.prefix[:]); err != nil {
		return newErr(ErrIO, id, err, "random")
	}
	videoAEAD, err := subkeyAEAD(dk, infoVideo)
	if err != nil {
		return fail(err, id)
	}
	recordAEAD, err := subkeyAEAD(dk, infoRecord)
	if err != nil {
		return fail(err, id)
	}

	st, err := v.backend.Stage(ctx, id)
	if err != nil {
		return fail(err, id)
	}
	committed := false
	defer func() {
		if !committed {
			_ = st.Abort()
		}
	}()
	s := newSealer(ctx, video, videoAEAD, h, id, v.cfg.MaxVideoSize)
	if _, err := st.Write(ctx, PartVideo, s); err != nil {
		return fail(err, id)
	}
	rec, err := sealRecord(recordAEAD, id, record, v.cfg.Rand)
	if err != nil {
		return fail(err, id)
	}
	if _, err := st.Write(ctx, PartRecord, bytes.NewReader(rec)); err != nil {
		return fail(err, id)
	}
	kf := keyFile{
		created:   v.cfg.Now().UnixMilli(),
		videoLen:  uint64(s.n),
		recordLen: uint32(len(record)),
	}
	// The data key is wrapped at the end, under the key active at commit
	// time, so Rotate only waits for commits, not for whole uploads.
	v.putMu.RLock()
	defer v.putMu.RUnlock()
	ring := v.ring.Load()
	mk, _ := ring.key(ring.Active())
	if err := kf.wrap(mk, dk, id, v.cfg.Rand); err != nil {
		return fail(err, id)
	}
	if _, err := st.Write(ctx, PartKey, bytes.NewReader(kf.marshal())); err != nil {
		return fail(err, id)
	}
	l := v.lock(id)
	l.Lock()
	defer l.Unlock()
	if err := st.Commit(ctx); err != nil {
		return fail(err, id)
	}
	committed = true
	return nil
}

// Get returns the video as a stream and the decision record of object id.
// The record and the video's header and first chunk are authenticated
// before Get returns; each later chunk is authenticated before any of its
// bytes is returned, and the end of the stream only after the chunk
// flagged last authenticated, so a changed, truncated, extended or
// reordered video makes Read fail with ErrTampered at the latest where it
// would have returned io.EOF. Reads fail with ctx's error once ctx is
// done. The caller must Close the reader.
//
// Errors: ErrNotFound, ErrShredded, ErrTampered, ErrUnknownKey (the ring
// lacks the object's master key), ErrWrongKey. A reader opened before a
// Shred or Delete may still read to the end on the filesystem backend.
func (v *Vault) Get(ctx context.Context, id string) (io.ReadCloser, []byte, error) {
	if err := v.begin(ctx, id); err != nil {
		return nil, nil, err
	}
	kf, dk, err := v.openKey(ctx, v.ring.Load(), id)
	if err != nil {
		return nil, nil, err
	}
	defer clear(dk)
	record, err := v.readRecord(ctx, id, dk, kf.recordLen)
	if err != nil {
		return nil, nil, err
	}
	videoAEAD, err := subkeyAEAD(dk, infoVideo)
	if err != nil {
		return nil, nil, fail(err, id)
	}
	rc, err := v.backend.Open(ctx, id, PartVideo)
	if err != nil {
		return nil, nil, v.missingPart(ctx, id, PartVideo, err)
	}
	var hb [videoHeaderSize]byte
	if n, err := io.ReadFull(rc, hb[:]); err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		rc.Close()
		return nil, nil, newErr(ErrIO, id, err, "reading video header")
	} else if n < videoHeaderSize {
		rc.Close()
		return nil, nil, newErr(ErrTampered, id, nil, "video header truncated")
	}
	h, err := parseVideoHeader(hb[:])
	if err != nil {
		rc.Close()
		return nil, nil, withID(err, id)
	}
	o := newOpener(ctx, rc, videoAEAD, h, id, int64(kf.videoLen))
	if err := o.next(); err != nil {
		rc.Close()
		return nil, nil, fail(err, id)
	}
	return o, record, nil
}

// Record returns the decision record of object id, authenticated, without
// opening the video.
func (v *Vault) Record(ctx context.Context, id string) ([]byte, error) {
	if err := v.begin(ctx, id); err != nil {
		return nil, err
	}
	kf, dk, err := v.openKey(ctx, v.ring.Load(), id)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	return v.readRecord(ctx, id, dk, kf.recordLen)
}

// Stat describes object id from its key file, which it authenticates (so
// it needs the master key but does not read the video).
func (v *Vault) Stat(ctx context.Context, id string) (Info, error) {
	if err := v.begin(ctx, id); err != nil {
		return Info{}, err
	}
	kf, dk, err := v.openKey(ctx, v.ring.Load(), id)
	if err != nil {
		return Info{}, err
	}
	clear(dk)
	return Info{
		ID:         id,
		KeyID:      kf.keyID,
		Created:    time.UnixMilli(kf.created),
		VideoSize:  int64(kf.videoLen),
		RecordSize: int(kf.recordLen),
	}, nil
}

// List calls fn with the ID of every stored object, shredded ones
// included (Stat reports ErrShredded for those), in no particular order.
// It stops at fn's first error and returns it.
func (v *Vault) List(ctx context.Context, fn func(id string) error) error {
	if v.closed.Load() {
		return newErr(ErrClosed, "", nil, "")
	}
	return v.backend.List(ctx, fn)
}

// openKey reads, parses and unwraps the key file of id.
func (v *Vault) openKey(ctx context.Context, ring *KeyRing, id string) (keyFile, []byte, error) {
	rc, err := v.backend.Open(ctx, id, PartKey)
	if err != nil {
		if errors.Is(err, ErrNotFound) && v.tombstoned(ctx, id) {
			return keyFile{}, nil, newErr(ErrShredded, id, nil, "")
		}
		return keyFile{}, nil, fail(err, id)
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxKeyFile+1))
	rc.Close()
	if err != nil {
		return keyFile{}, nil, newErr(ErrIO, id, err, "reading key file")
	}
	// A tombstone beside a key means a Shred was interrupted: the object
	// is shredded all the same.
	if v.tombstoned(ctx, id) {
		return keyFile{}, nil, newErr(ErrShredded, id, nil, "")
	}
	kf, err := parseKeyFile(b)
	if err != nil {
		return keyFile{}, nil, withID(err, id)
	}
	dk, err := kf.unwrap(ring, id)
	if err != nil {
		return keyFile{}, nil, err
	}
	return kf, dk, nil
}

func (v *Vault) tombstoned(ctx context.Context, id string) bool {
	rc, err := v.backend.Open(ctx, id, PartTombstone)
	if err != nil {
		return false
	}
	rc.Close()
	return true
}

// missingPart explains a failed Open of a part whose key file exists.
func (v *Vault) missingPart(ctx context.Context, id string, p Part, err error) error {
	if !errors.Is(err, ErrNotFound) {
		return fail(err, id)
	}
	if v.tombstoned(ctx, id) {
		return newErr(ErrShredded, id, nil, "")
	}
	return newErr(ErrTampered, id, nil, "%s part is missing", p)
}

func (v *Vault) readRecord(ctx context.Context, id string, dk []byte, want uint32) ([]byte, error) {
	aead, err := subkeyAEAD(dk, infoRecord)
	if err != nil {
		return nil, fail(err, id)
	}
	rc, err := v.backend.Open(ctx, id, PartRecord)
	if err != nil {
		return nil, v.missingPart(ctx, id, PartRecord, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(want)+recordHeaderSize+tagSize+1))
	if err != nil {
		return nil, newErr(ErrIO, id, err, "reading record")
	}
	rec, err := openRecord(aead, id, b, want)
	if err != nil {
		return nil, withID(err, id)
	}
	return rec, nil
}

// Rotate makes newActiveKeyID (which must be in the key ring) the active
// key, then rewraps the data key of every object wrapped by another master
// key under it, replacing only each object's small key file: video and
// record bytes are not touched or re-encrypted. Objects already under the
// new key are left alone, so Rotate can be re-run after a failure or to
// catch objects written meanwhile by other processes still using the old
// active key. Once Rotate reports Failed == 0 with every process on the
// new key, the old master key can be removed from the ring (and destroyed,
// which also shreds any old copies of key files a filesystem may retain).
//
// Rotate waits for Puts on this Vault that are committing (wrapping their
// data key and making the object visible, not streaming the video) before
// it switches the key. It continues past objects it cannot rewrap, counting
// them in Failed and joining their errors. Run one Rotate at a time per
// Dir across processes; Puts and Gets may run anywhere meanwhile.
func (v *Vault) Rotate(ctx context.Context, newActiveKeyID string) (RotateStats, error) {
	var st RotateStats
	if v.closed.Load() {
		return st, newErr(ErrClosed, "", nil, "")
	}
	v.rotateMu.Lock()
	defer v.rotateMu.Unlock()
	ring, err := v.ring.Load().WithActive(newActiveKeyID)
	if err != nil {
		return st, err
	}
	v.putMu.Lock()
	v.ring.Store(ring)
	v.putMu.Unlock()

	var errs []error
	err = v.backend.List(ctx, func(id string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		st.Scanned++
		done, err := v.rewrap(ctx, ring, id)
		switch {
		case errors.Is(err, ErrShredded) || errors.Is(err, ErrNotFound):
			st.Skipped++
		case err != nil:
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			st.Failed++
			errs = append(errs, err)
		case done:
			st.Rewrapped++
		default:
			st.Current++
		}
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("vault: rotate: %w", err))
	}
	return st, errors.Join(errs...)
}

// rewrap rewraps one object's data key under ring's active key.
func (v *Vault) rewrap(ctx context.Context, ring *KeyRing, id string) (bool, error) {
	l := v.lock(id)
	l.Lock()
	defer l.Unlock()
	kf, dk, err := v.openKey(ctx, ring, id)
	if err != nil {
		return false, err
	}
	defer clear(dk)
	if kf.keyID == ring.Active() {
		return false, nil
	}
	mk, _ := ring.key(ring.Active())
	if err := kf.wrap(mk, dk, id, v.cfg.Rand); err != nil {
		return false, fail(err, id)
	}
	if err := v.backend.Replace(ctx, id, PartKey, kf.marshal()); err != nil {
		return false, fail(err, id)
	}
	// A Shred from another process may have run between our read and our
	// Replace, which would have resurrected the key: destroy it again.
	if v.tombstoned(ctx, id) {
		if err := v.backend.Destroy(ctx, id, PartKey); err != nil {
			return false, fail(err, id)
		}
		return false, newErr(ErrShredded, id, nil, "")
	}
	return true, nil
}

// Shred crypto-shreds object id: it writes a tombstone, destroys the key
// file holding the wrapped data key (overwritten, fsynced, removed), then
// removes the video and record. From the tombstone on, Get, Record and
// Stat fail with ErrShredded, and the ID cannot be used again. Shredding a
// shredded object finishes any interrupted removal and returns nil;
// ErrNotFound when nothing is stored under id.
func (v *Vault) Shred(ctx context.Context, id string) error {
	if err := v.begin(ctx, id); err != nil {
		return err
	}
	l := v.lock(id)
	l.Lock()
	defer l.Unlock()
	if rc, err := v.backend.Open(ctx, id, PartKey); err == nil {
		rc.Close()
		if err := v.backend.Replace(ctx, id, PartTombstone, marshalTomb(v.cfg.Now().UnixMilli())); err != nil {
			return fail(err, id)
		}
	} else if !errors.Is(err, ErrNotFound) {
		return fail(err, id)
	} else if !v.tombstoned(ctx, id) {
		return newErr(ErrNotFound, id, nil, "")
	}
	for _, p := range []Part{PartKey, PartVideo, PartRecord} {
		if err := v.backend.Destroy(ctx, id, p); err != nil {
			return fail(err, id)
		}
	}
	return nil
}

// Delete removes object id entirely, tombstone included: its key file is
// destroyed first, as by Shred, then the rest. Afterwards Get reports
// ErrNotFound (not ErrShredded) and the ID may be used again. Use Shred to
// keep a trace that the evidence existed and was destroyed on purpose,
// Delete to clean up (e.g. an object stored by mistake). ErrNotFound when
// nothing is stored under id.
func (v *Vault) Delete(ctx context.Context, id string) error {
	if err := v.begin(ctx, id); err != nil {
		return err
	}
	l := v.lock(id)
	l.Lock()
	defer l.Unlock()
	if err := v.backend.Delete(ctx, id); err != nil {
		return fail(err, id)
	}
	return nil
}

// Close marks the Vault closed: later calls fail with ErrClosed, while
// calls in progress and readers already returned by Get finish normally.
// It closes the Backend if it implements io.Closer. Close is idempotent.
func (v *Vault) Close() error {
	v.closeOnce.Do(func() {
		v.closed.Store(true)
		if c, ok := v.backend.(io.Closer); ok {
			v.closeErr = c.Close()
		}
	})
	return v.closeErr
}
