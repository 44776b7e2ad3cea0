// Package liveness decides whether a selfie video shows a live person in
// front of the camera, and whether the video is good enough to judge.
//
// It holds the Detector interface and its Result, and the pure-Go analysis
// of per-frame measurements over time (motion, mouth activity, pose). The
// gocv implementation is in liveness/cv.
package liveness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/reason"
)

// Video is a recorded selfie video handed to a Detector.
type Video interface {
	// Open returns a new reader positioned at the start of the video.
	Open() (io.ReadCloser, error)
	// Size is the length of the video in bytes.
	Size() int64
}

// Pather is an optional interface of a Video stored in a local file. A
// detector that decodes from a path uses it instead of copying the video.
// The file must be treated as read-only.
type Pather interface {
	Path() string
}

// FileVideo is a Video in a local file.
type FileVideo struct {
	path string
	size int64
}

// NewFileVideo returns a Video for the file at path.
func NewFileVideo(path string) (*FileVideo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("liveness: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("liveness: %s is not a regular file", path)
	}
	return &FileVideo{path: path, size: fi.Size()}, nil
}

// Open opens the file.
func (f *FileVideo) Open() (io.ReadCloser, error) { return os.Open(f.path) }

// Size returns the file size.
func (f *FileVideo) Size() int64 { return f.size }

// Path returns the file path.
func (f *FileVideo) Path() string { return f.path }

// HeadTurn is an optional head-turn challenge.
type HeadTurn string

// Head-turn challenges.
const (
	TurnNone  HeadTurn = ""
	TurnLeft  HeadTurn = "left"
	TurnRight HeadTurn = "right"
)

// Challenge is what the applicant was asked to do while recording.
type Challenge struct {
	// Text is read aloud (Persian digits or words).
	Text string `json:"text"`
	// Nonce binds the video to one session.
	Nonce string `json:"nonce"`
	// HeadTurn, when set, asks the applicant to turn their head.
	HeadTurn HeadTurn `json:"head_turn,omitempty"`
}

// Verdict is the detector's conclusion.
type Verdict string

// Verdicts. Uncertain is a borderline case for manual review.
const (
	Live           Verdict = "live"
	SpoofSuspected Verdict = "spoof_suspected"
	Uncertain      Verdict = "uncertain"
	// NotJudged means the video failed the quality gate, so liveness was
	// not decided; Result.Quality says why.
	NotJudged Verdict = "not_judged"
)

// Evidence is one signal that went into the verdict.
type Evidence struct {
	// Name is a stable identifier such as "antispoof", "nonrigid_motion",
	// "mouth_activity", "blinks", "face_continuity", "head_turn".
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	// Threshold is the value the signal is compared with; Pass says
	// whether it supports liveness.
	Threshold float64 `json:"threshold"`
	Pass      bool    `json:"pass"`
	// Weight is the signal's share of the fused score (0 if it only
	// vetoes or is informative).
	Weight float64 `json:"weight"`
	Note   string  `json:"note,omitempty"`
}

// Result is the outcome of Detect.
type Result struct {
	Verdict Verdict `json:"verdict"`
	// Score is the fused liveness score in [0,1]; higher is more live.
	Score float64 `json:"score"`
	// Quality lists quality-gate reasons; non-empty means the video is not
	// good enough to judge and Verdict is NotJudged (or SpoofSuspected when
	// the spoof evidence is clear despite the quality problem; Reasons then
	// holds spoof_suspected).
	Quality []reason.Code `json:"quality,omitempty"`
	// Reasons lists liveness reasons (spoof_suspected, challenge_not_met).
	Reasons  []reason.Code `json:"reasons,omitempty"`
	Evidence []Evidence    `json:"evidence,omitempty"`
	// Measures are the video-level quality measures (medians over the
	// face frames) by stable name, e.g. "luminance_mean", "sharpness",
	// "face_height_ratio", "yaw_abs_p50", "shake_px".
	Measures map[string]float64 `json:"measures,omitempty"`
	// Probes are the best faces for matching, best first.
	Probes []facematch.Probe `json:"-"`
	// Frames analysed and the video's duration.
	Frames   int           `json:"frames"`
	Duration time.Duration `json:"duration"`
	// Models names each model used with its version or checksum prefix.
	Models map[string]string `json:"models,omitempty"`
	// Thresholds records the thresholds in force, for the decision record.
	Thresholds map[string]float64 `json:"thresholds,omitempty"`
	// Timings by stage ("decode", "detect", "antispoof", "total").
	Timings map[string]time.Duration `json:"timings,omitempty"`
}

// Detector judges a video. Implementations must be safe for concurrent
// use; they bound their own parallelism.
type Detector interface {
	// Detect analyses v recorded for challenge ch. A video that decodes
	// but is not good enough is a Result with Quality reasons and a nil
	// error. An error means no judgement: an *InputError for a video that
	// cannot be read or is outside the limits, or a context or internal
	// error.
	Detect(ctx context.Context, v Video, ch Challenge) (Result, error)
}

// InputError reports a video the detector refuses to judge: corrupt,
// truncated, not a video, too short or too long, too large. Code is one of
// reason.VideoInvalid, VideoTooShort, VideoTooLong, VideoTooLarge.
type InputError struct {
	Code reason.Code
	Msg  string
	Err  error
}

// Error implements the error interface; branch on the fields or with errors.Is/As, not on this text.
func (e *InputError) Error() string {
	s := "liveness: " + string(e.Code)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

// Is matches ErrInput and another *InputError with the same Code (or an
// empty Code).
func (e *InputError) Is(target error) bool {
	if target == ErrInput {
		return true
	}
	var t *InputError
	if errors.As(target, &t) {
		return t.Code == "" || t.Code == e.Code
	}
	return false
}

// ErrInput matches every *InputError with errors.Is.
var ErrInput = errors.New("liveness: unusable video")
