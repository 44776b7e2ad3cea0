package vision

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/liveness"
)

// Defaults of MeasureConfig.
const (
	DefaultFallbackInputSize = 640
	DefaultFallbackFrames    = 3
	DefaultThumbSize         = 160
)

// Sizes of the resampled face patches the photometric measures use, fixed
// so that the measures do not depend on the video's resolution.
const (
	measurePatch = 64 // exposure and glare
)

// MeasureConfig configures a Measurer. Zero values mean the defaults. A
// plain value, safe to share.
type MeasureConfig struct {
	// Detector configures the face detector used on every sampled frame
	// (its InputSize, default 320, is the longest side frames are scaled
	// to for detection).
	Detector FaceDetectorConfig
	// FallbackInputSize is a larger detection size tried when no face is
	// found, on at most FallbackFrames frames per video: it tells a small,
	// distant face (face_too_far) from no face at all. Default 640;
	// FallbackFrames < 0 disables it (default 3).
	FallbackInputSize int
	FallbackFrames    int
	// ThumbSize is the longest side of the grey whole-frame thumbnail
	// kept for global motion. Default 160.
	ThumbSize int
}

func (c MeasureConfig) withDefaults() MeasureConfig {
	if c.FallbackInputSize == 0 {
		c.FallbackInputSize = DefaultFallbackInputSize
	}
	if c.FallbackFrames == 0 {
		c.FallbackFrames = DefaultFallbackFrames
	}
	if c.ThumbSize <= 0 {
		c.ThumbSize = DefaultThumbSize
	}
	return c
}

// cropTemplate is liveness.CropLandmarks as an alignment template.
var cropTemplate = Template{Points: liveness.CropLandmarks, Size: liveness.CropSize}

// Measurer computes the per-frame measures of sampled frames. It owns a
// face detector and scratch images and is NOT safe for concurrent use:
// give each worker its own, and call Reset between videos.
type Measurer struct {
	cfg          MeasureConfig
	det          *FaceDetector
	big          *FaceDetector // fallback detector, created on first use
	fallbackLeft int
	closed       bool

	thumbs                                     *thumbnailer
	gray, patch, aligned, alignedGray, upright gocv.Mat
}

// NewMeasurer loads the face detector. The caller closes the Measurer.
func NewMeasurer(cfg MeasureConfig) (*Measurer, error) {
	cfg = cfg.withDefaults()
	det, err := NewFaceDetector(cfg.Detector)
	if err != nil {
		return nil, err
	}
	m := &Measurer{
		cfg: cfg, det: det,
		gray: gocv.NewMat(), patch: gocv.NewMat(),
		aligned: gocv.NewMat(), alignedGray: gocv.NewMat(), upright: gocv.NewMat(),
	}
	m.Reset()
	return m, nil
}

// DetectorConfig returns the effective configuration of the main detector.
func (m *Measurer) DetectorConfig() FaceDetectorConfig { return m.det.Config() }

// Reset prepares the Measurer for a new video.
func (m *Measurer) Reset() {
	m.fallbackLeft = max(m.cfg.FallbackFrames, 0)
}

// Close releases the detectors and scratch images. It is idempotent.
func (m *Measurer) Close() error {
	if m == nil || m.closed {
		return nil
	}
	m.closed = true
	for _, x := range []*gocv.Mat{&m.gray, &m.patch, &m.aligned, &m.alignedGray, &m.upright} {
		x.Close()
	}
	m.thumbs.close()
	return errors.Join(m.det.Close(), m.big.Close())
}

// ErrMeasurerClosed is returned by Measure after Close.
var ErrMeasurerClosed = errors.New("vision: measurer closed")

// Measure finds the faces of one upright BGR frame and measures the main
// (largest) face: exposure, dynamic range, sharpness, glare, pose, an
// aligned grey crop for the temporal analysis, and a whole-frame thumbnail
// for global motion.
func (m *Measurer) Measure(f Frame) (liveness.FrameMeasures, error) {
	if m.closed {
		return liveness.FrameMeasures{}, ErrMeasurerClosed
	}
	img := f.Mat
	if img.Empty() || img.Type() != gocv.MatTypeCV8UC3 {
		return liveness.FrameMeasures{}, &ImageError{Msg: "Measure needs a non-empty BGR frame"}
	}
	faces, err := m.det.Detect(img)
	if err != nil {
		return liveness.FrameMeasures{Index: f.Index, Time: f.Time, Width: img.Cols(), Height: img.Rows()}, err
	}
	return m.MeasureDetected(f, faces)
}

// MeasureDetected is Measure for a frame whose faces were already found
// by a FaceDetector configured as DetectorConfig() says (typically on
// another goroutine, so that the detection of several frames overlaps):
// faces is Detect's result for f.Mat, which MeasureDetected takes over.
// Everything after the detection (the fallback detector for face-less
// frames, pose, the upright re-detection of tilted faces, photometry,
// crop, thumbnail) runs here, in the order the frames are given, so the
// result is Measure's.
func (m *Measurer) MeasureDetected(f Frame, faces []Face) (liveness.FrameMeasures, error) {
	if m.closed {
		return liveness.FrameMeasures{}, ErrMeasurerClosed
	}
	img := f.Mat
	if img.Empty() || img.Type() != gocv.MatTypeCV8UC3 {
		return liveness.FrameMeasures{}, &ImageError{Msg: "Measure needs a non-empty BGR frame"}
	}
	out := liveness.FrameMeasures{Index: f.Index, Time: f.Time, Width: img.Cols(), Height: img.Rows()}
	var err error
	if len(faces) == 0 && m.fallbackLeft > 0 && m.cfg.FallbackInputSize > m.det.Config().InputSize {
		m.fallbackLeft--
		if m.big == nil {
			bc := m.det.Config()
			bc.InputSize = m.cfg.FallbackInputSize
			if m.big, err = NewFaceDetector(bc); err != nil {
				return out, err
			}
		}
		if faces, err = m.big.Detect(img); err != nil {
			return out, err
		}
	}
	sort.SliceStable(faces, func(i, j int) bool {
		return faces[i].Box.W*faces[i].Box.H > faces[j].Box.W*faces[j].Box.H
	})
	out.Faces = make([]liveness.FaceObs, len(faces))
	for i, fc := range faces {
		out.Faces[i] = liveness.FaceObs{Box: fc.Box, Landmarks: fc.Landmarks, Score: fc.Score}
	}
	if err := m.thumb(f, &out); err != nil {
		return out, err
	}
	if len(faces) == 0 {
		return out, nil
	}
	main := faces[0]
	out.FacePixels = main.Box.H
	out.Yaw, out.Pitch, out.Roll = HeadPose(main.Landmarks)
	// Twice at most: each pass removes most of the remaining tilt.
	for pass := 0; pass < 2 && math.Abs(out.Roll) > rollRefineAbove; pass++ {
		lm, ok, err := m.refineTilted(img, main)
		if err != nil {
			return out, err
		}
		if !ok {
			break
		}
		prev := out.Roll
		main.Landmarks = lm
		out.Faces[0].Landmarks = lm
		out.Yaw, out.Pitch, out.Roll = HeadPose(lm)
		if math.Abs(out.Roll-prev) < 2 {
			break
		}
	}
	if err := m.photometry(img, main, &out); err != nil {
		return out, err
	}
	if err := m.alignedCrop(img, main, &out); err != nil {
		return out, err
	}
	out.Sharpness = liveness.CropSharpness(out.Crop)
	return out, nil
}

// rollRefineAbove is the roll (degrees) above which the landmarks of a
// tilted face are measured again on an upright copy.
const rollRefineAbove = 10

// refineTilted re-detects a tilted face on a copy of its surroundings
// turned upright by the measured roll, and maps the new landmarks back.
// YuNet, trained mostly on upright faces, pulls the landmarks of a tilted
// face towards upright: a face turned 35-45 degrees read as 13-30 degrees
// on the derived test videos; on the upright copy the residual tilt is
// small and measured well, so the sum is close to the true roll.
func (m *Measurer) refineTilted(img gocv.Mat, face Face) ([5]facematch.Point, bool, error) {
	_, _, roll := HeadPose(face.Landmarks)
	cx, cy := face.Box.X+face.Box.W/2, face.Box.Y+face.Box.H/2
	side := 2 * math.Max(face.Box.W, face.Box.H)
	side = math.Min(side, 1.5*float64(max(img.Cols(), img.Rows())))
	s := int(math.Round(side))
	if s < 32 {
		return face.Landmarks, false, nil
	}
	// Rotate counter-clockwise (OpenCV's positive angle) by the roll about
	// the face centre, and move the centre to the middle of an s x s image.
	th := roll * math.Pi / 180
	ca, sa := math.Cos(th), math.Sin(th)
	// x' = ca*(x-cx) + sa*(y-cy) + s/2 ; y' = -sa*(x-cx) + ca*(y-cy) + s/2
	mtx := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer mtx.Close()
	h := float64(s) / 2
	mtx.SetDoubleAt(0, 0, ca)
	mtx.SetDoubleAt(0, 1, sa)
	mtx.SetDoubleAt(0, 2, -ca*cx-sa*cy+h)
	mtx.SetDoubleAt(1, 0, -sa)
	mtx.SetDoubleAt(1, 1, ca)
	mtx.SetDoubleAt(1, 2, sa*cx-ca*cy+h)
	gocv.WarpAffineWithParams(img, &m.upright, mtx, image.Pt(s, s), gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})
	faces, err := m.det.Detect(m.upright)
	if err != nil {
		return face.Landmarks, false, err
	}
	best, bestD := -1, math.Inf(1)
	for i, f := range faces {
		d := math.Hypot(f.Box.X+f.Box.W/2-h, f.Box.Y+f.Box.H/2-h)
		if d < bestD && d < 0.5*math.Max(f.Box.W, f.Box.H) {
			best, bestD = i, d
		}
	}
	if best < 0 {
		return face.Landmarks, false, nil
	}
	var lm [5]facematch.Point
	for i, p := range faces[best].Landmarks {
		// Inverse of the rotation above.
		u, v := p.X-h, p.Y-h
		lm[i] = facematch.Point{X: ca*u - sa*v + cx, Y: sa*u + ca*v + cy}
	}
	return lm, true, nil
}

// thumb stores a grey thumbnail of the whole frame, unless the decoder
// already made one of the configured size.
func (m *Measurer) thumb(f Frame, out *liveness.FrameMeasures) error {
	if f.Thumb != nil && max(f.ThumbW, f.ThumbH) == m.cfg.ThumbSize && len(f.Thumb) == f.ThumbW*f.ThumbH {
		out.Thumb, out.ThumbW, out.ThumbH = f.Thumb, f.ThumbW, f.ThumbH
		return nil
	}
	if m.thumbs == nil {
		m.thumbs = newThumbnailer(m.cfg.ThumbSize)
	}
	out.Thumb, out.ThumbW, out.ThumbH = m.thumbs.thumb(f.Mat)
	if len(out.Thumb) != out.ThumbW*out.ThumbH {
		return fmt.Errorf("vision: thumbnail is %d bytes, want %dx%d", len(out.Thumb), out.ThumbW, out.ThumbH)
	}
	return nil
}

// thumbnailer makes grey thumbnails; it owns scratch Mats and is not safe
// for concurrent use.
type thumbnailer struct {
	size              int
	half, small, gray gocv.Mat
}

func newThumbnailer(size int) *thumbnailer {
	return &thumbnailer{size: size, half: gocv.NewMat(), small: gocv.NewMat(), gray: gocv.NewMat()}
}

// thumb scales img (BGR) so its longest side is the thumbnail size: a
// cheap bilinear step to twice that size, then 2:1 area averaging (area
// averaging straight from a 720p frame costs several times more).
func (t *thumbnailer) thumb(img gocv.Mat) ([]byte, int, int) {
	tw, th, half := t.dims(img.Cols(), img.Rows())
	if !half {
		return t.fromHalf(img, tw, th)
	}
	gocv.Resize(img, &t.half, image.Pt(2*tw, 2*th), 0, 0, gocv.InterpolationLinear)
	return t.fromHalf(t.half, tw, th)
}

// dims returns the thumbnail size of a w x h image and whether it is
// made through a bilinear copy at twice that size.
func (t *thumbnailer) dims(w, h int) (tw, th int, half bool) {
	s := float64(t.size) / float64(max(w, h))
	tw, th = max(8, int(math.Round(float64(w)*s))), max(8, int(math.Round(float64(h)*s)))
	return tw, th, max(w, h) > 4*t.size
}

// fromHalf finishes a thumbnail from src (the image itself, or its
// bilinear copy at twice the thumbnail size): area reduction to tw x th,
// then grey.
func (t *thumbnailer) fromHalf(src gocv.Mat, tw, th int) ([]byte, int, int) {
	gocv.Resize(src, &t.small, image.Pt(tw, th), 0, 0, gocv.InterpolationArea)
	gocv.CvtColor(t.small, &t.gray, gocv.ColorBGRToGray)
	return t.gray.ToBytes(), tw, th
}

func (t *thumbnailer) close() {
	if t == nil {
		return
	}
	t.half.Close()
	t.small.Close()
	t.gray.Close()
}

// innerFace is the part of the face box that is skin rather than hair or
// background: the box shrunk by 15% on each side horizontally and 10%
// vertically, clipped to the frame.
func innerFace(w, h int, b facematch.Rect) image.Rectangle {
	r := image.Rect(
		int(math.Round(b.X+0.15*b.W)), int(math.Round(b.Y+0.10*b.H)),
		int(math.Round(b.X+0.85*b.W)), int(math.Round(b.Y+0.90*b.H)))
	return r.Intersect(image.Rect(0, 0, w, h))
}

// photometry fills the exposure, dynamic range and glare of the main face.
func (m *Measurer) photometry(img gocv.Mat, face Face, out *liveness.FrameMeasures) error {
	r := innerFace(img.Cols(), img.Rows(), face.Box)
	if r.Dx() < 2 || r.Dy() < 2 {
		return nil
	}
	roi := img.Region(r)
	defer roi.Close()
	gocv.Resize(roi, &m.patch, image.Pt(measurePatch, measurePatch), 0, 0, gocv.InterpolationArea)
	bgr := m.patch.ToBytes()
	if len(bgr) != 3*measurePatch*measurePatch {
		return fmt.Errorf("vision: face patch is %d bytes", len(bgr))
	}
	st := PatchPhotometry(bgr)
	out.Luma, out.Under, out.Over, out.DynamicRange, out.Glare = st.Luma, st.Under, st.Over, st.DynamicRange, st.Glare
	return nil
}

// alignedCrop stores the grey face aligned onto liveness.CropLandmarks.
func (m *Measurer) alignedCrop(img gocv.Mat, face Face, out *liveness.FrameMeasures) error {
	al, err := AlignFace(img, face.Landmarks, cropTemplate)
	if err != nil {
		return nil // degenerate landmarks: no crop, the analysis skips it
	}
	defer al.Close()
	gocv.CvtColor(al, &m.alignedGray, gocv.ColorBGRToGray)
	out.Crop = m.alignedGray.ToBytes()
	if len(out.Crop) != liveness.CropSize*liveness.CropSize {
		return fmt.Errorf("vision: aligned crop is %d bytes", len(out.Crop))
	}
	return nil
}

// Photometry holds the exposure measures of a face patch (a plain value).
type Photometry struct {
	Luma, Under, Over, DynamicRange, Glare float64
}

// PatchPhotometry measures a BGR patch (3 bytes per pixel): mean BT.601
// luminance, OFIQ under-exposure (Y 0-25) and over-exposure (Y 247-255)
// shares, dynamic range (99th minus 1st luminance percentile) and glare
// (share of near-white unsaturated pixels: max channel >= 235 and
// saturation <= 0.2).
func PatchPhotometry(bgr []byte) Photometry {
	n := len(bgr) / 3
	if n == 0 {
		return Photometry{}
	}
	var hist [256]int
	var sum float64
	var under, over, glare int
	for i := 0; i < n; i++ {
		b, g, r := float64(bgr[3*i]), float64(bgr[3*i+1]), float64(bgr[3*i+2])
		y := 0.299*r + 0.587*g + 0.114*b
		yi := int(y + 0.5)
		if yi > 255 {
			yi = 255
		}
		hist[yi]++
		sum += y
		if yi <= 25 {
			under++
		}
		if yi >= 247 {
			over++
		}
		mx := max(b, g, r)
		mn := min(b, g, r)
		if mx >= 235 && (mx-mn) <= 0.2*mx {
			glare++
		}
	}
	fn := float64(n)
	return Photometry{
		Luma:         sum / fn,
		Under:        float64(under) / fn,
		Over:         float64(over) / fn,
		DynamicRange: histQuantile(hist[:], n, 0.99) - histQuantile(hist[:], n, 0.01),
		Glare:        float64(glare) / fn,
	}
}

func histQuantile(hist []int, n int, q float64) float64 {
	target := q * float64(n)
	acc := 0
	for v, c := range hist {
		acc += c
		if float64(acc) >= target {
			return float64(v)
		}
	}
	return float64(len(hist) - 1)
}
