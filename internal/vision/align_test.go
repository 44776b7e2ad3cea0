package vision

import (
	"image"
	"image/color"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
)

func fmApply(p [5]facematch.Point, a, b, tx, ty float64) [5]facematch.Point {
	var out [5]facematch.Point
	for i, q := range p {
		out[i] = facematch.Point{X: a*q.X - b*q.Y + tx, Y: b*q.X + a*q.Y + ty}
	}
	return out
}

func TestSimilarityTransformRecoversKnown(t *testing.T) {
	t.Parallel()
	src := ArcFace112.Points
	for _, tc := range []struct {
		name               string
		scale, deg, tx, ty float64
	}{
		{"identity", 1, 0, 0, 0},
		{"shift", 1, 0, 12.5, -7},
		{"scale up rotate", 3.2, 17, 400, 120},
		{"scale down rotate back", 0.4, -35, -3, 9},
		{"upside down", 1.5, 180, 50, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := tc.deg * math.Pi / 180
			a0, b0 := tc.scale*math.Cos(r), tc.scale*math.Sin(r)
			dst := fmApply(src, a0, b0, tc.tx, tc.ty)
			a, b, tx, ty := SimilarityTransform(src, dst)
			assert.InDelta(t, a0, a, 1e-9)
			assert.InDelta(t, b0, b, 1e-9)
			assert.InDelta(t, tc.tx, tx, 1e-7)
			assert.InDelta(t, tc.ty, ty, 1e-7)
		})
	}
}

// With noisy points the fit is the least-squares one: perturbing the
// solution in any direction does not reduce the squared error.
func TestSimilarityTransformLeastSquares(t *testing.T) {
	t.Parallel()
	src := ArcFace112.Points
	dst := fmApply(src, 2, 0.5, 30, 40)
	noise := [5][2]float64{{1.5, -0.7}, {-2, 0.3}, {0.4, 1.9}, {-0.8, -1.1}, {0.9, -0.4}}
	for i := range dst {
		dst[i].X += noise[i][0]
		dst[i].Y += noise[i][1]
	}
	sse := func(a, b, tx, ty float64) float64 {
		var s float64
		for i, p := range fmApply(src, a, b, tx, ty) {
			s += (p.X-dst[i].X)*(p.X-dst[i].X) + (p.Y-dst[i].Y)*(p.Y-dst[i].Y)
		}
		return s
	}
	a, b, tx, ty := SimilarityTransform(src, dst)
	best := sse(a, b, tx, ty)
	for _, d := range [][4]float64{{1e-3, 0, 0, 0}, {-1e-3, 0, 0, 0}, {0, 1e-3, 0, 0}, {0, -1e-3, 0, 0}, {0, 0, 0.01, 0}, {0, 0, -0.01, 0}, {0, 0, 0, 0.01}, {0, 0, 0, -0.01}} {
		assert.Greater(t, sse(a+d[0], b+d[1], tx+d[2], ty+d[3]), best)
	}
	// Degenerate source: identity.
	var same [5]facematch.Point
	a, b, tx, ty = SimilarityTransform(same, dst)
	assert.Equal(t, [4]float64{1, 0, 0, 0}, [4]float64{a, b, tx, ty})
}

// A synthetic face: five bright dots placed where a known transform sends
// the template. After AlignFace each dot sits on its template point.
func TestAlignFaceSyntheticDots(t *testing.T) {
	fmMatLeakCheck(t)
	r := 25 * math.Pi / 180
	a, b := 2.5*math.Cos(r), 2.5*math.Sin(r)
	lm := fmApply(ArcFace112.Points, a, b, 150, 60)
	img := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer img.Close()
	for _, p := range lm {
		gocv.Circle(&img, image.Pt(int(math.Round(p.X)), int(math.Round(p.Y))), 4, color.RGBA{255, 255, 255, 0}, -1)
	}
	out, err := AlignFace(img, lm, ArcFace112)
	require.NoError(t, err)
	defer out.Close()
	assert.Equal(t, 112, out.Cols())
	assert.Equal(t, 112, out.Rows())
	assert.Equal(t, gocv.MatTypeCV8UC3, out.Type())
	for i, p := range ArcFace112.Points {
		// Brightness centroid in a 9x9 window around the template point.
		var sx, sy, sw float64
		for y := int(p.Y) - 4; y <= int(p.Y)+4; y++ {
			for x := int(p.X) - 4; x <= int(p.X)+4; x++ {
				w := float64(out.GetVecbAt(y, x)[0])
				sx += w * float64(x)
				sy += w * float64(y)
				sw += w
			}
		}
		require.Positive(t, sw, "dot %d not found", i)
		assert.InDelta(t, p.X, sx/sw, 0.7, "dot %d x", i)
		assert.InDelta(t, p.Y, sy/sw, 0.7, "dot %d y", i)
	}
}

func TestAlignFaceErrors(t *testing.T) {
	fmMatLeakCheck(t)
	img := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8UC3)
	defer img.Close()
	empty := gocv.NewMat()
	defer empty.Close()
	_, err := AlignFace(empty, ArcFace112.Points, ArcFace112)
	assert.ErrorIs(t, err, ErrImageUndecodable)
	_, err = AlignFace(img, ArcFace112.Points, Template{Points: ArcFace112.Points})
	assert.Error(t, err)
	bad := ArcFace112.Points
	bad[2].X = math.NaN()
	_, err = AlignFace(img, bad, ArcFace112)
	assert.Error(t, err)
	var same [5]facematch.Point
	_, err = AlignFace(img, same, ArcFace112)
	assert.Error(t, err)
}

// fmProject places an average face (template proportions, nose depth 0.39
// eye-to-mouth heights) in 3-D, rotates it and projects orthographically.
func fmProject(yaw, pitch, roll float64) [5]facematch.Point {
	t := ArcFace112.Points
	ey := (t[0].Y + t[1].Y) / 2
	my := (t[3].Y + t[4].Y) / 2
	cx := (t[0].X + t[1].X + t[3].X + t[4].X) / 4
	depth := poseDepthPerHeight * (my - ey)
	pts := [5][3]float64{
		{t[0].X - cx, t[0].Y, 0}, {t[1].X - cx, t[1].Y, 0},
		{0, ey + poseNoseFrac*(my-ey), depth},
		{t[3].X - cx, t[3].Y, 0}, {t[4].X - cx, t[4].Y, 0},
	}
	y, p, r := yaw*math.Pi/180, pitch*math.Pi/180, roll*math.Pi/180
	var out [5]facematch.Point
	for i, q := range pts {
		x, yy, z := q[0], q[1]-ey, q[2]
		// yaw about the vertical axis: the nose (z>0) moves to +x
		x, z = x*math.Cos(y)+z*math.Sin(y), -x*math.Sin(y)+z*math.Cos(y)
		// pitch about the horizontal axis: the nose moves up (-y)
		yy, z = yy*math.Cos(p)-z*math.Sin(p), yy*math.Sin(p)+z*math.Cos(p)
		// roll in the image plane
		x, yy = x*math.Cos(r)-yy*math.Sin(r), x*math.Sin(r)+yy*math.Cos(r)
		out[i] = facematch.Point{X: 200 + 3*x, Y: 150 + 3*yy}
	}
	return out
}

func TestHeadPoseSynthetic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		yaw, pitch, roll float64
		tol              float64
	}{
		{0, 0, 0, 0.5},
		{20, 0, 0, 1},
		{-20, 0, 0, 1},
		{40, 0, 0, 1},
		{0, 15, 0, 1},
		{0, -15, 0, 1},
		{0, 0, 30, 0.5},
		{0, 0, -10, 0.5},
		{15, 10, 5, 3},
		{-25, -10, 8, 5},
	} {
		yaw, pitch, roll := HeadPose(fmProject(tc.yaw, tc.pitch, tc.roll))
		assert.InDelta(t, tc.yaw, yaw, tc.tol, "yaw of %+v", tc)
		assert.InDelta(t, tc.pitch, pitch, tc.tol, "pitch of %+v", tc)
		assert.InDelta(t, tc.roll, roll, tc.tol, "roll of %+v", tc)
	}
	// The template is frontal in yaw and roll; its nose sits higher than
	// YuNet's, which HeadPose reads as ~10° chin-up.
	yaw, pitch, roll := HeadPose(ArcFace112.Points)
	assert.InDelta(t, 0, yaw, 2)
	assert.InDelta(t, 9.5, pitch, 1.5)
	assert.InDelta(t, 0, roll, 1)
	// Degenerate landmarks do not produce NaN.
	var same [5]facematch.Point
	yaw, pitch, roll = HeadPose(same)
	assert.False(t, math.IsNaN(yaw) || math.IsNaN(pitch) || math.IsNaN(roll))
}

// On real, mostly frontal portraits the pose is near frontal; a mirrored
// photo flips the sign of yaw and roll (within YuNet's landmark noise:
// the same face mirrored reads up to ~14° differently in yaw).
func TestHeadPoseRealPhotos(t *testing.T) {
	fmMatLeakCheck(t)
	data := fmEnvDir(t, "HOVIYAT_DATA")
	d := fmDetector(t, FaceDetectorConfig{})
	for _, name := range []string{"luda.jpg", "tzuyu2.jpg", "seulgi.jpg", "nayoung.jpg"} {
		img := fmReadImage(t, filepath.Join(data, "photos", "goface", name))
		faces, err := d.Detect(img)
		require.NoError(t, err)
		require.NotEmpty(t, faces)
		yaw, pitch, roll := HeadPose(faces[0].Landmarks)
		assert.Less(t, math.Abs(yaw), 25.0, name)
		assert.Less(t, math.Abs(pitch), 25.0, name)
		assert.Less(t, math.Abs(roll), 15.0, name)

		flipped := gocv.NewMat()
		gocv.Flip(img, &flipped, 1)
		ff, err := d.Detect(flipped)
		require.NoError(t, err)
		require.NotEmpty(t, ff)
		fyaw, _, froll := HeadPose(ff[0].Landmarks)
		t.Logf("%s: yaw %.1f flipped %.1f, roll %.1f flipped %.1f", name, yaw, fyaw, roll, froll)
		// YuNet is not mirror-symmetric: allow its landmark noise.
		assert.InDelta(t, -yaw, fyaw, 15, name)
		assert.InDelta(t, -roll, froll, 8, name)
		if math.Abs(yaw) > 10 && math.Abs(fyaw) > 10 {
			assert.Equal(t, yaw > 0, fyaw < 0, "yaw sign flips: %s", name)
		}
		flipped.Close()
		img.Close()
	}
}

func BenchmarkAlignFace(b *testing.B) {
	img := gocv.NewMatWithSize(720, 1280, gocv.MatTypeCV8UC3)
	defer img.Close()
	lm := fmApply(ArcFace112.Points, 2.2, 0.3, 500, 200)
	cpu := fmCPU()
	for i := 0; i < b.N; i++ {
		out, err := AlignFace(img, lm, ArcFace112)
		if err != nil {
			b.Fatal(err)
		}
		out.Close()
	}
	fmReportCPU(b, cpu)
}
