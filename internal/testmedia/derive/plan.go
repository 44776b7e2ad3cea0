// Package derive plans and renders the derived test videos: genuine clips
// of the shared data set altered so that each shows one known problem
// (too dark, blurred, face too far, bad angle, camera shake, glare, a
// second face) or turned into a presentation attack (a still photo replayed
// with slight motion, a clip re-displayed on a synthetic screen).
//
// The plan is a fixed list of items with parameters drawn from a seeded
// generator, so the same data set always yields the same videos. Rendering
// drives Debian's ffmpeg binary; the only images made in Go are the glare
// patch and the screen texture, both deterministic.
package derive

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hoviyat/hoviyat/reason"
)

// Perturbation names one way of deriving a video.
type Perturbation string

// Perturbations.
const (
	Dark         Perturbation = "dark"          // brightness scaled down, sensor noise added
	Blur         Perturbation = "blur"          // Gaussian blur proportional to the face size
	Downscale    Perturbation = "downscale"     // face reduced to ~25 px and scaled back up
	Far          Perturbation = "far"           // clip shrunk inside a large frame
	Rotate       Perturbation = "rotate"        // rotated 35–45 degrees
	Shake        Perturbation = "shake"         // crop window jittered every frame
	Glare        Perturbation = "glare"         // saturated glare patch on the face
	SecondFace   Perturbation = "second_face"   // a second face composited beside the first
	PhotoReplay  Perturbation = "photo_replay"  // still frame turned into a 5 s video
	ScreenReplay Perturbation = "screen_replay" // clip shown inside a synthetic screen
)

// Attack species of the synthetic presentation attacks (ISO/IEC 30107-3
// "PAI species").
const (
	SpeciesPhotoReplay  = "synthetic_photo_replay"
	SpeciesScreenReplay = "synthetic_screen_replay"
)

// BaseSeed seeds every item's random parameters (mixed with the item's
// file name) in the standard set. Another seed (PlanSeed) draws other
// parameters from the same ranges: a held-out set for checking that
// thresholds tuned on the standard set generalise.
const BaseSeed uint64 = 0x686f7669796174 // "hoviyat"

// renderVersion is recorded with every item ("rv" parameter). Bump a
// perturbation's version when its rendering of the same parameters
// changes, so that outputs made by an older generator count as stale.
var renderVersion = map[Perturbation]float64{
	Dark: 2, Blur: 2, Downscale: 2, Far: 2, Rotate: 2, Shake: 2,
	Glare: 3, SecondFace: 2, PhotoReplay: 2, ScreenReplay: 2,
}

// MaxDuration caps every derived video, in seconds.
const MaxDuration = 5.0

// Param is one named parameter of an item.
type Param struct {
	Key   string
	Value float64
}

// Item is one derived video in the plan.
type Item struct {
	// File is the output file name (no directory).
	File string
	// Source is the clip ID (e.g. "g06") or a photo path relative to the
	// data directory.
	Source string
	// Second is the second face's source for SecondFace items.
	Second       string
	Perturbation Perturbation
	// Expected is the reason the video must produce: a quality reason or
	// reason.SpoofSuspected.
	Expected reason.Code
	// Species is the attack species for presentation attacks, else "".
	Species string
	Params  []Param
	Seed    uint64
}

// Param returns the value of key (0 when absent).
func (it Item) Param(key string) float64 {
	for _, p := range it.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return 0
}

// ParamString formats Params as "k=v;k=v" in plan order.
func (it Item) ParamString() string {
	var b strings.Builder
	for i, p := range it.Params {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(p.Key)
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(p.Value, 'g', 6, 64))
	}
	return b.String()
}

// LabelLine is the item's row in labels.tsv (without newline).
func (it Item) LabelLine() string {
	src := it.Source
	if it.Second != "" {
		src += "+" + it.Second
	}
	return strings.Join([]string{it.File, src, string(it.Perturbation), string(it.Expected),
		it.Species, it.ParamString(), strconv.FormatUint(it.Seed, 10)}, "\t")
}

// LabelsHeader is the first line of labels.tsv.
const LabelsHeader = "file\tsource\tperturbation\texpected\tspecies\tparams\tseed"

// face is a hint of where the face is in a source, as fractions of the
// displayed frame (after rotation metadata is applied): centre, width and
// height of the face box.
type face struct{ cx, cy, w, h float64 }

// source is a genuine clip or a photo usable as a source.
type source struct {
	w, h int // displayed size
	face face
}

// clipSources are the genuine clips the plan derives from. The face boxes
// were measured with OpenCV's frontal-face Haar cascade on frames at 0.5,
// 2, 3.5 and 5 s (median); they are only used to place the glare patch and
// the second face, and to size blur and down-scaling, so a rough box is
// enough. g12 (a child) is deliberately not used.
var clipSources = map[string]source{
	"g01": {368, 656, face{0.49, 0.50, 0.80, 0.45}},
	"g02": {960, 540, face{0.50, 0.61, 0.21, 0.37}},
	"g05": {480, 856, face{0.50, 0.49, 0.80, 0.45}},
	"g06": {720, 1280, face{0.51, 0.44, 0.66, 0.38}},
	"g08": {512, 512, face{0.50, 0.53, 0.57, 0.57}},
	"g16": {360, 288, face{0.46, 0.54, 0.39, 0.49}},
	"g17": {360, 288, face{0.46, 0.61, 0.38, 0.47}},
	"g21": {512, 512, face{0.56, 0.50, 0.63, 0.63}},
	"g24": {590, 590, face{0.50, 0.45, 0.48, 0.48}},
	"g27": {410, 412, face{0.48, 0.56, 0.60, 0.60}},
}

// photoSources are still photos used as a second face or a replayed photo.
var photoSources = map[string]source{
	"photos/deepface/img10.jpg":                   {408, 594, face{0.48, 0.42, 0.69, 0.47}},
	"photos/deepface/img18.jpg":                   {1200, 1200, face{0.50, 0.41, 0.44, 0.44}},
	"photos/deepface/img24.jpg":                   {1200, 1120, face{0.52, 0.51, 0.55, 0.59}},
	"photos/goface/nayoung.jpg":                   {1080, 1080, face{0.49, 0.41, 0.39, 0.39}},
	"photos/attack_stills/SilentFace_T1_real.jpg": {480, 640, face{0.45, 0.38, 0.47, 0.35}},
}

func lookupSource(id string) (source, bool) {
	if s, ok := clipSources[id]; ok {
		return s, true
	}
	s, ok := photoSources[id]
	return s, ok
}

// isPhoto reports whether a source ID names a photo file.
func isPhoto(id string) bool { return strings.HasPrefix(id, "photos/") }

type spec struct {
	p        Perturbation
	expected reason.Code
	species  string
	sources  []string
	seconds  []string // SecondFace only, parallel to sources
}

var specs = []spec{
	{p: Dark, expected: reason.LowLight, sources: []string{"g02", "g06", "g08", "g24", "g27"}},
	{p: Blur, expected: reason.LowQuality, sources: []string{"g02", "g08", "g21"}},
	{p: Downscale, expected: reason.LowQuality, sources: []string{"g06", "g24", "g27"}},
	{p: Far, expected: reason.FaceTooFar, sources: []string{"g01", "g06", "g08", "g21", "g27"}},
	{p: Rotate, expected: reason.BadAngle, sources: []string{"g05", "g06", "g08", "g24", "g27"}},
	{p: Shake, expected: reason.CameraShake, sources: []string{"g02", "g06", "g08", "g21", "g24"}},
	{p: Glare, expected: reason.Reflection, sources: []string{"g06", "g08", "g17", "g24", "g27"}},
	{p: SecondFace, expected: reason.MultipleFaces,
		sources: []string{"g02", "g06", "g08", "g21", "g27"},
		seconds: []string{"g24", "photos/deepface/img18.jpg", "photos/goface/nayoung.jpg", "photos/deepface/img24.jpg", "g16"}},
	{p: PhotoReplay, expected: reason.SpoofSuspected, species: SpeciesPhotoReplay,
		sources: []string{"g01", "g06", "g08", "g21", "g24", "g27",
			"photos/deepface/img10.jpg", "photos/attack_stills/SilentFace_T1_real.jpg"}},
	{p: ScreenReplay, expected: reason.SpoofSuspected, species: SpeciesScreenReplay,
		sources: []string{"g01", "g02", "g06", "g08", "g21", "g27"}},
}

func shortName(id string) string {
	if !isPhoto(id) {
		return id
	}
	b := filepath.Base(id)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

func seedOf(base uint64, file string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(file))
	return base ^ h.Sum64()
}

// uniform draws from [lo,hi) rounded to 3 decimals (so labels are exact).
func uniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Round((lo+r.Float64()*(hi-lo))*1000) / 1000
}

// Plan returns the standard derived-video plan (PlanSeed(BaseSeed)). It
// depends on nothing but this package, so it is the same on every machine.
func Plan() []Item { return PlanSeed(BaseSeed) }

// PlanSeed returns the plan with parameters drawn from seed (0 means
// BaseSeed). File names and sources are the same for every seed.
func PlanSeed(seed uint64) []Item {
	if seed == 0 {
		seed = BaseSeed
	}
	var items []Item
	for _, s := range specs {
		for i, src := range s.sources {
			it := Item{Source: src, Perturbation: s.p, Expected: s.expected, Species: s.species}
			name := string(s.p) + "_" + shortName(src)
			if s.seconds != nil {
				it.Second = s.seconds[i]
				name += "_" + shortName(it.Second)
			}
			it.File = name + ".mp4"
			it.Seed = seedOf(seed, it.File)
			r := rand.New(rand.NewPCG(it.Seed, seed))
			it.Params = append(params(s.p, i, r), Param{"rv", renderVersion[s.p]})
			items = append(items, it)
		}
	}
	return items
}

// params draws the item's parameters. i alternates signs and placements
// between the sources of one perturbation.
func params(p Perturbation, i int, r *rand.Rand) []Param {
	sign := 1.0
	if i%2 == 1 {
		sign = -1
	}
	switch p {
	case Dark:
		// Luminance above black scaled to 11–16%: a bright face (~200)
		// ends near 30 of 255, a darker one near 20.
		return []Param{{"gain", uniform(r, 0.11, 0.16)}, {"noise", 8}}
	case Blur:
		// Sigma 3–4% of the face width.
		return []Param{{"sigma_face", uniform(r, 0.03, 0.04)}}
	case Downscale:
		// Face reduced to 22–28 px wide, then scaled back; heavy compression.
		return []Param{{"face_px", math.Round(uniform(r, 22, 28))}, {"crf", 32}}
	case Far:
		// Face height 11–14% of a 1280x720 frame, placed off centre.
		return []Param{{"face_frac", uniform(r, 0.11, 0.14)},
			{"dx", uniform(r, -0.15, 0.15)}, {"dy", uniform(r, -0.1, 0.1)}}
	case Rotate:
		return []Param{{"degrees", sign * uniform(r, 35, 45)}}
	case Shake:
		// Crop window 80% of the frame; per-frame offsets up to amp of the
		// 10% margin (so up to ~8% of the width between frames).
		return []Param{{"window", 0.8}, {"amp", uniform(r, 0.7, 0.95)},
			{"phase", uniform(r, 0, 2*math.Pi)}}
	case Glare:
		// Patch 55–65% of the face width (its saturated core ~6–8% of the
		// face box); where: 0 forehead, 1 left cheek, 2 right cheek.
		return []Param{{"size_face", uniform(r, 0.55, 0.65)}, {"where", float64(i % 3)}}
	case SecondFace:
		// Second face height relative to the first.
		return []Param{{"rel_size", uniform(r, 0.7, 0.9)}}
	case PhotoReplay:
		// Still at 1 s of a clip; zoom from 4% to 4+zoom%; pan and keystone
		// amplitudes as fractions of the frame; period of the sway.
		return []Param{{"duration_s", MaxDuration}, {"zoom", uniform(r, 0.03, 0.06)},
			{"pan", uniform(r, 0.01, 0.02)}, {"keystone", uniform(r, 0.005, 0.015)},
			{"period_s", uniform(r, 2.5, 4)}}
	case ScreenReplay:
		// Screen content fills `fill` of the canvas; gamma and saturation
		// of the display; moiré strength; tilt amplitude.
		return []Param{{"fill", uniform(r, 0.65, 0.78)}, {"gamma", uniform(r, 1.2, 1.4)},
			{"saturation", uniform(r, 0.7, 0.85)}, {"moire", uniform(r, 0.22, 0.32)},
			{"tilt", uniform(r, 0.005, 0.012)}}
	}
	return nil
}

// Clip is a row of videos/MANIFEST.tsv that the generator needs.
type Clip struct {
	ID       string
	File     string // relative to videos/
	Duration float64
	FPS      float64
}

// ReadManifest reads data/videos/MANIFEST.tsv.
func ReadManifest(data string) (map[string]Clip, error) {
	f, err := os.Open(filepath.Join(data, "videos", "MANIFEST.tsv"))
	if err != nil {
		return nil, fmt.Errorf("derive: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var col map[string]int
	out := map[string]Clip{}
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if col == nil {
			col = map[string]int{}
			for i, h := range fields {
				col[h] = i
			}
			for _, need := range []string{"id", "file", "duration_s", "fps"} {
				if _, ok := col[need]; !ok {
					return nil, fmt.Errorf("derive: MANIFEST.tsv has no %q column", need)
				}
			}
			continue
		}
		get := func(k string) string {
			if i := col[k]; i < len(fields) {
				return fields[i]
			}
			return ""
		}
		d, _ := strconv.ParseFloat(strings.Fields(get("duration_s") + " 0")[0], 64)
		fps, _ := strconv.ParseFloat(get("fps"), 64)
		out[get("id")] = Clip{ID: get("id"), File: get("file"), Duration: d, FPS: fps}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("derive: MANIFEST.tsv: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("derive: MANIFEST.tsv is empty")
	}
	return out, nil
}

// Label is one row of labels.tsv.
type Label struct {
	File         string
	Source       string // "g06" or "g06+photos/deepface/img18.jpg"
	Perturbation Perturbation
	Expected     reason.Code
	Species      string
	Params       string
	Seed         uint64
}

// SourceClip returns the genuine clip ID the video derives from, or "" for
// a photo source.
func (l Label) SourceClip() string {
	s, _, _ := strings.Cut(l.Source, "+")
	if isPhoto(s) {
		return ""
	}
	return s
}

// ReadLabels reads a labels.tsv written by Generate.
func ReadLabels(path string) ([]Label, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("derive: %w", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) == 0 || lines[0] != LabelsHeader {
		return nil, fmt.Errorf("derive: %s: unexpected header", path)
	}
	var out []Label
	for n, ln := range lines[1:] {
		f := strings.Split(ln, "\t")
		if len(f) != 7 {
			return nil, fmt.Errorf("derive: %s:%d: %d fields, want 7", path, n+2, len(f))
		}
		c := reason.Code(f[3])
		if !c.Known() {
			return nil, fmt.Errorf("derive: %s:%d: unknown reason %q", path, n+2, f[3])
		}
		seed, err := strconv.ParseUint(f[6], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("derive: %s:%d: seed: %w", path, n+2, err)
		}
		out = append(out, Label{File: f[0], Source: f[1], Perturbation: Perturbation(f[2]),
			Expected: c, Species: f[4], Params: f[5], Seed: seed})
	}
	return out, nil
}
