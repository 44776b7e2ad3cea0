package vault

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Dir is the filesystem Backend. Its layout under the root directory:
//
//	objects/<xx>/<id>/key        key file (wrapped data key), see doc.go
//	objects/<xx>/<id>/video      sealed video stream
//	objects/<xx>/<id>/record     sealed decision record
//	objects/<xx>/<id>/shredded   tombstone of a shredded object (alone)
//	staging/put-*/               objects being written by Put
//	staging/del-*/               objects being deleted
//
// where <xx> is the first two hex digits of SHA-256(id), which spreads
// objects over 256 directories. Directories are created 0700 and files
// 0600. An object is written in full under staging/ (each file fsynced),
// then its directory is renamed into objects/ in one step, so a reader or
// a crash sees all of it or none of it; a small part is replaced by
// writing a temporary file in the object's directory, fsyncing it and
// renaming it over the old one.
//
// Several processes may share one Dir (on a local filesystem with POSIX
// rename). On a case-insensitive filesystem, IDs that differ only in case
// collide (the second Put fails with ErrExists). Staging entries older than 24 hours (left by a crash) are
// removed, key files destroyed first, when a Dir is opened.
//
// Dir is safe for concurrent use.
type Dir struct {
	root    string
	objects string
	staging string
}

var _ Backend = (*Dir)(nil)

// staleStaging is the age after which NewDir removes staging debris.
const staleStaging = 24 * time.Hour

// NewDir opens the filesystem backend rooted at path, creating it (0700)
// when missing. An existing root must be a directory with no group or
// other permissions.
func NewDir(path string) (*Dir, error) {
	if path == "" {
		return nil, newErr(ErrInvalidConfig, "", nil, "empty directory path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, newErr(ErrInvalidConfig, "", err, "directory %q", path)
	}
	d := &Dir{
		root:    abs,
		objects: filepath.Join(abs, "objects"),
		staging: filepath.Join(abs, "staging"),
	}
	for _, p := range []string{d.root, d.objects, d.staging} {
		if err := ensurePrivateDir(p); err != nil {
			return nil, err
		}
	}
	d.sweep(time.Now().Add(-staleStaging))
	return d, nil
}

// ensurePrivateDir creates p (0700) or checks an existing one.
func ensurePrivateDir(p string) error {
	if err := os.MkdirAll(p, 0o700); err != nil {
		return newErr(ErrIO, "", err, "creating %s", p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return newErr(ErrIO, "", err, "")
	}
	if !fi.IsDir() {
		return newErr(ErrInvalidConfig, "", nil, "%s is not a directory", p)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return newErr(ErrInvalidConfig, "", nil,
			"%s has mode %04o; evidence directories must not be accessible to group or others (chmod 0700)", p, perm)
	}
	return nil
}

// Root returns the absolute root directory.
func (d *Dir) Root() string { return d.root }

// objDir is the directory of object id (already validated).
func (d *Dir) objDir(id string) string {
	h := sha256.Sum256([]byte(id))
	return filepath.Join(d.objects, hex.EncodeToString(h[:1]), id)
}

// Stage implements Backend.
func (d *Dir) Stage(ctx context.Context, id string) (Staged, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Fail early rather than after encrypting a whole video; Commit is the
	// authoritative check.
	if occupied(d.objDir(id)) {
		return nil, newErr(ErrExists, id, nil, "")
	}
	tmp, err := os.MkdirTemp(d.staging, "put-*")
	if err != nil {
		return nil, newErr(ErrIO, id, err, "staging")
	}
	return &dirStaged{d: d, id: id, tmp: tmp}, nil
}

// occupied reports whether dir holds anything.
func occupied(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) > 0
}

type dirStaged struct {
	d         *Dir
	id        string
	tmp       string
	committed bool
	aborted   bool
}

// ioWriter marks write errors as ErrIO so they are told apart from the
// reader's errors (ctx, ErrTooLarge) coming out of io.Copy.
type ioWriter struct {
	f  *os.File
	id string
}

func (w ioWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		return n, newErr(ErrIO, w.id, err, "writing")
	}
	return n, nil
}

func (s *dirStaged) Write(ctx context.Context, p Part, r io.Reader) (int64, error) {
	if s.committed || s.aborted {
		return 0, newErr(ErrIO, s.id, nil, "write after commit or abort")
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	path := filepath.Join(s.tmp, string(p))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, newErr(ErrIO, s.id, err, "creating %s", p)
	}
	n, err := io.Copy(ioWriter{f, s.id}, r)
	if err == nil {
		if err = f.Sync(); err != nil {
			err = newErr(ErrIO, s.id, err, "syncing %s", p)
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = newErr(ErrIO, s.id, cerr, "closing %s", p)
	}
	if err != nil {
		_ = os.Remove(path)
		return n, err
	}
	return n, nil
}

func (s *dirStaged) Commit(ctx context.Context) error {
	if s.committed {
		return nil
	}
	if s.aborted {
		return newErr(ErrIO, s.id, nil, "commit after abort")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := syncDir(s.tmp); err != nil {
		return newErr(ErrIO, s.id, err, "syncing staging")
	}
	dst := s.d.objDir(s.id)
	shard := filepath.Dir(dst)
	if err := os.MkdirAll(shard, 0o700); err != nil {
		return newErr(ErrIO, s.id, err, "")
	}
	if err := os.Rename(s.tmp, dst); err != nil {
		if occupied(dst) {
			return newErr(ErrExists, s.id, nil, "")
		}
		return newErr(ErrIO, s.id, err, "committing")
	}
	s.committed = true
	if err := syncDir(shard); err != nil {
		return newErr(ErrIO, s.id, err, "syncing")
	}
	_ = syncDir(s.d.staging)
	return nil
}

func (s *dirStaged) Abort() error {
	if s.committed || s.aborted {
		return nil
	}
	s.aborted = true
	destroyKeys(s.tmp)
	if err := os.RemoveAll(s.tmp); err != nil {
		return newErr(ErrIO, s.id, err, "removing staging")
	}
	return nil
}

// Open implements Backend.
func (d *Dir) Open(ctx context.Context, id string, p Part) (io.ReadCloser, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(d.objDir(id), string(p)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, newErr(ErrNotFound, id, nil, "no %s", p)
		}
		return nil, newErr(ErrIO, id, err, "")
	}
	return f, nil
}

// Replace implements Backend.
func (d *Dir) Replace(ctx context.Context, id string, p Part, data []byte) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := d.objDir(id)
	f, err := os.CreateTemp(dir, ".tmp-"+string(p)+"-*")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return newErr(ErrNotFound, id, nil, "")
		}
		return newErr(ErrIO, id, err, "")
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		if p == PartKey {
			_ = overwriteRemove(tmp)
		} else {
			_ = os.Remove(tmp)
		}
		return newErr(ErrIO, id, err, "replacing %s", p)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, string(p))); err != nil {
		return fail(err)
	}
	if err := syncDir(dir); err != nil {
		return newErr(ErrIO, id, err, "syncing")
	}
	return nil
}

// Destroy implements Backend. For PartKey it overwrites the file (and any
// temporary copy) with random bytes and fsyncs before unlinking. On a
// journaling or copy-on-write filesystem, an SSD or a snapshot, old blocks
// may survive: see "Crypto-shredding" in the package documentation.
func (d *Dir) Destroy(ctx context.Context, id string, p Part) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := d.objDir(id)
	path := filepath.Join(dir, string(p))
	var err error
	if p == PartKey {
		err = overwriteRemove(path)
		tmps, _ := filepath.Glob(filepath.Join(dir, ".tmp-"+string(PartKey)+"-*"))
		for _, t := range tmps {
			if e := overwriteRemove(t); err == nil {
				err = e
			}
		}
	} else if e := os.Remove(path); e != nil && !errors.Is(e, fs.ErrNotExist) {
		err = e
	}
	if err != nil {
		return newErr(ErrIO, id, err, "destroying %s", p)
	}
	if err := syncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return newErr(ErrIO, id, err, "syncing")
	}
	return nil
}

// Delete implements Backend: the object's directory is first renamed
// into staging/ (so it disappears in one step), then its key files are
// destroyed and the rest removed.
func (d *Dir) Delete(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	src := d.objDir(id)
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return newErr(ErrNotFound, id, nil, "")
	}
	trash, err := os.MkdirTemp(d.staging, "del-*")
	if err != nil {
		return newErr(ErrIO, id, err, "")
	}
	if err := os.Rename(src, filepath.Join(trash, "obj")); err != nil {
		_ = os.Remove(trash)
		if errors.Is(err, fs.ErrNotExist) {
			return newErr(ErrNotFound, id, nil, "")
		}
		return newErr(ErrIO, id, err, "deleting")
	}
	_ = syncDir(filepath.Dir(src))
	destroyKeys(trash)
	if err := os.RemoveAll(trash); err != nil {
		return newErr(ErrIO, id, err, "deleting")
	}
	return nil
}

// List implements Backend.
func (d *Dir) List(ctx context.Context, fn func(id string) error) error {
	shards, err := os.ReadDir(d.objects)
	if err != nil {
		return newErr(ErrIO, "", err, "listing")
	}
	for _, s := range shards {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !s.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(d.objects, s.Name()))
		if err != nil {
			return newErr(ErrIO, "", err, "listing")
		}
		for _, e := range entries {
			if !e.IsDir() || checkID(e.Name()) != nil {
				continue
			}
			if err := fn(e.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}

// sweep removes staging entries last modified before cutoff.
func (d *Dir) sweep(cutoff time.Time) {
	entries, err := os.ReadDir(d.staging)
	if err != nil {
		return
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		p := filepath.Join(d.staging, e.Name())
		destroyKeys(p)
		_ = os.RemoveAll(p)
	}
}

// destroyKeys overwrites and removes every key file (and temporary key
// file) under root.
func destroyKeys(root string) {
	_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		if n := e.Name(); n == string(PartKey) || strings.HasPrefix(n, ".tmp-"+string(PartKey)+"-") {
			_ = overwriteRemove(p)
		}
		return nil
	})
}

// overwriteRemove overwrites a regular file with random bytes, fsyncs and
// removes it. A missing file is not an error. Anything but a regular file
// (a symlink planted by someone with write access, say) is only unlinked,
// never written through.
func overwriteRemove(path string) error {
	lfi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if lfi.Mode().IsRegular() {
		err = overwrite(path, lfi)
	}
	if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return rerr
	}
	if err != nil {
		return fmt.Errorf("overwriting %s: %w", filepath.Base(path), err)
	}
	return nil
}

// overwrite writes random bytes over the file lfi describes, after
// checking that the file opened is that one (not swapped meanwhile).
func overwrite(path string, lfi fs.FileInfo) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(fi, lfi) || !fi.Mode().IsRegular() {
		return errors.New("file changed while being destroyed")
	}
	if fi.Size() == 0 || fi.Size() > 1<<20 {
		return nil
	}
	junk := make([]byte, fi.Size())
	_, _ = rand.Read(junk)
	if _, err := f.WriteAt(junk, 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// syncDir fsyncs a directory so renames and removals in it are durable.
func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// maxIDLen bounds an object ID.
const maxIDLen = 128

// checkID validates an object ID: 1 to 128 characters from
// [A-Za-z0-9._-], not starting with a dot. This keeps IDs usable as file
// names and object keys and rules out path traversal.
func checkID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return newErr(ErrInvalidID, "", nil, "length %d, want 1 to %d", len(id), maxIDLen)
	}
	if id[0] == '.' {
		return newErr(ErrInvalidID, "", nil, "%q starts with a dot", id)
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return newErr(ErrInvalidID, "", nil, "%q: character %q not in [A-Za-z0-9._-]", id, id[i])
		}
	}
	return nil
}
