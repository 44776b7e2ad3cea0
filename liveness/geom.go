package liveness

import (
	"math"
	"sort"

	"github.com/hoviyat/hoviyat/facematch"
)

func dist(a, b facematch.Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

// quantile returns the q-quantile (0..1) of v by linear interpolation; NaN
// for an empty slice. v is not modified.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if q <= 0 {
		return s[0]
	}
	if q >= 1 {
		return s[len(s)-1]
	}
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[i]
	}
	f := pos - float64(i)
	return s[i]*(1-f) + s[i+1]*f
}

func median(v []float64) float64 { return quantile(v, 0.5) }

// affine2 is x' = A*x + b.
type affine2 struct{ a, b, c, d, tx, ty float64 }

func (t affine2) apply(p facematch.Point) facematch.Point {
	return facematch.Point{X: t.a*p.X + t.b*p.Y + t.tx, Y: t.c*p.X + t.d*p.Y + t.ty}
}

// centroids returns the mean points of src and dst (same length, not
// empty).
func centroids(src, dst []facematch.Point) (mx, my, nx, ny float64) {
	for i := range src {
		mx += src[i].X
		my += src[i].Y
		nx += dst[i].X
		ny += dst[i].Y
	}
	fn := float64(len(src))
	return mx / fn, my / fn, nx / fn, ny / fn
}

// fitAffine returns the least-squares affine map of src onto dst (at least
// three non-collinear points); ok is false when degenerate.
func fitAffine(src, dst []facematch.Point) (affine2, bool) {
	n := len(src)
	if n < 3 || len(dst) != n {
		return affine2{}, false
	}
	mx, my, nx, ny := centroids(src, dst)
	var sxx, sxy, syy, uxx, uxy, uyx, uyy float64
	for i := range src {
		x, y := src[i].X-mx, src[i].Y-my
		u, v := dst[i].X-nx, dst[i].Y-ny
		sxx += x * x
		sxy += x * y
		syy += y * y
		uxx += u * x
		uxy += u * y
		uyx += v * x
		uyy += v * y
	}
	det := sxx*syy - sxy*sxy
	scale := sxx + syy
	if scale <= 0 || math.Abs(det) < 1e-9*scale*scale {
		return affine2{}, false
	}
	// [a b] = [uxx uxy] * inv([sxx sxy; sxy syy])
	ia, ib, id := syy/det, -sxy/det, sxx/det
	t := affine2{
		a: uxx*ia + uxy*ib, b: uxx*ib + uxy*id,
		c: uyx*ia + uyy*ib, d: uyx*ib + uyy*id,
	}
	t.tx = nx - (t.a*mx + t.b*my)
	t.ty = ny - (t.c*mx + t.d*my)
	return t, true
}

// fitSimilarity returns the least-squares similarity (rotation, uniform
// scale, translation) of src onto dst as an affine2.
func fitSimilarity(src, dst []facematch.Point) (affine2, bool) {
	n := len(src)
	if n < 2 || len(dst) != n {
		return affine2{}, false
	}
	mx, my, nx, ny := centroids(src, dst)
	var p, q, den float64
	for i := range src {
		x, y := src[i].X-mx, src[i].Y-my
		u, v := dst[i].X-nx, dst[i].Y-ny
		p += x*u + y*v
		q += x*v - y*u
		den += x*x + y*y
	}
	if den < 1e-12 {
		return affine2{}, false
	}
	a, b := p/den, q/den
	return affine2{a: a, b: -b, c: b, d: a, tx: nx - (a*mx - b*my), ty: ny - (b*mx + a*my)}, true
}
