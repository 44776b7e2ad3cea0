package vision

import (
	"errors"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"sort"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
)

// Face is one detected face, in the pixels of the image given to Detect.
// It is a plain value.
type Face struct {
	// Box is the face box. It may extend past the image border when the
	// face is partly out of frame.
	Box facematch.Rect
	// Landmarks in ArcFace order: image-left eye, image-right eye, nose
	// tip, image-left mouth corner, image-right mouth corner.
	Landmarks [5]facematch.Point
	// Score is the detector confidence in [0,1].
	Score float64
}

// FaceDetectorConfig configures NewFaceDetector (copied; zero values mean
// the documented defaults).
type FaceDetectorConfig struct {
	// ModelPath is the YuNet ONNX file; default ModelPath(ModelsDir(), YuNetFile).
	ModelPath string
	// InputSize is the longest side the image is scaled to before
	// detection (up or down); the other side keeps the aspect ratio and
	// both are padded up to a multiple of 32. Default 320. Faces smaller
	// than about 10 px after scaling are missed, so raise it for small
	// faces in large frames (640 finds faces ~half the size, ~4x slower).
	InputSize int
	// ScoreThreshold is the minimum score kept; default 0.6.
	ScoreThreshold float64
	// NMSThreshold is the IoU above which the weaker of two boxes is
	// suppressed; default 0.3.
	NMSThreshold float64
	// MaxFaces bounds the number of faces returned; default 20.
	MaxFaces int
}

// Defaults of FaceDetectorConfig.
const (
	DefaultDetectorInputSize = 320
	DefaultDetectorScore     = 0.6
	DefaultDetectorNMS       = 0.3
	DefaultDetectorMaxFaces  = 20
)

// FaceDetector finds faces and their 5 landmarks with YuNet (2023mar)
// through OpenCV DNN. It is NOT safe for concurrent use: gocv objects are
// not goroutine safe, so give each worker its own detector.
type FaceDetector struct {
	cfg    FaceDetectorConfig
	net    gocv.Net
	fwd    *netForward // the forward pass to yunetOutputs (not gocv's ForwardLayers, which leaks)
	closed bool
	// reusable buffers, owned by the detector
	resized gocv.Mat
	blob    gocv.Mat    // network input, see fillBlob
	blobPad image.Point // its size
	blobImg image.Point // size of the image last written into it
	conv    gocv.Mat
	cands   []Face
	thumbs  *thumbnailer // DetectFrame's, made on first use
}

var yunetStrides = [3]int{8, 16, 32}

var yunetOutputs = []string{
	"cls_8", "cls_16", "cls_32",
	"obj_8", "obj_16", "obj_32",
	"bbox_8", "bbox_16", "bbox_32",
	"kps_8", "kps_16", "kps_32",
}

// ErrDetectorClosed is returned by Detect after Close.
var ErrDetectorClosed = errors.New("vision: face detector closed")

// NewFaceDetector loads the YuNet model after checking it with CheckModel
// (OpenCV aborts the process on a malformed model). The caller closes the
// detector.
func NewFaceDetector(cfg FaceDetectorConfig) (*FaceDetector, error) {
	if cfg.InputSize == 0 {
		cfg.InputSize = DefaultDetectorInputSize
	}
	if cfg.ScoreThreshold == 0 {
		cfg.ScoreThreshold = DefaultDetectorScore
	}
	if cfg.NMSThreshold == 0 {
		cfg.NMSThreshold = DefaultDetectorNMS
	}
	if cfg.MaxFaces == 0 {
		cfg.MaxFaces = DefaultDetectorMaxFaces
	}
	switch {
	case cfg.InputSize < 32 || cfg.InputSize > 4096:
		return nil, fmt.Errorf("vision: detector InputSize %d outside [32,4096]", cfg.InputSize)
	case cfg.ScoreThreshold < 0 || cfg.ScoreThreshold > 1:
		return nil, fmt.Errorf("vision: detector ScoreThreshold %g outside [0,1]", cfg.ScoreThreshold)
	case cfg.NMSThreshold < 0 || cfg.NMSThreshold > 1:
		return nil, fmt.Errorf("vision: detector NMSThreshold %g outside [0,1]", cfg.NMSThreshold)
	case cfg.MaxFaces < 0:
		return nil, fmt.Errorf("vision: detector MaxFaces %d negative", cfg.MaxFaces)
	}
	if cfg.ModelPath == "" {
		p, err := ModelPath("", YuNetFile)
		if err != nil {
			return nil, err
		}
		cfg.ModelPath = p
	} else if _, err := ModelPath(filepath.Dir(cfg.ModelPath), filepath.Base(cfg.ModelPath)); err != nil {
		return nil, err
	}
	if err := CheckModel(cfg.ModelPath); err != nil {
		return nil, err
	}
	net := gocv.ReadNetFromONNX(cfg.ModelPath)
	if net.Empty() {
		net.Close()
		return nil, fmt.Errorf("vision: cannot load YuNet from %s", cfg.ModelPath)
	}
	_ = net.SetPreferableBackend(gocv.NetBackendOpenCV)
	_ = net.SetPreferableTarget(gocv.NetTargetCPU)
	fwd, err := newNetForward(yunetOutputs)
	if err != nil {
		net.Close()
		return nil, err
	}
	return &FaceDetector{
		cfg:     cfg,
		net:     net,
		fwd:     fwd,
		resized: gocv.NewMat(),
		blob:    gocv.NewMat(),
		conv:    gocv.NewMat(),
	}, nil
}

// Config returns the detector's effective configuration (defaults filled).
func (d *FaceDetector) Config() FaceDetectorConfig { return d.cfg }

// Detect finds faces in img (BGR CV_8UC3; grey and BGRA are converted) of
// any size. Boxes and landmarks are in img's pixels, sorted by score,
// best first.
func (d *FaceDetector) Detect(img gocv.Mat) ([]Face, error) {
	if d.closed {
		return nil, ErrDetectorClosed
	}
	if img.Empty() {
		return nil, &ImageError{Msg: "empty Mat given to Detect"}
	}
	src := img
	switch img.Type() {
	case gocv.MatTypeCV8UC3:
	case gocv.MatTypeCV8UC1:
		gocv.CvtColor(img, &d.conv, gocv.ColorGrayToBGR)
		src = d.conv
	case gocv.MatTypeCV8UC4:
		gocv.CvtColor(img, &d.conv, gocv.ColorBGRAToBGR)
		src = d.conv
	default:
		return nil, &ImageError{Msg: fmt.Sprintf("Detect needs an 8-bit image, got Mat type %v", img.Type())}
	}
	w, h := src.Cols(), src.Rows()
	scale := float64(d.cfg.InputSize) / float64(max(w, h))
	sw := max(1, int(math.Round(float64(w)*scale)))
	sh := max(1, int(math.Round(float64(h)*scale)))
	pw, ph := (sw+31)/32*32, (sh+31)/32*32
	// Exact scale per axis after rounding, to map back without drift.
	sx, sy := float64(sw)/float64(w), float64(sh)/float64(h)

	gocv.Resize(src, &d.resized, image.Pt(sw, sh), 0, 0, gocv.InterpolationLinear)
	if err := d.fillBlob(sw, sh, pw, ph); err != nil {
		return nil, err
	}
	d.net.SetInput(d.blob, "input")
	outs, err := d.fwd.run(&d.net)
	if err != nil {
		return nil, err
	}
	return d.decode(outs, pw, ph, sx, sy)
}

// decode turns YuNet's outputs (in the order of yunetOutputs) for a pw x
// ph input into faces in the pixels of the image, which was scaled by sx
// and sy: candidates above the score threshold, then non-maximum
// suppression.
func (d *FaceDetector) decode(outs [][]float32, pw, ph int, sx, sy float64) ([]Face, error) {
	if len(outs) != len(yunetOutputs) {
		return nil, fmt.Errorf("vision: YuNet returned %d outputs, want %d", len(outs), len(yunetOutputs))
	}
	d.cands = d.cands[:0]
	for k, s := range yunetStrides {
		cols, rows := pw/s, ph/s
		n := cols * rows
		cls, obj, bbox, kps := outs[k], outs[3+k], outs[6+k], outs[9+k]
		if len(cls) < n || len(obj) < n || len(bbox) < 4*n || len(kps) < 10*n {
			return nil, fmt.Errorf("vision: YuNet output for stride %d too small for %dx%d input", s, pw, ph)
		}
		fs := float64(s)
		for idx := 0; idx < n; idx++ {
			score := math.Sqrt(unitClamp(float64(cls[idx])) * unitClamp(float64(obj[idx])))
			if score < d.cfg.ScoreThreshold {
				continue
			}
			r, c := float64(idx/cols), float64(idx%cols)
			b := bbox[4*idx : 4*idx+4]
			cx := (c + float64(b[0])) * fs
			cy := (r + float64(b[1])) * fs
			bw := math.Exp(float64(b[2])) * fs
			bh := math.Exp(float64(b[3])) * fs
			f := Face{
				Box:   facematch.Rect{X: (cx - bw/2) / sx, Y: (cy - bh/2) / sy, W: bw / sx, H: bh / sy},
				Score: score,
			}
			kp := kps[10*idx : 10*idx+10]
			for j := 0; j < 5; j++ {
				f.Landmarks[j] = facematch.Point{
					X: (float64(kp[2*j]) + c) * fs / sx,
					Y: (float64(kp[2*j+1]) + r) * fs / sy,
				}
			}
			d.cands = append(d.cands, f)
		}
	}
	return suppressFaces(d.cands, d.cfg.NMSThreshold, d.cfg.MaxFaces), nil
}

// fillBlob writes the network input for the resized image (sw x sh BGR in
// d.resized) padded with zeros to pw x ph: a 1x3xphxpw float blob, the
// pixel values unscaled (what CopyMakeBorder with black then
// BlobFromImage with scale 1 and no mean produce, without allocating
// both for every frame). The blob is kept between calls; its padding is
// written while the image size stays the same, so it stays zero (it is
// cleared when the size changes: a wider image of the same padded size
// leaves pixels where the next one has padding).
func (d *FaceDetector) fillBlob(sw, sh, pw, ph int) error {
	if d.blobPad != image.Pt(pw, ph) {
		d.blob.Close()
		d.blob = gocv.NewMatWithSizes([]int{1, 3, ph, pw}, gocv.MatTypeCV32F)
		d.blobPad, d.blobImg = image.Pt(pw, ph), image.Point{}
	}
	dst, err := d.blob.DataPtrFloat32()
	if err != nil {
		return fmt.Errorf("vision: YuNet input blob: %w", err)
	}
	if d.blobImg != image.Pt(sw, sh) {
		clear(dst)
		d.blobImg = image.Pt(sw, sh)
	}
	if !d.resized.IsContinuous() || d.resized.Cols() != sw || d.resized.Rows() != sh {
		return fmt.Errorf("vision: resized frame is not a continuous %dx%d image", sw, sh)
	}
	src, err := d.resized.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("vision: resized frame: %w", err)
	}
	plane := pw * ph
	if len(dst) < 3*plane || len(src) < 3*sw*sh {
		return fmt.Errorf("vision: YuNet input blob has %d values for %dx%d", len(dst), pw, ph)
	}
	b, g, r := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	for y := 0; y < sh; y++ {
		row := src[3*y*sw : 3*(y+1)*sw]
		o := y * pw
		bo, go_, ro := b[o:o+sw], g[o:o+sw], r[o:o+sw]
		for x := range bo {
			bo[x] = float32(row[3*x])
			go_[x] = float32(row[3*x+1])
			ro[x] = float32(row[3*x+2])
		}
	}
	return nil
}

// DetectFrame is Detect on f.Mat that also gives f its grey thumbnail
// with longest side thumbSize (Frame.Thumb, as DecodeOptions.ThumbSize
// makes it), unless f already has one or thumbSize <= 0. The thumbnail is
// the same as the decoder's: for a frame more than four times the
// thumbnail's size it is an area reduction of a bilinear copy at twice the
// thumbnail's size, which is the copy the detector itself works on
// whenever the detector's input size is twice the thumbnail size (320 and
// 160 by default), so that resize is done once instead of twice.
func (d *FaceDetector) DetectFrame(f *Frame, thumbSize int) ([]Face, error) {
	faces, err := d.Detect(f.Mat)
	if err != nil || thumbSize <= 0 || f.Thumb != nil {
		return faces, err
	}
	if d.thumbs == nil || d.thumbs.size != thumbSize {
		d.thumbs.close()
		d.thumbs = newThumbnailer(thumbSize)
	}
	if f.Mat.Type() == gocv.MatTypeCV8UC3 {
		tw, th, half := d.thumbs.dims(f.Mat.Cols(), f.Mat.Rows())
		if half && d.resized.Cols() == 2*tw && d.resized.Rows() == 2*th {
			f.Thumb, f.ThumbW, f.ThumbH = d.thumbs.fromHalf(d.resized, tw, th)
			return faces, nil
		}
	}
	f.Thumb, f.ThumbW, f.ThumbH = d.thumbs.thumb(f.Mat)
	return faces, nil
}

// Close releases the network. It is idempotent.
func (d *FaceDetector) Close() error {
	if d == nil || d.closed {
		return nil
	}
	d.closed = true
	d.thumbs.close()
	d.resized.Close()
	d.blob.Close()
	d.conv.Close()
	d.fwd.close()
	return d.net.Close()
}

// suppressFaces sorts by score and applies greedy non-maximum suppression:
// a face overlapping a better one by IoU > thr is dropped. It returns a
// new slice of at most limit faces (limit 0 means no limit).
func suppressFaces(cands []Face, thr float64, limit int) []Face {
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].Score > cands[j].Score })
	var out []Face
	for _, c := range cands {
		keep := true
		for _, k := range out {
			if rectIoU(c.Box, k.Box) > thr {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, c)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out
}

func rectIoU(a, b facematch.Rect) float64 {
	x0, y0 := max(a.X, b.X), max(a.Y, b.Y)
	x1, y1 := min(a.X+a.W, b.X+b.W), min(a.Y+a.H, b.Y+b.H)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	inter := (x1 - x0) * (y1 - y0)
	union := a.W*a.H + b.W*b.H - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

func unitClamp(v float64) float64 {
	if v < 0 || math.IsNaN(v) {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}
