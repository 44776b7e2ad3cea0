package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // reference photos
	_ "image/png"
	"os"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/facematch/onnx"
	"github.com/hoviyat/hoviyat/internal/vision"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
)

// Error codes of the CLI beyond the reason catalogue's input codes
// (video_invalid, video_too_short, video_too_long, video_too_large).
const (
	codeModelsMissing = "models_missing"
	codePhotoInvalid  = "photo_invalid"
	codeTimeout       = "timeout"
	codeCanceled      = "canceled"
	codeInternal      = "internal"
)

// cliError is a failure to decide, with a stable code.
type cliError struct {
	Code string
	Err  error
}

func (e *cliError) Error() string { return e.Err.Error() }
func (e *cliError) Unwrap() error { return e.Err }

// classify turns an error from the pipeline into a cliError with a code.
func classify(err error) *cliError {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce
	}
	var ie *liveness.InputError
	switch {
	case errors.As(err, &ie):
		code := string(ie.Code)
		if code == "" {
			code = string(reason.VideoInvalid)
		}
		return &cliError{Code: code, Err: err}
	case errors.Is(err, vision.ErrModelMissing), errors.Is(err, vision.ErrModelCorrupt):
		return &cliError{Code: codeModelsMissing, Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &cliError{Code: codeTimeout, Err: err}
	case errors.Is(err, context.Canceled):
		return &cliError{Code: codeCanceled, Err: err}
	}
	return &cliError{Code: codeInternal, Err: err}
}

// engine holds the loaded pipeline: detector, matcher and policy. It is
// safe for concurrent use (each part is).
type engine struct {
	det      liveness.Detector
	closeDet func() error
	matcher  *onnx.Matcher
	pol      *policy.Policy
	models   string
}

// newEngine loads the models from dir ($HOVIYAT_MODELS when empty).
func newEngine(dir string) (*engine, error) {
	if dir == "" {
		dir = vision.ModelsDir()
	}
	if dir == "" {
		return nil, &cliError{Code: codeModelsMissing, Err: fmt.Errorf("hoviyat: no models directory: pass --models or set $%s (see `make models`)", vision.ModelsEnv)}
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, &cliError{Code: codeModelsMissing, Err: fmt.Errorf("hoviyat: models directory %s not found", dir)}
	}
	pol, err := policy.New(policy.Config{})
	if err != nil {
		return nil, fmt.Errorf("hoviyat: %w", err)
	}
	m, err := onnx.New(onnx.Config{ModelsDir: dir})
	if err != nil {
		return nil, err
	}
	det, closeDet, err := newDetector(dir)
	if err != nil {
		m.Close()
		return nil, err
	}
	return &engine{det: det, closeDet: closeDet, matcher: m, pol: pol, models: dir}, nil
}

// Close releases the models.
func (e *engine) Close() error {
	var errs []error
	if e.closeDet != nil {
		errs = append(errs, e.closeDet())
	}
	errs = append(errs, e.matcher.Close())
	return errors.Join(errs...)
}

// reference is a reference photo read and checked.
type reference struct {
	path string
	ref  facematch.Reference
}

// loadReference reads a photo and checks that it decodes as an image.
func loadReference(path string) (reference, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return reference{}, &cliError{Code: codePhotoInvalid, Err: fmt.Errorf("hoviyat: photo: %w", err)}
	}
	if _, _, err := image.DecodeConfig(bytes.NewReader(b)); err != nil {
		return reference{}, &cliError{Code: codePhotoInvalid, Err: fmt.Errorf("hoviyat: photo %s is not a JPEG, PNG or WebP image: %w", path, err)}
	}
	sum := sha256.Sum256(b)
	return reference{path: path, ref: facematch.Reference{Key: hex.EncodeToString(sum[:16]), Photo: b}}, nil
}

// verifyOptions tune one verification for evaluation.
type verifyOptions struct {
	// MinProbeTime drops probes before this time in the video (used when
	// the reference still was taken from the same clip's first second).
	MinProbeTime time.Duration
}

// verification is the result of one video against one photo.
type verification struct {
	Judgement   policy.Judgement
	Live        liveness.Result
	Score       *facematch.Score
	RefUnusable bool
	// Probes are those handed to the matcher (after MinProbeTime).
	Probes []facematch.Probe
	// Timings: the detector's stages, "liveness" (all of Detect), "match"
	// and "total".
	Timings map[string]time.Duration
}

// verify runs Detect, then Compare on the probes when the video passed the
// quality gate, then policy.Decide. An error means no decision.
func (e *engine) verify(ctx context.Context, videoPath string, ref reference, ch liveness.Challenge, opt verifyOptions) (verification, error) {
	t0 := time.Now()
	var out verification
	v, err := liveness.NewFileVideo(videoPath)
	if err != nil {
		return out, &cliError{Code: string(reason.VideoInvalid), Err: err}
	}
	res, err := e.det.Detect(ctx, v, ch)
	if err != nil {
		return out, classify(err)
	}
	tDetect := time.Since(t0)
	out.Live = res
	out.Timings = map[string]time.Duration{}
	for k, d := range res.Timings {
		if k != "total" {
			out.Timings[k] = d
		}
	}
	out.Timings["liveness"] = tDetect

	out.Probes = res.Probes
	if opt.MinProbeTime > 0 {
		var late []facematch.Probe
		for _, p := range res.Probes {
			if p.Time >= opt.MinProbeTime {
				late = append(late, p)
			}
		}
		out.Probes = late
	}
	if len(res.Quality) == 0 && len(out.Probes) > 0 {
		t1 := time.Now()
		s, err := e.matcher.Compare(ctx, out.Probes, ref.ref)
		out.Timings["match"] = time.Since(t1)
		switch {
		case err == nil:
			out.Score = &s
		case errors.Is(err, facematch.ErrReferenceUnusable):
			out.RefUnusable = true
		case errors.Is(err, facematch.ErrNoProbes):
			// No usable probe: matching did not run; policy sends a live
			// verdict to review.
		default:
			return out, classify(err)
		}
	}
	out.Judgement = e.pol.Decide(policy.Evidence{Liveness: res, Match: out.Score, ReferenceUnusable: out.RefUnusable})
	out.Timings["total"] = time.Since(t0)
	return out, nil
}
