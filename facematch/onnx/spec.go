package onnx

import (
	"fmt"
	"math"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/vision"
)

// ColorOrder is the channel order an embedding model expects.
type ColorOrder string

// Channel orders.
const (
	RGB ColorOrder = "rgb"
	BGR ColorOrder = "bgr"
)

// Spec describes an ArcFace-family embedding model's input and output (a
// plain value, copied by New):
// everything the Matcher needs to feed it correctly. Two models with the
// same architecture but different training pipelines differ here, and a
// wrong Spec silently ruins accuracy, so take it from the model's source.
type Spec struct {
	// Name is a short model name for logs (the Score's Model field carries
	// the file's name and checksum prefix instead).
	Name string
	// File is the model's file name in the models directory.
	File string
	// Template is the 5-point alignment template in ArcFace landmark
	// order; the aligned crop is Template.Size pixels square, which is
	// also the network's input size.
	Template [5]facematch.Point
	// InputSize is the side of the square input (e.g. 112).
	InputSize int
	// Color is the channel order fed to the network.
	Color ColorOrder
	// Scale multiplies raw 0..255 pixel values (1/255 for [0,1] inputs).
	Scale float64
	// Mean and Std are per-channel, in the network's channel order, and
	// applied after Scale: x' = (x*Scale - Mean[c]) / Std[c].
	Mean [3]float64
	Std  [3]float64
	// InputName and OutputName are the ONNX tensor names; empty means the
	// network's first input and last output.
	InputName  string
	OutputName string
	// EmbeddingSize is the expected output length (0: not checked).
	EmbeddingSize int
	// Normalize L2-normalises the output so that the dot product is the
	// cosine similarity.
	Normalize bool
	// Thresholds are the calibrated defaults for Config.Thresholds (cosine
	// of the fused score); see docs/bench/facematch.md for how.
	Thresholds facematch.Thresholds
}

// MobileFaceNetSpec is the provided MobileFaceNet (foamliu weights, opset
// 10 ONNX, 128-d), per ../shared/models/PROVENANCE.md: ArcFace 112
// template, BGR->RGB, x/255, ImageNet mean and std, L2-normalised output
// compared by cosine. Its thresholds were calibrated on the shared data
// (docs/bench/facematch.md).
var MobileFaceNetSpec = Spec{
	Name:          "mobilefacenet",
	File:          vision.MobileFaceNetFile,
	Template:      vision.ArcFace112.Points,
	InputSize:     112,
	Color:         RGB,
	Scale:         1.0 / 255,
	Mean:          [3]float64{0.485, 0.456, 0.406},
	Std:           [3]float64{0.229, 0.224, 0.225},
	InputName:     "input0",
	OutputName:    "output0",
	EmbeddingSize: 128,
	Normalize:     true,
	// Calibrated on the shared data (docs/bench/facematch.md): the highest
	// impostor is 0.36 for fused video-vs-still pairs, 0.38 for the
	// deepface photo pairs and 0.48 for look-alike go-face celebrities,
	// while every genuine video window scores >= 0.74 (0.80 across
	// sessions). 0.50 keeps every impostor pair out of Match with a
	// margin; genuine pairs between 0.30 and 0.50 go to review.
	Thresholds: facematch.Thresholds{Match: 0.50, ReviewFloor: 0.30},
}

// SFaceFile is the OpenCV Zoo SFace model file name
// (github.com/opencv/opencv_zoo, models/face_recognition_sface,
// Apache-2.0, about 37 MB). It is not among the provided models.
const SFaceFile = "face_recognition_sface_2021dec.onnx"

// SFaceSpec is OpenCV Zoo's SFace (128-d), with the pre-processing of
// OpenCV's FaceRecognizerSF (modules/objdetect/src/face_recognize.cpp):
// the same ArcFace 112 template, blobFromImage with scale 1, no mean and
// swapRB (so RGB, raw 0..255), the network's default input and output,
// and features L2-normalised before the cosine. Its thresholds are
// OpenCV Zoo's published cosine threshold (0.363) with a review band
// below; they were NOT calibrated here because the model is not
// available in this environment: calibrate them on your data with
// facematch/onnx/calib before relying on them.
var SFaceSpec = Spec{
	Name:          "sface",
	File:          SFaceFile,
	Template:      vision.ArcFace112.Points,
	InputSize:     112,
	Color:         RGB,
	Scale:         1,
	Mean:          [3]float64{0, 0, 0},
	Std:           [3]float64{1, 1, 1},
	EmbeddingSize: 128,
	Normalize:     true,
	Thresholds:    facematch.Thresholds{Match: 0.363, ReviewFloor: 0.28},
}

// Validate checks the Spec for values the Matcher cannot use.
func (s Spec) Validate() error {
	switch {
	case s.InputSize < 16 || s.InputSize > 1024:
		return fmt.Errorf("onnx: spec %q: input size %d outside [16,1024]", s.Name, s.InputSize)
	case s.Color != RGB && s.Color != BGR:
		return fmt.Errorf("onnx: spec %q: colour order %q is neither rgb nor bgr", s.Name, s.Color)
	case s.Scale <= 0 || math.IsNaN(s.Scale) || math.IsInf(s.Scale, 0):
		return fmt.Errorf("onnx: spec %q: scale %g must be positive", s.Name, s.Scale)
	case s.EmbeddingSize < 0:
		return fmt.Errorf("onnx: spec %q: negative embedding size", s.Name)
	}
	for c := 0; c < 3; c++ {
		if !(s.Std[c] > 0) || math.IsInf(s.Std[c], 0) || math.IsNaN(s.Mean[c]) || math.IsInf(s.Mean[c], 0) {
			return fmt.Errorf("onnx: spec %q: channel %d mean %g / std %g invalid", s.Name, c, s.Mean[c], s.Std[c])
		}
	}
	spread := 0.0
	for _, p := range s.Template[1:] {
		spread = max(spread, math.Abs(p.X-s.Template[0].X), math.Abs(p.Y-s.Template[0].Y))
	}
	if spread < 1 {
		return fmt.Errorf("onnx: spec %q: alignment template is degenerate", s.Name)
	}
	if err := s.Thresholds.Validate(); err != nil {
		return fmt.Errorf("onnx: spec %q: %w", s.Name, err)
	}
	return nil
}
