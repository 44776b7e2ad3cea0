package eval

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/hoviyat/hoviyat/facematch"
)

// DETSeries is one curve of a DET plot.
type DETSeries struct {
	Name   string
	Points []facematch.ROCPoint
}

// Series is one named sample of a histogram.
type Series struct {
	Name   string
	Values []float64
}

// detFloor is the lowest error rate drawn on the probit axes; rates of 0
// are drawn on it (a probit axis has no 0).
const detFloor = 1e-4

// probit is the inverse standard normal CDF.
func probit(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// probitScale is a plot.Normalizer on a normal-deviate axis, the standard
// axis of a DET curve (ISO/IEC 19795-1).
type probitScale struct{}

func (probitScale) Normalize(min, max, x float64) float64 {
	lo, hi := probit(clampRate(min)), probit(clampRate(max))
	return (probit(clampRate(x)) - lo) / (hi - lo)
}

func clampRate(p float64) float64 { return math.Max(detFloor, math.Min(1-detFloor, p)) }

// probitTicks labels the usual DET rates that fall in the range.
type probitTicks struct{}

func (probitTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for _, v := range []float64{0.0001, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6} {
		if v >= min-1e-12 && v <= max+1e-12 {
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v*100, 'g', -1, 64) + "%"})
		}
	}
	return ts
}

var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff},
	color.RGBA{0xd6, 0x27, 0x28, 0xff},
	color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0xff, 0x7f, 0x0e, 0xff},
	color.RGBA{0x94, 0x67, 0xbd, 0xff},
	color.RGBA{0x8c, 0x56, 0x4b, 0xff},
}

// SaveDET draws DET curves (FMR against FNMR on probit axes from 0.01%
// to 60%) into a PNG at path. Rates of 0 are drawn on the 0.01% edge.
func SaveDET(path, title string, series []DETSeries) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "false match rate (FMR)"
	p.Y.Label.Text = "false non-match rate (FNMR)"
	p.Add(plotter.NewGrid())
	diag, err := plotter.NewLine(plotter.XYs{{X: detFloor, Y: detFloor}, {X: 0.6, Y: 0.6}})
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	diag.Color = color.Gray{180}
	diag.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(diag)
	for i, s := range series {
		xys := make(plotter.XYs, 0, len(s.Points))
		for _, pt := range s.Points {
			xys = append(xys, plotter.XY{X: clampRate(pt.FMR), Y: clampRate(pt.FNMR)})
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		l.StepStyle = plotter.PreStep
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	// Axis ranges are set after Add, which widens them to the data.
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Scale = probitScale{}
		ax.Tick.Marker = probitTicks{}
		ax.Min, ax.Max = detFloor, 0.6
	}
	// A DET curve runs from top left to bottom right: the legend goes in
	// the empty bottom-left corner, above the floor line.
	p.Legend.Left = true
	p.Legend.YOffs = vg.Points(40)
	p.Legend.XOffs = vg.Points(20)
	if err := p.Save(6*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

// Mark is a labelled vertical line on a histogram (a threshold).
type Mark struct {
	Name string
	X    float64
}

// SaveHistogram draws overlaid, normalised histograms of series on common
// bins over [lo, hi], with dashed vertical lines at marks (thresholds), as
// a PNG at path.
func SaveHistogram(path, title, xlabel string, lo, hi float64, bins int, series []Series, marks []Mark) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = "share of each set"
	width := (hi - lo) / float64(bins)
	ymax := 0.0
	for i, s := range series {
		h := &plotter.Histogram{Width: width, LineStyle: draw.LineStyle{Color: palette[i%len(palette)], Width: vg.Points(1)}}
		c := palette[i%len(palette)].(color.RGBA)
		h.FillColor = color.NRGBA{c.R, c.G, c.B, 0x60}
		counts := make([]float64, bins)
		n := 0
		for _, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			k := int((v - lo) / width)
			k = max(0, min(bins-1, k))
			counts[k]++
			n++
		}
		if n == 0 {
			continue
		}
		for k, c := range counts {
			w := c / float64(n)
			ymax = math.Max(ymax, w)
			h.Bins = append(h.Bins, plotter.HistogramBin{Min: lo + float64(k)*width, Max: lo + float64(k+1)*width, Weight: w})
		}
		p.Add(h)
		p.Legend.Add(fmt.Sprintf("%s (n=%d)", s.Name, n), h)
	}
	for _, m := range marks {
		l, err := plotter.NewLine(plotter.XYs{{X: m.X, Y: 0}, {X: m.X, Y: math.Max(ymax, 0.01) * 1.05}})
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		l.Color = color.Black
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s %.3g", m.Name, m.X), l)
	}
	// Room above the bars for the legend.
	p.X.Min, p.X.Max = lo, hi
	p.Y.Min, p.Y.Max = 0, math.Max(ymax, 0.01)*(1.25+0.09*float64(len(series)+len(marks)))
	p.Legend.Top = true
	p.Legend.Left = true
	if err := p.Save(7*vg.Inch, 4.5*vg.Inch, path); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}
