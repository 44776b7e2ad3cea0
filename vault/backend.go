package vault

import (
	"context"
	"io"
)

// Part names one stored blob of an object (a plain string value).
type Part string

// Parts of an object. An object exists when its PartKey exists; a
// shredded object keeps only PartTombstone.
const (
	// PartKey is the small key file: the wrapped data key, the master key
	// ID and the object's lengths and creation time.
	PartKey Part = "key"
	// PartVideo is the chunked, sealed video stream.
	PartVideo Part = "video"
	// PartRecord is the sealed decision record.
	PartRecord Part = "record"
	// PartTombstone marks a crypto-shredded object.
	PartTombstone Part = "shredded"
)

// Backend stores the opaque, already encrypted parts of objects. It never
// sees plaintext or unwrapped keys. The filesystem backend is Dir; another
// store (S3, a database) implements these six methods. Implementations
// must be safe for concurrent use, validate nothing about content, and
// report a missing object or part with an error matching ErrNotFound and
// an occupied ID with one matching ErrExists (see Wrap).
type Backend interface {
	// Stage begins writing a new object. Nothing of it is visible to Open
	// or List until Commit succeeds.
	Stage(ctx context.Context, id string) (Staged, error)
	// Open opens a part of a committed object for reading.
	Open(ctx context.Context, id string, p Part) (io.ReadCloser, error)
	// Replace atomically replaces (or creates) a small part of a committed
	// object: a reader sees the old or the new bytes, never a mix. It
	// fails with ErrNotFound when the object does not exist.
	Replace(ctx context.Context, id string, p Part, data []byte) error
	// Destroy removes a part; a missing part is not an error. For PartKey
	// it must also remove any copy the backend made of it (temporary files
	// of an interrupted Replace), overwriting the bytes first where the
	// medium allows, since destroying the key is what shreds an object.
	Destroy(ctx context.Context, id string, p Part) error
	// Delete removes the whole object, tombstone included, so its ID can
	// be used again; the key part is destroyed as by Destroy before the
	// rest. It fails with ErrNotFound when nothing is stored under id.
	Delete(ctx context.Context, id string) error
	// List calls fn with the ID of every committed object (including
	// shredded ones), in no particular order, stopping at fn's first
	// error.
	List(ctx context.Context, fn func(id string) error) error
}

// Staged is an object being written by Put. It is used by one goroutine.
type Staged interface {
	// Write stores part p with the bytes read from r until io.EOF and
	// returns how many it stored. r may return a *Error (the video is too
	// large) or ctx's error; Write returns it unchanged (possibly wrapped).
	Write(ctx context.Context, p Part, r io.Reader) (int64, error)
	// Commit makes the object visible atomically, all parts at once. It
	// fails with ErrExists when id is taken (by a committed object or a
	// tombstone), leaving the existing object untouched.
	Commit(ctx context.Context) error
	// Abort discards everything written; after Commit it does nothing. It
	// is idempotent.
	Abort() error
}
