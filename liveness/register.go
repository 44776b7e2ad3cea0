package liveness

import (
	"math"
)

// Dense registration of two aligned face crops. The crops are already
// aligned by the five landmarks, which jitter by a pixel or two; a planar
// object (a photo, a screen) therefore still differs between two crops by
// a small affine warp. Registering one crop onto the other with the best
// affine warp (Lucas-Kanade, inverse compositional, coarse to fine) leaves
// only what no plane can explain: a mouth opening, eyelids closing, the
// nose moving across the cheek as the head turns.

// fimg is a float grey image.
type fimg struct {
	w, h int
	p    []float32
}

func (f fimg) at(x, y int) float32 { return f.p[y*f.w+x] }

// bilinear samples f at (x, y); ok is false outside the image.
func (f fimg) bilinear(x, y float64) (float32, bool) {
	if x < 0 || y < 0 || x > float64(f.w-1) || y > float64(f.h-1) {
		return 0, false
	}
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, f.w-1), min(y0+1, f.h-1)
	ax, ay := float32(x-float64(x0)), float32(y-float64(y0))
	top := f.at(x0, y0)*(1-ax) + f.at(x1, y0)*ax
	bot := f.at(x0, y1)*(1-ax) + f.at(x1, y1)*ax
	return top*(1-ay) + bot*ay, true
}

func toFimg(g []byte, n int) fimg {
	out := fimg{w: n, h: n, p: make([]float32, n*n)}
	for i := range out.p {
		out.p[i] = float32(g[i])
	}
	return out
}

func (f fimg) half() fimg {
	w, h := f.w/2, f.h/2
	out := fimg{w: w, h: h, p: make([]float32, w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out.p[y*w+x] = (f.at(2*x, 2*y) + f.at(2*x+1, 2*y) + f.at(2*x, 2*y+1) + f.at(2*x+1, 2*y+1)) / 4
		}
	}
	return out
}

// faceMask marks the pixels of an n x n aligned crop that are face: an
// ellipse around the template's eyes, nose and mouth, clear of the crop's
// border (where the background or black padding shows).
func faceMask(n int) []bool {
	m := make([]bool, n*n)
	cx, cy := 0.5*float64(n), 0.60*float64(n)
	rx, ry := 0.40*float64(n), 0.42*float64(n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
			m[y*n+x] = dx*dx+dy*dy <= 1 && x > 1 && y > 1 && x < n-2 && y < n-2
		}
	}
	return m
}

// warp is an affine warp W(x) = [1+p0, p2, p4; p1, 1+p3, p5] x.
type warp [6]float64

func (p warp) apply(x, y float64) (float64, float64) {
	return (1+p[0])*x + p[2]*y + p[4], p[1]*x + (1+p[3])*y + p[5]
}

// compose returns p ∘ inv(d) (the inverse-compositional update).
func (p warp) composeInverse(d warp) (warp, bool) {
	// Matrices [a b tx; c e ty].
	a, b, tx := 1+d[0], d[2], d[4]
	c, e, ty := d[1], 1+d[3], d[5]
	det := a*e - b*c
	if math.Abs(det) < 1e-9 {
		return p, false
	}
	ia, ib, ic, ie := e/det, -b/det, -c/det, a/det
	itx, ity := -(ia*tx + ib*ty), -(ic*tx + ie*ty)
	pa, pb, ptx := 1+p[0], p[2], p[4]
	pc, pe, pty := p[1], 1+p[3], p[5]
	na := pa*ia + pb*ic
	nb := pa*ib + pb*ie
	ntx := pa*itx + pb*ity + ptx
	nc := pc*ia + pe*ic
	ne := pc*ib + pe*ie
	nty := pc*itx + pe*ity + pty
	return warp{na - 1, nc, nb, ne - 1, ntx, nty}, true
}

// normalise scales f to zero mean and unit deviation over mask.
func normalise(f fimg, mask []bool) (fimg, bool) {
	var s, s2 float64
	n := 0
	for i, v := range f.p {
		if mask[i] {
			s += float64(v)
			s2 += float64(v) * float64(v)
			n++
		}
	}
	if n < 16 {
		return f, false
	}
	m := s / float64(n)
	sd := math.Sqrt(math.Max(0, s2/float64(n)-m*m))
	if sd < 2 {
		return f, false
	}
	out := fimg{w: f.w, h: f.h, p: make([]float32, len(f.p))}
	for i, v := range f.p {
		out.p[i] = float32((float64(v) - m) / sd)
	}
	return out, true
}

func halfMask(m []bool, n int) []bool {
	h := n / 2
	out := make([]bool, h*h)
	for y := 0; y < h; y++ {
		for x := 0; x < h; x++ {
			out[y*h+x] = m[2*y*n+2*x] && m[2*y*n+2*x+1] && m[(2*y+1)*n+2*x] && m[(2*y+1)*n+2*x+1]
		}
	}
	return out
}

// lkTemplate is the precomputed part of inverse-compositional
// Lucas-Kanade for one template image.
type lkTemplate struct {
	img    fimg
	sd     [][6]float32
	idx    []int32
	xs, ys []float64 // coordinates of idx
	hi     [6][6]float64
	ok     bool
}

func newLKTemplate(t fimg, mask []bool) *lkTemplate {
	w, h := t.w, t.h
	lt := &lkTemplate{img: t}
	cnt := 0
	for _, m := range mask {
		if m {
			cnt++
		}
	}
	lt.sd, lt.idx = make([][6]float32, 0, cnt), make([]int32, 0, cnt)
	lt.xs, lt.ys = make([]float64, 0, cnt), make([]float64, 0, cnt)
	var H [6][6]float64
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			if !mask[i] {
				continue
			}
			gx := float64(t.at(x+1, y)-t.at(x-1, y)) / 2
			gy := float64(t.at(x, y+1)-t.at(x, y-1)) / 2
			fx, fy := float64(x), float64(y)
			s := [6]float64{gx * fx, gy * fx, gx * fy, gy * fy, gx, gy}
			for r := 0; r < 6; r++ {
				for c := r; c < 6; c++ {
					H[r][c] += s[r] * s[c]
				}
			}
			lt.sd = append(lt.sd, [6]float32{float32(s[0]), float32(s[1]), float32(s[2]), float32(s[3]), float32(s[4]), float32(s[5])})
			lt.idx = append(lt.idx, int32(i))
			lt.xs, lt.ys = append(lt.xs, fx), append(lt.ys, fy)
		}
	}
	for r := 0; r < 6; r++ {
		for c := 0; c < r; c++ {
			H[r][c] = H[c][r]
		}
	}
	lt.hi, lt.ok = invert6(H)
	return lt
}

// align refines p so that mov(W(x;p)) matches the template.
func (lt *lkTemplate) align(mov fimg, p warp, iters int) warp {
	if !lt.ok {
		return p
	}
	// mov.bilinear, inlined (same operations, same order).
	mw, mh, mp := mov.w, mov.h, mov.p
	xmax, ymax := float64(mw-1), float64(mh-1)
	tp := lt.img.p
	xs, ys, sd := lt.xs, lt.ys[:len(lt.xs)], lt.sd[:len(lt.xs)]
	idx := lt.idx[:len(lt.xs)]
	for it := 0; it < iters; it++ {
		var b [6]float64
		a0, a1, a2, a3, a4, a5 := 1+p[0], p[2], p[4], p[1], 1+p[3], p[5]
		for k, x := range xs {
			y := ys[k]
			sx, sy := a0*x+a1*y+a2, a3*x+a4*y+a5
			if sx < 0 || sy < 0 || sx > xmax || sy > ymax {
				continue
			}
			x0, y0 := int(sx), int(sy)
			x1, y1 := min(x0+1, mw-1), min(y0+1, mh-1)
			ax, ay := float32(sx-float64(x0)), float32(sy-float64(y0))
			r0, r1 := y0*mw, y1*mw
			top := mp[r0+x0]*(1-ax) + mp[r0+x1]*ax
			bot := mp[r1+x0]*(1-ax) + mp[r1+x1]*ax
			v := top*(1-ay) + bot*ay
			e := v - tp[idx[k]]
			s := &sd[k]
			b[0] += float64(s[0] * e)
			b[1] += float64(s[1] * e)
			b[2] += float64(s[2] * e)
			b[3] += float64(s[3] * e)
			b[4] += float64(s[4] * e)
			b[5] += float64(s[5] * e)
		}
		var d warp
		for r := 0; r < 6; r++ {
			for c := 0; c < 6; c++ {
				d[r] += lt.hi[r][c] * b[c]
			}
		}
		np, ok := p.composeInverse(d)
		if !ok {
			break
		}
		p = np
		if math.Abs(d[4]) < 0.02 && math.Abs(d[5]) < 0.02 && math.Abs(d[0])+math.Abs(d[1])+math.Abs(d[2])+math.Abs(d[3]) < 3e-4 {
			break
		}
	}
	return p
}

func invert6(a [6][6]float64) ([6][6]float64, bool) {
	var inv [6][6]float64
	for i := range inv {
		inv[i][i] = 1
	}
	for c := 0; c < 6; c++ {
		piv := c
		for r := c + 1; r < 6; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[piv][c]) {
				piv = r
			}
		}
		if math.Abs(a[piv][c]) < 1e-9 {
			return inv, false
		}
		a[c], a[piv] = a[piv], a[c]
		inv[c], inv[piv] = inv[piv], inv[c]
		d := a[c][c]
		for k := 0; k < 6; k++ {
			a[c][k] /= d
			inv[c][k] /= d
		}
		for r := 0; r < 6; r++ {
			if r == c {
				continue
			}
			f := a[r][c]
			for k := 0; k < 6; k++ {
				a[r][k] -= f * a[c][k]
				inv[r][k] -= f * inv[c][k]
			}
		}
	}
	return inv, true
}

// residual is what remains between two crops after the best affine
// registration, per region, as summed absolute difference over summed
// gradient magnitude (so a region's score is its unexplained change in
// units of its own texture).
type residual struct {
	Face, Mouth, Eyes, Rest float64
	OK                      bool
}

var (
	cropMask     = faceMask(CropSize)
	cropHalfMask = halfMask(cropMask, CropSize)
)

// cropFeatures are the per-frame parts of registration, computed once per
// crop and shared by every pair the frame is in.
type cropFeatures struct {
	full, half   fimg
	tFull, tHalf *lkTemplate
	grad         []float64 // see gradients
	ok           bool
}

func newCropFeatures(crop []byte) *cropFeatures {
	const n = CropSize
	if len(crop) < n*n {
		return &cropFeatures{}
	}
	f, ok := normalise(toFimg(crop, n), cropMask)
	if !ok {
		return &cropFeatures{}
	}
	cf := &cropFeatures{full: f, half: f.half(), ok: true}
	cf.tHalf = newLKTemplate(cf.half, cropHalfMask)
	return cf
}

// registerResidual registers crop b onto crop a and measures the residual.
func registerResidual(a, b []byte) residual {
	return registerFeatures(newCropFeatures(a), newCropFeatures(b))
}

// registerFeatures registers b onto a: affine Lucas-Kanade on the
// half-size crops, then the residual at full size.
func registerFeatures(a, b *cropFeatures) residual {
	if !a.ok || !b.ok {
		return residual{}
	}
	fb := b.full
	p := a.tHalf.align(b.half, warp{}, 12)
	// The affine part is scale-free; the translation doubles (pixel
	// centres: x_full = 2 x_half + 0.5).
	p[4] = 2*p[4] + 0.5*(p[0]+p[2])
	p[5] = 2*p[5] + 0.5*(p[1]+p[3])
	grad := a.gradients()
	var dF, gF, dM, gM, dE, gE, dR, gR float64
	// fb.bilinear at p.apply(x, y), inlined (same operations, same order).
	bw, bh, bp := fb.w, fb.h, fb.p
	xmax, ymax := float64(bw-1), float64(bh-1)
	p0, p1, p2, p3, p4, p5 := 1+p[0], p[1], p[2], 1+p[3], p[4], p[5]
	fa := a.full.p
	for k, px := range residualPixels {
		x, y := float64(px.x), float64(px.y)
		wx, wy := p0*x+p2*y+p4, p1*x+p3*y+p5
		if wx < 0 || wy < 0 || wx > xmax || wy > ymax {
			continue
		}
		x0, y0 := int(wx), int(wy)
		x1, y1 := min(x0+1, bw-1), min(y0+1, bh-1)
		ax, ay := float32(wx-float64(x0)), float32(wy-float64(y0))
		r0, r1 := y0*bw, y1*bw
		top := bp[r0+x0]*(1-ax) + bp[r0+x1]*ax
		bot := bp[r1+x0]*(1-ax) + bp[r1+x1]*ax
		v := top*(1-ay) + bot*ay
		d := math.Abs(float64(v - fa[px.i]))
		g := grad[k]
		dF += d
		gF += g
		switch px.region {
		case regionMouthID:
			dM += d
			gM += g
		case regionEyesID:
			dE += d
			gE += g
		default:
			dR += d
			gR += g
		}
	}
	if gF < 1e-9 || gM < 1e-9 || gE < 1e-9 || gR < 1e-9 {
		return residual{}
	}
	return residual{Face: dF / gF, Mouth: dM / gM, Eyes: dE / gE, Rest: dR / gR, OK: true}
}

// Regions of residualPixels.
const (
	regionRestID = iota
	regionMouthID
	regionEyesID
)

// residualPixel is a face pixel of the full-size crop away from its
// border, in scan order, with the region it counts in.
type residualPixel struct {
	x, y, i int32
	region  uint8
}

// residualPixels are the pixels registerFeatures compares.
var residualPixels = func() []residualPixel {
	const n = CropSize
	in := func(r [4]int, x, y int) bool { return x >= r[0] && x < r[2] && y >= r[1] && y < r[3] }
	var out []residualPixel
	for y := 1; y < n-1; y++ {
		for x := 1; x < n-1; x++ {
			i := y*n + x
			if !cropMask[i] {
				continue
			}
			r := uint8(regionRestID)
			switch {
			case in(regionMouth, x, y):
				r = regionMouthID
			case in(regionLeftEye, x, y) || in(regionRightEye, x, y):
				r = regionEyesID
			}
			out = append(out, residualPixel{x: int32(x), y: int32(y), i: int32(i), region: r})
		}
	}
	return out
}()

// gradients returns the crop's gradient magnitude (mean of the absolute
// central differences) at each of residualPixels, computed on first use.
// Not safe for concurrent use (the accumulator is single-goroutine).
func (c *cropFeatures) gradients() []float64 {
	if c.grad != nil {
		return c.grad
	}
	fa := c.full
	c.grad = make([]float64, len(residualPixels))
	for k, px := range residualPixels {
		x, y := int(px.x), int(px.y)
		c.grad[k] = (math.Abs(float64(fa.at(x+1, y)-fa.at(x-1, y))) + math.Abs(float64(fa.at(x, y+1)-fa.at(x, y-1)))) / 2
	}
	return c.grad
}
