package liveness

// The registration code before its inner loops were inlined and its
// per-crop parts cached, kept verbatim as the reference the faster code
// must equal exactly.

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRegisterEqualsReference: the residuals of crop pairs (a face-like
// pattern moved by small affine warps, with local changes and noise) are
// bit for bit those of the reference implementation.
func TestRegisterEqualsReference(t *testing.T) {
	t.Parallel()
	const n = CropSize
	rng := rand.New(rand.NewPCG(5, 6))
	crop := func(tx, ty, rot, mouth float64) []byte {
		out := make([]byte, n*n)
		c, s := math.Cos(rot), math.Sin(rot)
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				u := c*(float64(x)-48) - s*(float64(y)-55) + 48 - tx
				v := s*(float64(x)-48) + c*(float64(y)-55) + 55 - ty
				val := 120 + 50*math.Sin(u*0.21)*math.Cos(v*0.17) + 30*math.Sin((u+v)*0.07)
				if math.Abs(u-48) < 14 && math.Abs(v-80) < 6 {
					val -= mouth
				}
				out[y*n+x] = byte(max(0, min(255, val+float64(rng.IntN(6)))))
			}
		}
		return out
	}
	base := crop(0, 0, 0, 0)
	for trial := 0; trial < 20; trial++ {
		other := crop(rng.Float64()*4-2, rng.Float64()*4-2, (rng.Float64()-0.5)*0.1, float64(rng.IntN(60)))
		want := refRegisterResidual(base, other)
		got := registerResidual(base, other)
		assert.Equal(t, want, got, "trial %d", trial)
		assert.True(t, got.OK, "trial %d", trial)
		// Shared per-crop features (as the accumulator uses them).
		fa, fb := newCropFeatures(base), newCropFeatures(other)
		assert.Equal(t, want, registerFeatures(fa, fb), "trial %d", trial)
		assert.Equal(t, want, registerFeatures(fa, fb), "trial %d again", trial)
	}
	flat := make([]byte, n*n)
	assert.Equal(t, refRegisterResidual(flat, base), registerResidual(flat, base))
}

func BenchmarkRegister(b *testing.B) {
	const n = CropSize
	rng := rand.New(rand.NewPCG(7, 8))
	a, c := make([]byte, n*n), make([]byte, n*n)
	for i := range a {
		a[i] = byte(100 + rng.IntN(60))
		c[i] = byte(int(a[i]) + rng.IntN(9) - 4)
	}
	b.Run("reference", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			refRegisterResidual(a, c)
		}
	})
	b.Run("current", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			registerResidual(a, c)
		}
	})
}

// refLKTemplate is the precomputed part of inverse-compositional
// Lucas-Kanade for one template image.
type refLKTemplate struct {
	img fimg
	sd  [][6]float32
	idx []int32
	hi  [6][6]float64
	ok  bool
}

func refNewLKTemplate(t fimg, mask []bool) *refLKTemplate {
	w, h := t.w, t.h
	lt := &refLKTemplate{img: t}
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
		}
	}
	for r := 0; r < 6; r++ {
		for c := 0; c < r; c++ {
			H[r][c] = H[c][r]
		}
	}
	lt.hi, lt.ok = refInvert6(H)
	return lt
}

// align refines p so that mov(W(x;p)) matches the template.
func (lt *refLKTemplate) align(mov fimg, p warp, iters int) warp {
	if !lt.ok {
		return p
	}
	w := lt.img.w
	for it := 0; it < iters; it++ {
		var b [6]float64
		a0, a1, a2, a3, a4, a5 := 1+p[0], p[2], p[4], p[1], 1+p[3], p[5]
		for k, i32 := range lt.idx {
			i := int(i32)
			x, y := float64(i%w), float64(i/w)
			v, ok := mov.bilinear(a0*x+a1*y+a2, a3*x+a4*y+a5)
			if !ok {
				continue
			}
			e := v - lt.img.p[i]
			s := &lt.sd[k]
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

func refInvert6(a [6][6]float64) ([6][6]float64, bool) {
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

// refCropFeatures are the per-frame parts of registration, computed once per
// crop and shared by every pair the frame is in.
type refCropFeatures struct {
	full, half   fimg
	tFull, tHalf *refLKTemplate
	ok           bool
}

func refNewCropFeatures(crop []byte) *refCropFeatures {
	const n = CropSize
	if len(crop) < n*n {
		return &refCropFeatures{}
	}
	f, ok := normalise(toFimg(crop, n), cropMask)
	if !ok {
		return &refCropFeatures{}
	}
	cf := &refCropFeatures{full: f, half: f.half(), ok: true}
	cf.tHalf = refNewLKTemplate(cf.half, cropHalfMask)
	return cf
}

// refRegisterResidual registers crop b onto crop a and measures the residual.
func refRegisterResidual(a, b []byte) residual {
	return refRegisterFeatures(refNewCropFeatures(a), refNewCropFeatures(b))
}

// refRegisterFeatures registers b onto a: affine Lucas-Kanade on the
// half-size crops, then the residual at full size.
func refRegisterFeatures(a, b *refCropFeatures) residual {
	const n = CropSize
	if !a.ok || !b.ok {
		return residual{}
	}
	fa, fb := a.full, b.full
	p := a.tHalf.align(b.half, warp{}, 12)
	// The affine part is scale-free; the translation doubles (pixel
	// centres: x_full = 2 x_half + 0.5).
	p[4] = 2*p[4] + 0.5*(p[0]+p[2])
	p[5] = 2*p[5] + 0.5*(p[1]+p[3])
	var dF, gF, dM, gM, dE, gE, dR, gR float64
	in := func(r [4]int, x, y int) bool { return x >= r[0] && x < r[2] && y >= r[1] && y < r[3] }
	for y := 1; y < n-1; y++ {
		for x := 1; x < n-1; x++ {
			i := y*n + x
			if !cropMask[i] {
				continue
			}
			wx, wy := p.apply(float64(x), float64(y))
			v, ok := fb.bilinear(wx, wy)
			if !ok {
				continue
			}
			d := math.Abs(float64(v - fa.p[i]))
			g := (math.Abs(float64(fa.at(x+1, y)-fa.at(x-1, y))) + math.Abs(float64(fa.at(x, y+1)-fa.at(x, y-1)))) / 2
			dF += d
			gF += g
			switch {
			case in(regionMouth, x, y):
				dM += d
				gM += g
			case in(regionLeftEye, x, y) || in(regionRightEye, x, y):
				dE += d
				gE += g
			default:
				dR += d
				gR += g
			}
		}
	}
	if gF < 1e-9 || gM < 1e-9 || gE < 1e-9 || gR < 1e-9 {
		return residual{}
	}
	return residual{Face: dF / gF, Mouth: dM / gM, Eyes: dE / gE, Rest: dR / gR, OK: true}
}
