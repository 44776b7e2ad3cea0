// Package facematch compares the faces seen in a selfie video with the
// civil-registry photo. It holds the Matcher interface, the Probe and Score
// types and pure-Go tools for calibrating thresholds (FMR/FNMR, DET, EER).
//
// Implementations live in subpackages: facematch/onnx (OpenCV DNN over an
// ArcFace-family ONNX model) and facematch/dlib (go-face).
package facematch

import (
	"context"
	"errors"
	"image"
	"time"
)

// Point is a sub-pixel image position.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Rect is a sub-pixel rectangle.
type Rect struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// Landmark indices of a 5-point face, in the ArcFace template order.
const (
	LeftEye    = 0 // image-left eye
	RightEye   = 1 // image-right eye
	Nose       = 2
	LeftMouth  = 3 // image-left mouth corner
	RightMouth = 4 // image-right mouth corner
)

// Probe is one face from the video, chosen by the liveness detector for
// matching. Image is a crop around the face (with margin), and Box and
// Landmarks are in the crop's coordinates.
type Probe struct {
	Image     image.Image `json:"-"`
	Box       Rect        `json:"box"`
	Landmarks [5]Point    `json:"landmarks"`
	// DetScore is the detector's confidence.
	DetScore float64 `json:"det_score"`
	// Quality ranks probes (higher is better); it combines sharpness,
	// exposure, size and frontality.
	Quality float64 `json:"quality"`
	// Head pose in degrees estimated from the landmarks.
	Yaw   float64 `json:"yaw"`
	Pitch float64 `json:"pitch"`
	Roll  float64 `json:"roll"`
	// Frame is the frame index in the video and Time its timestamp.
	Frame int           `json:"frame"`
	Time  time.Duration `json:"time"`
}

// Reference is the photo to match against, usually the registry photo.
type Reference struct {
	// Key identifies the photo for caching its template (for example the
	// national ID plus a hash of the bytes). Empty disables caching.
	Key string
	// Photo is JPEG or PNG bytes; EXIF orientation is honoured.
	Photo []byte
}

// Decision is a matcher's calibrated verdict.
type Decision string

// Decisions. Uncertain is the borderline band that goes to manual review.
const (
	Match     Decision = "match"
	NonMatch  Decision = "non_match"
	Uncertain Decision = "uncertain"
)

// Score is the result of one comparison.
type Score struct {
	// Similarity is the fused similarity (cosine for embedding models),
	// higher meaning more alike.
	Similarity float64  `json:"similarity"`
	Decision   Decision `json:"decision"`
	// Threshold is the similarity at or above which Decision is Match;
	// ReviewFloor is the lower edge of the Uncertain band.
	Threshold   float64 `json:"threshold"`
	ReviewFloor float64 `json:"review_floor"`
	// PerProbe holds the similarity of each probe used, best first.
	PerProbe []float64 `json:"per_probe,omitempty"`
	// Model names the embedding model and its version.
	Model string `json:"model"`
}

// Matcher compares probes from a video with a reference photo.
// Implementations must be safe for concurrent use.
type Matcher interface {
	// Compare returns the fused score of probes against ref. It returns an
	// error wrapping ErrReferenceUnusable when no single clear face can be
	// found in the reference photo, and ErrNoProbes when probes is empty.
	Compare(ctx context.Context, probes []Probe, ref Reference) (Score, error)
}

// Errors of matchers.
var (
	ErrReferenceUnusable = errors.New("facematch: reference photo has no usable face")
	ErrNoProbes          = errors.New("facematch: no probe faces to compare")
)
