package vision

import (
	"image"
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
