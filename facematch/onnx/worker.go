package onnx

import (
	"fmt"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/vision"
)

// worker owns one set of gocv objects; it is used by one goroutine at a
// time (the pool hands it out).
type worker struct {
	spec Spec
	tpl  vision.Template
	det  *vision.FaceDetector
	net  gocv.Net
	blob gocv.Mat
}

func newWorker(spec Spec, embedderPath string, detCfg vision.FaceDetectorConfig) (*worker, error) {
	det, err := vision.NewFaceDetector(detCfg)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	net := gocv.ReadNetFromONNX(embedderPath)
	if net.Empty() {
		_ = net.Close()
		_ = det.Close()
		return nil, fmt.Errorf("onnx: cannot load embedder %s", embedderPath)
	}
	_ = net.SetPreferableBackend(gocv.NetBackendOpenCV)
	_ = net.SetPreferableTarget(gocv.NetTargetCPU)
	s := spec.InputSize
	return &worker{
		spec: spec,
		tpl:  vision.Template{Points: spec.Template, Size: s},
		det:  det,
		net:  net,
		blob: gocv.NewMatWithSizes([]int{1, 3, s, s}, gocv.MatTypeCV32F),
	}, nil
}

func (w *worker) close() {
	_ = w.det.Close()
	_ = w.net.Close()
	_ = w.blob.Close()
}

// embedAligned runs the network on an aligned BGR crop of the template
// size and returns the (optionally normalised) embedding.
func (w *worker) embedAligned(aligned gocv.Mat) ([]float32, error) {
	s := w.spec.InputSize
	if aligned.Rows() != s || aligned.Cols() != s || aligned.Type() != gocv.MatTypeCV8UC3 {
		return nil, fmt.Errorf("onnx: aligned crop is %dx%d type %v, want %dx%d BGR", aligned.Cols(), aligned.Rows(), aligned.Type(), s, s)
	}
	src := aligned
	if !aligned.IsContinuous() {
		src = aligned.Clone()
		defer src.Close()
	}
	px, err := src.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	dst, err := w.blob.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	plane := s * s
	sp := w.spec
	for c := 0; c < 3; c++ {
		// Source channel in BGR memory order for network channel c.
		sc := c
		if sp.Color == RGB {
			sc = 2 - c
		}
		mul := float32(sp.Scale / sp.Std[c])
		add := float32(-sp.Mean[c] / sp.Std[c])
		out := dst[c*plane : (c+1)*plane]
		for i := range out {
			out[i] = float32(px[3*i+sc])*mul + add
		}
	}
	w.net.SetInput(w.blob, sp.InputName)
	res := w.net.Forward(sp.OutputName)
	defer res.Close()
	if res.Empty() {
		return nil, fmt.Errorf("onnx: %s produced no output", sp.Name)
	}
	vals, err := res.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("onnx: %s output: %w", sp.Name, err)
	}
	if sp.EmbeddingSize > 0 && len(vals) != sp.EmbeddingSize {
		return nil, fmt.Errorf("onnx: %s output has %d values, spec says %d", sp.Name, len(vals), sp.EmbeddingSize)
	}
	emb := append([]float32(nil), vals...)
	if sp.Normalize {
		facematch.L2Normalize(emb)
	}
	return emb, nil
}

// embedFace aligns img on landmarks lm and embeds it.
func (w *worker) embedFace(img gocv.Mat, lm [5]facematch.Point) ([]float32, error) {
	aligned, err := vision.AlignFace(img, lm, w.tpl)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer aligned.Close()
	return w.embedAligned(aligned)
}
