package liveness

import (
	"time"

	"github.com/hoviyat/hoviyat/facematch"
)

// CropSize is the side of FrameMeasures.Crop: the main face aligned by its
// five landmarks onto the ArcFace template scaled to this size, so that the
// eyes, nose and mouth fall on the same pixels in every frame whatever the
// head's position, size and roll.
const CropSize = 96

// Template positions of the landmarks in a CropSize crop (the 112-pixel
// ArcFace template scaled by CropSize/112), in facematch landmark order.
var CropLandmarks = [5]facematch.Point{
	{X: 38.2946 * CropSize / 112, Y: 51.6963 * CropSize / 112},
	{X: 73.5318 * CropSize / 112, Y: 51.5014 * CropSize / 112},
	{X: 56.0252 * CropSize / 112, Y: 71.7366 * CropSize / 112},
	{X: 41.5493 * CropSize / 112, Y: 92.3655 * CropSize / 112},
	{X: 70.7299 * CropSize / 112, Y: 92.2041 * CropSize / 112},
}

// FaceObs is one face found in a frame, in the frame's (upright) pixels. A
// plain value, safe to share.
type FaceObs struct {
	Box       facematch.Rect     `json:"box"`
	Landmarks [5]facematch.Point `json:"landmarks"`
	Score     float64            `json:"score"`
}

// Area returns the box area in square pixels.
func (f FaceObs) Area() float64 { return f.Box.W * f.Box.H }

// IOD returns the inter-ocular distance in pixels.
func (f FaceObs) IOD() float64 {
	return dist(f.Landmarks[facematch.LeftEye], f.Landmarks[facematch.RightEye])
}

// FrameMeasures is what the per-frame stage measures on one sampled frame;
// the quality gate and the liveness analysis work from a sequence of them.
// Photometric and pose fields describe the main face (Faces[0]) and are
// zero when no face was found. A FrameMeasures is a plain value; the
// analysis only reads it.
type FrameMeasures struct {
	// Index and Time locate the frame in the video (decoder timestamps).
	Index int           `json:"index"`
	Time  time.Duration `json:"time"`
	// Width and Height are the upright frame size in pixels.
	Width  int `json:"width"`
	Height int `json:"height"`
	// Faces are all faces found, the main (largest) face first, then by
	// decreasing area.
	Faces []FaceObs `json:"faces,omitempty"`

	// Luma is the mean luminance (BT.601 Y, 0-255) of the main face's
	// inner box.
	Luma float64 `json:"luma"`
	// Under and Over are the shares of face pixels with luminance 0-25 and
	// 247-255 (ISO/IEC 29794-5 / OFIQ under- and over-exposure).
	Under float64 `json:"under"`
	Over  float64 `json:"over"`
	// DynamicRange is the spread of face luminance, 99th minus 1st
	// percentile, in 0-255 levels.
	DynamicRange float64 `json:"dynamic_range"`
	// Sharpness is the root-mean-square gradient of the face resampled to
	// a fixed size, divided by the face's luminance standard deviation
	// (so it does not depend on resolution or on contrast); blur and too
	// few pixels on the face both lower it.
	Sharpness float64 `json:"sharpness"`
	// Glare is the share of face pixels that are specular highlights
	// (near-white and unsaturated): reflections on glasses, a glossy
	// photo, a screen.
	Glare float64 `json:"glare"`
	// FacePixels is the main face box's height in source pixels.
	FacePixels float64 `json:"face_pixels"`
	// Head pose in degrees from the landmarks (see vision.HeadPose).
	Yaw   float64 `json:"yaw"`
	Pitch float64 `json:"pitch"`
	Roll  float64 `json:"roll"`

	// Crop is the aligned grey face (CropSize x CropSize, row-major, one
	// byte per pixel), nil without a face.
	Crop []byte `json:"-"`
	// Thumb is the whole frame in grey, downscaled to ThumbW x ThumbH
	// (row-major), for global motion.
	Thumb  []byte `json:"-"`
	ThumbW int    `json:"-"`
	ThumbH int    `json:"-"`
}

// HasFace reports whether a face was found.
func (m *FrameMeasures) HasFace() bool { return len(m.Faces) > 0 }

// Main returns the main face; ok is false without one.
func (m *FrameMeasures) Main() (FaceObs, bool) {
	if len(m.Faces) == 0 {
		return FaceObs{}, false
	}
	return m.Faces[0], true
}

// SpoofObs is what the passive anti-spoofing models and the replay-cue
// measures say about the main face of one frame. A plain value, safe to
// share.
type SpoofObs struct {
	Index int `json:"index"`
	// Real is MiniFASNet's fused p(live) (V2 and V1SE softmax averaged).
	Real float64 `json:"real"`
	V2   float64 `json:"v2"`
	V1SE float64 `json:"v1se"`
	// Replay cues in [0,1] (see vision.ReplayCues): higher Moire, Bezel
	// and BezelSides are more attack-like.
	Moire      float64 `json:"moire"`
	Bezel      float64 `json:"bezel"`
	BezelSides float64 `json:"bezel_sides"`
	Detail     float64 `json:"detail"`
	Contrast   float64 `json:"contrast"`
	DarkLevel  float64 `json:"dark_level"`
	Specular   float64 `json:"specular"`
}
