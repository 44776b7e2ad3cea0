package inspect

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"slices"
	"sort"
	"strings"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/liveness/cv"
	"github.com/hoviyat/hoviyat/reason"
)

// Contact sheet geometry, in pixels.
const (
	sheetMargin = 20
	sheetCols   = 4
	tileW       = 304
	tileGap     = 16
	tilePad     = 8
	// SheetWidth is the width of every contact sheet.
	SheetWidth = 2*sheetMargin + sheetCols*tileW + (sheetCols-1)*tileGap
	// maxImgH caps a tile's picture height (portrait videos).
	maxImgH = 440
)

// ContactSheet draws the sampled frames of r that have pictures (at most
// WithMaxTiles of them: the frames used for matching first, then evenly
// spread), in time order, with face boxes, landmarks and per-frame values,
// under a header with the decision, its reasons, the liveness evidence
// and the quality gate, and a legend. The sheet is SheetWidth pixels wide.
func ContactSheet(r Report, opts ...Option) (*image.RGBA, error) {
	img, _, err := contactSheet(r, collect(opts))
	return img, err
}

// sheetTile is where one frame was drawn.
type sheetTile struct {
	frame int             // position in Trace.Frames
	box   image.Rectangle // the tile
	pic   image.Rectangle // its picture
	scale float64         // picture pixels per frame pixel
}

func contactSheet(r Report, o options) (*image.RGBA, []sheetTile, error) {
	if r.Trace == nil {
		return nil, nil, ErrNoTrace
	}
	fs, err := newFaces()
	if err != nil {
		return nil, nil, err
	}
	defer fs.close()

	// The header is drawn on a scratch canvas, then copied.
	scratch := image.NewRGBA(image.Rect(0, 0, SheetWidth, 4000))
	fill(scratch, scratch.Bounds(), colBG)
	headerH := drawHeader(scratch, fs, r, o)

	tiles := pickTiles(r.Trace.Frames, o.maxTiles)
	imgH := 0
	for _, i := range tiles {
		_, h := fitPicture(&r.Trace.Frames[i])
		imgH = max(imgH, h)
	}
	if imgH == 0 {
		imgH = tileW * 9 / 16
	}
	textH := tileTextLines*lineHeight(fs.mono) + 2*tilePad + lineHeight(fs.mono)
	tileH := imgH + textH
	rows := (len(tiles) + sheetCols - 1) / sheetCols
	footer := footerLines(fs, r, len(tiles))
	footerH := len(footer)*lineHeight(fs.small) + sheetMargin
	gridH := rows*tileH + max(0, rows-1)*tileGap
	if len(tiles) == 0 {
		gridH = lineHeight(fs.head) * 2
	}
	H := headerH + gridH + sheetMargin + footerH + sheetMargin

	img := image.NewRGBA(image.Rect(0, 0, SheetWidth, H))
	fill(img, img.Bounds(), colBG)
	draw.Draw(img, image.Rect(0, 0, SheetWidth, headerH), scratch, image.Point{}, draw.Src)
	y := headerH
	if len(tiles) == 0 {
		text(img, fs.head, sheetMargin, y+lineHeight(fs.head)/2, colMuted, "No frame pictures in this trace.")
	}
	var placed []sheetTile
	for k, i := range tiles {
		c, row := k%sheetCols, k/sheetCols
		at := image.Pt(sheetMargin+c*(tileW+tileGap), y+row*(tileH+tileGap))
		placed = append(placed, drawTile(img, fs, r, i, image.Rectangle{Min: at, Max: at.Add(image.Pt(tileW, tileH))}, imgH, o))
	}
	y += gridH + sheetMargin
	fill(img, image.Rect(sheetMargin, y-sheetMargin/2, SheetWidth-sheetMargin, y-sheetMargin/2+1), colRule)
	for _, l := range footer {
		text(img, fs.small, sheetMargin, y, colMuted, l)
		y += lineHeight(fs.small)
	}
	return img, placed, nil
}

// pickTiles chooses up to n frames with pictures: probes first, then evenly
// spread; returned in time order.
func pickTiles(frames []cv.TraceFrame, n int) []int {
	var withPic, probes, rest []int
	for i := range frames {
		if frames[i].Image == nil {
			continue
		}
		withPic = append(withPic, i)
		if frames[i].Probe > 0 {
			probes = append(probes, i)
		} else {
			rest = append(rest, i)
		}
	}
	if len(withPic) <= n {
		return withPic
	}
	sort.Slice(probes, func(a, b int) bool { return frames[probes[a]].Probe < frames[probes[b]].Probe })
	out := probes[:min(len(probes), n)]
	k := n - len(out)
	for j := 0; j < k; j++ {
		p := 0
		if k > 1 {
			p = int(math.Round(float64(j) * float64(len(rest)-1) / float64(k-1)))
		}
		out = append(out, rest[p])
	}
	sort.Ints(out)
	return slices.Compact(out)
}

// fitPicture is the size of f's picture in a tile.
func fitPicture(f *cv.TraceFrame) (w, h int) {
	fw, fh := f.Width, f.Height
	if fw <= 0 || fh <= 0 {
		if f.Image == nil {
			return 0, 0
		}
		b := f.Image.Bounds()
		fw, fh = b.Dx(), b.Dy()
	}
	w, h = tileW, int(math.Round(float64(tileW)*float64(fh)/float64(fw)))
	if h > maxImgH {
		h, w = maxImgH, int(math.Round(float64(maxImgH)*float64(fw)/float64(fh)))
	}
	return w, h
}

// tileTextLines is the number of value lines under a tile's picture (the
// problems line comes after them).
const tileTextLines = 5

func drawTile(dst *image.RGBA, fs *faces, r Report, fi int, box image.Rectangle, imgH int, o options) sheetTile {
	f := &r.Trace.Frames[fi]
	q, lc := r.Trace.Quality, r.Trace.Liveness
	fill(dst, box, colPanel)
	pw, ph := fitPicture(f)
	picR := image.Rect(0, 0, pw, ph)
	pic := image.NewRGBA(picR)
	if f.Image != nil {
		xdraw.CatmullRom.Scale(pic, picR, f.Image, f.Image.Bounds(), draw.Src, nil)
	}
	s := 1.0
	if f.Width > 0 {
		s = float64(pw) / float64(f.Width)
	}
	toPic := func(x, y float64) (float64, float64) { return x * s, y * s }
	boxR := func(b facematch.Rect, grow float64) image.Rectangle {
		x0, y0 := toPic(b.X-grow*b.W, b.Y-grow*b.H)
		x1, y1 := toPic(b.X+(1+grow)*b.W, b.Y+(1+grow)*b.H)
		return image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
	}
	if o.redact {
		if len(f.Faces) == 0 {
			pixelate(pic, picR, max(8, pw/24))
		}
		for _, fc := range f.Faces {
			br := boxR(fc.Box, 0.3)
			pixelate(pic, br, max(6, max(br.Dx(), br.Dy())/5))
		}
	}
	// Annotations: other faces first, the main face on top.
	mainArea := 0.0
	if len(f.Faces) > 0 {
		mainArea = f.Faces[0].Area()
	}
	for k := len(f.Faces) - 1; k >= 0; k-- {
		fc := f.Faces[k]
		br := boxR(fc.Box, 0)
		switch {
		case k == 0:
			stroke(pic, br.Inset(-1), 3, colOutline)
			stroke(pic, br, 2, colMain)
		case fc.Score >= q.SecondFaceScore && fc.Area() >= q.SecondFaceArea*mainArea:
			stroke(pic, br.Inset(-1), 3, colOutline)
			stroke(pic, br, 2, colOther)
		default:
			stroke(pic, br, 1, colIgnored)
		}
		for li, l := range fc.Landmarks {
			col := colEye
			switch li {
			case facematch.Nose:
				col = colNose
			case facematch.LeftMouth, facematch.RightMouth:
				col = colMouth
			}
			x, y := toPic(l.X, l.Y)
			rad := 3.5
			if k > 0 {
				rad = 2.5
			}
			disc(pic, x, y, rad+1.2, colOutline, picR)
			disc(pic, x, y, rad, col, picR)
		}
	}
	// Picture, centred at the top of the tile.
	at := image.Pt(box.Min.X+(tileW-pw)/2, box.Min.Y+(imgH-ph)/2)
	draw.Draw(dst, picR.Add(at), pic, image.Point{}, draw.Src)
	if f.Image == nil {
		text(dst, fs.bold, box.Min.X+tilePad, box.Min.Y+imgH/2, colMuted, "no picture")
	}
	// Badges over the picture.
	bx, by := box.Min.X+4, box.Min.Y+4
	if f.Probe > 0 {
		b := badge(dst, fs.monoBold, bx, by, colProbe, colBG, fmt.Sprintf("MATCH #%d", f.Probe))
		bx = b.Max.X + 4
	}
	if !f.HasFace() {
		badge(dst, fs.monoBold, bx, by, colNoFaceBox, colBG, "NO FACE")
	}
	tb := fmt.Sprintf("%.2f s", f.Time.Seconds())
	badge(dst, fs.monoBold, box.Max.X-4-width(fs.monoBold, tb)-10, by, color.RGBA{0, 0, 0, 0xb0}, colBG, tb)

	// Values.
	has := func(c reason.Code) bool { return slices.Contains(f.Problems, c) }
	red := func(bad bool) color.Color {
		if bad {
			return colBad
		}
		return colInk
	}
	x0, y := box.Min.X+tilePad, box.Min.Y+imgH+tilePad
	lh := lineHeight(fs.mono)
	segs(dst, fs.mono, x0, y,
		seg{fmt.Sprintf("frame %d", f.Index), colInk, fs.monoBold},
		seg{fmt.Sprintf("  quality %.2f", f.Quality), colMuted, nil})
	y += lh
	if m, ok := f.Main(); ok {
		heightShare := 0.0
		if f.Height > 0 {
			heightShare = m.Box.H / float64(f.Height)
		}
		segs(dst, fs.mono, x0, y,
			seg{"luma ", colMuted, nil}, seg{fmt.Sprintf("%-4.0f", f.Luma), red(has(reason.LowLight) || has(reason.Overexposed)), nil},
			seg{" sharp ", colMuted, nil}, seg{fmt.Sprintf("%.2f", f.Sharpness), red(has(reason.LowQuality) && f.Sharpness < q.MinSharpness), nil},
			seg{" glare ", colMuted, nil}, seg{fmt.Sprintf("%.2f", f.Glare), red(has(reason.Reflection)), nil})
		y += lh
		segs(dst, fs.mono, x0, y,
			seg{"face ", colMuted, nil}, seg{fmt.Sprintf("%.0fpx", f.FacePixels), red(has(reason.LowQuality) && f.FacePixels < q.MinFacePixels), nil},
			seg{" ", colMuted, nil}, seg{fmt.Sprintf("%.0f%% high", 100*heightShare), red(has(reason.FaceTooFar)), nil},
			seg{" faces ", colMuted, nil}, seg{fmt.Sprint(1 + secondFaces(q, f)), red(has(reason.MultipleFaces)), nil})
		angle := has(reason.BadAngle)
		segs(dst, fs.mono, x0, y+lh,
			seg{"yaw ", colMuted, nil}, seg{fmt.Sprintf("%.0f", f.Yaw), red(angle && math.Abs(f.Yaw) > q.MaxYaw), nil},
			seg{" pitch ", colMuted, nil}, seg{fmt.Sprintf("%.0f", f.Pitch), red(angle && math.Abs(f.Pitch) > q.MaxPitch), nil},
			seg{" roll ", colMuted, nil}, seg{fmt.Sprintf("%.0f", f.Roll), red(angle && math.Abs(f.Roll) > q.MaxRoll), nil})
		y += 2 * lh
		as := "  -  "
		asCol := color.Color(colMuted)
		if !math.IsNaN(f.AntiSpoof) {
			as = fmt.Sprintf("%.3f", f.AntiSpoof)
			switch {
			case f.AntiSpoof < lc.SpoofAntiSpoof:
				asCol = colBad
			case f.AntiSpoof < lc.MinAntiSpoof:
				asCol = colWarn
			default:
				asCol = colInk
			}
		}
		mv := "  -"
		if !math.IsNaN(f.Motion) {
			mv = fmt.Sprintf("%.1f%%", 100*f.Motion)
		}
		segs(dst, fs.mono, x0, y, seg{"p(live) ", colMuted, nil}, seg{as, asCol, nil},
			seg{"  moved ", colMuted, nil}, seg{mv, colInk, nil})
		y += lh
	} else {
		text(dst, fs.mono, x0, y, colMuted, "no face found on this frame")
		y += tileTextLines * lh / 2
	}
	y = box.Min.Y + imgH + tilePad + tileTextLines*lh
	// Problems of this frame on its own.
	var probs []string
	for _, c := range f.Problems {
		probs = append(probs, string(c))
	}
	if len(probs) == 0 {
		text(dst, fs.mono, x0, y, colGood, "no problem on this frame")
	} else {
		text(dst, fs.monoBold, x0, y, colBad, ellipsis(fs.monoBold, strings.Join(probs, ", "), tileW-2*tilePad))
	}
	if f.Probe > 0 {
		stroke(dst, box.Inset(-3), 4, colProbe)
	}
	return sheetTile{frame: fi, box: box, pic: picR.Add(at), scale: s}
}

// secondFaces counts the faces other than the main one that the quality
// gate takes for another person.
func secondFaces(q liveness.QualityConfig, f *cv.TraceFrame) int {
	if len(f.Faces) < 2 {
		return 0
	}
	n, main := 0, f.Faces[0].Area()
	for _, fc := range f.Faces[1:] {
		if fc.Score >= q.SecondFaceScore && fc.Area() >= q.SecondFaceArea*main {
			n++
		}
	}
	return n
}

// headline is the header's big word and the colour key for it.
func headline(r Report) (word, key string) {
	if r.Decision != nil {
		return strings.ToUpper(string(r.Decision.Outcome)), string(r.Decision.Outcome)
	}
	return "LIVENESS: " + strings.ToUpper(strings.ReplaceAll(string(r.Result.Verdict), "_", " ")), string(r.Result.Verdict)
}

// reasonsOf are the reasons the header lists.
func reasonsOf(r Report) []reason.Code {
	if r.Decision != nil {
		return r.Decision.Reasons
	}
	out := append([]reason.Code(nil), r.Result.Quality...)
	for _, c := range r.Result.Reasons {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// drawHeader draws the header and returns its height.
func drawHeader(dst *image.RGBA, fs *faces, r Report, o options) int {
	W := SheetWidth - 2*sheetMargin
	word, key := headline(r)
	ink, band := outcomeColours(key)
	bandH := lineHeight(fs.title) + 20
	fill(dst, image.Rect(0, 0, SheetWidth, bandH), band)
	fill(dst, image.Rect(0, bandH-3, SheetWidth, bandH), ink)
	x := text(dst, fs.title, sheetMargin, 10, ink, word)
	brand := "hoviyat inspect"
	bw := width(fs.small, brand)
	text(dst, fs.small, SheetWidth-sheetMargin-bw, 10+ascent(fs.title)-ascent(fs.small), colMuted, brand)
	if r.Title != "" {
		tw := SheetWidth - sheetMargin - bw - 24 - (x + 20)
		text(dst, fs.head, x+20, 10+ascent(fs.title)-ascent(fs.head), colInk, ellipsis(fs.head, r.Title, tw))
	}
	y := bandH + 12
	lhB := lineHeight(fs.body)

	// Reasons with their messages.
	rs := reasonsOf(r)
	if len(rs) == 0 {
		text(dst, fs.bold, sheetMargin, y, colGood, "No reasons: every check passed.")
		y += lhB
	}
	for _, c := range rs {
		msg := ""
		if in, ok := reason.Lookup(c); ok {
			msg = in.EN
			if in.HintEN != "" {
				msg += " Fix: " + in.HintEN
			}
		}
		code := string(c)
		x := segs(dst, fs.body, sheetMargin, y, seg{"• ", colBad, fs.bold}, seg{code, colBad, fs.monoBold})
		lines := wrap(fs.body, msg, W-(x-sheetMargin)-12)
		for k, l := range lines {
			text(dst, fs.body, x+12, y, colInk, l)
			if k < len(lines)-1 {
				y += lhB
			}
		}
		y += lhB
	}
	if r.Decision != nil && r.Decision.Note != "" {
		text(dst, fs.small, sheetMargin, y, colMuted, r.Decision.Note)
		y += lineHeight(fs.small)
	}
	y += 6

	// Summary lines.
	res := r.Result
	lc := r.Trace.Liveness
	verdictCol, _ := outcomeColours(string(res.Verdict))
	gate := seg{"quality gate passed", colGood, nil}
	if len(res.Quality) > 0 {
		var qs []string
		for _, c := range res.Quality {
			qs = append(qs, string(c))
		}
		gate = seg{"quality gate failed: " + strings.Join(qs, ", "), colBad, nil}
	}
	segs(dst, fs.body, sheetMargin, y, seg{"Liveness: ", colInk, fs.bold}, seg{string(res.Verdict), verdictCol, fs.bold},
		seg{fmt.Sprintf(" · fused score %.3f (live at ≥ 0.5) · anti-spoof threshold %.2f (spoof below %.2f) · ", res.Score, lc.MinAntiSpoof, lc.SpoofAntiSpoof), colInk, nil},
		gate)
	y += lhB
	match := []seg{{"Face match: ", colInk, fs.bold}}
	switch d := r.Decision; {
	case d == nil:
		match = append(match, seg{"not run (no reference photo given)", colMuted, nil})
	case d.Match != nil:
		mc := colGood
		switch d.Match.Decision {
		case facematch.NonMatch:
			mc = colBad
		case facematch.Uncertain:
			mc = colWarn
		}
		match = append(match, seg{string(d.Match.Decision), mc, fs.bold},
			seg{fmt.Sprintf(" · similarity %.3f (match at ≥ %.3f, review at ≥ %.3f) · %d probes · %s",
				d.Match.Similarity, d.Match.Threshold, d.Match.ReviewFloor, len(d.Match.PerProbe), d.Match.Model), colInk, nil})
	case d.ReferenceUnusable:
		match = append(match, seg{"not run: the reference photo has no usable face", colWarn, nil})
	default:
		match = append(match, seg{"not run (the video failed the quality or liveness checks, or had no usable face)", colMuted, nil})
	}
	segs(dst, fs.body, sheetMargin, y, match...)
	y += lhB
	v := r.Trace.Video
	faceFrames := 0
	for i := range r.Trace.Frames {
		if r.Trace.Frames[i].HasFace() {
			faceFrames++
		}
	}
	vid := fmt.Sprintf("%d×%d", v.Width, v.Height)
	if v.Codec != "" || v.Container != "" {
		vid += fmt.Sprintf(" · %s/%s", v.Codec, v.Container)
	}
	if v.Rotation != 0 {
		vid += fmt.Sprintf(" · rotated %d°", v.Rotation)
	}
	vid += fmt.Sprintf(" · %.1f fps · %.2f s · %d frames sampled every %d ms, %d with a face",
		v.FPS, v.Duration.Seconds(), len(r.Trace.Frames), v.Interval.Milliseconds(), faceFrames)
	segs(dst, fs.body, sheetMargin, y, seg{"Video: ", colInk, fs.bold}, seg{vid, colInk, nil})
	y += lhB
	ch := r.Trace.Challenge
	chs := []seg{{"Challenge: ", colInk, fs.bold}}
	switch {
	case ch.Text == "":
		chs = append(chs, seg{"none given", colMuted, nil})
	default:
		shown, hidden := challengeText(fs.body, ch.Text)
		chs = append(chs, seg{"“" + shown + "”", colInk, nil})
		if hidden > 0 {
			chs = append(chs, seg{" (words in Persian script are shown as [word]: the picture font has none; inspect.json has the text)", colMuted, nil})
		}
	}
	if ch.HeadTurn != liveness.TurnNone {
		chs = append(chs, seg{" · head turn " + string(ch.HeadTurn), colInk, nil})
	}
	segs(dst, fs.body, sheetMargin, y, chs...)
	y += lhB + 10

	// Tables side by side.
	colW := (W - 24) / 2
	hEv := drawEvidence(dst, fs, r, sheetMargin, y, colW)
	hQ := drawGate(dst, fs, r, sheetMargin+colW+24, y, colW)
	y += max(hEv, hQ) + 10

	// Legend.
	y = drawLegend(dst, fs, sheetMargin, y, W, o)
	fill(dst, image.Rect(sheetMargin, y+6, SheetWidth-sheetMargin, y+7), colRule)
	return y + 18
}

// challengeText is the challenge as the picture font can draw it: Persian
// and Arabic-Indic digits become ASCII digits, other words without glyphs
// become "[word]" (hidden counts them).
func challengeText(face font.Face, s string) (shown string, hidden int) {
	var words []string
	for _, w := range strings.Fields(s) {
		w = strings.Map(func(r rune) rune {
			switch {
			case r >= '۰' && r <= '۹':
				return '0' + (r - '۰')
			case r >= '٠' && r <= '٩':
				return '0' + (r - '٠')
			}
			return r
		}, w)
		if !hasGlyphs(face, w) {
			w = "[word]"
			hidden++
		}
		words = append(words, w)
	}
	return strings.Join(words, " "), hidden
}

// drawEvidence draws the liveness evidence table and returns its height.
func drawEvidence(dst *image.RGBA, fs *faces, r Report, x, y, w int) int {
	top := y
	text(dst, fs.head, x, y, colInk, "Liveness evidence")
	y += lineHeight(fs.head) + 2
	lh := lineHeight(fs.mono)
	text(dst, fs.monoBold, x, y, colMuted, fmt.Sprintf("%-18s %8s %10s %-5s %s", "signal", "value", "threshold", "", "weight"))
	y += lh
	fill(dst, image.Rect(x, y-2, x+w, y-1), colRule)
	for _, e := range r.Result.Evidence {
		op := "≥"
		switch e.Name {
		case "replay_cues", "moire", "face_continuity":
			op = "≤"
		}
		val := fmt.Sprintf("%8.3f", e.Value)
		if e.Name == "blinks" || e.Name == "face_continuity" {
			val = fmt.Sprintf("%8.0f", e.Value)
		}
		pass, pc := "PASS", colGood
		if !e.Pass {
			pass, pc = "FAIL", colBad
			if e.Weight == 0 && e.Name != "challenge_text" && e.Name != "head_turn" && e.Name != "moire" {
				// A component that only needs one of its siblings.
				pass, pc = "low", colMuted
			}
		}
		wt := ""
		if e.Weight > 0 {
			wt = fmt.Sprintf("%.2f", e.Weight)
		}
		name := e.Name
		switch name {
		case "landmark_parallax", "face_change", "mouth_activity", "blinks":
			name = "  " + name
		}
		segs(dst, fs.mono, x, y, seg{fmt.Sprintf("%-18s %s %s%9s ", name, val, op, trimFloat(e.Threshold)), colInk, nil},
			seg{fmt.Sprintf("%-5s", pass), pc, fs.monoBold}, seg{" " + wt, colMuted, nil})
		y += lh
	}
	if len(r.Result.Evidence) == 0 {
		text(dst, fs.mono, x, y, colMuted, "not judged (the quality gate failed first)")
		y += lh
	}
	text(dst, fs.small, x, y+2, colMuted, "Non-rigid motion passes when any indented component does.")
	y += lineHeight(fs.small) + 2
	return y - top
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// gateRow is one check of the quality gate.
type gateRow struct {
	name   string
	value  string
	limit  string
	share  string // share of face frames with the problem
	reason reason.Code
}

// drawGate draws the quality-gate table and returns its height.
func drawGate(dst *image.RGBA, fs *faces, r Report, x, y, w int) int {
	top := y
	q := r.Trace.Quality
	m := r.Result.Measures
	get := func(k string) float64 {
		if v, ok := m[k]; ok {
			return v
		}
		return math.NaN()
	}
	f := func(format, k string) string {
		v := get(k)
		if math.IsNaN(v) {
			return "-"
		}
		return fmt.Sprintf(format, v)
	}
	pct := func(k string) string {
		v := get(k)
		if math.IsNaN(v) {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*v)
	}
	rows := []gateRow{
		{"face found", pct("face_share"), fmt.Sprintf("≥ %.0f%% of frames", 100*q.MinFaceShare), "", reason.NoFace},
		{"second person", f("%.0f", "faces_p90"), "1 face", pct("multi_face_share"), reason.MultipleFaces},
		{"face height", pct("face_height_ratio"), fmt.Sprintf("≥ %.0f%% of frame", 100*q.MinFaceHeight), pct("far_share"), reason.FaceTooFar},
		{"face in frame", "", fmt.Sprintf("≤ %.0f%% outside", 100*q.MaxOutside), pct("out_of_frame_share"), reason.FaceOutOfFrame},
		{"luminance", f("%.0f", "luminance_mean"), fmt.Sprintf("≥ %.0f", q.MinLuma), pct("dark_share"), reason.LowLight},
		{"", "", fmt.Sprintf("≤ %.0f", q.MaxLuma), pct("bright_share"), reason.Overexposed},
		{"sharpness", f("%.2f", "sharpness"), fmt.Sprintf("≥ %.2f, ≥ %.0f px", q.MinSharpness, q.MinFacePixels), pct("blur_share"), reason.LowQuality},
		{"pose |yaw|", f("%.0f°", "yaw_abs_p50"), fmt.Sprintf("≤ %.0f/%.0f/%.0f°", q.MaxYaw, q.MaxPitch, q.MaxRoll), pct("bad_angle_share"), reason.BadAngle},
		{"glare", f("%.3f", "glare_share"), fmt.Sprintf("≤ %.2f", q.MaxGlare), pct("glare_frame_share"), reason.Reflection},
		{"camera shake", f("%.4f", "shake"), fmt.Sprintf("≤ %.3f", q.MaxShake), "", reason.CameraShake},
	}
	text(dst, fs.head, x, y, colInk, "Quality gate")
	text(dst, fs.small, x+width(fs.head, "Quality gate")+10, y+ascent(fs.head)-ascent(fs.small), colMuted, "(medians over the face frames)")
	y += lineHeight(fs.head) + 2
	lh := lineHeight(fs.mono)
	text(dst, fs.monoBold, x, y, colMuted, fmt.Sprintf("%-14s %7s  %-18s %7s", "check", "value", "limit", "frames"))
	y += lh
	fill(dst, image.Rect(x, y-2, x+w, y-1), colRule)
	for _, row := range rows {
		failed := slices.Contains(r.Result.Quality, row.reason)
		res, rc := "ok", colGood
		if failed {
			res, rc = "FAIL "+string(row.reason), colBad
		}
		ink := color.Color(colInk)
		if failed {
			ink = colBad
		}
		segs(dst, fs.mono, x, y, seg{fmt.Sprintf("%-14s %7s  %-18s %7s ", row.name, row.value, row.limit, row.share), ink, nil},
			seg{res, rc, fs.monoBold})
		y += lh
	}
	text(dst, fs.small, x, y+2, colMuted, fmt.Sprintf("frames: share of face frames with the problem; a check fails above %.0f%% (second person: %.0f%%).",
		100*q.Persistence, 100*q.MultiFacePersistence))
	y += lineHeight(fs.small) + 2
	return y - top
}

// drawLegend draws the legend and returns the y below it.
func drawLegend(dst *image.RGBA, fs *faces, x, y, w int, o options) int {
	text(dst, fs.head, x, y, colInk, "Legend")
	y += lineHeight(fs.head) + 2
	lh := lineHeight(fs.body)
	cx := x
	item := func(draw func(r image.Rectangle), label string) {
		iw := 26 + 8 + width(fs.body, label) + 26
		if cx+iw > x+w {
			cx = x
			y += lh + 6
		}
		sw := image.Rect(cx, y+2, cx+26, y+lh-4)
		draw(sw)
		text(dst, fs.body, cx+34, y, colInk, label)
		cx += iw
	}
	item(func(r image.Rectangle) { stroke(dst, r, 3, colMain) }, "main face")
	item(func(r image.Rectangle) { stroke(dst, r, 3, colOther) }, "another person (counts for multiple_faces)")
	item(func(r image.Rectangle) { stroke(dst, r, 1, colIgnored) }, "small or unsure face (ignored)")
	dots := func(r image.Rectangle) {
		cy := float64(r.Min.Y+r.Max.Y) / 2
		for k, c := range []color.Color{colEye, colNose, colMouth} {
			disc(dst, float64(r.Min.X)+5+float64(k)*8, cy, 4.5, colOutline, dst.Bounds())
			disc(dst, float64(r.Min.X)+5+float64(k)*8, cy, 3.5, c, dst.Bounds())
		}
	}
	item(dots, "landmarks: eyes, nose, mouth corners")
	item(func(r image.Rectangle) { stroke(dst, r, 4, colProbe) }, "frame used for face matching (MATCH #rank)")
	item(func(r image.Rectangle) { fill(dst, r.Inset(4), colBad) }, "value outside its limit on that frame")
	item(func(r image.Rectangle) { fill(dst, r.Inset(4), colWarn) }, "p(live) between the spoof and live thresholds")
	if o.redact {
		item(func(r image.Rectangle) {
			for k := 0; k < 3; k++ {
				fill(dst, image.Rect(r.Min.X+k*9, r.Min.Y, r.Min.X+k*9+8, r.Max.Y), color.Gray{uint8(90 + 50*k)})
			}
		}, "faces pixelated for publication (operators see them)")
	}
	return y + lh
}

// footerLines explain how to read the sheet.
func footerLines(fs *faces, r Report, shown int) []string {
	q := r.Trace.Quality
	s := fmt.Sprintf("Frames shown: %d of %d sampled (the frames used for matching, then evenly spread), in time order. "+
		"Per-frame values are those of the main face: luma is its mean luminance (0-255), sharp its fine-detail measure, "+
		"face its height in source pixels and as a share of the frame height, p(live) MiniFASNet's probability of a live face on that frame "+
		"(the verdict uses the matching frames' only), moved the face centre's motion since the previous sampled frame. "+
		"A frame's problems are the quality checks it fails on its own; the video fails a check only when the problem persists on more than %.0f%% of the face frames.",
		shown, len(r.Trace.Frames), 100*q.Persistence)
	return wrap(fs.small, s, SheetWidth-2*sheetMargin)
}
