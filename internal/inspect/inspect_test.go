package inspect

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/liveness/cv"
	"github.com/hoviyat/hoviyat/reason"
)

// Synthetic frames are 640x480 with pictures at half size.
const (
	fw, fh = 640, 480
)

var faceBox = facematch.Rect{X: 200, Y: 100, W: 160, H: 200}

// noise is a deterministic textured picture (so pixelation is visible).
func noise(w, h int, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range img.Pix {
		if i%4 == 3 {
			img.Pix[i] = 0xff
		} else {
			img.Pix[i] = uint8(rng.IntN(256))
		}
	}
	return img
}

// synthTrace builds a trace of n frames 100 ms apart; face(i) says whether
// frame i has a face; every frame has a picture when pictured is true.
func synthTrace(n int, face func(i int) bool, pictured bool) *cv.Trace {
	tr := &cv.Trace{
		Video:    cv.TraceVideo{Container: "mp4", Codec: "h264", Width: fw, Height: fh, FPS: 25, Duration: time.Duration(n) * 100 * time.Millisecond, Interval: 100 * time.Millisecond},
		Quality:  liveness.DefaultQualityConfig(),
		Liveness: liveness.DefaultLivenessConfig(),
		Temporal: liveness.Temporal{Shake: 0.001, ShakeSource: "background", Mouth: 0.4, Change: 0.8, Parallax: math.NaN(), Eyes: 0.3, YawMin: -3, YawMax: 4},
	}
	for i := 0; i < n; i++ {
		f := cv.TraceFrame{AntiSpoof: math.NaN(), Motion: math.NaN(), Shake: math.NaN()}
		f.Index, f.Time, f.Width, f.Height = i*2, time.Duration(i)*100*time.Millisecond, fw, fh
		if face(i) {
			o := liveness.FaceObs{Box: faceBox, Score: 0.9}
			o.Landmarks = [5]facematch.Point{{X: 250, Y: 170}, {X: 310, Y: 170}, {X: 280, Y: 210}, {X: 255, Y: 250}, {X: 305, Y: 250}}
			f.Faces = []liveness.FaceObs{o}
			f.Luma, f.Sharpness, f.FacePixels, f.Yaw = 120+float64(i%7), 0.7, 200, float64(i%5)
			f.Quality, f.AntiSpoof, f.Motion, f.Shake = 0.8, 0.9, 0.004, 0.0005
			if i%3 == 0 {
				f.Luma = 20
				f.Problems = []reason.Code{reason.LowLight}
			}
		} else {
			f.Problems = []reason.Code{reason.NoFace}
		}
		if pictured {
			f.Image, f.ImageScale = noise(fw/2, fh/2, uint64(i)), 0.5
		}
		tr.Frames = append(tr.Frames, f)
	}
	for i := 0; i+2 < n; i++ {
		tr.Activity = append(tr.Activity, cv.TracePair{A: i, B: i + 2, Mouth: 0.1 * float64(i%4), Eyes: 0.05, Change: math.NaN()})
	}
	for i := 0; i+10 < n; i++ {
		tr.Change = append(tr.Change, cv.TracePair{A: i, B: i + 10, Mouth: math.NaN(), Eyes: math.NaN(), Change: 0.7})
	}
	return tr
}

func report(tr *cv.Trace) Report {
	res := liveness.Result{Verdict: liveness.SpoofSuspected, Score: 0.31, Reasons: []reason.Code{reason.SpoofSuspected},
		Evidence: []liveness.Evidence{{Name: "antispoof", Value: 0.3, Threshold: 0.5}, {Name: "moire", Value: math.NaN(), Threshold: 0.2, Pass: true}},
		Measures: map[string]float64{"luminance_mean": 120, "face_share": 1, "shake": math.NaN()}, Frames: len(tr.Frames)}
	return Report{Title: "synthetic.mp4", Trace: tr, Result: res,
		Decision: &Decision{Outcome: "rejected", Reasons: []reason.Code{reason.SpoofSuspected}}}
}

func allFaces(int) bool { return true }

func encode(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func TestContactSheetShapesAndDeterminism(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		n     int
		face  func(int) bool
		tiles int
	}{
		{"one frame", 1, allFaces, 1},
		{"no face at all", 12, func(int) bool { return false }, 12},
		{"every other frame", 30, func(i int) bool { return i%2 == 0 }, DefaultMaxTiles},
		{"200 frames", 200, allFaces, DefaultMaxTiles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := report(synthTrace(tt.n, tt.face, true))
			img, tiles, err := contactSheet(r, collect(nil))
			require.NoError(t, err)
			assert.Equal(t, SheetWidth, img.Bounds().Dx())
			assert.Len(t, tiles, tt.tiles)
			last := tiles[len(tiles)-1].box
			assert.Less(t, last.Max.Y, img.Bounds().Dy(), "the footer is below the last tile")
			for k := 1; k < len(tiles); k++ {
				assert.Greater(t, r.Trace.Frames[tiles[k].frame].Time, r.Trace.Frames[tiles[k-1].frame].Time, "tiles in time order")
			}
			again, err := ContactSheet(r)
			require.NoError(t, err)
			assert.Equal(t, encode(t, img), encode(t, again), "the same trace gives the same pixels")
		})
	}
}

func TestContactSheetDrawsBoxesWhereTheFacesAre(t *testing.T) {
	t.Parallel()
	tr := synthTrace(4, func(i int) bool { return i != 2 }, true)
	tr.Frames[1].Probe = 1
	img, tiles, err := contactSheet(report(tr), collect(nil))
	require.NoError(t, err)
	require.Len(t, tiles, 4)
	for _, tl := range tiles {
		f := tr.Frames[tl.frame]
		count := 0
		for y := tl.pic.Min.Y; y < tl.pic.Max.Y; y++ {
			for x := tl.pic.Min.X; x < tl.pic.Max.X; x++ {
				if img.RGBAAt(x, y) == colMain {
					count++
				}
			}
		}
		if !f.HasFace() {
			assert.Zero(t, count, "no box on a faceless frame %d", tl.frame)
			continue
		}
		// The box's left edge, half way down, in sheet pixels.
		x := tl.pic.Min.X + int(math.Floor(faceBox.X*tl.scale))
		y := tl.pic.Min.Y + int((faceBox.Y+faceBox.H/2)*tl.scale)
		assert.Equal(t, colMain, img.RGBAAt(x, y), "frame %d: box edge", tl.frame)
		assert.Equal(t, colMain, img.RGBAAt(x+1, y), "frame %d: box edge is 2 px", tl.frame)
		assert.Greater(t, count, int(2*(faceBox.W+faceBox.H)*tl.scale), "frame %d: the whole outline", tl.frame)
		// A landmark (the nose) is drawn in its colour.
		nx := tl.pic.Min.X + int(280*tl.scale)
		ny := tl.pic.Min.Y + int(210*tl.scale)
		assert.Equal(t, colNose, img.RGBAAt(nx, ny), "frame %d: nose", tl.frame)
		// The probe's tile is framed in blue; the others are not.
		edge := img.RGBAAt(tl.box.Min.X-2, tl.box.Min.Y+tl.box.Dy()/2)
		if f.Probe > 0 {
			assert.Equal(t, colProbe, edge)
		} else {
			assert.NotEqual(t, colProbe, edge)
		}
	}
}

func TestRedactionPixelatesFaces(t *testing.T) {
	t.Parallel()
	tr := synthTrace(2, func(i int) bool { return i == 0 }, true)
	blockiness := func(img *image.RGBA, r image.Rectangle) float64 {
		same, n := 0, 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x+1 < r.Max.X; x++ {
				if img.RGBAAt(x, y) == img.RGBAAt(x+1, y) {
					same++
				}
				n++
			}
		}
		return float64(same) / float64(n)
	}
	plain, tiles, err := contactSheet(report(tr), collect(nil))
	require.NoError(t, err)
	red, rtiles, err := contactSheet(report(tr), collect([]Option{WithRedaction()}))
	require.NoError(t, err)
	require.Len(t, rtiles, 2)
	// Inside the face box (away from the outline and the landmarks): the
	// cheek between the eye line and the mouth.
	s := tiles[0].scale
	cheek := image.Rect(int(205*s), int(180*s), int(240*s), int(240*s)).Add(tiles[0].pic.Min)
	assert.Less(t, blockiness(plain, cheek), 0.2, "noise is not blocky")
	assert.Greater(t, blockiness(red, cheek), 0.85, "redacted face is blocks")
	// Outside the face (top-left corner) nothing changes.
	corner := image.Rect(0, 0, 20, 20).Add(tiles[0].pic.Min.Add(image.Pt(2, 30)))
	assert.InDelta(t, blockiness(plain, corner), blockiness(red, corner), 0.05)
	// A frame without a face is pixelated whole.
	whole := rtiles[1].pic.Inset(30)
	assert.Greater(t, blockiness(red, whole), 0.85)
	assert.Less(t, blockiness(plain, whole), 0.2)
}

func TestTimeline(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 50, 200} {
		r := report(synthTrace(n, func(i int) bool { return i%4 != 1 }, false))
		img, err := Timeline(r)
		require.NoError(t, err, "n=%d", n)
		b := img.Bounds()
		assert.Equal(t, 1152, b.Dx(), "n=%d", n)
		assert.Greater(t, b.Dy(), 1000, "n=%d", n)
		again, err := Timeline(r)
		require.NoError(t, err)
		assert.Equal(t, encode(t, img), encode(t, again), "n=%d: deterministic", n)
	}
	// The title band takes the decision's colour.
	r := report(synthTrace(10, allFaces, false))
	img, err := Timeline(r)
	require.NoError(t, err)
	_, band := outcomeColours("rejected")
	assert.Equal(t, band, color.RGBAModel.Convert(img.At(img.Bounds().Dx()-5, 5)))
}

func TestNoTrace(t *testing.T) {
	t.Parallel()
	_, err := ContactSheet(Report{})
	assert.ErrorIs(t, err, ErrNoTrace)
	_, err = Timeline(Report{})
	assert.ErrorIs(t, err, ErrNoTrace)
	_, err = Data(Report{})
	assert.ErrorIs(t, err, ErrNoTrace)
}

func TestDataIsPlainJSON(t *testing.T) {
	t.Parallel()
	tr := synthTrace(5, func(i int) bool { return i != 3 }, false)
	tr.Frames[2].Probe = 1
	tr.Frames[2].Spoof = &liveness.SpoofObs{Index: tr.Frames[2].Index, Real: 0.7}
	doc, err := Data(report(tr))
	require.NoError(t, err)
	b, err := json.Marshal(doc)
	require.NoError(t, err, "NaN values are nulls")
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	frames := back["frames"].([]any)
	require.Len(t, frames, 5)
	f3 := frames[3].(map[string]any)
	assert.Nil(t, f3["luma"], "a faceless frame has no luminance")
	assert.Equal(t, []any{"no_face"}, f3["problems"])
	f2 := frames[2].(map[string]any)
	assert.EqualValues(t, 1, f2["probe_rank"])
	assert.InDelta(t, 0.2, f2["time_s"], 1e-9)
	assert.Len(t, f2["faces"], 1)
	assert.Len(t, back["activity_pairs"], 3)
	lv := back["liveness"].(map[string]any)
	assert.Equal(t, "spoof_suspected", lv["verdict"])
	assert.Nil(t, lv["measures"].(map[string]any)["shake"])
	assert.Equal(t, "rejected", back["decision"].(map[string]any)["outcome"])
}

func TestPickTiles(t *testing.T) {
	t.Parallel()
	tr := synthTrace(40, allFaces, true)
	tr.Frames[5].Probe, tr.Frames[33].Probe = 2, 1
	tr.Frames[7].Image = nil
	got := pickTiles(tr.Frames, 6)
	assert.Len(t, got, 6)
	assert.Contains(t, got, 5)
	assert.Contains(t, got, 33)
	assert.NotContains(t, got, 7, "a frame without a picture is never a tile")
	assert.IsIncreasing(t, got)
	assert.Equal(t, []int{5, 33}, pickTiles(tr.Frames, 2))
}

func TestWrapAndEllipsis(t *testing.T) {
	t.Parallel()
	fs, err := newFaces()
	require.NoError(t, err)
	defer fs.close()
	lines := wrap(fs.body, "the quick brown fox jumps over the lazy dog again and again", 120)
	require.Greater(t, len(lines), 2)
	for _, l := range lines {
		assert.LessOrEqual(t, width(fs.body, l), 120, l)
	}
	s := ellipsis(fs.body, "a very long title that cannot fit", 80)
	assert.LessOrEqual(t, width(fs.body, s), 80)
	assert.Contains(t, s, "…")
	assert.Equal(t, "short", ellipsis(fs.body, "short", 200))
	assert.Equal(t, "??? 12", printable(fs.body, "سیب 12"), "runes without glyphs are marked")
}

func TestChallengeText(t *testing.T) {
	t.Parallel()
	fs, err := newFaces()
	require.NoError(t, err)
	defer fs.close()
	tests := []struct {
		in, want string
		hidden   int
	}{
		{"۴۷۱۹ سیب", "4719 [word]", 1},
		{"٤٧ apple ۱", "47 apple 1", 0},
		{"", "", 0},
		{"سیب  انار", "[word] [word]", 2},
	}
	for _, tt := range tests {
		got, hidden := challengeText(fs.body, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		assert.Equal(t, tt.hidden, hidden, tt.in)
	}
}
