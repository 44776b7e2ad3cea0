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

// Error names the file, the directory and what to do.
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

// knownModels holds the SHA-256 of each model file as published by its
// source (../shared/models/PROVENANCE.md, scripts/models.sh).
var knownModels = map[string]string{
	YuNetFile:          "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
	MobileFaceNetFile:  "8cba0c9041fefd5a8bcc74b5756856a4fdc7fd4a4b3b330a1adb436ca39c7c8e",
	MiniFASNetV2File:   "35de6f455b37a0bce6a242665cc32ac63cd34a232c37329a0418d138efc876e3",
	MiniFASNetV1SEFile: "0df893870e74ab32904cbcdf0e3605282b37b1937c6d33e903e7cc772920a1b5",
}

// KnownModelSHA256 returns the published SHA-256 (hex) of a model file
// name this package knows, and whether it knows it.
func KnownModelSHA256(file string) (string, bool) {
	s, ok := knownModels[file]
	return s, ok
}

type modelHashEntry struct {
	size    int64
	modTime time.Time
	sum     string // hex SHA-256
}

var modelHashes sync.Map // path -> modelHashEntry

// modelSHA256 returns the hex SHA-256 of the file at path, cached per path
// and revalidated by size and modification time.
func modelSHA256(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", &ModelError{File: filepath.Base(path), Dir: filepath.Dir(path), Err: err}
	}
	if v, ok := modelHashes.Load(path); ok {
		e := v.(modelHashEntry)
		if e.size == fi.Size() && e.modTime.Equal(fi.ModTime()) {
			return e.sum, nil
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
	sum := hex.EncodeToString(h.Sum(nil))
	modelHashes.Store(path, modelHashEntry{size: fi.Size(), modTime: fi.ModTime(), sum: sum})
	return sum, nil
}

// ModelID returns "name@sha256prefix" for the model file at path, where
// name is the file's base name without extension and the prefix is the
// first 12 hex digits of its SHA-256, e.g.
// "face_detection_yunet_2023mar@8f2383e4dd3c". Decision records carry it.
// Results are cached per path (and revalidated by size and modification
// time), so calling it per request is cheap. Safe for concurrent use.
func ModelID(path string) (string, error) {
	sum, err := modelSHA256(path)
	if err != nil {
		return "", err
	}
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base)) + "@" + sum[:12], nil
}

// ErrModelCorrupt matches errors from CheckModel for a file that is not
// the expected model.
var ErrModelCorrupt = errors.New("vision: model file corrupt")

// CheckModel guards against handing OpenCV a file it cannot parse: OpenCV
// throws a C++ exception on a malformed ONNX file, which gocv does not
// catch, so the whole process aborts. A file with a name this package
// knows (YuNetFile, ...) must have its published SHA-256; any other file
// must at least start like an ONNX protobuf (ir_version field first). The
// result wraps ErrModelCorrupt or ErrModelMissing. Hashes are cached.
func CheckModel(path string) error {
	if want, ok := knownModels[filepath.Base(path)]; ok {
		sum, err := modelSHA256(path)
		if err != nil {
			return err
		}
		if sum != want {
			return fmt.Errorf("%w: %s has sha256 %s, want %s (re-download it with `make models`)", ErrModelCorrupt, path, sum, want)
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return &ModelError{File: filepath.Base(path), Dir: filepath.Dir(path), Err: err}
	}
	defer f.Close()
	var head [16]byte
	n, _ := io.ReadFull(f, head[:])
	// ModelProto field 1 (ir_version, varint): tag byte 0x08, then a small
	// version number.
	if n < len(head) || head[0] != 0x08 || head[1] == 0 || head[1] > 0x7F {
		return fmt.Errorf("%w: %s does not look like an ONNX model", ErrModelCorrupt, path)
	}
	return nil
}
