package vision

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
)

// Template is a 5-point landmark layout of an aligned face crop of
// Size x Size pixels, in the ArcFace landmark order. It is a plain value,
// safe to share.
type Template struct {
	Points [5]facematch.Point
	Size   int
}

// ArcFace112 is the standard 112x112 ArcFace alignment template (InsightFace
// "arcface_dst"), used by MobileFaceNet, SFace and most ArcFace-family
// embedders.
var ArcFace112 = Template{
	Points: [5]facematch.Point{
		{X: 38.2946, Y: 51.6963},
		{X: 73.5318, Y: 51.5014},
		{X: 56.0252, Y: 71.7366},
		{X: 41.5493, Y: 92.3655},
		{X: 70.7299, Y: 92.2041},
	},
	Size: 112,
}

// SimilarityTransform returns the least-squares similarity transform
// (rotation, uniform scale, translation; no reflection) mapping src onto
// dst, as in Umeyama (1991) restricted to 2-D:
//
//	x' = a*x - b*y + tx
//	y' = b*x + a*y + ty
//
// Degenerate input (all src points equal) gives the identity.
func SimilarityTransform(src, dst [5]facematch.Point) (a, b, tx, ty float64) {
	var msx, msy, mdx, mdy float64
	for i := range src {
		msx += src[i].X
		msy += src[i].Y
		mdx += dst[i].X
		mdy += dst[i].Y
	}
	msx, msy, mdx, mdy = msx/5, msy/5, mdx/5, mdy/5
	var num1, num2, den float64
	for i := range src {
		sx, sy := src[i].X-msx, src[i].Y-msy
		dx, dy := dst[i].X-mdx, dst[i].Y-mdy
		num1 += sx*dx + sy*dy
		num2 += sx*dy - sy*dx
		den += sx*sx + sy*sy
	}
	if den < 1e-12 {
		return 1, 0, 0, 0
	}
	a, b = num1/den, num2/den
	tx = mdx - (a*msx - b*msy)
	ty = mdy - (b*msx + a*msy)
	return a, b, tx, ty
}

// AlignFace warps img so that the landmarks lm land on the template
// points, returning a t.Size x t.Size crop (bilinear, black border) of the
// same type as img. The caller closes the result; on error it is the zero
// Mat (closing it is a no-op).
func AlignFace(img gocv.Mat, lm [5]facematch.Point, t Template) (gocv.Mat, error) {
	if img.Empty() {
		return gocv.Mat{}, &ImageError{Msg: "empty Mat given to AlignFace"}
	}
	if t.Size <= 0 || t.Size > 4096 {
		return gocv.Mat{}, fmt.Errorf("vision: alignment template size %d outside (0,4096]", t.Size)
	}
	for _, p := range lm {
		if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
			return gocv.Mat{}, fmt.Errorf("vision: landmark %v is not finite", p)
		}
	}
	spread := 0.0
	for _, p := range lm[1:] {
		spread = max(spread, math.Abs(p.X-lm[0].X), math.Abs(p.Y-lm[0].Y))
	}
	if spread < 1e-6 {
		return gocv.Mat{}, fmt.Errorf("vision: degenerate landmarks %v", lm)
	}
	a, b, tx, ty := SimilarityTransform(lm, t.Points)
	if math.Hypot(a, b) < 1e-9 {
		return gocv.Mat{}, fmt.Errorf("vision: degenerate landmarks %v", lm)
	}
	m := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer m.Close()
	m.SetDoubleAt(0, 0, a)
	m.SetDoubleAt(0, 1, -b)
	m.SetDoubleAt(0, 2, tx)
	m.SetDoubleAt(1, 0, b)
	m.SetDoubleAt(1, 1, a)
	m.SetDoubleAt(1, 2, ty)
	out := gocv.NewMat()
	gocv.WarpAffineWithParams(img, &out, m, image.Pt(t.Size, t.Size), gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
	return out, nil
}

// Geometry of an average face used by HeadPose, from the ArcFace template
// proportions, a generic 3-D head model (nose tip about 0.39 eye-to-mouth
// heights in front of the plane through the eyes and mouth corners) and
// YuNet's own landmark placement.
const (
	// poseNoseFrac is where YuNet puts the nose tip between the eye line
	// (0) and the mouth line (1) on a face looking at the camera: the
	// median over the 62 shared portrait photos (0.568) and frames of the
	// 15 genuine clips (0.555). The ArcFace template's 0.495 would read
	// every frontal YuNet face as ~10° chin-down.
	poseNoseFrac = 0.56
	// poseDepthPerHeight is nose depth / eye-to-mouth height.
	poseDepthPerHeight = 0.39
	// poseDepthPerIOD is nose depth / inter-ocular distance
	// (template IOD/height = 35.24/40.69 = 0.866).
	poseDepthPerIOD = poseDepthPerHeight / 0.866
)

// HeadPose estimates head yaw, pitch and roll in degrees from 5 landmarks
// (ArcFace order), under weak perspective with an average face:
//
//   - roll is the angle of the eye line: positive when the image-right eye
//     is lower (the head leans towards image-right).
//   - yaw comes from the nose tip's offset from the eye-mid to mouth-mid
//     line, divided by the apparent inter-ocular distance; for an average
//     face that ratio is 0.45*tan(yaw). Positive yaw: the nose moves
//     towards image-right (for a mirrored selfie preview, the person turned
//     to their left).
//   - pitch comes from where the nose tip lies between the eye line and
//     the mouth line, 0.56 on a YuNet face looking at the camera; the
//     shift is 0.39*tan(pitch). Positive pitch: chin up (nose moves
//     towards the eyes).
//
// Expected error: individual nose depth and facial proportions vary by
// about ±20%, so the angles carry a proportional error of that order plus
// the landmark noise (±1-2 px on a 100 px face gives ±3-5°). Within ±30°
// expect about ±5-10°; beyond ~45° the detector's landmarks compress and
// the estimates saturate and under-read. Pitch has an extra per-person
// bias (expression, mouth opening shifts the mouth corners) of up to ~10°.
// Combined yaw and pitch tilt the eye line, adding about
// sin(yaw)*sin(pitch) radians to roll (4° at 25° yaw and 10° pitch).
// YuNet's landmarks are not mirror-symmetric: the same photo flipped
// left-right reads on average the same but individually up to ~14°
// differently in yaw (62 portraits), which bounds the per-frame yaw noise;
// take medians over frames.
// Use the angles for gating (frontal or not, turned left or right), not as
// measurements.
func HeadPose(lm [5]facematch.Point) (yaw, pitch, roll float64) {
	le, re := lm[facematch.LeftEye], lm[facematch.RightEye]
	n := lm[facematch.Nose]
	lmo, rmo := lm[facematch.LeftMouth], lm[facematch.RightMouth]
	roll = math.Atan2(re.Y-le.Y, re.X-le.X) * 180 / math.Pi

	ex, ey := (le.X+re.X)/2, (le.Y+re.Y)/2
	mx, my := (lmo.X+rmo.X)/2, (lmo.Y+rmo.Y)/2
	ux, uy := mx-ex, my-ey
	height := math.Hypot(ux, uy)
	iod := math.Hypot(re.X-le.X, re.Y-le.Y)
	if height < 1e-9 || iod < 1e-9 {
		return 0, 0, roll
	}
	ux, uy = ux/height, uy/height
	// (uy, -ux) points to image-right when the mid-line points down.
	nx, ny := n.X-ex, n.Y-ey
	side := nx*uy - ny*ux
	along := (nx*ux + ny*uy) / height

	yaw = math.Atan(side/iod/poseDepthPerIOD) * 180 / math.Pi
	pitch = math.Atan((poseNoseFrac-along)/poseDepthPerHeight) * 180 / math.Pi
	return yaw, pitch, roll
}
