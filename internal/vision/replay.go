package vision

import (
	"fmt"
	"image"
	"math"
	"sort"
	"sync"
	"unsafe"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
)

// Replay cues are cheap, hand-built measures of a presentation attack in
// one frame: a face shown on a screen or on paper and filmed again. They
// complement MiniFASNet (which misses crude attacks) and the temporal
// evidence of the liveness analysis (a photo or screen moves as one plane).
// None is a verdict alone; docs/bench/antispoof.md gives their measured
// separation on real and synthetic attacks and the thresholds we suggest.

// ReplayCues are the per-frame replay measures of one face. Every field is
// in [0,1]. Higher Moire and Bezel mean more attack-like; for the others
// the direction is noted per field (and measured in docs/bench/antispoof.md).
type ReplayCues struct {
	// Moire is the share of the face's mid/high-frequency spectral energy
	// (above 12 cycles per face) that sits in isolated narrow peaks: local
	// maxima at least replayPeakRatio times both the median power of their
	// frequency ring and their local spectral background.
	// Skin has no periodic texture, so its spectrum is smooth; a screen's
	// pixel grid, the beat (moiré) between it and the camera's sensor, or
	// a print's halftone add such peaks. Higher is more attack-like.
	Moire float64 `json:"moire"`
	// MoireChroma is Moire measured on the red-minus-blue opponent channel:
	// a screen's colour subpixels alias into colour fringes.
	MoireChroma float64 `json:"moire_chroma"`
	// Bezel measures straight high-contrast edges that frame the face, as
	// the border of a phone, monitor, video window or photo does: for each
	// side of the face (left, right, above, below, in the face's own
	// orientation) the length of straight edge segments parallel to that
	// side, outside the face box, within replayContextScale/2 face sizes of
	// its centre and overlapping its extent, as a share of the face's
	// size (capped at 1); the mean over the four sides. Higher is more
	// attack-like; door frames and shelves behind a live person also
	// count, so use BezelSides too.
	Bezel float64 `json:"bezel"`
	// BezelSides is the number of sides (0-4) whose support is at least
	// one half, as a fraction of 4: a rectangle around the face gives 1.
	BezelSides float64 `json:"bezel_sides"`
	// Detail is the share of the face's spectral energy above 0.25
	// cycles/pixel (of the 192x192 face patch) among energy above 0.06:
	// fine skin texture. Re-filming a screen or a print blurs twice and
	// lowers it; so do low resolution and heavy compression.
	Detail float64 `json:"detail"`
	// Contrast is the face's luma spread (95th minus 5th percentile)/255.
	// A re-filmed screen is often washed out (lower).
	Contrast float64 `json:"contrast"`
	// DarkLevel is the 2nd percentile of luma/255 around the face (the
	// context region): a screen's black is grey and glare lifts it.
	DarkLevel float64 `json:"dark_level"`
	// Saturation is the mean HSV saturation of the face (0..1). Screens
	// and prints re-filmed under other light shift skin colour; its
	// direction depends on the device, see the bench report.
	Saturation float64 `json:"saturation"`
	// Specular is the share of face pixels that are near-white (V >= 0.94,
	// S <= 0.2): glare on a glossy photo or a screen spreads over the face,
	// while skin highlights are small.
	Specular float64 `json:"specular"`
}

// Suggested operating points, measured in docs/bench/antispoof.md on 15
// genuine clips, 2 real replay attacks and 60 synthetic replays. They are
// provisional: far too few attacks to fix an operating point; re-measure
// with replay_eval_test.go when more media arrive.
const (
	// SpoofRealThreshold: a clip whose mean SpoofScore.Real over its best
	// 3-5 frames is below this is a suspected spoof (all genuine clips were
	// at 0.62 or above, both real attacks at 0.19 or below).
	SpoofRealThreshold = 0.5
	// SpoofRealReview: means from SpoofRealThreshold up to this go to
	// review rather than pass.
	SpoofRealReview = 0.7
	// BezelFramedSides: a frame is framed (three or four sides of the face
	// bordered by straight edges) when ReplayCues.BezelSides >= this.
	BezelFramedSides = 0.75
	// BezelFramedShare: a clip is a suspected spoof when at least this
	// share of its measured frames is framed (genuine clips: at most 12%;
	// real attacks: 67% and 100%).
	BezelFramedShare = 0.25
)

// Parameters of the replay cues.
const (
	// replayFaceSize is the side of the square face patch analysed for
	// spectra and colour.
	replayFaceSize = 192
	// replayPeakRatio: a spectral bin is a peak when its power is at least
	// this many times its ring's median and it is a local maximum.
	replayPeakRatio = 12.0
	// replayContextScale: the bezel search region is the face box scaled
	// by this about its centre (as MiniFASNetV1SE's crop).
	replayContextScale = 4.0
	// replayFaceNorm: the context region is scaled so that the face box
	// is this many pixels tall (bounded by replayContextMax).
	replayFaceNorm   = 80.0
	replayContextMax = 400
)

// bezelParams are the bezel detector's settings; the evaluation varies
// them to measure the cue's sensitivity (docs/bench/antispoof.md).
type bezelParams struct {
	// angleTol: an edge is parallel to a face side within this many
	// degrees.
	angleTol float64
	// minLen: shortest straight segment kept, in face heights.
	minLen float64
	// cannyLo, cannyHi: Canny hysteresis thresholds (on the blurred
	// 8-bit grey context).
	cannyLo, cannyHi float32
	// context: the search region is the face box scaled by this.
	context float64
}

var defaultBezel = bezelParams{angleTol: 15, minLen: 0.4, cannyLo: 40, cannyHi: 120, context: replayContextScale}

// MeasureReplayCues measures the replay cues of face in the BGR frame img
// (CV_8UC3, face in img's pixels). Its scratch Mats are per call and its
// buffers pooled, so it is safe for concurrent use on distinct or
// read-only Mats. It costs about 3.5 ms of CPU per face, independent of
// frame size (the regions are resampled to fixed sizes).
func MeasureReplayCues(img gocv.Mat, face Face) (ReplayCues, error) {
	if err := checkBGR(img); err != nil {
		return ReplayCues{}, err
	}
	w, h := img.Cols(), img.Rows()
	faceR, err := boxPixels(w, h, face.Box)
	if err != nil {
		return ReplayCues{}, err
	}
	var c ReplayCues
	if err := measureFace(img, faceR, &c); err != nil {
		return ReplayCues{}, err
	}
	measureContext(img, face, defaultBezel, &c)
	return c, nil
}

// boxPixels validates box and returns its integer rectangle clipped to the
// image.
func boxPixels(w, h int, box facematch.Rect) (image.Rectangle, error) {
	if _, err := MiniFASNetCrop(w, h, box, 1); err != nil {
		return image.Rectangle{}, err
	}
	r := image.Rect(int(math.Floor(box.X)), int(math.Floor(box.Y)),
		int(math.Ceil(box.X+box.W)), int(math.Ceil(box.Y+box.H))).Intersect(image.Rect(0, 0, w, h))
	if r.Empty() {
		return image.Rectangle{}, fmt.Errorf("%w: %+v outside %dx%d image", ErrAntiSpoofBox, box, w, h)
	}
	return r, nil
}

// measureFace fills the spectral and colour cues from the face box
// resampled to replayFaceSize square.
func measureFace(img gocv.Mat, r image.Rectangle, c *ReplayCues) error {
	const n = replayFaceSize
	roi := img.Region(r)
	patch := gocv.NewMat()
	interp := gocv.InterpolationLinear
	if r.Dx() > n || r.Dy() > n {
		interp = gocv.InterpolationArea
	}
	gocv.Resize(roi, &patch, image.Pt(n, n), 0, 0, interp)
	roi.Close()
	defer patch.Close()
	bgr, err := patch.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("vision: replay cues: %w", err)
	}

	// Colour and luma statistics.
	sc := scratchPool.Get().(*replayScratch)
	defer scratchPool.Put(sc)
	luma, chroma := sc.luma, sc.chroma
	var hist [256]int
	var satSum float64
	spec := 0
	for i := 0; i < n*n; i++ {
		b, g, rr := float64(bgr[3*i]), float64(bgr[3*i+1]), float64(bgr[3*i+2])
		y := 0.114*b + 0.587*g + 0.299*rr
		luma[i] = float32(y)
		chroma[i] = float32(rr - b) // red-blue opponent: subpixel colour moiré
		hist[clampInt(int(y+0.5), 0, 255)]++
		mx := math.Max(b, math.Max(g, rr))
		mn := math.Min(b, math.Min(g, rr))
		s := 0.0
		if mx > 0 {
			s = (mx - mn) / mx
		}
		satSum += s
		if mx >= 240 && s <= 0.2 {
			spec++
		}
	}
	c.Contrast = (histPercentile(hist[:], 0.95) - histPercentile(hist[:], 0.05)) / 255
	c.Saturation = satSum / float64(n*n)
	c.Specular = float64(spec) / float64(n*n)

	var err2 error
	if c.Moire, c.Detail, err2 = patchSpectrum(luma, sc); err2 != nil {
		return err2
	}
	c.MoireChroma, _, err2 = patchSpectrum(chroma, sc)
	return err2
}

// patchSpectrum returns the spectral cues of a replayFaceSize-square patch
// (modified in place: mean removed and Hann-windowed).
func patchSpectrum(v []float32, sc *replayScratch) (moire, detail float64, err error) {
	const n = replayFaceSize
	var mean float64
	for _, x := range v {
		mean += float64(x)
	}
	mean /= float64(n * n)
	win := hannWindow(n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			v[y*n+x] = (v[y*n+x] - float32(mean)) * win[y] * win[x]
		}
	}
	src, err := gocv.NewMatFromBytes(n, n, gocv.MatTypeCV32F, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*n*n))
	if err != nil {
		return 0, 0, fmt.Errorf("vision: replay cues: %w", err)
	}
	defer src.Close()
	spec := gocv.NewMat()
	defer spec.Close()
	gocv.DFT(src, &spec, gocv.DftComplexOutput)
	cplx, err := spec.DataPtrFloat32()
	if err != nil || len(cplx) < 2*n*n {
		return 0, 0, fmt.Errorf("vision: replay cues: DFT output: %v", err)
	}
	moire, detail = spectralCues(cplx, sc)
	return moire, detail, nil
}

// spectralGeom is the ring layout of the replayFaceSize spectrum, the same
// for every call: ring[i] is bin i's integer radius (-1 outside the band)
// and ringBins[start[r]:start[r+1]] lists the half-plane bins of ring r.
type spectralGeom struct {
	ring     []int
	ringBins []int
	start    []int
}

var (
	geomOnce sync.Once
	geom     spectralGeom
)

func replayGeom() *spectralGeom {
	geomOnce.Do(func() {
		const n = replayFaceSize
		half, lo := n/2, n/16 // below 12 cycles per patch: face shape
		g := spectralGeom{ring: make([]int, n*n), start: make([]int, half+2)}
		lists := make([][]int, half+1)
		for y := 0; y < n; y++ {
			fy := y
			if fy > half {
				fy -= n
			}
			for x := 0; x < n; x++ {
				fx := x
				if fx > half {
					fx -= n
				}
				i := y*n + x
				r := int(math.Round(math.Hypot(float64(fx), float64(fy))))
				if r < lo || r > half {
					g.ring[i] = -1
					continue
				}
				g.ring[i] = r
				// The spectrum of a real image is Hermitian (P(-f) =
				// P(f)): the half plane fy >= 0 holds every frequency.
				if fy >= 0 {
					lists[r] = append(lists[r], i)
				}
			}
		}
		for r := 0; r <= half; r++ {
			g.start[r] = len(g.ringBins)
			g.ringBins = append(g.ringBins, lists[r]...)
		}
		g.start[half+1] = len(g.ringBins)
		geom = g
	})
	return &geom
}

// replayScratch holds the per-call buffers of the spectral cues; pooled
// so that measuring a frame allocates little.
type replayScratch struct {
	luma, chroma []float32
	power, vals  []float64
}

var scratchPool = sync.Pool{New: func() any {
	const n = replayFaceSize
	return &replayScratch{
		luma: make([]float32, n*n), chroma: make([]float32, n*n),
		power: make([]float64, n*n), vals: make([]float64, 0, n*n),
	}
}}

// spectralCues returns the peak share (Moire) and the high-frequency share
// (Detail) of the replayFaceSize-square complex spectrum cplx
// (interleaved re, im; DC at 0,0). Peaks and band energy are measured on
// the half plane rows 0..n/2 (Hermitian symmetry); the full power array is
// filled for the neighbourhood tests.
func spectralCues(cplx []float32, sc *replayScratch) (moire, detail float64) {
	const n = replayFaceSize
	half := n / 2
	g := replayGeom()
	power := sc.power
	for i := range power {
		re, im := float64(cplx[2*i]), float64(cplx[2*i+1])
		power[i] = re*re + im*im
	}
	var med [replayFaceSize/2 + 1]float64
	for r := 0; r <= half; r++ {
		bins := g.ringBins[g.start[r]:g.start[r+1]]
		if len(bins) == 0 {
			continue
		}
		vals := sc.vals[:0]
		for _, i := range bins {
			vals = append(vals, power[i])
		}
		med[r] = median(vals)
	}
	var band, peaks, high, mid float64
	hiEdge := half / 2 // 0.25 cycles/pixel
	for y := 0; y <= half; y++ {
		for x := 0; x < n; x++ {
			i := y*n + x
			r := g.ring[i]
			if r < 0 {
				continue
			}
			p := power[i]
			band += p
			if r >= hiEdge {
				high += p
			} else {
				mid += p
			}
			if med[r] <= 0 || p < replayPeakRatio*med[r] {
				continue
			}
			if e, ok := spectralPeak(power, g.ring, n, x, y); ok {
				peaks += e
			}
		}
	}
	if band > 0 {
		moire = math.Min(1, peaks/band) // 3x3 neighbourhoods of two peaks may overlap
	}
	if high+mid > 0 {
		detail = high / (high + mid)
	}
	return moire, detail
}

// spectralPeak reports whether the bin at (x,y) is an isolated narrow
// peak: a local maximum of its 3x3 neighbourhood that is at least
// replayPeakRatio times the median of the 24 bins on the square three steps away (its
// local background, so that the ridges of straight image edges do not
// count). It returns the peak's energy: its 3x3 neighbourhood, as the Hann
// window spreads a pure tone over about three bins.
func spectralPeak(power []float64, ring []int, n, x, y int) (float64, bool) {
	idx := func(dx, dy int) int { return ((y+dy+n)%n)*n + (x+dx+n)%n }
	at := func(dx, dy int) float64 { return power[idx(dx, dy)] }
	p := power[y*n+x]
	var e float64
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			j := idx(dx, dy)
			v := power[j]
			// Ties go to the first bin in scan order, so that a plateau
			// counts once.
			if v > p || (v == p && j < y*n+x) {
				return 0, false
			}
			if ring[j] >= 0 { // only energy inside the band
				e += v
			}
		}
	}
	var bg [24]float64
	k := 0
	for d := -3; d <= 3; d++ {
		bg[k], bg[k+1] = at(d, -3), at(d, 3)
		k += 2
	}
	for d := -2; d <= 2; d++ {
		bg[k], bg[k+1] = at(-3, d), at(3, d)
		k += 2
	}
	b := bg[:k]
	sort.Float64s(b)
	if p < replayPeakRatio*b[len(b)/2] {
		return 0, false
	}
	return e, true
}

// median returns the upper median of v, reordering v (quickselect).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	k := len(v) / 2
	lo, hi := 0, len(v)-1
	for lo < hi {
		pivot := v[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

// histPercentile returns the value below which share q of a 256-bin
// histogram's mass lies.
func histPercentile(hist []int, q float64) float64 {
	total := 0
	for _, v := range hist {
		total += v
	}
	if total == 0 {
		return 0
	}
	target := q * float64(total)
	acc := 0
	for i, v := range hist {
		acc += v
		if float64(acc) >= target {
			return float64(i)
		}
	}
	return 255
}

var (
	hannOnce sync.Once
	hannWin  []float32
)

func hannWindow(n int) []float32 {
	hannOnce.Do(func() {
		hannWin = make([]float32, replayFaceSize)
		for i := range hannWin {
			hannWin[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(replayFaceSize-1)))
		}
	})
	return hannWin[:n]
}

// measureContext fills Bezel, BezelSides and DarkLevel from the region
// around the face (the face box scaled by replayContextScale), resampled so
// that the face is replayFaceNorm pixels tall.
func measureContext(img gocv.Mat, face Face, bp bezelParams, c *ReplayCues) {
	w, h := img.Cols(), img.Rows()
	b := face.Box
	cx, cy := b.X+b.W/2, b.Y+b.H/2
	cw, ch := b.W*bp.context, b.H*bp.context
	r := image.Rect(int(cx-cw/2), int(cy-ch/2), int(cx+cw/2)+1, int(cy+ch/2)+1).Intersect(image.Rect(0, 0, w, h))
	if r.Dx() < 8 || r.Dy() < 8 {
		return
	}
	s := replayFaceNorm / b.H
	s = math.Min(s, float64(replayContextMax)/float64(max(r.Dx(), r.Dy())))
	sw, sh := max(8, int(float64(r.Dx())*s+0.5)), max(8, int(float64(r.Dy())*s+0.5))
	s = float64(sw) / float64(r.Dx())

	roi := img.Region(r)
	small := gocv.NewMat()
	defer small.Close()
	// Linear, not area, even when shrinking: 5-10x cheaper on large
	// regions, and the Gaussian blur before Canny absorbs the aliasing.
	gocv.Resize(roi, &small, image.Pt(sw, sh), 0, 0, gocv.InterpolationLinear)
	roi.Close()
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(small, &gray, gocv.ColorBGRToGray)
	if px, err := gray.DataPtrUint8(); err == nil {
		var hist [256]int
		for _, v := range px {
			hist[v]++
		}
		c.DarkLevel = histPercentile(hist[:], 0.02) / 255
	}

	edges := gocv.NewMat()
	defer edges.Close()
	gocv.GaussianBlur(gray, &gray, image.Pt(3, 3), 0, 0, gocv.BorderDefault)
	gocv.Canny(gray, &edges, bp.cannyLo, bp.cannyHi)
	lines := gocv.NewMat()
	defer lines.Close()
	faceH, faceW := b.H*s, b.W*s
	gocv.HoughLinesPWithParams(edges, &lines, 1, math.Pi/180, 25, float32(bp.minLen*faceH), 4)

	// Face frame in the scaled context: centre and roll from the eyes.
	fcx, fcy := (cx-float64(r.Min.X))*s, (cy-float64(r.Min.Y))*s
	roll := faceRoll(face)
	cosR, sinR := math.Cos(roll), math.Sin(roll)
	toFace := func(x, y float64) (u, v float64) {
		dx, dy := x-fcx, y-fcy
		return dx*cosR + dy*sinR, -dx*sinR + dy*cosR
	}
	hw, hh := faceW/2, faceH/2
	reach := bp.context / 2 // in face sizes from the centre
	tol := math.Sin(bp.angleTol * math.Pi / 180)
	var support [4]float64 // left, right, top, bottom
	for i := 0; i < lines.Rows(); i++ {
		l := lines.GetVeciAt(i, 0)
		u1, v1 := toFace(float64(l[0]), float64(l[1]))
		u2, v2 := toFace(float64(l[2]), float64(l[3]))
		du, dv := u2-u1, v2-v1
		length := math.Hypot(du, dv)
		if length == 0 {
			continue
		}
		switch {
		case math.Abs(du)/length < tol: // parallel to the face's vertical axis
			over := overlap(math.Min(v1, v2), math.Max(v1, v2), -hh, hh)
			if over <= 0 {
				continue
			}
			umin, umax := math.Min(u1, u2), math.Max(u1, u2)
			switch {
			case umax < -hw && umin > -reach*faceW:
				support[0] += length / faceH
			case umin > hw && umax < reach*faceW:
				support[1] += length / faceH
			}
		case math.Abs(dv)/length < tol: // parallel to the horizontal axis
			over := overlap(math.Min(u1, u2), math.Max(u1, u2), -hw, hw)
			if over <= 0 {
				continue
			}
			vmin, vmax := math.Min(v1, v2), math.Max(v1, v2)
			switch {
			case vmax < -hh && vmin > -reach*faceH:
				support[2] += length / faceW
			case vmin > hh && vmax < reach*faceH:
				support[3] += length / faceW
			}
		}
	}
	var sum float64
	sides := 0
	for _, v := range support {
		v = math.Min(1, v)
		sum += v
		if v >= 0.5 {
			sides++
		}
	}
	c.Bezel = sum / 4
	c.BezelSides = float64(sides) / 4
}

// faceRoll returns the in-plane rotation of the face (radians, image y
// down) from the eye landmarks, or 0 when they look unusable.
func faceRoll(f Face) float64 {
	l, r := f.Landmarks[facematch.LeftEye], f.Landmarks[facematch.RightEye]
	dx, dy := r.X-l.X, r.Y-l.Y
	d := math.Hypot(dx, dy)
	if d < 0.1*f.Box.W || d > 1.5*f.Box.W || math.IsNaN(d) {
		return 0
	}
	return math.Atan2(dy, dx)
}

func overlap(a0, a1, b0, b1 float64) float64 {
	return math.Min(a1, b1) - math.Max(a0, b0)
}
