package vision

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"
)

// fmMarkerImage is 60x30 grey with a red top-left 20x10 block.
func fmMarkerImage() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 60, 30))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{128, 128, 128, 255}), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(0, 0, 20, 10), image.NewUniform(color.RGBA{230, 20, 20, 255}), image.Point{}, draw.Src)
	return img
}

// fmTIFFOrientation is a minimal TIFF header whose IFD0 holds only the
// Orientation tag.
func fmTIFFOrientation(o uint16, bo binary.ByteOrder) []byte {
	var b bytes.Buffer
	if bo == binary.LittleEndian {
		b.WriteString("II")
	} else {
		b.WriteString("MM")
	}
	w := func(v any) { _ = binary.Write(&b, bo, v) }
	w(uint16(42))
	w(uint32(8))
	w(uint16(1))      // one entry
	w(uint16(0x0112)) // Orientation
	w(uint16(3))      // SHORT
	w(uint32(1))
	w(o)
	w(uint16(0))
	w(uint32(0)) // no next IFD
	return b.Bytes()
}

func fmJPEGWithOrientation(t testing.TB, img image.Image, o uint16, bo binary.ByteOrder) []byte {
	t.Helper()
	var enc bytes.Buffer
	require.NoError(t, jpeg.Encode(&enc, img, &jpeg.Options{Quality: 95}))
	raw := enc.Bytes()
	payload := append([]byte("Exif\x00\x00"), fmTIFFOrientation(o, bo)...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, raw[:2]...)
	// An unrelated APP segment first, as cameras write JFIF/XMP too.
	out = append(out, 0xFF, 0xE2, 0, 6, 'I', 'C', 'C', 0)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, raw[2:]...)
}

func fmPNGWithOrientation(t testing.TB, img image.Image, o uint16) []byte {
	t.Helper()
	var enc bytes.Buffer
	require.NoError(t, png.Encode(&enc, img))
	raw := enc.Bytes()
	body := fmTIFFOrientation(o, binary.BigEndian)
	chunk := make([]byte, 8, 12+len(body))
	binary.BigEndian.PutUint32(chunk, uint32(len(body)))
	copy(chunk[4:], "eXIf")
	chunk = append(chunk, body...)
	crc := crc32.ChecksumIEEE(chunk[4:])
	chunk = binary.BigEndian.AppendUint32(chunk, crc)
	ihdrEnd := 8 + 12 + 13
	out := append([]byte{}, raw[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, raw[ihdrEnd:]...)
}

// fmRedCorner reports which corner of m holds the red marker.
func fmRedCorner(t *testing.T, m gocv.Mat) string {
	t.Helper()
	img, err := MatToImage(m)
	require.NoError(t, err)
	b := img.Bounds()
	corners := map[string]image.Point{
		"tl": {2, 2}, "tr": {b.Dx() - 3, 2}, "bl": {2, b.Dy() - 3}, "br": {b.Dx() - 3, b.Dy() - 3},
	}
	found := ""
	for name, p := range corners {
		r, g, _, _ := img.At(p.X, p.Y).RGBA()
		if r>>8 > 180 && g>>8 < 80 {
			assert.Empty(t, found, "red in two corners")
			found = name
		}
	}
	return found
}

func TestDecodeImageEXIFOrientation(t *testing.T) {
	fmMatLeakCheck(t)
	src := fmMarkerImage()
	for _, tc := range []struct {
		o      uint16
		w, h   int
		corner string
	}{
		{1, 60, 30, "tl"},
		{2, 60, 30, "tr"},
		{3, 60, 30, "br"},
		{4, 60, 30, "bl"},
		{5, 30, 60, "tl"},
		{6, 30, 60, "tr"},
		{7, 30, 60, "br"},
		{8, 30, 60, "bl"},
		{0, 60, 30, "tl"}, // invalid value: ignored
		{9, 60, 30, "tl"}, // invalid value: ignored
	} {
		for name, data := range map[string][]byte{
			"jpeg-II": fmJPEGWithOrientation(t, src, tc.o, binary.LittleEndian),
			"jpeg-MM": fmJPEGWithOrientation(t, src, tc.o, binary.BigEndian),
			"png":     fmPNGWithOrientation(t, src, tc.o),
		} {
			m, err := DecodeImage(data)
			require.NoError(t, err, "%s orientation %d", name, tc.o)
			assert.Equal(t, gocv.MatTypeCV8UC3, m.Type())
			assert.Equal(t, tc.w, m.Cols(), "%s orientation %d", name, tc.o)
			assert.Equal(t, tc.h, m.Rows(), "%s orientation %d", name, tc.o)
			assert.Equal(t, tc.corner, fmRedCorner(t, m), "%s orientation %d", name, tc.o)
			m.Close()
		}
	}
}

func TestDecodeImageUndecodable(t *testing.T) {
	fmMatLeakCheck(t)
	var enc bytes.Buffer
	require.NoError(t, jpeg.Encode(&enc, fmMarkerImage(), nil))
	for name, data := range map[string][]byte{
		"empty":     nil,
		"html":      []byte("<!DOCTYPE html><html><body>not an image</body></html>"),
		"garbage":   bytes.Repeat([]byte{0x13, 0x37}, 500),
		"jpeg head": enc.Bytes()[:20],
		"png sig":   []byte("\x89PNG\r\n\x1a\n"),
	} {
		m, err := DecodeImage(data)
		assert.Equal(t, gocv.Mat{}, m, name) // the zero Mat: nothing to close
		require.Error(t, err, name)
		assert.ErrorIs(t, err, ErrImageUndecodable, name)
		var ie *ImageError
		assert.ErrorAs(t, err, &ie, name)
		assert.Contains(t, err.Error(), "vision: ", name)
	}
}

func TestDecodeImageTooLarge(t *testing.T) {
	// A PNG header claiming 20000x20000 pixels: refused before decoding.
	var enc bytes.Buffer
	require.NoError(t, png.Encode(&enc, image.NewGray(image.Rect(0, 0, 1, 1))))
	data := enc.Bytes()
	binary.BigEndian.PutUint32(data[16:], 20000)
	binary.BigEndian.PutUint32(data[20:], 20000)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	m, err := DecodeImage(data)
	m.Close()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrImageUndecodable)
	assert.Contains(t, err.Error(), "20000x20000")
}

func TestDecodeImageRealPhotos(t *testing.T) {
	fmMatLeakCheck(t)
	data := fmEnvDir(t, "HOVIYAT_DATA")
	files, err := filepath.Glob(filepath.Join(data, "photos", "deepface", "*.jpg"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
		require.NoError(t, err)
		m, err := DecodeImage(b)
		require.NoError(t, err, f)
		o := exifOrientationOf(b)
		if o >= 5 {
			assert.Equal(t, cfg.Width, m.Rows(), f)
			assert.Equal(t, cfg.Height, m.Cols(), f)
		} else {
			assert.Equal(t, cfg.Width, m.Cols(), f)
			assert.Equal(t, cfg.Height, m.Rows(), f)
		}
		m.Close()
	}
}

func TestMatImageRoundTrip(t *testing.T) {
	fmMatLeakCheck(t)
	base := fmMarkerImage()
	nrgba := image.NewNRGBA(base.Bounds())
	draw.Draw(nrgba, nrgba.Bounds(), base, image.Point{}, draw.Src)
	gray := image.NewGray(base.Bounds())
	draw.Draw(gray, gray.Bounds(), base, image.Point{}, draw.Src)
	ycc := image.NewYCbCr(base.Bounds(), image.YCbCrSubsampleRatio444)
	for y := 0; y < 30; y++ {
		for x := 0; x < 60; x++ {
			c := base.RGBAAt(x, y)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)], ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = yy, cb, cr
		}
	}
	pal := image.NewPaletted(base.Bounds(), color.Palette{color.RGBA{128, 128, 128, 255}, color.RGBA{230, 20, 20, 255}})
	draw.Draw(pal, pal.Bounds(), base, image.Point{}, draw.Src)
	sub := base.SubImage(image.Rect(10, 5, 50, 25))

	for _, tc := range []struct {
		name   string
		img    image.Image
		w, h   int
		tl     color.RGBA // expected colour at the result's (1,1)
		tolVal int
	}{
		{"rgba", base, 60, 30, color.RGBA{230, 20, 20, 255}, 0},
		{"nrgba", nrgba, 60, 30, color.RGBA{230, 20, 20, 255}, 0},
		{"gray", gray, 60, 30, func() color.RGBA { g := gray.GrayAt(1, 1).Y; return color.RGBA{g, g, g, 255} }(), 0},
		{"ycbcr", ycc, 60, 30, color.RGBA{230, 20, 20, 255}, 3},
		{"paletted", pal, 60, 30, color.RGBA{230, 20, 20, 255}, 0},
		{"subimage", sub, 40, 20, color.RGBA{230, 20, 20, 255}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ImageToMat(tc.img)
			require.NoError(t, err)
			defer m.Close()
			assert.Equal(t, gocv.MatTypeCV8UC3, m.Type())
			assert.Equal(t, tc.w, m.Cols())
			assert.Equal(t, tc.h, m.Rows())
			v := m.GetVecbAt(1, 1) // BGR
			assert.InDelta(t, int(tc.tl.B), int(v[0]), float64(tc.tolVal))
			assert.InDelta(t, int(tc.tl.G), int(v[1]), float64(tc.tolVal))
			assert.InDelta(t, int(tc.tl.R), int(v[2]), float64(tc.tolVal))
			back, err := MatToImage(m)
			require.NoError(t, err)
			rgba, ok := back.(*image.RGBA)
			require.True(t, ok)
			assert.Equal(t, image.Rect(0, 0, tc.w, tc.h), rgba.Bounds())
			got := rgba.RGBAAt(1, 1)
			assert.Equal(t, [3]uint8{v[2], v[1], v[0]}, [3]uint8{got.R, got.G, got.B})
		})
	}
}

func TestMatToImageTypes(t *testing.T) {
	fmMatLeakCheck(t)
	bgr, err := ImageToMat(fmMarkerImage())
	require.NoError(t, err)
	defer bgr.Close()
	gray, bgra := gocv.NewMat(), gocv.NewMat()
	defer gray.Close()
	defer bgra.Close()
	gocv.CvtColor(bgr, &gray, gocv.ColorBGRToGray)
	gocv.CvtColor(bgr, &bgra, gocv.ColorBGRToBGRA)

	gi, err := MatToImage(gray)
	require.NoError(t, err)
	assert.IsType(t, &image.Gray{}, gi)
	ni, err := MatToImage(bgra)
	require.NoError(t, err)
	require.IsType(t, &image.NRGBA{}, ni)
	assert.Equal(t, color.NRGBA{230, 20, 20, 255}, ni.(*image.NRGBA).NRGBAAt(0, 0))

	// A non-continuous region converts too.
	roi := bgr.Region(image.Rect(10, 5, 30, 15))
	ri, err := MatToImage(roi)
	roi.Close()
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 20, 10), ri.Bounds())
	assert.Equal(t, color.RGBA{230, 20, 20, 255}, ri.(*image.RGBA).RGBAAt(0, 0))
	assert.Equal(t, color.RGBA{128, 128, 128, 255}, ri.(*image.RGBA).RGBAAt(15, 8))

	f := gocv.NewMatWithSize(4, 4, gocv.MatTypeCV32F)
	defer f.Close()
	_, err = MatToImage(f)
	assert.ErrorIs(t, err, ErrImageUndecodable)
	empty := gocv.NewMat()
	defer empty.Close()
	_, err = MatToImage(empty)
	assert.Error(t, err)
	_, err = ImageToMat(nil)
	assert.Error(t, err)
	m, err := ImageToMat(image.NewRGBA(image.Rectangle{}))
	m.Close()
	assert.Error(t, err)
}

func TestImageToMatPremultipliedAlpha(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Pix = []uint8{100, 50, 0, 128} // premultiplied: straight colour ~ (199, 100, 0)
	m, err := ImageToMat(img)
	require.NoError(t, err)
	defer m.Close()
	v := m.GetVecbAt(0, 0)
	assert.InDelta(t, 199, int(v[2]), 1)
	assert.InDelta(t, 100, int(v[1]), 1)
	assert.Equal(t, uint8(0), v[0])
}

func TestExifOrientationMalformed(t *testing.T) {
	t.Parallel()
	good := fmTIFFOrientation(6, binary.LittleEndian)
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{"good", good, 6},
		{"short", good[:7], 0},
		{"bad magic", append([]byte("IX"), good[2:]...), 0},
		{"not 42", append(append([]byte{}, good[:2]...), append([]byte{43, 0}, good[4:]...)...), 0},
		{"ifd offset past end", append(append([]byte{}, good[:4]...), 0xFF, 0xFF, 0, 0), 0},
		{"entries truncated", good[:14], 0},
		{"long type", func() []byte {
			b := append([]byte{}, good...)
			binary.LittleEndian.PutUint16(b[12:], 4)
			binary.LittleEndian.PutUint32(b[18:], 3)
			return b
		}(), 3},
		{"rational type", func() []byte {
			b := append([]byte{}, good...)
			binary.LittleEndian.PutUint16(b[12:], 5)
			return b
		}(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tiffOrientation(tc.data))
		})
	}
	// JPEG: a segment length running past the end, and a scan before EXIF.
	assert.Zero(t, exifOrientationOf([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E'}))
	assert.Zero(t, exifOrientationOf([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 0xFF, 0xE1}))
	assert.Zero(t, exifOrientationOf([]byte("GIF89a")))
}

// FuzzExifOrientation checks that the metadata parser never panics and
// only returns valid orientations on arbitrary input.
func FuzzExifOrientation(f *testing.F) {
	f.Add(fmJPEGWithOrientation(f, fmMarkerImage(), 6, binary.LittleEndian)[:200])
	f.Add(fmPNGWithOrientation(f, fmMarkerImage(), 8)[:120])
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		o := exifOrientationOf(data)
		if o < 0 || o > 8 {
			t.Fatalf("orientation %d out of range", o)
		}
		if len(data) >= 8 {
			_ = tiffOrientation(data)
		}
	})
}

// FuzzDecodeImage feeds arbitrary bytes (registry photos come from outside)
// through DecodeImage: an error or an upright 8-bit BGR image, never a
// crash.
func FuzzDecodeImage(f *testing.F) {
	small := image.NewRGBA(image.Rect(0, 0, 8, 6))
	small.Pix[0] = 200
	var pngBuf bytes.Buffer
	require.NoError(f, png.Encode(&pngBuf, small))
	f.Add(fmJPEGWithOrientation(f, small, 6, binary.BigEndian))
	f.Add(pngBuf.Bytes())
	f.Add(fmPNGWithOrientation(f, small, 7))
	f.Add([]byte("<html></html>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeImage(data)
		if err != nil {
			if !errors.Is(err, ErrImageUndecodable) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		defer m.Close()
		if m.Empty() || m.Type() != gocv.MatTypeCV8UC3 {
			t.Fatalf("decoded to an empty or non-BGR Mat (type %v)", m.Type())
		}
	})
}

// MatToImage of a BGR region of a real frame gives, pixel for pixel, the
// plain channel swap with opaque alpha.
func TestMatToImageBGRRegionExact(t *testing.T) {
	t.Parallel()
	f := measureFrame(t, "g06", time.Second)
	defer f.Mat.Close()
	r := image.Rect(101, 333, 517, 811)
	roi := f.Mat.Region(r)
	defer roi.Close()
	img, err := MatToImage(roi)
	require.NoError(t, err)
	rgba, ok := img.(*image.RGBA)
	require.True(t, ok)
	require.Equal(t, image.Rect(0, 0, r.Dx(), r.Dy()), rgba.Bounds())
	for y := 0; y < r.Dy(); y += 7 {
		for x := 0; x < r.Dx(); x += 5 {
			v := f.Mat.GetVecbAt(r.Min.Y+y, r.Min.X+x)
			assert.Equal(t, color.RGBA{v[2], v[1], v[0], 0xFF}, rgba.RGBAAt(x, y), "(%d,%d)", x, y)
		}
	}
}
