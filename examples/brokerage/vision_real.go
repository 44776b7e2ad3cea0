package main

import (
	"io"

	"github.com/hoviyat/hoviyat/facematch/onnx"
	"github.com/hoviyat/hoviyat/liveness/cv"
)

// newRealVision builds the real pipeline from the models in dir (default
// $HOVIYAT_MODELS): liveness/cv (YuNet, MiniFASNet, temporal analysis)
// and facematch/onnx (MobileFaceNet). workers bounds each one's
// concurrent analyses (0: their defaults); maxBytes is the upload cap.
func newRealVision(dir string, workers int, maxBytes int64) (*vision, error) {
	det, err := cv.New(cv.Config{ModelsDir: dir, Workers: workers, MaxBytes: maxBytes})
	if err != nil {
		return nil, err
	}
	mat, err := onnx.New(onnx.Config{ModelsDir: dir, Workers: workers})
	if err != nil {
		det.Close()
		return nil, err
	}
	return &vision{Detector: det, Matcher: mat, Name: "real",
		Models: map[string]string{"liveness": "liveness/cv", "face_match": mat.Model()},
		close:  []io.Closer{mat, det}}, nil
}
