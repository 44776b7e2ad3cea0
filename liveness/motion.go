package liveness

import (
	"math"

	"github.com/hoviyat/hoviyat/facematch"
)

// shift is a global translation between two frames in thumbnail pixels,
// with the matching error it was found at.
type shift struct {
	DX, DY float64
	// Err is the mean absolute grey difference at the best shift (0-255);
	// OK is false when too few background pixels were comparable.
	Err float64
	OK  bool
}

// globalShift estimates the translation of the scene from thumbnail a to
// thumbnail b (both w x h grey), ignoring the pixels inside the face boxes
// (faceA, faceB, in thumbnail pixels, widened by half) so that a person
// moving in front of a still camera is not read as camera motion. It
// searches integer shifts by mean absolute difference coarse to fine (a
// quarter-size pyramid level over ±maxShift/4, then ±1 at half and full
// size) and refines to sub-pixel with a parabola.
func globalShift(a, b []byte, w, h int, faceA, faceB facematch.Rect, maxShift int) shift {
	if len(a) < w*h || len(b) < w*h || w < 16 || h < 16 {
		return shift{}
	}
	mask := make([]uint8, w*h) // 1 = usable background
	for i := range mask {
		mask[i] = 1
	}
	for _, f := range []facematch.Rect{faceA, faceB} {
		if f.W <= 0 || f.H <= 0 {
			continue
		}
		x0 := int(math.Floor(f.X - f.W/4))
		x1 := int(math.Ceil(f.X + f.W*5/4))
		y0 := int(math.Floor(f.Y - f.H/4))
		y1 := int(math.Ceil(f.Y + f.H*5/4))
		for y := max(0, y0); y < min(h, y1); y++ {
			for x := max(0, x0); x < min(w, x1); x++ {
				mask[y*w+x] = 0
			}
		}
	}
	a1, b1, m1 := halve(a, w, h), halve(b, w, h), halveMask(mask, w, h)
	w1, h1 := w/2, h/2
	a2, b2, m2 := halve(a1, w1, h1), halve(b1, w1, h1), halveMask(m1, w1, h1)
	w2, h2 := w1/2, h1/2
	r := max(1, (maxShift+3)/4)
	x2, y2, _, ok := bestShift(a2, b2, m2, w2, h2, -r, r, -r, r)
	if !ok {
		return shift{}
	}
	x1, y1, _, ok := bestShift(a1, b1, m1, w1, h1, 2*x2-1, 2*x2+1, 2*y2-1, 2*y2+1)
	if !ok {
		return shift{}
	}
	// Full size: the 3x3 shifts around the half-size estimate, whose
	// errors are kept for the sub-pixel step (its neighbours are mostly
	// among them).
	type sad struct {
		v  float64
		ok bool
	}
	var near [3][3]sad
	cx, cy := 2*x1, 2*y1
	fx, fy, e, ok := 0, 0, math.Inf(1), false
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			v, vok := shiftSAD(a, b, mask, w, h, cx+dx, cy+dy)
			near[dy+1][dx+1] = sad{v, vok}
			if vok && v < e {
				fx, fy, e, ok = cx+dx, cy+dy, v, true
			}
		}
	}
	if !ok {
		return shift{}
	}
	// Sub-pixel refinement along each axis.
	sub := func(dx, dy int) float64 {
		sx, sy := fx+dx, fy+dy
		var v float64
		var vok bool
		if sx >= cx-1 && sx <= cx+1 && sy >= cy-1 && sy <= cy+1 {
			s := near[sy-cy+1][sx-cx+1]
			v, vok = s.v, s.ok
		} else {
			v, vok = shiftSAD(a, b, mask, w, h, sx, sy)
		}
		if !vok {
			return math.NaN()
		}
		return v
	}
	px := parabola(sub(-1, 0), e, sub(1, 0))
	py := parabola(sub(0, -1), e, sub(0, 1))
	return shift{DX: float64(fx) + px, DY: float64(fy) + py, Err: e, OK: true}
}

// parabola returns the offset in [-0.5,0.5] of the minimum of a parabola
// through (-1,l), (0,c), (1,r).
func parabola(l, c, r float64) float64 {
	if math.IsNaN(l) || math.IsNaN(r) {
		return 0
	}
	den := l - 2*c + r
	if den <= 1e-9 {
		return 0
	}
	return math.Max(-0.5, math.Min(0.5, (l-r)/(2*den)))
}

// bestShift returns the shift (dx,dy) in the given ranges minimising
// shiftSAD; it needs at least a quarter of the image comparable.
func bestShift(a, b []byte, mask []uint8, w, h, x0, x1, y0, y1 int) (int, int, float64, bool) {
	best, bx, by := math.Inf(1), 0, 0
	found := false
	for dy := y0; dy <= y1; dy++ {
		for dx := x0; dx <= x1; dx++ {
			v, ok := shiftSAD(a, b, mask, w, h, dx, dy)
			if ok && v < best {
				best, bx, by, found = v, dx, dy, true
			}
		}
	}
	return bx, by, best, found
}

// shiftSAD returns the mean absolute difference between a(x,y) and
// b(x+dx,y+dy) over the pixels usable in both (mask 1); ok is false when
// fewer than a quarter of the image's pixels are. The loop runs over row
// slices with a branch-free absolute value; integer sums, so the result
// does not depend on the order.
func shiftSAD(a, b []byte, mask []uint8, w, h, dx, dy int) (float64, bool) {
	ys, ye := max(0, -dy), min(h, h-dy)
	xs, xe := max(0, -dx), min(w, w-dx)
	var sum, n int
	if m := xe - xs; m > 0 {
		for y := ys; y < ye; y++ {
			o, ob := y*w+xs, (y+dy)*w+xs+dx
			ra, ma := a[o:o+m], mask[o:o+m]
			rb, mb := b[ob:ob+m], mask[ob:ob+m]
			rb, mb = rb[:len(ra)], mb[:len(ra)]
			for i, av := range ra {
				if ma[i]&mb[i] == 0 {
					continue
				}
				d := int(av) - int(rb[i])
				sg := d >> 63
				sum += (d ^ sg) - sg
				n++
			}
		}
	}
	if n < w*h/4 {
		return math.Inf(1), false
	}
	return float64(sum) / float64(n), true
}

func halve(g []byte, w, h int) []byte {
	hw, hh := w/2, h/2
	out := make([]byte, hw*hh)
	for y := 0; y < hh; y++ {
		for x := 0; x < hw; x++ {
			s := int(g[2*y*w+2*x]) + int(g[2*y*w+2*x+1]) + int(g[(2*y+1)*w+2*x]) + int(g[(2*y+1)*w+2*x+1])
			out[y*hw+x] = byte((s + 2) / 4)
		}
	}
	return out
}

func halveMask(m []uint8, w, h int) []uint8 {
	hw, hh := w/2, h/2
	out := make([]uint8, hw*hh)
	for y := 0; y < hh; y++ {
		for x := 0; x < hw; x++ {
			out[y*hw+x] = m[2*y*w+2*x] & m[2*y*w+2*x+1] & m[(2*y+1)*w+2*x] & m[(2*y+1)*w+2*x+1]
		}
	}
	return out
}

// Regions of the aligned face crop (CropSize pixels, ArcFace layout), as
// [x0, y0, x1, y1) in crop pixels.
var (
	regionLeftEye  = cropRegion(CropLandmarks[facematch.LeftEye], 0.13, 0.07)
	regionRightEye = cropRegion(CropLandmarks[facematch.RightEye], 0.13, 0.07)
	regionMouth    = [4]int{
		int(CropLandmarks[facematch.LeftMouth].X - 0.04*CropSize), int(CropLandmarks[facematch.LeftMouth].Y - 0.09*CropSize),
		int(CropLandmarks[facematch.RightMouth].X + 0.04*CropSize), int(CropLandmarks[facematch.RightMouth].Y + 0.10*CropSize),
	}
)

func cropRegion(c facematch.Point, hw, hh float64) [4]int {
	return [4]int{
		int(c.X - hw*CropSize), int(c.Y - hh*CropSize),
		int(c.X + hw*CropSize), int(c.Y + hh*CropSize),
	}
}

// noseParallax measures how far the nose tip of face b departs from where
// a flat face would put it: the affine map taking a's eyes and mouth
// corners (four nearly coplanar points) onto b's predicts b's nose from
// a's; the error is divided by b's inter-ocular distance. A photo or a
// screen moving, tilting or zooming keeps it at the landmark noise; a real
// head turning or nodding moves the nose off the plane of the other four.
func noseParallax(a, b [5]facematch.Point) (float64, bool) {
	src := []facematch.Point{a[0], a[1], a[3], a[4]}
	dst := []facematch.Point{b[0], b[1], b[3], b[4]}
	t, ok := fitAffine(src, dst)
	if !ok {
		return 0, false
	}
	iod := dist(b[0], b[1])
	if iod < 1e-6 {
		return 0, false
	}
	return dist(t.apply(a[2]), b[2]) / iod, true
}
