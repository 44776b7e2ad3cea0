package liveness

// The implementations of the camera-shake search before it was made
// branch-free (kept verbatim as the reference the faster one must equal
// exactly).

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hoviyat/hoviyat/facematch"
)

// TestGlobalShiftEqualsReference: the optimised search returns exactly
// what the straightforward one did, on textured random scenes shifted by
// random amounts, with and without face boxes.
func TestGlobalShiftEqualsReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{160, 90}, {90, 160}, {64, 48}, {17, 16}} {
		w, h := sz[0], sz[1]
		for trial := 0; trial < 12; trial++ {
			a := make([]byte, w*h)
			b := make([]byte, w*h)
			dx, dy := rng.IntN(9)-4, rng.IntN(9)-4
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					v := 128 + 60*math.Sin(float64(x)*0.31+float64(y)*0.17) + 40*math.Cos(float64(x*y)*0.013)
					a[y*w+x] = byte(max(0, min(255, v+float64(rng.IntN(20)))))
				}
			}
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					sx, sy := min(w-1, max(0, x-dx)), min(h-1, max(0, y-dy))
					b[y*w+x] = byte(min(255, int(a[sy*w+sx])+rng.IntN(8)))
				}
			}
			var fa, fb facematch.Rect
			if trial%2 == 1 {
				fa = facematch.Rect{X: float64(rng.IntN(w / 2)), Y: float64(rng.IntN(h / 2)), W: float64(w) / 4, H: float64(h) / 3}
				fb = facematch.Rect{X: fa.X + 1.5, Y: fa.Y - 0.5, W: fa.W, H: fa.H}
			}
			ms := int(math.Round(0.1 * float64(max(w, h))))
			want := refGlobalShift(a, b, w, h, fa, fb, ms)
			got := globalShift(a, b, w, h, fa, fb, ms)
			assert.Equal(t, want, got, "%dx%d trial %d", w, h, trial)
		}
	}
}

func refGlobalShift(a, b []byte, w, h int, faceA, faceB facematch.Rect, maxShift int) shift {
	if len(a) < w*h || len(b) < w*h || w < 16 || h < 16 {
		return shift{}
	}
	mask := make([]bool, w*h) // true = usable background
	for i := range mask {
		mask[i] = true
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
				mask[y*w+x] = false
			}
		}
	}
	a1, b1, m1 := refHalve(a, w, h), refHalve(b, w, h), refHalveMask(mask, w, h)
	w1, h1 := w/2, h/2
	a2, b2, m2 := refHalve(a1, w1, h1), refHalve(b1, w1, h1), refHalveMask(m1, w1, h1)
	w2, h2 := w1/2, h1/2
	r := max(1, (maxShift+3)/4)
	x2, y2, _, ok := refBestShift(a2, b2, m2, w2, h2, -r, r, -r, r)
	if !ok {
		return shift{}
	}
	x1, y1, _, ok := refBestShift(a1, b1, m1, w1, h1, 2*x2-1, 2*x2+1, 2*y2-1, 2*y2+1)
	if !ok {
		return shift{}
	}
	fx, fy, e, ok := refBestShift(a, b, mask, w, h, 2*x1-1, 2*x1+1, 2*y1-1, 2*y1+1)
	if !ok {
		return shift{}
	}
	// Sub-pixel refinement along each axis.
	sub := func(dx, dy int) float64 {
		_, _, v, ok := refBestShift(a, b, mask, w, h, fx+dx, fx+dx, fy+dy, fy+dy)
		if !ok {
			return math.NaN()
		}
		return v
	}
	px := refParabola(sub(-1, 0), e, sub(1, 0))
	py := refParabola(sub(0, -1), e, sub(0, 1))
	return shift{DX: float64(fx) + px, DY: float64(fy) + py, Err: e, OK: true}
}

// parabola returns the offset in [-0.5,0.5] of the minimum of a parabola
// through (-1,l), (0,c), (1,r).
func refParabola(l, c, r float64) float64 {
	if math.IsNaN(l) || math.IsNaN(r) {
		return 0
	}
	den := l - 2*c + r
	if den <= 1e-9 {
		return 0
	}
	return math.Max(-0.5, math.Min(0.5, (l-r)/(2*den)))
}

// bestShift returns the shift (dx,dy) in the given ranges minimising the
// mean absolute difference between a(x,y) and b(x+dx,y+dy) over usable
// pixels; it needs at least a quarter of the image comparable.
func refBestShift(a, b []byte, mask []bool, w, h, x0, x1, y0, y1 int) (int, int, float64, bool) {
	best, bx, by := math.Inf(1), 0, 0
	found := false
	for dy := y0; dy <= y1; dy++ {
		for dx := x0; dx <= x1; dx++ {
			var sum, n int
			for y := max(0, -dy); y < min(h, h-dy); y++ {
				row := y * w
				rowb := (y + dy) * w
				for x := max(0, -dx); x < min(w, w-dx); x++ {
					if !mask[row+x] || !mask[rowb+x+dx] {
						continue
					}
					d := int(a[row+x]) - int(b[rowb+x+dx])
					if d < 0 {
						d = -d
					}
					sum += d
					n++
				}
			}
			if n < w*h/4 {
				continue
			}
			v := float64(sum) / float64(n)
			if v < best {
				best, bx, by, found = v, dx, dy, true
			}
		}
	}
	return bx, by, best, found
}

func refHalve(g []byte, w, h int) []byte {
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

func refHalveMask(m []bool, w, h int) []bool {
	hw, hh := w/2, h/2
	out := make([]bool, hw*hh)
	for y := 0; y < hh; y++ {
		for x := 0; x < hw; x++ {
			out[y*hw+x] = m[2*y*w+2*x] && m[2*y*w+2*x+1] && m[(2*y+1)*w+2*x] && m[(2*y+1)*w+2*x+1]
		}
	}
	return out
}

func BenchmarkGlobalShift(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	w, h := 160, 90
	a := make([]byte, w*h)
	c := make([]byte, w*h)
	for i := range a {
		a[i] = byte(rng.IntN(256))
		c[i] = a[i]
	}
	face := facematch.Rect{X: 60, Y: 20, W: 40, H: 50}
	for _, impl := range []struct {
		name string
		f    func([]byte, []byte, int, int, facematch.Rect, facematch.Rect, int) shift
	}{{"reference", refGlobalShift}, {"current", globalShift}} {
		b.Run(impl.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				impl.f(a, c, w, h, face, face, 16)
			}
		})
	}
}
