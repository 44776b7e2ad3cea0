package vision

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Model file names as published by their sources (see scripts/models.sh and
// ../shared/models/PROVENANCE.md for where each comes from and its checksum).
const (
	YuNetFile          = "face_detection_yunet_2023mar.onnx"
	MobileFaceNetFile  = "mobilefacenet_foamliu_opset10.onnx"
	MiniFASNetV2File   = "2.7_80x80_MiniFASNetV2.onnx"
	MiniFASNetV1SEFile = "4_0_0_80x80_MiniFASNetV1SE.onnx"
)

// ModelsEnv is the environment variable naming the models directory.
const ModelsEnv = "HOVIYAT_MODELS"

// ErrModelMissing matches every *ModelError with errors.Is.
var ErrModelMissing = errors.New("vision: model file missing")

// ModelError reports a model file that cannot be found or read. It names
// the file and the environment variable that points at the models
// directory, so the message tells a user what to fix.
type ModelError struct {
	File string // file name, e.g. YuNetFile
	Dir  string // directory searched (empty when none was configured)
	Err  error  // underlying cause, if any
}

func (e *ModelError) Error() string {
	var s string
	if e.Dir == "" {
		s = fmt.Sprintf("vision: model %s not found: no models directory given and $%s is not set (run `make models` and set $%s)", e.File, ModelsEnv, ModelsEnv)
	} else {
		s = fmt.Sprintf("vision: model %s not found in %s (set $%s to the directory holding it, or run `make models`)", e.File, e.Dir, ModelsEnv)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *ModelError) Unwrap() error { return e.Err }

// Is reports whether target is ErrModelMissing.
func (e *ModelError) Is(target error) bool { return target == ErrModelMissing }

// ModelsDir returns the models directory from $HOVIYAT_MODELS ("" if unset).
func ModelsDir() string { return os.Getenv(ModelsEnv) }

// ModelPath returns the path of file in dir, or in ModelsDir() when dir is
// empty. It returns a *ModelError (matching ErrModelMissing) when no
// directory is configured or the file is not a readable regular file.
func ModelPath(dir, file string) (string, error) {
	if dir == "" {
		dir = ModelsDir()
	}
	if dir == "" {
		return "", &ModelError{File: file}
	}
	p := filepath.Join(dir, file)
	fi, err := os.Stat(p)
	if err != nil {
		return "", &ModelError{File: file, Dir: dir, Err: err}
	}
	if !fi.Mode().IsRegular() {
		return "", &ModelError{File: file, Dir: dir, Err: errors.New("not a regular file")}
	}
	return p, nil
}

type modelIDEntry struct {
	size    int64
	modTime time.Time
	id      string
}

var modelIDs sync.Map // path -> modelIDEntry

// ModelID returns "name@sha256prefix" for the model file at path, where
// name is the file's base name without extension and the prefix is the
// first 12 hex digits of its SHA-256, e.g.
// "face_detection_yunet_2023mar@8f2383e4dd3c". Decision records carry it.
// Results are cached per path (and revalidated by size and modification
// time), so calling it per request is cheap. Safe for concurrent use.
func ModelID(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", &ModelError{File: filepath.Base(path), Dir: filepath.Dir(path), Err: err}
	}
	if v, ok := modelIDs.Load(path); ok {
		e := v.(modelIDEntry)
		if e.size == fi.Size() && e.modTime.Equal(fi.ModTime()) {
			return e.id, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", &ModelError{File: filepath.Base(path), Dir: filepath.Dir(path), Err: err}
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("vision: hashing %s: %w", path, err)
	}
	base := filepath.Base(path)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	id := name + "@" + hex.EncodeToString(h.Sum(nil))[:12]
	modelIDs.Store(path, modelIDEntry{size: fi.Size(), modTime: fi.ModTime(), id: id})
	return id, nil
}
