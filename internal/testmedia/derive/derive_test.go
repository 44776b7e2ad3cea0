package derive

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/reason"
)

func TestPlanIsDeterministicAndWellFormed(t *testing.T) {
	t.Parallel()
	a, b := Plan(), Plan()
	require.Equal(t, a, b, "two plans differ")
	require.NotEmpty(t, a)

	files := map[string]bool{}
	perKind := map[Perturbation]map[string]bool{}
	for _, it := range a {
		assert.False(t, files[it.File], "duplicate file %s", it.File)
		files[it.File] = true
		assert.True(t, it.Expected.Known(), "%s: unknown reason %q", it.File, it.Expected)
		_, ok := lookupSource(it.Source)
		assert.True(t, ok, "%s: source %s has no face hint", it.File, it.Source)
		if it.Second != "" {
			_, ok := lookupSource(it.Second)
			assert.True(t, ok, "%s: second %s has no face hint", it.File, it.Second)
		}
		if it.Expected == reason.SpoofSuspected {
			assert.NotEmpty(t, it.Species, "%s: attack without species", it.File)
		} else {
			assert.Empty(t, it.Species, "%s: quality item with species", it.File)
		}
		assert.NotContains(t, it.Source, "g12", "the child clip must not be used")
		if perKind[it.Perturbation] == nil {
			perKind[it.Perturbation] = map[string]bool{}
		}
		perKind[it.Perturbation][it.Source] = true
	}
	for _, k := range []Perturbation{Dark, Blur, Downscale, Far, Rotate, Shake, Glare, SecondFace, PhotoReplay, ScreenReplay} {
		assert.GreaterOrEqual(t, len(perKind[k]), 3, "%s: fewer than 3 source clips", k)
	}
}

func TestPlanSeed(t *testing.T) {
	t.Parallel()
	std, same, other := Plan(), PlanSeed(0), PlanSeed(2)
	require.Equal(t, std, same, "seed 0 is the standard set")
	require.Len(t, other, len(std))
	differ := 0
	for i := range std {
		assert.Equal(t, std[i].File, other[i].File, "file names do not depend on the seed")
		assert.Equal(t, std[i].Source, other[i].Source)
		if std[i].ParamString() != other[i].ParamString() {
			differ++
		}
	}
	assert.Greater(t, differ, len(std)*3/4, "another seed draws other parameters")
}

func TestPlanParamsWithinDocumentedRanges(t *testing.T) {
	t.Parallel()
	for _, it := range append(Plan(), PlanSeed(2)...) {
		switch it.Perturbation {
		case Dark:
			assert.InDelta(t, 0.135, it.Param("gain"), 0.025+1e-9, it.File)
		case Rotate:
			d := it.Param("degrees")
			if d < 0 {
				d = -d
			}
			assert.True(t, d >= 35 && d <= 45, "%s: |angle| %v outside 35–45", it.File, d)
		case Far:
			assert.True(t, it.Param("face_frac") >= 0.11 && it.Param("face_frac") <= 0.14, it.File)
		case Downscale:
			assert.True(t, it.Param("face_px") >= 22 && it.Param("face_px") <= 28, it.File)
		}
	}
}

func TestGlarePatchFadesOut(t *testing.T) {
	t.Parallel()
	img := glarePatch(101, 71)
	centre := img.NRGBAAt(50, 35).A
	assert.Equal(t, uint8(255), centre, "the core is opaque")
	for _, p := range [][2]int{{0, 0}, {100, 0}, {0, 70}, {100, 70}, {0, 35}, {50, 0}} {
		assert.LessOrEqual(t, img.NRGBAAt(p[0], p[1]).A, uint8(8), "border pixel %v must be (almost) transparent", p)
	}
	opaque := 0
	for y := range 71 {
		for x := range 101 {
			if img.NRGBAAt(x, y).A >= 230 {
				opaque++
			}
		}
	}
	share := float64(opaque) / (101 * 71)
	assert.InDelta(t, 0.28, share, 0.08, "near-opaque share of the patch")
}

func TestLabelLineRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(LabelsHeader + "\n")
	plan := Plan()
	for _, it := range plan {
		b.WriteString(it.LabelLine() + "\n")
	}
	p := filepath.Join(dir, LabelsFile)
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	ls, err := ReadLabels(p)
	require.NoError(t, err)
	require.Len(t, ls, len(plan))
	for i, l := range ls {
		it := plan[i]
		assert.Equal(t, it.File, l.File)
		assert.Equal(t, it.Expected, l.Expected)
		assert.Equal(t, it.Perturbation, l.Perturbation)
		assert.Equal(t, it.ParamString(), l.Params)
		assert.Equal(t, it.Seed, l.Seed)
		if strings.HasPrefix(it.Source, "photos/") {
			assert.Empty(t, l.SourceClip(), it.File)
		} else {
			assert.Equal(t, it.Source, l.SourceClip(), it.File)
		}
	}
}

func TestReadLabelsRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
	}{
		{"no header", "a\tb\n"},
		{"short row", LabelsHeader + "\nx.mp4\tg01\tdark\n"},
		{"unknown reason", LabelsHeader + "\nx.mp4\tg01\tdark\ttoo_dark\t\tgain=1\t1\n"},
		{"bad seed", LabelsHeader + "\nx.mp4\tg01\tdark\tlow_light\t\tgain=1\tx\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "labels.tsv")
			require.NoError(t, os.WriteFile(p, []byte(tc.body), 0o644))
			_, err := ReadLabels(p)
			assert.Error(t, err)
		})
	}
}

func FuzzReadLabels(f *testing.F) {
	f.Add(LabelsHeader + "\n" + Plan()[0].LabelLine() + "\n")
	f.Add(LabelsHeader + "\nx\t\t\tlow_light\t\t\t0\n")
	f.Add("")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(dir, "labels.tsv")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Skip()
		}
		ls, err := ReadLabels(p)
		if err != nil {
			return
		}
		for _, l := range ls {
			if !l.Expected.Known() {
				t.Fatalf("accepted unknown reason %q", l.Expected)
			}
		}
	})
}

func TestReadManifest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "videos"), 0o755))
	body := "id\tcategory\tfile\tduration_s\tfps\n" +
		"g01\tgenuine\tgenuine/g01.mp4\t20.717\t30.000\n" +
		"g04\tgenuine\tgenuine/g04.webm\t8.938 (from last packet pts; header has none)\t16.083\n" +
		"n06\tnegative\tnegative/n06.avi\tN/A\t\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "videos", "MANIFEST.tsv"), []byte(body), 0o644))
	m, err := ReadManifest(dir)
	require.NoError(t, err)
	assert.Equal(t, Clip{ID: "g01", File: "genuine/g01.mp4", Duration: 20.717, FPS: 30}, m["g01"])
	assert.InDelta(t, 8.938, m["g04"].Duration, 1e-9)
	assert.Zero(t, m["n06"].Duration)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "videos", "MANIFEST.tsv"), []byte("id\tfile\n"), 0o644))
	_, err = ReadManifest(dir)
	assert.Error(t, err, "a manifest without duration_s must be refused")
}

// needData returns $HOVIYAT_DATA, skipping outside CI when it is unset and
// failing in CI.
func needData(t *testing.T) string {
	t.Helper()
	d := os.Getenv("HOVIYAT_DATA")
	if d == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HOVIYAT_DATA must be set in CI")
		}
		t.Skip("HOVIYAT_DATA not set")
	}
	return d
}

func probe(t *testing.T, path string) (w, h int, dur float64) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=width,height:format=duration", "-of", "default=nw=1", path).Output()
	require.NoError(t, err, "ffprobe %s", path)
	for _, ln := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(ln, "=")
		switch k {
		case "width":
			w, _ = strconv.Atoi(v)
		case "height":
			h, _ = strconv.Atoi(v)
		case "duration":
			dur, _ = strconv.ParseFloat(v, 64)
		}
	}
	return w, h, dur
}

// TestGenerateRendersAndSkips renders a few cheap items of different kinds,
// checks them with ffprobe, and checks that a second run skips them and a
// changed label line is regenerated.
func TestGenerateRendersAndSkips(t *testing.T) {
	data := needData(t)
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is required (scripts/setup.sh installs it)")
	}
	out := t.TempDir()
	only := []string{"dark_g27", "far_g27", "photo_replay_img10", "second_face_g27_g16", "screen_replay_g27", "glare_g17"}
	cfg := Config{Data: data, Out: out, Only: only, Jobs: 2}
	sum, err := Generate(context.Background(), cfg)
	require.NoError(t, err)
	assert.Len(t, sum.Made, len(only))
	assert.Empty(t, sum.Skipped)

	ls, err := ReadLabels(filepath.Join(out, LabelsFile))
	require.NoError(t, err)
	require.Len(t, ls, len(only))
	for _, l := range ls {
		w, h, dur := probe(t, filepath.Join(out, l.File))
		assert.Positive(t, w, l.File)
		assert.Positive(t, h, l.File)
		assert.Zero(t, w%2+h%2, "%s: odd size %dx%d", l.File, w, h)
		assert.InDelta(t, 4, dur, 1.1, "%s: duration %v outside 3–5 s", l.File, dur)
		if l.Perturbation == Far {
			assert.Equal(t, 1280, w, l.File)
			assert.Equal(t, 720, h, l.File)
		}
	}

	sum, err = Generate(context.Background(), cfg)
	require.NoError(t, err)
	assert.Empty(t, sum.Made, "second run must skip existing outputs")
	assert.Len(t, sum.Skipped, len(only))

	// A label line that no longer matches the plan makes the item stale.
	p := filepath.Join(out, LabelsFile)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), "gain=", "gain=9", 1)), 0o644))
	sum, err = Generate(context.Background(), Config{Data: data, Out: out, Only: []string{"dark_g27"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"dark_g27.mp4"}, sum.Made)
	assert.False(t, UpToDate(out, 0), "a partial set is not up to date")
}
