package vision

import (
	"errors"
	"fmt"
	"image"
	"math"
	"path/filepath"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
)

// Passive anti-spoofing with the two MiniFASNet models of
// minivision-ai/Silent-Face-Anti-Spoofing (see PROVENANCE.md of the models
// directory). Each model sees a different context around the face: V2 a crop
// 2.7 times the face box, V1SE a crop 4 times the box, so V1SE also sees
// what frames the face (a phone edge, a photo border, a hand). Both take
// 80x80 BGR pixels in 0..255 and return three logits; class 1 is a live
// face, classes 0 and 2 are the two spoof classes they were trained on.

// MiniFASNet crop scales and input size, fixed by the published models.
const (
	MiniFASNetV2Scale   = 2.7
	MiniFASNetV1SEScale = 4.0
	miniFASNetSize      = 80
	miniFASNetInput     = "input.1"
	miniFASNetLiveClass = 1
)

// Errors of the anti-spoofing and replay-cue functions. They are returned
// wrapped (with details) and match with errors.Is.
var (
	// ErrAntiSpoofImage: the image is empty or not 8-bit 3-channel BGR.
	ErrAntiSpoofImage = errors.New("vision: anti-spoof: image is empty or not 8-bit BGR")
	// ErrAntiSpoofBox: the face box is degenerate (non-positive or NaN
	// size) or lies wholly outside the image.
	ErrAntiSpoofBox = errors.New("vision: anti-spoof: face box unusable")
	// ErrAntiSpoofClosed: the AntiSpoof was used after Close.
	ErrAntiSpoofClosed = errors.New("vision: anti-spoof: used after Close")
	// ErrAntiSpoofModel: a model loaded but produced an output of an
	// unexpected shape or non-finite values.
	ErrAntiSpoofModel = errors.New("vision: anti-spoof: unexpected model output")
)

// AntiSpoofConfig configures NewAntiSpoof. Zero values mean the defaults.
type AntiSpoofConfig struct {
	// V2Path and V1SEPath are the ONNX files of MiniFASNetV2 (scale 2.7)
	// and MiniFASNetV1SE (scale 4.0). Empty means ModelsDir() joined with
	// MiniFASNetV2File / MiniFASNetV1SEFile.
	V2Path, V1SEPath string
}

// SpoofScore is the output of AntiSpoof.Score for one face.
type SpoofScore struct {
	// Real is the fused probability of a live face in [0,1]: class 1 of
	// the average of the two softmax vectors (the upstream fusion).
	Real float64 `json:"real"`
	// V2 and V1SE are each model's softmax over (spoof, live, spoof).
	V2   [3]float64 `json:"v2"`
	V1SE [3]float64 `json:"v1se"`
}

// AntiSpoof runs MiniFASNetV2 and MiniFASNetV1SE on face crops. It owns
// two OpenCV networks and scratch images and is NOT safe for concurrent
// use: give each worker its own. Close releases it.
type AntiSpoof struct {
	v2, v1se   gocv.Net
	v2ID, seID string
	resized    gocv.Mat
	closed     bool
}

// NewAntiSpoof loads both models. A missing file gives a *ModelError
// (matching ErrModelMissing); a file OpenCV cannot read gives an error
// naming it.
func NewAntiSpoof(cfg AntiSpoofConfig) (*AntiSpoof, error) {
	v2Path, err := antiSpoofPath(cfg.V2Path, MiniFASNetV2File)
	if err != nil {
		return nil, err
	}
	sePath, err := antiSpoofPath(cfg.V1SEPath, MiniFASNetV1SEFile)
	if err != nil {
		return nil, err
	}
	a := &AntiSpoof{}
	if a.v2ID, err = ModelID(v2Path); err != nil {
		return nil, err
	}
	if a.seID, err = ModelID(sePath); err != nil {
		return nil, err
	}
	a.v2 = gocv.ReadNetFromONNX(v2Path)
	if a.v2.Empty() {
		a.v2.Close()
		return nil, fmt.Errorf("vision: anti-spoof: OpenCV cannot load %s", v2Path)
	}
	a.v1se = gocv.ReadNetFromONNX(sePath)
	if a.v1se.Empty() {
		a.v2.Close()
		a.v1se.Close()
		return nil, fmt.Errorf("vision: anti-spoof: OpenCV cannot load %s", sePath)
	}
	a.resized = gocv.NewMat()
	return a, nil
}

// antiSpoofPath resolves an explicit path (checked to exist) or the default
// file in ModelsDir().
func antiSpoofPath(path, file string) (string, error) {
	if path == "" {
		return ModelPath("", file)
	}
	return ModelPath(filepath.Dir(path), filepath.Base(path))
}

// ModelIDs returns the "name@sha256prefix" of both models, for decision
// records.
func (a *AntiSpoof) ModelIDs() map[string]string {
	return map[string]string{"antispoof_v2": a.v2ID, "antispoof_v1se": a.seID}
}

// Score returns the liveness probabilities of the face at box (in img's
// pixels) in the BGR frame img. The box is the detector's face box; each
// model's crop is derived from it as upstream does (see MiniFASNetCrop).
func (a *AntiSpoof) Score(img gocv.Mat, box facematch.Rect) (SpoofScore, error) {
	if a == nil || a.closed {
		return SpoofScore{}, ErrAntiSpoofClosed
	}
	if err := checkBGR(img); err != nil {
		return SpoofScore{}, err
	}
	var s SpoofScore
	var err error
	if s.V2, err = a.run(&a.v2, img, box, MiniFASNetV2Scale); err != nil {
		return SpoofScore{}, err
	}
	if s.V1SE, err = a.run(&a.v1se, img, box, MiniFASNetV1SEScale); err != nil {
		return SpoofScore{}, err
	}
	s.Real = (s.V2[miniFASNetLiveClass] + s.V1SE[miniFASNetLiveClass]) / 2
	return s, nil
}

func (a *AntiSpoof) run(net *gocv.Net, img gocv.Mat, box facematch.Rect, scale float64) ([3]float64, error) {
	var p [3]float64
	r, err := MiniFASNetCrop(img.Cols(), img.Rows(), box, scale)
	if err != nil {
		return p, err
	}
	roi := img.Region(r)
	gocv.Resize(roi, &a.resized, image.Pt(miniFASNetSize, miniFASNetSize), 0, 0, gocv.InterpolationLinear)
	roi.Close()
	blob := gocv.BlobFromImage(a.resized, 1, image.Pt(miniFASNetSize, miniFASNetSize), gocv.NewScalar(0, 0, 0, 0), false, false)
	defer blob.Close()
	net.SetInput(blob, miniFASNetInput)
	out := net.Forward("")
	defer out.Close()
	if out.Total() != 3 {
		return p, fmt.Errorf("%w: %d values, want 3", ErrAntiSpoofModel, out.Total())
	}
	logits, err := out.DataPtrFloat32()
	if err != nil {
		return p, fmt.Errorf("%w: %v", ErrAntiSpoofModel, err)
	}
	return softmax3(logits)
}

func softmax3(l []float32) ([3]float64, error) {
	var p [3]float64
	m := math.Inf(-1)
	for _, v := range l[:3] {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for i, v := range l[:3] {
		p[i] = math.Exp(float64(v) - m)
		sum += p[i]
	}
	if math.IsNaN(sum) || math.IsInf(sum, 0) || sum == 0 {
		return [3]float64{}, fmt.Errorf("%w: logits %v", ErrAntiSpoofModel, l[:3])
	}
	for i := range p {
		p[i] /= sum
	}
	return p, nil
}

// MiniFASNetCrop returns the crop the MiniFASNet models see for a face box
// in a w x h image, exactly as upstream's CropImage._get_new_box: the box
// is scaled about its centre by scale, the scale is first limited so that
// the crop fits the image (min((h-1)/boxH, (w-1)/boxW, scale)), the crop is
// shifted back inside the image where it overflows, and its corners are
// truncated to integers. The returned rectangle is half-open (Max is one
// past the last pixel), ready for Mat.Region.
func MiniFASNetCrop(w, h int, box facematch.Rect, scale float64) (image.Rectangle, error) {
	if w < 1 || h < 1 {
		return image.Rectangle{}, fmt.Errorf("%w: image %dx%d", ErrAntiSpoofImage, w, h)
	}
	if !(box.W > 0 && box.H > 0) || math.IsInf(box.W, 0) || math.IsInf(box.H, 0) ||
		math.IsNaN(box.X) || math.IsNaN(box.Y) || math.IsInf(box.X, 0) || math.IsInf(box.Y, 0) {
		return image.Rectangle{}, fmt.Errorf("%w: %+v", ErrAntiSpoofBox, box)
	}
	if box.X >= float64(w) || box.Y >= float64(h) || box.X+box.W <= 0 || box.Y+box.H <= 0 {
		return image.Rectangle{}, fmt.Errorf("%w: %+v outside %dx%d image", ErrAntiSpoofBox, box, w, h)
	}
	sw, sh := float64(w-1), float64(h-1)
	scale = math.Min(scale, math.Min(sh/box.H, sw/box.W))
	nw, nh := box.W*scale, box.H*scale
	cx, cy := box.X+box.W/2, box.Y+box.H/2
	x0, y0 := cx-nw/2, cy-nh/2
	x1, y1 := cx+nw/2, cy+nh/2
	if x0 < 0 {
		x1 -= x0
		x0 = 0
	}
	if y0 < 0 {
		y1 -= y0
		y0 = 0
	}
	if x1 > sw {
		x0 -= x1 - sw
		x1 = sw
	}
	if y1 > sh {
		y0 -= y1 - sh
		y1 = sh
	}
	// Python's int() truncates toward zero; the clamps only absorb
	// floating-point residue.
	r := image.Rect(clampInt(int(x0), 0, w-1), clampInt(int(y0), 0, h-1),
		clampInt(int(x1), 0, w-1)+1, clampInt(int(y1), 0, h-1)+1)
	if r.Empty() {
		return image.Rectangle{}, fmt.Errorf("%w: empty crop for %+v", ErrAntiSpoofBox, box)
	}
	return r, nil
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// checkBGR accepts non-empty 8-bit 3-channel images.
func checkBGR(img gocv.Mat) error {
	if img.Ptr() == nil || img.Empty() {
		return fmt.Errorf("%w: empty", ErrAntiSpoofImage)
	}
	if img.Type() != gocv.MatTypeCV8UC3 {
		return fmt.Errorf("%w: type %v", ErrAntiSpoofImage, img.Type())
	}
	return nil
}

// Close releases the networks and scratch images. It is idempotent.
func (a *AntiSpoof) Close() error {
	if a == nil || a.closed {
		return nil
	}
	a.closed = true
	a.resized.Close()
	a.v2.Close()
	a.v1se.Close()
	return nil
}
