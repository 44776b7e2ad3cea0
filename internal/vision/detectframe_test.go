package vision

import (
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"
)

// DetectFrame finds what Detect finds and makes the decoder's thumbnail,
// whether or not it can reuse the detector's downscaled copy; a frame that
// has a thumbnail keeps it.
func TestDetectFrameMatchesDetectAndThumbnail(t *testing.T) {
	t.Parallel()
	det := ingestDetector(t)
	base := measureFrame(t, "g06", time.Second) // 720x1280: reuses the copy
	defer base.Mat.Close()
	half := gocv.NewMat() // 360x640: no intermediate copy
	defer half.Close()
	gocv.Resize(base.Mat, &half, image.Pt(360, 640), 0, 0, gocv.InterpolationArea)
	wide := gocv.NewMat() // 1280x720 with a face: reuses the copy
	defer wide.Close()
	gocv.Rotate(base.Mat, &wide, gocv.Rotate90Clockwise)
	thumbs := newThumbnailer(DefaultThumbSize)
	defer thumbs.close()
	for name, img := range map[string]gocv.Mat{"720x1280": base.Mat, "360x640": half, "1280x720": wide} {
		want, err := det.Detect(img)
		require.NoError(t, err, name)
		wantThumb, tw, th := thumbs.thumb(img)
		f := Frame{Mat: img}
		got, err := det.DetectFrame(&f, DefaultThumbSize)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
		assert.Equal(t, wantThumb, f.Thumb, name)
		assert.Equal(t, [2]int{tw, th}, [2]int{f.ThumbW, f.ThumbH}, name)
	}
	keep := Frame{Mat: base.Mat, Thumb: []byte{1, 2, 3, 4}, ThumbW: 2, ThumbH: 2}
	_, err := det.DetectFrame(&keep, DefaultThumbSize)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3, 4}, keep.Thumb)
	none := Frame{Mat: base.Mat}
	_, err = det.DetectFrame(&none, 0)
	require.NoError(t, err)
	assert.Nil(t, none.Thumb)
}

// MeasureDetected on a detector's faces gives Measure's record.
func TestMeasureDetectedMatchesMeasure(t *testing.T) {
	t.Parallel()
	m := newTestMeasurer(t)
	det, err := NewFaceDetector(m.DetectorConfig())
	require.NoError(t, err)
	defer det.Close()
	f := measureFrame(t, "g06", time.Second)
	defer f.Mat.Close()
	tilted := gocv.NewMat() // exercises the upright re-detection
	defer tilted.Close()
	rot := gocv.GetRotationMatrix2D(image.Pt(f.Mat.Cols()/2, f.Mat.Rows()/2), 30, 1)
	gocv.WarpAffine(f.Mat, &tilted, rot, image.Pt(f.Mat.Cols(), f.Mat.Rows()))
	rot.Close()
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 90, 90, 0), 360, 640, gocv.MatTypeCV8UC3)
	defer blank.Close()
	for i, img := range []gocv.Mat{f.Mat, tilted, blank} {
		fr := Frame{Index: i, Time: time.Duration(i) * time.Second, Mat: img}
		m.Reset()
		want, err := m.Measure(fr)
		require.NoError(t, err)
		faces, err := det.DetectFrame(&fr, DefaultThumbSize)
		require.NoError(t, err)
		m.Reset()
		got, err := m.MeasureDetected(fr, faces)
		require.NoError(t, err)
		assert.Equal(t, want, got, "frame %d", i)
	}
	empty := gocv.NewMat()
	defer empty.Close()
	_, err = m.MeasureDetected(Frame{Mat: empty}, nil)
	assert.Error(t, err)
}

// The detector's input blob is exactly CopyMakeBorder (black) followed by
// BlobFromImage, for portrait and landscape frames, and stays so when the
// frame size changes back and forth, including to a narrower image of the
// same padded size (whose padding held pixels of the wider one).
func TestFillBlobEqualsBlobFromImage(t *testing.T) {
	t.Parallel()
	det := ingestDetector(t)
	base := measureFrame(t, "g06", time.Second)
	defer base.Mat.Close()
	wide := gocv.NewMat()
	defer wide.Close()
	gocv.Rotate(base.Mat, &wide, gocv.Rotate90Clockwise)
	square, narrow := gocv.NewMat(), gocv.NewMat() // 320x320, then 318x320: same padded size
	defer square.Close()
	defer narrow.Close()
	gocv.Resize(base.Mat, &square, image.Pt(640, 640), 0, 0, gocv.InterpolationArea)
	gocv.Resize(base.Mat, &narrow, image.Pt(636, 640), 0, 0, gocv.InterpolationArea)
	for i, img := range []gocv.Mat{base.Mat, wide, base.Mat, square, narrow, square} {
		// The blob as the network got it: Detect fills it, then a blob
		// refilled for the same image must equal what Detect used.
		_, err := det.Detect(img)
		require.NoError(t, err)
		sw, sh := det.resized.Cols(), det.resized.Rows()
		pw, ph := (sw+31)/32*32, (sh+31)/32*32
		require.NoError(t, det.fillBlob(sw, sh, pw, ph))
		padded := gocv.NewMat()
		gocv.CopyMakeBorder(det.resized, &padded, 0, ph-sh, 0, pw-sw, gocv.BorderConstant, color.RGBA{})
		want := gocv.BlobFromImage(padded, 1.0, image.Pt(pw, ph), gocv.NewScalar(0, 0, 0, 0), false, false)
		w, err := want.DataPtrFloat32()
		require.NoError(t, err)
		g, err := det.blob.DataPtrFloat32()
		require.NoError(t, err)
		assert.Equal(t, w, g, "frame %d (%dx%d)", i, sw, sh)
		assert.Equal(t, want.Size(), det.blob.Size())
		want.Close()
		padded.Close()
	}
}
