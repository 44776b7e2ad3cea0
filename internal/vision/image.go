package vision

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // header parsing for the size limit
	_ "image/png"

	"gocv.io/x/gocv"
)

// MaxImagePixels bounds the decoded size of a still image (width x height)
// so that a crafted header cannot make DecodeImage allocate gigabytes.
const MaxImagePixels = 64 << 20

// ErrImageUndecodable matches every *ImageError with errors.Is.
var ErrImageUndecodable = errors.New("vision: image cannot be decoded")

// ImageError reports image bytes that cannot be decoded, or an image that
// cannot be converted.
type ImageError struct {
	Msg string
	Err error
}

// Error describes the failure.
func (e *ImageError) Error() string {
	s := "vision: image cannot be decoded: " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *ImageError) Unwrap() error { return e.Err }

// Is reports whether target is ErrImageUndecodable.
func (e *ImageError) Is(target error) bool { return target == ErrImageUndecodable }

// DecodeImage decodes JPEG or PNG bytes (any format OpenCV reads) into a
// BGR Mat (CV_8UC3) with the EXIF orientation applied, so that the result
// is upright as a viewer would show it. OpenCV's own EXIF handling is
// switched off and the Orientation tag (JPEG APP1 or PNG eXIf) is parsed
// here, so the behaviour does not depend on the OpenCV build. Undecodable
// bytes give an *ImageError. The caller closes the Mat; on error it is the
// zero Mat (closing it is a no-op; do not use it otherwise).
func DecodeImage(data []byte) (gocv.Mat, error) {
	if len(data) == 0 {
		return gocv.Mat{}, &ImageError{Msg: "empty input"}
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
		if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
			return gocv.Mat{}, &ImageError{Msg: fmt.Sprintf("size %dx%d outside limits", cfg.Width, cfg.Height)}
		}
	}
	m, err := gocv.IMDecode(data, gocv.IMReadColor|gocv.IMReadIgnoreOrientation)
	if err != nil {
		m.Close()
		return gocv.Mat{}, &ImageError{Msg: "not a supported image", Err: err}
	}
	if m.Empty() {
		m.Close()
		return gocv.Mat{}, &ImageError{Msg: "not a supported image"}
	}
	o := exifOrientationOf(data)
	if o <= 1 || o > 8 {
		return m, nil
	}
	out := gocv.NewMat()
	switch o {
	case 2:
		gocv.Flip(m, &out, 1)
	case 3:
		gocv.Flip(m, &out, -1)
	case 4:
		gocv.Flip(m, &out, 0)
	case 5:
		gocv.Transpose(m, &out)
	case 6:
		gocv.Rotate(m, &out, gocv.Rotate90Clockwise)
	case 7:
		t := gocv.NewMat()
		gocv.Transpose(m, &t)
		gocv.Flip(t, &out, -1)
		t.Close()
	case 8:
		gocv.Rotate(m, &out, gocv.Rotate90CounterClockwise)
	}
	m.Close()
	return out, nil
}

// exifOrientationOf returns the EXIF Orientation (1..8) of JPEG or PNG
// bytes, or 0 when there is none or the metadata is malformed.
func exifOrientationOf(data []byte) int {
	switch {
	case len(data) >= 2 && data[0] == 0xFF && data[1] == 0xD8:
		return jpegExifOrientation(data)
	case len(data) >= 8 && bytes.Equal(data[:8], []byte("\x89PNG\r\n\x1a\n")):
		return pngExifOrientation(data)
	}
	return 0
}

func jpegExifOrientation(data []byte) int {
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return 0
		}
		marker := data[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			i += 2
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan / end: no metadata after
			return 0
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 0
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) >= 6 && bytes.Equal(seg[:6], []byte("Exif\x00\x00")) {
			if o := tiffOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		i += 2 + n
	}
	return 0
}

func pngExifOrientation(data []byte) int {
	i := 8
	for i+12 <= len(data) {
		n := binary.BigEndian.Uint32(data[i:])
		typ := string(data[i+4 : i+8])
		if uint64(n) > uint64(len(data)-i-12) {
			return 0
		}
		body := data[i+8 : i+8+int(n)]
		switch typ {
		case "eXIf":
			return tiffOrientation(body)
		case "IEND":
			return 0
		}
		i += 12 + int(n)
	}
	return 0
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF header.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := uint64(bo.Uint32(t[4:]))
	if off+2 > uint64(len(t)) {
		return 0
	}
	count := int(bo.Uint16(t[off:]))
	p := int(off) + 2
	for k := 0; k < count; k++ {
		if p+12 > len(t) {
			return 0
		}
		tag := bo.Uint16(t[p:])
		typ := bo.Uint16(t[p+2:])
		if tag == 0x0112 {
			var v int
			switch typ {
			case 3: // SHORT
				v = int(bo.Uint16(t[p+8:]))
			case 4: // LONG (seen in some writers)
				v = int(bo.Uint32(t[p+8:]))
			default:
				return 0
			}
			if v < 1 || v > 8 {
				return 0
			}
			return v
		}
		p += 12
	}
	return 0
}

// MatToImage converts a Mat to an image.Image: CV_8UC3 (BGR) gives an
// *image.RGBA, CV_8UC4 (BGRA) an *image.NRGBA and CV_8UC1 an *image.Gray.
// Other types give an *ImageError.
func MatToImage(m gocv.Mat) (image.Image, error) {
	if m.Empty() {
		return nil, &ImageError{Msg: "empty Mat"}
	}
	if m.Type() == gocv.MatTypeCV8UC3 {
		// OpenCV's channel shuffle (vectorised, and it reads a region of a
		// frame in place) into RGBA with opaque alpha, then one copy.
		rgba := gocv.NewMat()
		defer rgba.Close()
		gocv.CvtColor(m, &rgba, gocv.ColorBGRToRGBA)
		data, err := rgba.DataPtrUint8()
		if err != nil {
			return nil, &ImageError{Msg: "Mat data", Err: err}
		}
		img := image.NewRGBA(image.Rect(0, 0, m.Cols(), m.Rows()))
		if len(data) != len(img.Pix) {
			return nil, &ImageError{Msg: fmt.Sprintf("RGBA conversion gave %d bytes for %dx%d", len(data), m.Cols(), m.Rows())}
		}
		copy(img.Pix, data)
		return img, nil
	}
	src := m
	if !m.IsContinuous() {
		src = m.Clone()
		defer src.Close()
	}
	w, h := src.Cols(), src.Rows()
	data, err := src.DataPtrUint8()
	if err != nil {
		return nil, &ImageError{Msg: "Mat data", Err: err}
	}
	switch src.Type() {
	case gocv.MatTypeCV8UC4:
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		pix := img.Pix
		for i := 0; i+3 < len(data); i += 4 {
			pix[i] = data[i+2]
			pix[i+1] = data[i+1]
			pix[i+2] = data[i]
			pix[i+3] = data[i+3]
		}
		return img, nil
	case gocv.MatTypeCV8UC1:
		img := image.NewGray(image.Rect(0, 0, w, h))
		copy(img.Pix, data)
		return img, nil
	}
	return nil, &ImageError{Msg: fmt.Sprintf("unsupported Mat type %v", src.Type())}
}

// ImageToMat converts any image.Image to a BGR Mat (CV_8UC3). Alpha is
// dropped (colours are taken un-premultiplied). The caller closes the Mat;
// on error it is the zero Mat, as for DecodeImage.
func ImageToMat(img image.Image) (gocv.Mat, error) {
	if img == nil {
		return gocv.Mat{}, &ImageError{Msg: "nil image"}
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return gocv.Mat{}, &ImageError{Msg: "empty image"}
	}
	if int64(w)*int64(h) > MaxImagePixels {
		return gocv.Mat{}, &ImageError{Msg: fmt.Sprintf("size %dx%d outside limits", w, h)}
	}
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	dst, err := m.DataPtrUint8()
	if err != nil {
		m.Close()
		return gocv.Mat{}, &ImageError{Msg: "Mat data", Err: err}
	}
	switch src := img.(type) {
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := src.Pix[(b.Min.Y+y-src.Rect.Min.Y)*src.Stride+(b.Min.X-src.Rect.Min.X)*4:]
			out := dst[y*w*3:]
			for x := 0; x < w; x++ {
				r, g, bl, a := row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]
				if a != 0xFF && a != 0 {
					r, g, bl = unpremul(r, a), unpremul(g, a), unpremul(bl, a)
				}
				out[3*x], out[3*x+1], out[3*x+2] = bl, g, r
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := src.Pix[(b.Min.Y+y-src.Rect.Min.Y)*src.Stride+(b.Min.X-src.Rect.Min.X)*4:]
			out := dst[y*w*3:]
			for x := 0; x < w; x++ {
				out[3*x], out[3*x+1], out[3*x+2] = row[4*x+2], row[4*x+1], row[4*x]
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := src.Pix[(b.Min.Y+y-src.Rect.Min.Y)*src.Stride+(b.Min.X-src.Rect.Min.X):]
			out := dst[y*w*3:]
			for x := 0; x < w; x++ {
				v := row[x]
				out[3*x], out[3*x+1], out[3*x+2] = v, v, v
			}
		}
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			out := dst[y*w*3:]
			for x := 0; x < w; x++ {
				yi := src.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := src.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(src.Y[yi], src.Cb[ci], src.Cr[ci])
				out[3*x], out[3*x+1], out[3*x+2] = bl, g, r
			}
		}
	default:
		for y := 0; y < h; y++ {
			out := dst[y*w*3:]
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				out[3*x], out[3*x+1], out[3*x+2] = c.B, c.G, c.R
			}
		}
	}
	return m, nil
}

func unpremul(c, a uint8) uint8 {
	v := (uint32(c)*0xFF + uint32(a)/2) / uint32(a)
	if v > 0xFF {
		v = 0xFF
	}
	return uint8(v)
}
