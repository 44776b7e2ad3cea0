package inspect

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Colours of the pictures (chosen to stay distinct for the common forms of
// colour blindness where it matters: boxes green/orange, probes blue).
var (
	colBG        = color.RGBA{0xff, 0xff, 0xff, 0xff}
	colPanel     = color.RGBA{0xf3, 0xf4, 0xf6, 0xff}
	colInk       = color.RGBA{0x11, 0x18, 0x27, 0xff}
	colMuted     = color.RGBA{0x4b, 0x55, 0x63, 0xff}
	colRule      = color.RGBA{0xd1, 0xd5, 0xdb, 0xff}
	colBad       = color.RGBA{0xc8, 0x1e, 0x1e, 0xff}
	colWarn      = color.RGBA{0xb4, 0x53, 0x09, 0xff}
	colGood      = color.RGBA{0x15, 0x80, 0x3d, 0xff}
	colMain      = color.RGBA{0x22, 0xc5, 0x5e, 0xff}
	colOther     = color.RGBA{0xf9, 0x73, 0x16, 0xff}
	colIgnored   = color.RGBA{0xbd, 0xbd, 0xbd, 0xff}
	colProbe     = color.RGBA{0x1d, 0x4e, 0xd8, 0xff}
	colEye       = color.RGBA{0x06, 0xb6, 0xd4, 0xff}
	colNose      = color.RGBA{0xfa, 0xcc, 0x15, 0xff}
	colMouth     = color.RGBA{0xd9, 0x46, 0xef, 0xff}
	colOutline   = color.RGBA{0x00, 0x00, 0x00, 0xff}
	colNoFaceBox = color.RGBA{0x6b, 0x72, 0x80, 0xff}
)

// outcomeColours are the header's ink and band for an outcome or verdict.
func outcomeColours(o string) (ink, band color.RGBA) {
	switch o {
	case "approved", "live":
		return colGood, color.RGBA{0xdc, 0xfc, 0xe7, 0xff}
	case "rejected", "spoof_suspected", "locked":
		return colBad, color.RGBA{0xfe, 0xe2, 0xe2, 0xff}
	case "review", "uncertain", "not_judged":
		return colWarn, color.RGBA{0xfe, 0xf3, 0xc7, 0xff}
	}
	return colInk, colPanel
}

// fonts are the parsed Go fonts (safe for concurrent use; faces are not).
var fonts = sync.OnceValues(func() (map[string]*opentype.Font, error) {
	out := map[string]*opentype.Font{}
	for name, ttf := range map[string][]byte{"regular": goregular.TTF, "bold": gobold.TTF, "mono": gomono.TTF, "monobold": gomonobold.TTF} {
		f, err := opentype.Parse(ttf)
		if err != nil {
			return nil, fmt.Errorf("inspect: font %s: %w", name, err)
		}
		out[name] = f
	}
	return out, nil
})

// faces is the set of font faces of one drawing (not safe for concurrent
// use, like font.Face).
type faces struct {
	title, head, body, bold, mono, monoBold, small font.Face
}

func newFaces() (*faces, error) {
	fs, err := fonts()
	if err != nil {
		return nil, err
	}
	mk := func(name string, size float64) (font.Face, error) {
		return opentype.NewFace(fs[name], &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	}
	var f faces
	for _, x := range []struct {
		dst  *font.Face
		name string
		size float64
	}{
		{&f.title, "bold", 30}, {&f.head, "bold", 18}, {&f.body, "regular", 16}, {&f.bold, "bold", 16},
		{&f.mono, "mono", 14}, {&f.monoBold, "monobold", 14}, {&f.small, "regular", 14},
	} {
		if *x.dst, err = mk(x.name, x.size); err != nil {
			return nil, fmt.Errorf("inspect: font face: %w", err)
		}
	}
	return &f, nil
}

func (f *faces) close() {
	for _, x := range []font.Face{f.title, f.head, f.body, f.bold, f.mono, f.monoBold, f.small} {
		if x != nil {
			x.Close()
		}
	}
}

// lineHeight is the baseline-to-baseline distance of face.
func lineHeight(face font.Face) int {
	m := face.Metrics()
	return (m.Height + fixed.I(1)*3).Ceil()
}

// ascent is the baseline's distance below a line's top.
func ascent(face font.Face) int { return face.Metrics().Ascent.Ceil() }

// seg is a run of text in one colour and face.
type seg struct {
	text string
	col  color.Color
	face font.Face // nil: the line's face
}

// text draws s with its top-left at (x, top) and returns the x after it.
func text(dst draw.Image, face font.Face, x, top int, col color.Color, s string) int {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(col), Face: face,
		Dot: fixed.P(x, top+ascent(face))}
	d.DrawString(printable(face, s))
	return d.Dot.X.Ceil()
}

// segs draws runs one after another on one line.
func segs(dst draw.Image, face font.Face, x, top int, ss ...seg) int {
	for _, s := range ss {
		f := face
		if s.face != nil {
			f = s.face
		}
		// Keep one baseline for mixed faces.
		d := font.Drawer{Dst: dst, Src: image.NewUniform(s.col), Face: f, Dot: fixed.P(x, top+ascent(face))}
		d.DrawString(printable(f, s.text))
		x = d.Dot.X.Ceil()
	}
	return x
}

func width(face font.Face, s string) int { return font.MeasureString(face, printable(face, s)).Ceil() }

// printable replaces the runes face has no glyph for (Persian text with
// the Go fonts) by "?", so that nothing is silently dropped.
func printable(face font.Face, s string) string {
	ok := true
	for _, r := range s {
		if _, has := face.GlyphAdvance(r); !has {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if _, has := face.GlyphAdvance(r); has {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// hasGlyphs reports whether face can draw every rune of s.
func hasGlyphs(face font.Face, s string) bool {
	for _, r := range s {
		if _, has := face.GlyphAdvance(r); !has {
			return false
		}
	}
	return true
}

// wrap breaks s into lines no wider than w pixels at word boundaries.
func wrap(face font.Face, s string, w int) []string {
	words := strings.Fields(s)
	var lines []string
	cur := ""
	for _, word := range words {
		try := word
		if cur != "" {
			try = cur + " " + word
		}
		if cur != "" && width(face, try) > w {
			lines = append(lines, cur)
			cur = word
			continue
		}
		cur = try
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// ellipsis shortens s with "…" to fit w pixels.
func ellipsis(face font.Face, s string, w int) string {
	if width(face, s) <= w {
		return s
	}
	for n := utf8.RuneCountInString(s) - 1; n > 0; n-- {
		t := string([]rune(s)[:n]) + "…"
		if width(face, t) <= w {
			return t
		}
	}
	return "…"
}

func fill(dst draw.Image, r image.Rectangle, col color.Color) {
	draw.Draw(dst, r, image.NewUniform(col), image.Point{}, draw.Over)
}

// stroke draws the outline of r, t pixels thick, inside r.
func stroke(dst draw.Image, r image.Rectangle, t int, col color.Color) {
	fill(dst, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+t), col)
	fill(dst, image.Rect(r.Min.X, r.Max.Y-t, r.Max.X, r.Max.Y), col)
	fill(dst, image.Rect(r.Min.X, r.Min.Y, r.Min.X+t, r.Max.Y), col)
	fill(dst, image.Rect(r.Max.X-t, r.Min.Y, r.Max.X, r.Max.Y), col)
}

// disc fills a circle of radius rad around (cx, cy), clipped to clip.
func disc(dst draw.Image, cx, cy, rad float64, col color.Color, clip image.Rectangle) {
	r := image.Rect(int(cx-rad-1), int(cy-rad-1), int(cx+rad+2), int(cy+rad+2)).Intersect(clip)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			if dx*dx+dy*dy <= rad*rad {
				dst.Set(x, y, col)
			}
		}
	}
}

// badge draws a label on a filled rectangle with its top-left at (x, y)
// and returns the rectangle.
func badge(dst draw.Image, face font.Face, x, y int, bg, fg color.Color, s string) image.Rectangle {
	r := image.Rect(x, y, x+width(face, s)+10, y+lineHeight(face)+2)
	fill(dst, r, bg)
	text(dst, face, x+5, y+2, fg, s)
	return r
}

// pixelate replaces r of img by blocks of about block pixels, each the
// mean colour of its pixels.
func pixelate(img *image.RGBA, r image.Rectangle, block int) {
	r = r.Intersect(img.Bounds())
	if r.Empty() || block < 2 {
		return
	}
	for by := r.Min.Y; by < r.Max.Y; by += block {
		for bx := r.Min.X; bx < r.Max.X; bx += block {
			b := image.Rect(bx, by, min(bx+block, r.Max.X), min(by+block, r.Max.Y))
			var sr, sg, sb, n int
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					c := img.RGBAAt(x, y)
					sr, sg, sb, n = sr+int(c.R), sg+int(c.G), sb+int(c.B), n+1
				}
			}
			c := color.RGBA{uint8(sr / n), uint8(sg / n), uint8(sb / n), 0xff}
			draw.Draw(img, b, image.NewUniform(c), image.Point{}, draw.Src)
		}
	}
}
