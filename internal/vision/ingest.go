package vision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
)

// Default ingestion limits (issue 3: 50 MB, 1.5–30 s, longest side 4096).
const (
	DefaultMaxBytes     int64 = 50 << 20
	DefaultMinDuration        = 1500 * time.Millisecond
	DefaultMaxDuration        = 30 * time.Second
	DefaultMaxSide            = 4096
	DefaultProbeTimeout       = 15 * time.Second
)

// Limits bound what Ingest accepts. Zero values mean the defaults above.
// A Limits value is read-only once passed in and safe to share.
type Limits struct {
	// MaxBytes is the largest video accepted, checked before anything is
	// decoded (and while spooling, for readers that do not know their size).
	MaxBytes int64
	// MinDuration and MaxDuration bound the video's duration.
	MinDuration, MaxDuration time.Duration
	// MaxSide bounds the longest side of the frames in pixels.
	MaxSide int
	// TempDir is where readers are spooled; "" means os.TempDir().
	TempDir string
	// FFprobe is the ffprobe executable used to probe videos: "" looks up
	// "ffprobe" in $PATH and falls back to OpenCV's properties when it is
	// not found; "-" disables ffprobe.
	FFprobe string
	// ProbeTimeout bounds the ffprobe subprocess (the context's deadline
	// wins when it is earlier).
	ProbeTimeout time.Duration
}

// WithDefaults returns l with zero fields replaced by the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MinDuration <= 0 {
		l.MinDuration = DefaultMinDuration
	}
	if l.MaxDuration <= 0 {
		l.MaxDuration = DefaultMaxDuration
	}
	if l.MaxSide <= 0 {
		l.MaxSide = DefaultMaxSide
	}
	if l.ProbeTimeout <= 0 {
		l.ProbeTimeout = DefaultProbeTimeout
	}
	return l
}

// inputError builds the typed error a detector returns for a video it
// refuses to judge.
func inputError(code reason.Code, msg string, err error) error {
	return &liveness.InputError{Code: code, Msg: msg, Err: err}
}

// Source is a video in a local file, ready to be probed and decoded: either
// the caller's own file (read-only) or a private spooled copy that Close
// removes. A Source is not safe for concurrent Close; reading its Path from
// several goroutines is fine.
type Source struct {
	path string
	size int64
	dir  string // private temp dir to remove on Close, "" if none
}

// Path is the local file to decode.
func (s *Source) Path() string { return s.path }

// Size is the file size in bytes.
func (s *Source) Size() int64 { return s.size }

// Spooled reports whether the video was copied to a private temp file.
func (s *Source) Spooled() bool { return s.dir != "" }

// Close removes the spooled copy, if any. It is idempotent.
func (s *Source) Close() error {
	if s == nil || s.dir == "" {
		return nil
	}
	dir := s.dir
	s.dir = ""
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("vision: removing spool: %w", err)
	}
	return nil
}

// OpenSource makes v available as a local file within the size limit. A
// video that implements liveness.Pather is used in place when its path is
// safe to hand to FFmpeg; anything else is spooled to a private temp file
// (mode 0600 in a 0700 directory). Oversized videos are refused with a
// *liveness.InputError (reason.VideoTooLarge) before any byte is decoded,
// empty ones with reason.VideoInvalid.
func OpenSource(ctx context.Context, v liveness.Video, lim Limits) (*Source, error) {
	lim = lim.WithDefaults()
	if v == nil {
		return nil, inputError(reason.VideoInvalid, "no video", nil)
	}
	if n := v.Size(); n > lim.MaxBytes {
		return nil, inputError(reason.VideoTooLarge, fmt.Sprintf("%d bytes, limit %d", n, lim.MaxBytes), nil)
	}
	if p, ok := v.(liveness.Pather); ok && p.Path() != "" {
		return sourceFromPath(ctx, p.Path(), lim)
	}
	rc, err := v.Open()
	if err != nil {
		return nil, fmt.Errorf("vision: opening video: %w", err)
	}
	defer rc.Close()
	return Spool(ctx, rc, lim)
}

// sourceFromPath uses a caller's file in place. FFmpeg treats some names
// specially ("%d" patterns, "proto:" prefixes), so such paths are linked
// under a neutral name in a private directory instead.
func sourceFromPath(ctx context.Context, path string, lim Limits) (*Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("vision: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("vision: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, inputError(reason.VideoInvalid, "not a regular file", nil)
	}
	if fi.Size() > lim.MaxBytes {
		return nil, inputError(reason.VideoTooLarge, fmt.Sprintf("%d bytes, limit %d", fi.Size(), lim.MaxBytes), nil)
	}
	if fi.Size() == 0 {
		return nil, inputError(reason.VideoInvalid, "empty file", nil)
	}
	if !strings.ContainsAny(abs, "%:?*\n") {
		return &Source{path: abs, size: fi.Size()}, nil
	}
	dir, err := os.MkdirTemp(lim.TempDir, "hoviyat-video-")
	if err != nil {
		return nil, fmt.Errorf("vision: spool dir: %w", err)
	}
	link := filepath.Join(dir, "video")
	if err := os.Symlink(abs, link); err != nil {
		// Fall back to copying when symlinks are not available.
		os.RemoveAll(dir)
		f, err := os.Open(abs)
		if err != nil {
			return nil, fmt.Errorf("vision: %w", err)
		}
		defer f.Close()
		return Spool(ctx, f, lim)
	}
	return &Source{path: link, size: fi.Size(), dir: dir}, nil
}

// spoolChunk is the copy granularity; the context is checked between chunks.
const spoolChunk = 256 << 10

// Spool copies r to a private temp file, refusing more than lim.MaxBytes
// with reason.VideoTooLarge (the excess is never read past one byte) and an
// empty stream with reason.VideoInvalid. The context is checked between
// chunks. The caller must Close the Source.
func Spool(ctx context.Context, r io.Reader, lim Limits) (_ *Source, err error) {
	lim = lim.WithDefaults()
	dir, err := os.MkdirTemp(lim.TempDir, "hoviyat-video-")
	if err != nil {
		return nil, fmt.Errorf("vision: spool dir: %w", err)
	}
	src := &Source{dir: dir, path: filepath.Join(dir, "video")}
	defer func() {
		if err != nil {
			src.Close()
		}
	}()
	f, err := os.OpenFile(src.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vision: spool file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("vision: spool file: %w", cerr)
		}
	}()
	buf := make([]byte, spoolChunk)
	lr := io.LimitReader(r, lim.MaxBytes+1)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("vision: spooling: %w", err)
		}
		k, rerr := lr.Read(buf)
		if k > 0 {
			n += int64(k)
			if n > lim.MaxBytes {
				return nil, inputError(reason.VideoTooLarge, fmt.Sprintf("more than %d bytes", lim.MaxBytes), nil)
			}
			if _, werr := f.Write(buf[:k]); werr != nil {
				return nil, fmt.Errorf("vision: spooling: %w", werr)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("vision: reading video: %w", rerr)
		}
	}
	if n == 0 {
		return nil, inputError(reason.VideoInvalid, "empty video", nil)
	}
	src.size = n
	return src, nil
}
