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

// asStill reads an attack still and its largest face.
func asStill(t testing.TB, d *FaceDetector, file string) (gocv.Mat, Face) {
	t.Helper()
	img := gocv.IMRead(filepath.Join(asData(t), "photos", "attack_stills", file), gocv.IMReadColor)
	require.False(t, img.Empty(), "read %s", file)
	f, ok := asLargestFace(t, d, img)
	require.True(t, ok, "a face in %s", file)
	return img, f
}

// asVideoFrames returns up to n faces with their frames, one every step
// frames from the start of the clip at path (relative to $HOVIYAT_DATA).
func asVideoFrames(t testing.TB, d *FaceDetector, rel string, step, n int) ([]gocv.Mat, []Face) {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(filepath.Join(asData(t), rel))
	require.NoError(t, err, rel)
	defer vc.Close()
	var mats []gocv.Mat
	var faces []Face
	frame := gocv.NewMat()
	defer frame.Close()
	for i := 0; len(mats) < n && vc.Read(&frame); i++ {
		if i%step != 0 {
			continue
		}
		if f, ok := asLargestFace(t, d, frame); ok {
			mats = append(mats, frame.Clone())
			faces = append(faces, f)
		}
	}
	require.NotEmpty(t, mats, "faces in %s", rel)
	return mats, faces
}

func closeMats(ms []gocv.Mat) {
	for i := range ms {
		ms[i].Close()
	}
}

// TestReplayCuesRespond draws each artefact a cue is meant to see onto the
// real sample face and checks that the cue moves the right way.
func TestReplayCuesRespond(t *testing.T) {
	d := asNewDetector(t)
	img, face := asStill(t, d, "SilentFace_T1_real.jpg")
	defer img.Close()
	base, err := MeasureReplayCues(img, face)
	require.NoError(t, err)
	t.Logf("base %+v", base)
	for _, v := range []float64{base.Moire, base.Bezel, base.BezelSides, base.Detail, base.Contrast, base.DarkLevel, base.Saturation, base.Specular} {
		assert.True(t, v >= 0 && v <= 1, "cue %v in [0,1]", v)
	}
	b := face.Box
	cx, cy := b.X+b.W/2, b.Y+b.H/2

	t.Run("bezel", func(t *testing.T) {
		m := img.Clone()
		defer m.Close()
		r := image.Rect(int(cx-0.8*b.W), int(cy-0.8*b.H), int(cx+0.8*b.W), int(cy+0.8*b.H))
		gocv.Rectangle(&m, r, color.RGBA{20, 20, 20, 0}, 6)
		c, err := MeasureReplayCues(m, face)
		require.NoError(t, err)
		assert.Greater(t, c.Bezel, base.Bezel+0.3)
		assert.Equal(t, 1.0, c.BezelSides)
	})
	t.Run("moire", func(t *testing.T) {
		m := img.Clone()
		defer m.Close()
		px, err := m.DataPtrUint8()
		require.NoError(t, err)
		w := m.Cols()
		for y := int(b.Y); y < int(b.Y+b.H); y++ {
			for x := int(b.X); x < int(b.X+b.W); x++ {
				g := 14 * math.Sin(2*math.Pi*(float64(x)*0.96+float64(y)*0.28)/3.7)
				for ch := 0; ch < 3; ch++ {
					i := 3*(y*w+x) + ch
					px[i] = uint8(clampInt(int(float64(px[i])+g), 0, 255))
				}
			}
		}
		c, err := MeasureReplayCues(m, face)
		require.NoError(t, err)
		assert.Greater(t, c.Moire, base.Moire+0.2)
	})
	t.Run("washed out", func(t *testing.T) {
		m := gocv.NewMat()
		defer m.Close()
		img.ConvertToWithParams(&m, gocv.MatTypeCV8UC3, 0.5, 100)
		c, err := MeasureReplayCues(m, face)
		require.NoError(t, err)
		assert.Less(t, c.Contrast, base.Contrast*0.6)
		assert.Greater(t, c.DarkLevel, base.DarkLevel)
	})
	t.Run("glare", func(t *testing.T) {
		m := img.Clone()
		defer m.Close()
		gocv.Circle(&m, image.Pt(int(cx), int(cy)), int(b.W/4), color.RGBA{255, 255, 255, 0}, -1)
		c, err := MeasureReplayCues(m, face)
		require.NoError(t, err)
		assert.Greater(t, c.Specular, base.Specular+0.1)
	})
	t.Run("blur", func(t *testing.T) {
		m := gocv.NewMat()
		defer m.Close()
		gocv.GaussianBlur(img, &m, image.Pt(0, 0), 2.5, 0, gocv.BorderDefault)
		c, err := MeasureReplayCues(m, face)
		require.NoError(t, err)
		assert.Less(t, c.Detail, base.Detail)
	})
}

func TestReplayCuesBadInput(t *testing.T) {
	t.Parallel()
	img := gocv.NewMatWithSize(120, 160, gocv.MatTypeCV8UC3)
	t.Cleanup(func() { img.Close() }) // not defer: the subtests are parallel
	grey := gocv.NewMatWithSize(120, 160, gocv.MatTypeCV8UC1)
	t.Cleanup(func() { grey.Close() })
	empty := gocv.NewMat()
	t.Cleanup(func() { empty.Close() })
	good := Face{Box: facematch.Rect{X: 60, Y: 40, W: 40, H: 40}}
	tests := []struct {
		name string
		img  gocv.Mat
		face Face
		want error
	}{
		{"empty Mat", empty, good, ErrAntiSpoofImage},
		{"zero Mat", gocv.Mat{}, good, ErrAntiSpoofImage},
		{"grey", grey, good, ErrAntiSpoofImage},
		{"degenerate box", img, Face{Box: facematch.Rect{X: 60, Y: 40, H: 10}}, ErrAntiSpoofBox},
		{"NaN box", img, Face{Box: facematch.Rect{X: math.NaN(), Y: 40, W: 10, H: 10}}, ErrAntiSpoofBox},
		{"box outside", img, Face{Box: facematch.Rect{X: -100, Y: 40, W: 40, H: 40}}, ErrAntiSpoofBox},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := MeasureReplayCues(tc.img, tc.face)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

// TestReplayCuesBorders measures faces at every border and corner, tiny
// and huge, on odd-sized images: no panic and every cue in [0,1].
func TestReplayCuesBorders(t *testing.T) {
	t.Parallel()
	for _, sz := range []image.Point{{1, 1}, {3, 2}, {33, 17}, {1280, 720}} {
		img := gocv.NewMatWithSize(sz.Y, sz.X, gocv.MatTypeCV8UC3)
		gocv.RandU(&img, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
		w, h := float64(sz.X), float64(sz.Y)
		bw, bh := math.Max(0.5, w/5), math.Max(0.5, h/5)
		for _, b := range []facematch.Rect{
			{X: -bw / 2, Y: -bh / 2, W: bw, H: bh},
			{X: w - bw/2, Y: h - bh/2, W: bw, H: bh},
			{X: 0, Y: 0, W: w, H: h},
			{X: -w, Y: -h, W: 3 * w, H: 3 * h},
			{X: w / 2, Y: h / 2, W: 0.3, H: 0.3},
		} {
			f := Face{Box: b}
			f.Landmarks[0] = facematch.Point{X: b.X + b.W*0.3, Y: b.Y + b.H*0.4}
			f.Landmarks[1] = facematch.Point{X: b.X + b.W*0.7, Y: b.Y + b.H*0.45}
			c, err := MeasureReplayCues(img, f)
			require.NoError(t, err, "size %v box %+v", sz, b)
			for _, v := range []float64{c.Moire, c.Bezel, c.BezelSides, c.Detail, c.Contrast, c.DarkLevel, c.Saturation, c.Specular} {
				assert.True(t, v >= 0 && v <= 1 && !math.IsNaN(v), "cue %v in [0,1] (size %v box %+v)", v, sz, b)
			}
		}
		img.Close()
	}
}

// TestAntiSpoofGenuineAboveAttack compares the mean fused score and the
// bezel cue of frames of the genuine clips with those of their replays.
func TestAntiSpoofGenuineAboveAttack(t *testing.T) {
	a := asNewAntiSpoof(t)
	d := asNewDetector(t)
	pairs := []struct{ genuine, attack string }{
		{"videos/genuine/g01_selfie_phone_headturns_asian_man.mp4", "videos/attack/a01_screen_replay_of_g01.mp4"},
		{"videos/genuine/g02_webcam_glasses_beard_laughing.webm", "videos/attack/a02_old_phone_replay_with_live_person_behind.webm"},
	}
	mean := func(rel string) (real, bezel float64) {
		mats, faces := asVideoFrames(t, d, rel, 15, 8)
		defer closeMats(mats)
		for i := range mats {
			s, err := a.Score(mats[i], faces[i].Box)
			require.NoError(t, err)
			c, err := MeasureReplayCues(mats[i], faces[i])
			require.NoError(t, err)
			real += s.Real
			bezel += c.BezelSides
		}
		n := float64(len(mats))
		return real / n, bezel / n
	}
	for _, p := range pairs {
		gr, gb := mean(p.genuine)
		ar, ab := mean(p.attack)
		t.Logf("%s: real %.3f bezel sides %.2f; %s: real %.3f bezel sides %.2f", filepath.Base(p.genuine), gr, gb, filepath.Base(p.attack), ar, ab)
		assert.Greater(t, gr, 0.5, "genuine mean Real")
		assert.Less(t, ar, 0.5, "attack mean Real")
		assert.Greater(t, gr, ar)
		assert.Greater(t, ab, gb, "attack frames show more bezel")
	}
}

func TestReplayMedian(t *testing.T) {
	t.Parallel()
	tests := [][]float64{{1}, {2, 1}, {3, 1, 2}, {5, 5, 5, 1}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, {1, 1, 2, 2, 2, 3}}
	for _, v := range tests {
		s := append([]float64(nil), v...)
		sortFloat(s)
		want := s[len(s)/2]
		assert.Equal(t, want, median(append([]float64(nil), v...)), "%v", v)
	}
	assert.Equal(t, 0.0, median(nil))
}

func sortFloat(v []float64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// TestReplayCuesConcurrent checks the documented concurrency: several
// goroutines measuring the same read-only frame get the sequential result.
func TestReplayCuesConcurrent(t *testing.T) {
	d := asNewDetector(t)
	img, face := asStill(t, d, "SilentFace_F2_screen_attack.jpg")
	defer img.Close()
	want, err := MeasureReplayCues(img, face)
	require.NoError(t, err)
	const workers = 4
	errs := make(chan error, workers)
	got := make(chan ReplayCues, workers)
	for i := 0; i < workers; i++ {
		go func() {
			var c ReplayCues
			var err error
			for j := 0; j < 5; j++ {
				if c, err = MeasureReplayCues(img, face); err != nil {
					break
				}
			}
			errs <- err
			got <- c
		}()
	}
	for i := 0; i < workers; i++ {
		require.NoError(t, <-errs)
		assert.Equal(t, want, <-got)
	}
}
