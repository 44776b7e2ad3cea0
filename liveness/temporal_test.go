package liveness

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/facematch"
)

// synthFace draws a face-like grey image of n x n pixels: shaded skin with
// fine texture, two eyes (closed when eyesOpen is 0), a mouth opened by
// mouth (0 closed .. 1 wide), sampled through the affine map (a, b, c, d,
// tx, ty) from output to face coordinates so a "photo" can be moved.
func synthFace(n int, eyesOpen, mouth float64, w warp, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	const tex = 256
	noise := make([]float64, tex*tex)
	for i := range noise {
		noise[i] = r.NormFloat64() * 10
	}
	scale := float64(n) / CropSize
	el, er := CropLandmarks[facematch.LeftEye], CropLandmarks[facematch.RightEye]
	ml, mr := CropLandmarks[facematch.LeftMouth], CropLandmarks[facematch.RightMouth]
	out := make([]byte, n*n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			fx, fy := w.apply(float64(x), float64(y))
			fx, fy = fx/scale, fy/scale
			v := 150 + 40*math.Sin(fx/20) - 0.3*(fy-48)
			// Band-limited skin texture: a noise lattice every 1.5 px,
			// interpolated bilinearly (a camera never shows aliased grain).
			gx, gy := fx/1.5+64, fy/1.5+64
			x0, y0 := int(math.Floor(gx)), int(math.Floor(gy))
			ax, ay := gx-float64(x0), gy-float64(y0)
			at := func(i, j int) float64 { return noise[(j&(tex-1))*tex+(i&(tex-1))] }
			v += at(x0, y0)*(1-ax)*(1-ay) + at(x0+1, y0)*ax*(1-ay) + at(x0, y0+1)*(1-ax)*ay + at(x0+1, y0+1)*ax*ay
			// Soft-edged shapes: blend by a smooth ramp on the ellipse
			// distance.
			blend := func(d, inside float64) {
				k := math.Max(0, math.Min(1, (1.15-d)/0.3))
				v = v*(1-k) + inside*k
			}
			for _, e := range []facematch.Point{el, er} {
				dx, dy := (fx-e.X)/7, (fy-e.Y)/(3.5*eyesOpen+0.6)
				if eyesOpen >= 0.2 {
					blend(math.Sqrt(dx*dx+dy*dy), 40)
				} else {
					blend(math.Sqrt(dx*dx+dy*dy), 110) // a closed lid, darker than skin
				}
			}
			mx, my := (ml.X+mr.X)/2, (ml.Y+mr.Y)/2
			dx, dy := (fx-mx)/((mr.X-ml.X)/2), (fy-my)/(1+7*mouth)
			blend(math.Sqrt(dx*dx+dy*dy), 60)
			out[y*n+x] = byte(math.Max(0, math.Min(255, v)))
		}
	}
	return out
}

// sway is a small rigid motion of frame i: the kind a hand-held photo makes.
func sway(i int) warp {
	a := 0.02 * math.Sin(float64(i)/4)
	s := 0.03 * math.Sin(float64(i)/6)
	return warp{s + (math.Cos(a) - 1), math.Sin(a), -math.Sin(a), s + (math.Cos(a) - 1),
		2 * math.Sin(float64(i)/3), 1.5 * math.Cos(float64(i)/5)}
}

func frameWithCrop(i int, crop []byte) FrameMeasures {
	m := goodFrame(i)
	m.Crop = crop
	return m
}

func TestRegisterResidualSeparatesRigidFromNonRigid(t *testing.T) {
	t.Parallel()
	base := synthFace(CropSize, 1, 0.1, warp{}, 1)
	moved := synthFace(CropSize, 1, 0.1, warp{0.02, 0.01, -0.01, 0.02, 1.7, -1.2}, 1)
	talking := synthFace(CropSize, 1, 0.9, warp{0.02, 0.01, -0.01, 0.02, 1.7, -1.2}, 1)
	blinking := synthFace(CropSize, 0, 0.1, warp{}, 1)

	same := registerResidual(base, base)
	require.True(t, same.OK)
	assert.Less(t, same.Face, 0.02, "identical crops leave no residual")

	rigid := registerResidual(base, moved)
	require.True(t, rigid.OK)
	assert.Less(t, rigid.Face, DefaultLivenessConfig().MinChange, "an affine move is registered away")
	assert.Less(t, rigid.Mouth-rigid.Rest, 0.1)

	mouth := registerResidual(base, talking)
	require.True(t, mouth.OK)
	assert.Greater(t, mouth.Mouth-mouth.Rest, 0.3, "the mouth changed, the rest did not")

	eyes := registerResidual(base, blinking)
	require.True(t, eyes.OK)
	assert.Greater(t, eyes.Eyes-eyes.Rest, EyeEventThreshold, "a blink is an eye event")

	assert.False(t, registerResidual(base, nil).OK)
	flat := make([]byte, CropSize*CropSize)
	assert.False(t, registerResidual(flat, base).OK, "a flat crop cannot be registered")
}

func TestAnalyzeTemporalPhotoVersusLive(t *testing.T) {
	t.Parallel()
	const n = 40
	photo := make([]FrameMeasures, n)
	live := make([]FrameMeasures, n)
	for i := 0; i < n; i++ {
		photo[i] = frameWithCrop(i, synthFace(CropSize, 1, 0.2, sway(i), 3))
		open := 0.15 + 0.8*math.Abs(math.Sin(float64(i)*1.3)) // speaking
		eyes := 1.0
		if i == 17 || i == 31 {
			eyes = 0
		}
		live[i] = frameWithCrop(i, synthFace(CropSize, eyes, open, sway(i), 3))
	}
	p := AnalyzeTemporal(photo)
	l := AnalyzeTemporal(live)
	lc := DefaultLivenessConfig()
	assert.Less(t, p.Mouth, lc.MinMouth, "photo mouth %v", p.Mouth)
	assert.Less(t, p.Change, lc.MinChange, "photo change %v", p.Change)
	assert.Zero(t, p.Blinks)
	assert.Greater(t, l.Mouth, lc.MinMouth, "live mouth %v", l.Mouth)
	assert.GreaterOrEqual(t, l.Blinks, 2)
	assert.Equal(t, n-2, p.Pairs, "pairs 200 ms apart")
}

func TestNoseParallax(t *testing.T) {
	t.Parallel()
	lm := face(100, 100, 200, 240, 0.9).Landmarks
	// Any affine map of the whole face (a photo tilted, zoomed, moved).
	var photo [5]facematch.Point
	tr := affine2{a: 0.9, b: 0.15, c: -0.1, d: 1.05, tx: 12, ty: -7}
	for i, p := range lm {
		photo[i] = tr.apply(p)
	}
	v, ok := noseParallax(lm, photo)
	require.True(t, ok)
	assert.Less(t, v, 1e-9)
	// A head turn moves the nose across the plane of the other points.
	turned := lm
	turned[facematch.Nose].X += 0.3 * turned[1].X / 3
	v, ok = noseParallax(lm, turned)
	require.True(t, ok)
	assert.Greater(t, v, 0.2)
	_, ok = noseParallax(lm, [5]facematch.Point{})
	assert.False(t, ok)
}

func TestGlobalShiftRecoversTranslation(t *testing.T) {
	t.Parallel()
	const w, h = 160, 90
	r := rand.New(rand.NewPCG(5, 5))
	big := make([]float64, (w+40)*(h+40))
	for i := range big {
		big[i] = r.Float64() * 255
	}
	render := func(dx, dy float64) []byte {
		out := make([]byte, w*h)
		bw := w + 40
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				fx, fy := float64(x)+20+dx, float64(y)+20+dy
				x0, y0 := int(fx), int(fy)
				ax, ay := fx-float64(x0), fy-float64(y0)
				v := big[y0*bw+x0]*(1-ax)*(1-ay) + big[y0*bw+x0+1]*ax*(1-ay) +
					big[(y0+1)*bw+x0]*(1-ax)*ay + big[(y0+1)*bw+x0+1]*ax*ay
				out[y*w+x] = byte(v)
			}
		}
		return out
	}
	a := render(0, 0)
	b := render(6.4, -3.3) // scene moves by (-6.4, +3.3) in the image
	s := globalShift(a, b, w, h, facematch.Rect{}, facematch.Rect{}, 16)
	require.True(t, s.OK)
	assert.InDelta(t, -6.4, s.DX, 0.35)
	assert.InDelta(t, 3.3, s.DY, 0.35)
	// A face box covering half the frame is ignored, not required.
	s = globalShift(a, b, w, h, facematch.Rect{X: 40, Y: 10, W: 50, H: 60}, facematch.Rect{X: 40, Y: 10, W: 50, H: 60}, 16)
	require.True(t, s.OK)
	assert.InDelta(t, -6.4, s.DX, 0.35)
	assert.False(t, globalShift(a[:10], b, w, h, facematch.Rect{}, facematch.Rect{}, 16).OK)
}

func TestShakeAndContinuity(t *testing.T) {
	t.Parallel()
	steady := seq(30, nil)
	shaky := seq(30, func(i int, m *FrameMeasures) {
		off := 60.0 * float64((i*7)%5-2) // jumps back and forth every frame
		m.Faces[0] = face(210+off, 400+off/2, 300, 380, 0.9)
	})
	s := AnalyzeTemporal(steady)
	k := AnalyzeTemporal(shaky)
	assert.Equal(t, "face", s.ShakeSource, "no thumbnails: the face trajectory is used")
	assert.Less(t, s.Shake, 0.005)
	assert.Greater(t, k.Shake, DefaultQualityConfig().MaxShake)
	assert.Zero(t, s.Jumps)

	cut := seq(30, func(i int, m *FrameMeasures) {
		if i >= 15 {
			m.Faces[0] = face(20, 100, 150, 190, 0.9) // another shot
		}
	})
	assert.Equal(t, 1, AnalyzeTemporal(cut).Jumps)
	gap := seq(30, func(i int, m *FrameMeasures) {
		if i > 10 && i < 14 {
			m.Faces = nil
		}
	})
	assert.Equal(t, 1, AnalyzeTemporal(gap).Gaps)
}

func TestCropSharpness(t *testing.T) {
	t.Parallel()
	sharp := synthFace(CropSize, 1, 0.2, warp{}, 9)
	g := make([]float64, len(sharp))
	for i, v := range sharp {
		g[i] = float64(v)
	}
	b := boxBlur(boxBlur(g, CropSize, 2), CropSize, 2)
	blurred := make([]byte, len(b))
	dim := make([]byte, len(sharp))
	for i := range b {
		blurred[i] = byte(b[i])
		dim[i] = byte(float64(sharp[i]) * 0.4)
	}
	s, bl, d := CropSharpness(sharp), CropSharpness(blurred), CropSharpness(dim)
	assert.Greater(t, s, DefaultQualityConfig().MinSharpness)
	assert.Less(t, bl, DefaultQualityConfig().MinSharpness)
	assert.InDelta(t, s, d, 0.1*s, "contrast cancels out")
	assert.Zero(t, CropSharpness(nil))
}

func TestAnalyzeTemporalEmptyAndFaceless(t *testing.T) {
	t.Parallel()
	tm := AnalyzeTemporal(nil)
	assert.True(t, math.IsNaN(tm.Shake))
	assert.True(t, math.IsNaN(tm.Mouth))
	faceless := seq(10, func(i int, m *FrameMeasures) { m.Faces = nil })
	tm = AnalyzeTemporal(faceless)
	assert.True(t, math.IsNaN(tm.Parallax))
	assert.Zero(t, tm.Blinks)
	_ = time.Second
}
