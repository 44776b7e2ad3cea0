package inspect

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	ptext "gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/liveness/cv"
)

// Timeline geometry (inches at 96 dpi: 1152 pixels wide).
const (
	timelineW     = 12 * vg.Inch
	timelineTitle = 0.8 * vg.Inch
	timelineRow   = 1.85 * vg.Inch
	timelinePadY  = 0.12 * vg.Inch
	timelineSide  = 3.4 * vg.Inch // legend column
	timelineDPI   = 96
)

var (
	plotBlue   = color.RGBA{0x1f, 0x77, 0xb4, 0xff}
	plotOrange = color.RGBA{0xe6, 0x6a, 0x00, 0xff}
	plotPurple = color.RGBA{0x8e, 0x44, 0xad, 0xff}
	plotGreen  = color.RGBA{0x2c, 0xa0, 0x2c, 0xff}
	plotLimit  = color.RGBA{0xd6, 0x27, 0x28, 0xff}
	plotAmber  = color.RGBA{0xd9, 0x8e, 0x04, 0xff}
	plotProbe  = color.NRGBA{0x1d, 0x4e, 0xd8, 0xa0}
	plotNoFace = color.RGBA{0xd1, 0xd5, 0xdb, 0xff}
)

// panel is one row of the timeline: a plot and the legend column's text.
type panel struct {
	title string
	note  string
	p     *plot.Plot
}

// Timeline plots, over the video's time, the main face's luminance,
// sharpness and height, its motion and the local camera shake, the mouth
// and eye activity of registered frame pairs, and MiniFASNet's p(live) on
// every face frame with the fused liveness score, each with the thresholds
// in force; the frames used for matching are vertical lines and frames
// without a face grey bands. The picture is 1152 pixels wide.
func Timeline(r Report, opts ...Option) (image.Image, error) {
	if r.Trace == nil {
		return nil, ErrNoTrace
	}
	_ = collect(opts)
	tr := r.Trace
	q, lc := tr.Quality, tr.Liveness
	n := len(tr.Frames)
	ts := make([]float64, n)
	for i := range tr.Frames {
		ts[i] = tr.Frames[i].Time.Seconds()
	}
	xmax := tr.Video.Duration.Seconds()
	if n > 0 {
		xmax = math.Max(xmax, ts[n-1]+tr.Video.Interval.Seconds()/2)
	}
	if xmax <= 0 {
		xmax = 1
	}
	series := func(f func(*cv.TraceFrame) float64) []float64 {
		v := make([]float64, n)
		for i := range tr.Frames {
			if tr.Frames[i].HasFace() {
				v[i] = f(&tr.Frames[i])
			} else {
				v[i] = math.NaN()
			}
		}
		return v
	}

	// Each panel starts with its grid, the grey bands of frames without a
	// face and the probe lines, under the data.
	bands := noFaceBands(tr, ts)
	var bandThumb, probeThumb plot.Thumbnailer
	newPanel := func(ylabel string, lo, hi float64) *plot.Plot {
		p := newPanelPlot(ylabel)
		for _, b := range bands {
			poly, err := plotter.NewPolygon(plotter.XYs{{X: b[0], Y: lo}, {X: b[1], Y: lo}, {X: b[1], Y: hi}, {X: b[0], Y: hi}})
			if err != nil {
				continue
			}
			poly.Color, poly.LineStyle.Width = plotNoFace, 0
			p.Add(poly)
			bandThumb = poly
		}
		for i := range tr.Frames {
			if tr.Frames[i].Probe == 0 {
				continue
			}
			l, err := plotter.NewLine(plotter.XYs{{X: ts[i], Y: lo}, {X: ts[i], Y: hi}})
			if err != nil {
				continue
			}
			l.Color, l.Width = plotProbe, vg.Points(1.5)
			l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
			p.Add(l)
			probeThumb = l
		}
		p.Y.Min, p.Y.Max = lo, hi
		return p
	}
	fix := func(p *plot.Plot, lo, hi float64) { p.Y.Min, p.Y.Max = lo, hi }

	var panels []panel
	{ // Exposure.
		luma := series(func(f *cv.TraceFrame) float64 { return f.Luma })
		p := newPanel("luminance", 0, 255)
		addZone(p, xmax, 0, q.MinLuma, zoneBad)
		addZone(p, xmax, q.MaxLuma, 255, zoneBad)
		addSeries(p, ts, luma, plotBlue, nil, "face luminance (mean, 0-255)", true)
		addLimit(p, xmax, q.MinLuma, plotLimit, fmt.Sprintf("low_light below %.0f", q.MinLuma))
		addLimit(p, xmax, q.MaxLuma, plotLimit, fmt.Sprintf("overexposed above %.0f", q.MaxLuma))
		fix(p, 0, 255)
		panels = append(panels, panel{"Exposure", "", p})
	}
	{ // Sharpness.
		sh := series(func(f *cv.TraceFrame) float64 { return f.Sharpness })
		hi := math.Max(1.2, maxOf(sh)*1.15)
		p := newPanel("sharpness", 0, hi)
		addZone(p, xmax, 0, q.MinSharpness, zoneBad)
		addSeries(p, ts, sh, plotBlue, nil, "face fine detail", true)
		addLimit(p, xmax, q.MinSharpness, plotLimit, fmt.Sprintf("low_quality below %.2f", q.MinSharpness))
		fix(p, 0, hi)
		panels = append(panels, panel{"Sharpness", "", p})
	}
	{ // Face size.
		fh := series(func(f *cv.TraceFrame) float64 {
			if f.Height <= 0 {
				return math.NaN()
			}
			return f.Faces[0].Box.H / float64(f.Height)
		})
		hi := math.Max(0.6, maxOf(fh)*1.15)
		p := newPanel("share of height", 0, hi)
		addZone(p, xmax, 0, q.MinFaceHeight, zoneBad)
		addSeries(p, ts, fh, plotBlue, nil, "face box height / frame height", true)
		addLimit(p, xmax, q.MinFaceHeight, plotLimit, fmt.Sprintf("face_too_far below %.2f", q.MinFaceHeight))
		fix(p, 0, hi)
		panels = append(panels, panel{"Face size", "", p})
	}
	{ // Motion.
		mv := make([]float64, n)
		sk := make([]float64, n)
		for i := range tr.Frames {
			mv[i] = 100 * tr.Frames[i].Motion
			sk[i] = 100 * tr.Frames[i].Shake
		}
		hi := math.Max(4, math.Max(maxOf(mv), maxOf(sk))*1.15)
		p := newPanel("% of frame side", 0, hi)
		addZone(p, xmax, 100*q.MaxShake, hi, zoneBad)
		addSeries(p, ts, mv, plotBlue, nil, "face centre moved since last frame", true)
		addSeries(p, ts, sk, plotOrange, []vg.Length{vg.Points(5), vg.Points(3)}, "camera shake (5-frame window)", true)
		addLimit(p, xmax, 100*q.MaxShake, plotLimit, fmt.Sprintf("camera_shake above %.1f%% (median)", 100*q.MaxShake))
		addLevel(p, xmax, 100*tr.Temporal.Shake, plotOrange, fmt.Sprintf("video's median shake %.2f%%", 100*tr.Temporal.Shake))
		fix(p, 0, hi)
		note := ""
		if !math.IsNaN(tr.Temporal.Shake) {
			note = fmt.Sprintf("video shake %.2f%% (%s)", 100*tr.Temporal.Shake, tr.Temporal.ShakeSource)
		}
		panels = append(panels, panel{"Motion", note, p})
	}
	{ // Mouth and eye activity.
		xs := make([]float64, len(tr.Activity))
		mouth := make([]float64, len(tr.Activity))
		eyes := make([]float64, len(tr.Activity))
		for k, a := range tr.Activity {
			xs[k] = pairTime(tr, a)
			mouth[k], eyes[k] = a.Mouth, a.Eyes
		}
		all := append(append([]float64(nil), mouth...), eyes...)
		lo, hi := math.Min(-0.1, minOf(all)*1.1), math.Max(0.8, maxOf(all)*1.15)
		p := newPanel("residual", lo, hi)
		addSeries(p, xs, mouth, plotPurple, nil, "mouth vs rest of face", true)
		addSeries(p, xs, eyes, plotGreen, []vg.Length{vg.Points(5), vg.Points(3)}, "eyes vs rest of face", true)
		addLimit(p, xmax, lc.MinMouth, plotLimit, fmt.Sprintf("reading needs p90 ≥ %.2f", lc.MinMouth))
		addLimit(p, xmax, liveness.EyeEventThreshold, plotAmber, fmt.Sprintf("eye event above %.2f", liveness.EyeEventThreshold))
		addLevel(p, xmax, tr.Temporal.Mouth, plotPurple, fmt.Sprintf("video's mouth p90 %.2f", tr.Temporal.Mouth))
		fix(p, lo, hi)
		note := "pairs 200 ms apart"
		if !math.IsNaN(tr.Temporal.Mouth) {
			note = fmt.Sprintf("mouth p90 %.2f · %d eye events", tr.Temporal.Mouth, tr.Temporal.Blinks)
		}
		panels = append(panels, panel{"Mouth and eye activity", note, p})
	}
	{ // Non-rigid change over one second.
		xs := make([]float64, len(tr.Change))
		ch := make([]float64, len(tr.Change))
		for k, c := range tr.Change {
			xs[k], ch[k] = pairTime(tr, c), c.Change
		}
		hi := math.Max(1.2*lc.MinChange*2, maxOf(ch)*1.15)
		p := newPanel("residual", 0, hi)
		addZone(p, xmax, 0, lc.MinChange, zoneBad)
		addSeries(p, xs, ch, plotBlue, nil, "face change vs 1 s earlier", true)
		addLimit(p, xmax, lc.MinChange, plotLimit, fmt.Sprintf("non-rigid at median ≥ %.2f", lc.MinChange))
		addLevel(p, xmax, tr.Temporal.Change, plotBlue, fmt.Sprintf("video's median %.2f", tr.Temporal.Change))
		fix(p, 0, hi)
		note := "a photo or screen moves as one plane"
		panels = append(panels, panel{"Face change (1 s apart)", note, p})
	}
	{ // Liveness.
		as := make([]float64, n)
		var best plotter.XYs
		for i := range tr.Frames {
			as[i] = tr.Frames[i].AntiSpoof
			if s := tr.Frames[i].Spoof; s != nil {
				best = append(best, plotter.XY{X: ts[i], Y: s.Real})
			}
		}
		p := newPanel("p(live)", 0, 1.05)
		addZone(p, xmax, 0, lc.SpoofAntiSpoof, zoneBad)
		addZone(p, xmax, lc.SpoofAntiSpoof, lc.MinAntiSpoof, zoneWarn)
		addSeries(p, ts, as, plotBlue, nil, "MiniFASNet p(live), every face frame", true)
		if len(best) > 0 {
			if sc, err := plotter.NewScatter(best); err == nil {
				sc.GlyphStyle = draw.GlyphStyle{Color: plotBlue, Radius: vg.Points(4.5), Shape: draw.CircleGlyph{}}
				p.Add(sc)
				p.Legend.Add("frames the verdict used", sc)
			}
		}
		addLimit(p, xmax, lc.MinAntiSpoof, plotAmber, fmt.Sprintf("live needs median ≥ %.2f", lc.MinAntiSpoof))
		addLimit(p, xmax, lc.SpoofAntiSpoof, plotLimit, fmt.Sprintf("spoof below %.2f", lc.SpoofAntiSpoof))
		vc, _ := outcomeColours(string(r.Result.Verdict))
		if l, err := hline(xmax, r.Result.Score); err == nil {
			l.Color, l.Width = vc, vg.Points(2.5)
			l.Dashes = []vg.Length{vg.Points(8), vg.Points(4)}
			p.Add(l)
			p.Legend.Add(fmt.Sprintf("fused liveness score %.3f", r.Result.Score), l)
		}
		fix(p, 0, 1.05)
		panels = append(panels, panel{"Liveness", "verdict: " + string(r.Result.Verdict), p})
	}
	if bandThumb != nil {
		panels[0].p.Legend.Add("no face found", bandThumb)
	}
	if probeThumb != nil {
		panels[0].p.Legend.Add("frame used for matching", probeThumb)
	}

	for k := range panels {
		p := panels[k].p
		p.X.Min, p.X.Max = 0, xmax
		if k == len(panels)-1 {
			p.X.Label.Text = "time in the video (s)"
		}
	}

	H := timelineTitle + vg.Length(len(panels))*timelineRow + vg.Length(len(panels)-1)*timelinePadY + 0.2*vg.Inch
	c := vgimg.NewWith(vgimg.UseWH(timelineW, H), vgimg.UseDPI(timelineDPI), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(c)
	drawTimelineTitle(dc, r, H)

	body := draw.Crop(dc, 0, -timelineSide, 0.1*vg.Inch, -timelineTitle)
	side := draw.Crop(dc, timelineW-timelineSide+0.15*vg.Inch, -0.1*vg.Inch, 0.1*vg.Inch, -timelineTitle)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadY: timelinePadY, PadLeft: 0.1 * vg.Inch, PadRight: 0.1 * vg.Inch}
	grid := make([][]*plot.Plot, len(panels))
	legends := make([]plot.Legend, len(panels))
	for k := range panels {
		legends[k] = panels[k].p.Legend
		panels[k].p.Legend = plot.NewLegend() // drawn in the side column
		grid[k] = []*plot.Plot{panels[k].p}
	}
	cans := plot.Align(grid, tiles, body)
	for k := range panels {
		panels[k].p.Draw(cans[k][0])
		sc := tiles.At(side, 0, k)
		drawSide(sc, panels[k], legends[k])
	}
	return c.Image(), nil
}

// sans is Liberation Sans (gonum's default text font is the serif).
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// secondTicks labels the time axis every 0.5, 1, 2 or 5 seconds (about a
// dozen labels), with unlabelled minor ticks in between.
func secondTicks(lo, hi float64) []plot.Tick {
	span := hi - lo
	step := 5.0
	for _, s := range []float64{0.5, 1, 2, 5} {
		if span/s <= 14 {
			step = s
			break
		}
	}
	var ts []plot.Tick
	for k := math.Ceil(lo/step*2) / 2; k*step <= hi+1e-9; k += 0.5 {
		v := k * step
		if math.Abs(k-math.Round(k)) < 1e-9 {
			ts = append(ts, plot.Tick{Value: v, Label: trimFloat(v)})
		} else {
			ts = append(ts, plot.Tick{Value: v})
		}
	}
	return ts
}

func newPanelPlot(ylabel string) *plot.Plot {
	p := plot.New()
	p.X.Tick.Marker = plot.TickerFunc(secondTicks)
	p.Y.Label.Text = ylabel
	p.Y.Label.TextStyle.Font = sans(12)
	p.X.Tick.Label.Font = sans(12)
	p.Y.Tick.Label.Font = sans(12)
	p.X.Label.TextStyle.Font = sans(13)
	p.Add(&plotter.Grid{Vertical: draw.LineStyle{Color: color.Gray{0xe4}, Width: vg.Points(0.5)},
		Horizontal: draw.LineStyle{Color: color.Gray{0xe4}, Width: vg.Points(0.5)}})
	return p
}

// addSeries draws ys against xs as lines broken at NaN, with points when
// the runs are short.
func addSeries(p *plot.Plot, xs, ys []float64, col color.Color, dashes []vg.Length, name string, legend bool) {
	first := true
	var run plotter.XYs
	flush := func() {
		if len(run) == 0 {
			return
		}
		l, s, err := plotter.NewLinePoints(run)
		if err != nil {
			run = nil
			return
		}
		l.Color, l.Width, l.Dashes = col, vg.Points(2), dashes
		s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(1.6), Shape: draw.CircleGlyph{}}
		p.Add(l, s)
		if first && legend {
			p.Legend.Add(name, l)
			first = false
		}
		run = nil
	}
	for i := range xs {
		if i >= len(ys) || math.IsNaN(ys[i]) || math.IsInf(ys[i], 0) {
			flush()
			continue
		}
		run = append(run, plotter.XY{X: xs[i], Y: ys[i]})
	}
	flush()
	if first && legend {
		// No data: still name the series.
		l := &plotter.Line{LineStyle: draw.LineStyle{Color: col, Width: vg.Points(2), Dashes: dashes}}
		p.Legend.Add(name+" (no data)", l)
	}
}

func hline(xmax, y float64) (*plotter.Line, error) {
	return plotter.NewLine(plotter.XYs{{X: 0, Y: y}, {X: xmax, Y: y}})
}

func addLimit(p *plot.Plot, xmax, y float64, col color.Color, name string) {
	l, err := hline(xmax, y)
	if err != nil {
		return
	}
	l.Color, l.Width = col, vg.Points(1.5)
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(l)
	p.Legend.Add(name, l)
}

// Fills of the ranges a threshold rejects (or sends to review).
var (
	zoneBad  = color.NRGBA{0xd6, 0x27, 0x28, 0x1c}
	zoneWarn = color.NRGBA{0xd9, 0x8e, 0x04, 0x1c}
)

// addZone shades the band between y0 and y1 across the plot.
func addZone(p *plot.Plot, xmax, y0, y1 float64, col color.Color) {
	if !(y1 > y0) {
		return
	}
	poly, err := plotter.NewPolygon(plotter.XYs{{X: 0, Y: y0}, {X: xmax, Y: y0}, {X: xmax, Y: y1}, {X: 0, Y: y1}})
	if err != nil {
		return
	}
	poly.Color, poly.LineStyle.Width = col, 0
	p.Add(poly)
}

// addLevel draws a video-level measure as a dotted line (nothing when it
// could not be measured).
func addLevel(p *plot.Plot, xmax, y float64, col color.Color, name string) {
	if math.IsNaN(y) || math.IsInf(y, 0) {
		return
	}
	l, err := hline(xmax, y)
	if err != nil {
		return
	}
	l.Color, l.Width = col, vg.Points(2.5)
	l.Dashes = []vg.Length{vg.Points(1.5), vg.Points(2.5)}
	p.Add(l)
	p.Legend.Add(name, l)
}

// noFaceBands are the time spans of runs of frames without a face.
func noFaceBands(tr *cv.Trace, ts []float64) [][2]float64 {
	half := tr.Video.Interval.Seconds() / 2
	var out [][2]float64
	for i := 0; i < len(tr.Frames); {
		if tr.Frames[i].HasFace() {
			i++
			continue
		}
		j := i
		for j+1 < len(tr.Frames) && !tr.Frames[j+1].HasFace() {
			j++
		}
		out = append(out, [2]float64{math.Max(0, ts[i]-half), ts[j] + half})
		i = j + 1
	}
	return out
}

func pairTime(tr *cv.Trace, p cv.TracePair) float64 {
	if p.A < 0 || p.B >= len(tr.Frames) {
		return math.NaN()
	}
	return (tr.Frames[p.A].Time.Seconds() + tr.Frames[p.B].Time.Seconds()) / 2
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			m = math.Max(m, x)
		}
	}
	if math.IsInf(m, -1) {
		return 0
	}
	return m
}

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			m = math.Min(m, x)
		}
	}
	if math.IsInf(m, 1) {
		return 0
	}
	return m
}

func textStyle(size vg.Length, col color.Color, bold bool) ptext.Style {
	f := sans(size)
	if bold {
		f.Weight = xfont.WeightBold
	}
	return ptext.Style{Color: col, Font: f, XAlign: draw.XLeft, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
}

// drawTimelineTitle writes the decision across the top.
func drawTimelineTitle(dc draw.Canvas, r Report, H vg.Length) {
	word, key := headline(r)
	ink, band := outcomeColours(key)
	dc.SetColor(band)
	dc.Fill(rectPath(0, H-timelineTitle+0.08*vg.Inch, timelineW, H))
	x := 0.2 * vg.Inch
	top := H - 0.16*vg.Inch
	st := textStyle(20, ink, true)
	dc.FillText(st, vg.Point{X: x, Y: top}, word)
	w := st.Width(word)
	if r.Title != "" {
		dc.FillText(textStyle(14, colInk, false), vg.Point{X: x + w + 0.25*vg.Inch, Y: top - 0.05*vg.Inch}, r.Title)
	}
	var parts []string
	if rs := reasonsOf(r); len(rs) > 0 {
		var s []string
		for _, c := range rs {
			s = append(s, string(c))
		}
		parts = append(parts, "reasons: "+strings.Join(s, ", "))
	} else {
		parts = append(parts, "no reasons")
	}
	parts = append(parts, fmt.Sprintf("liveness %s (score %.3f)", r.Result.Verdict, r.Result.Score))
	if d := r.Decision; d != nil && d.Match != nil {
		parts = append(parts, fmt.Sprintf("face match %s (similarity %.3f)", d.Match.Decision, d.Match.Similarity))
	}
	dc.FillText(textStyle(13, colInk, false), vg.Point{X: x, Y: top - 0.36*vg.Inch}, strings.Join(parts, " · "))
}

func rectPath(x0, y0, x1, y1 vg.Length) vg.Path {
	var p vg.Path
	p.Move(vg.Point{X: x0, Y: y0})
	p.Line(vg.Point{X: x1, Y: y0})
	p.Line(vg.Point{X: x1, Y: y1})
	p.Line(vg.Point{X: x0, Y: y1})
	p.Close()
	return p
}

// drawSide draws a panel's heading, note and legend in the side column.
func drawSide(c draw.Canvas, pn panel, lg plot.Legend) {
	y := c.Max.Y - 0.02*vg.Inch
	hs := textStyle(13, colInk, true)
	c.FillText(hs, vg.Point{X: c.Min.X, Y: y}, pn.title)
	y -= hs.Height(pn.title) + 0.04*vg.Inch
	if pn.note != "" {
		ns := textStyle(11, colMuted, false)
		c.FillText(ns, vg.Point{X: c.Min.X, Y: y}, pn.note)
		y -= ns.Height(pn.note) + 0.02*vg.Inch
	}
	lg.Top, lg.Left = true, true
	lg.TextStyle.Font = sans(11.5)
	lg.Padding = vg.Points(2.5)
	lg.ThumbnailWidth = 0.35 * vg.Inch
	lc := draw.Crop(c, 0, 0, 0, y-c.Max.Y)
	lg.Draw(lc)
}
