package derive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config configures Generate.
type Config struct {
	// Data is the shared data directory (with videos/ and photos/).
	Data string
	// Out is the output directory; created when missing.
	Out string
	// Jobs is the number of ffmpeg processes run at once. Default
	// runtime.NumCPU().
	Jobs int
	// FFmpeg is the ffmpeg binary. Default "ffmpeg" from PATH.
	FFmpeg string
	// Only, when non-empty, limits generation to items whose file name
	// contains one of these strings.
	Only []string
	// Log receives one line per item. Default io.Discard.
	Log io.Writer
	// Seed draws the parameters (see PlanSeed); 0 means BaseSeed.
	Seed uint64
}

// Summary tells what Generate did.
type Summary struct {
	Made    []string
	Skipped []string // already present with the same parameters
	Elapsed time.Duration
}

// LabelsFile is the name of the labels file in the output directory.
const LabelsFile = "labels.tsv"

// UpToDate reports whether out holds every video of PlanSeed(seed) with
// its current parameters.
func UpToDate(out string, seed uint64) bool {
	old := readOldLabels(filepath.Join(out, LabelsFile))
	for _, it := range PlanSeed(seed) {
		if old[it.File] != it.LabelLine() {
			return false
		}
		if fi, err := os.Stat(filepath.Join(out, it.File)); err != nil || fi.Size() == 0 {
			return false
		}
	}
	return true
}

func readOldLabels(path string) map[string]string {
	m := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	for _, ln := range strings.Split(string(b), "\n") {
		if f, _, ok := strings.Cut(ln, "\t"); ok && ln != LabelsHeader {
			m[f] = ln
		}
	}
	return m
}

// Generate renders the plan into cfg.Out, skipping videos already present
// with the same parameters, and writes labels.tsv listing every video
// present. It stops at the first failure after the running jobs finish.
func Generate(ctx context.Context, cfg Config) (Summary, error) {
	start := time.Now()
	if cfg.Jobs <= 0 {
		cfg.Jobs = runtime.NumCPU()
	}
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	bin, err := exec.LookPath(cfg.FFmpeg)
	if err != nil {
		return Summary{}, fmt.Errorf("derive: ffmpeg not found (install Debian's ffmpeg, scripts/setup.sh): %w", err)
	}
	clips, err := ReadManifest(cfg.Data)
	if err != nil {
		return Summary{}, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return Summary{}, fmt.Errorf("derive: %w", err)
	}
	work, err := os.MkdirTemp(cfg.Out, ".work-")
	if err != nil {
		return Summary{}, fmt.Errorf("derive: %w", err)
	}
	defer os.RemoveAll(work)

	labelsPath := filepath.Join(cfg.Out, LabelsFile)
	old := readOldLabels(labelsPath)
	plan := PlanSeed(cfg.Seed)
	var todo []Item
	var sum Summary
	for _, it := range plan {
		if !selected(it.File, cfg.Only) {
			continue
		}
		fi, err := os.Stat(filepath.Join(cfg.Out, it.File))
		if err == nil && fi.Size() > 0 && old[it.File] == it.LabelLine() {
			sum.Skipped = append(sum.Skipped, it.File)
			continue
		}
		todo = append(todo, it)
	}

	threads := max(1, runtime.NumCPU()/cfg.Jobs)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan Item)
	for range cfg.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				t0 := time.Now()
				err := render(ctx, bin, cfg.Data, cfg.Out, work, clips, it, threads)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
					cancel()
				} else {
					sum.Made = append(sum.Made, it.File)
					fmt.Fprintf(cfg.Log, "made %-40s %5.1fs  %s\n", it.File, time.Since(t0).Seconds(), it.ParamString())
				}
				mu.Unlock()
			}
		}()
	}
	for _, it := range todo {
		if ctx.Err() != nil {
			break
		}
		ch <- it
	}
	close(ch)
	wg.Wait()

	// labels.tsv lists every planned video now present with its current
	// parameters, so a partial run leaves a consistent file.
	made := map[string]bool{}
	for _, f := range append(append([]string{}, sum.Made...), sum.Skipped...) {
		made[f] = true
	}
	var buf bytes.Buffer
	buf.WriteString(LabelsHeader + "\n")
	for _, it := range plan {
		switch {
		case made[it.File]:
			buf.WriteString(it.LabelLine() + "\n")
		case old[it.File] == it.LabelLine():
			if _, err := os.Stat(filepath.Join(cfg.Out, it.File)); err == nil {
				buf.WriteString(it.LabelLine() + "\n")
			}
		}
	}
	if err := writeAtomic(labelsPath, buf.Bytes()); err != nil {
		errs = append(errs, err)
	}
	sort.Strings(sum.Made)
	sum.Elapsed = time.Since(start)
	return sum, errors.Join(errs...)
}

func selected(file string, only []string) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if strings.Contains(file, o) {
			return true
		}
	}
	return false
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".part"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("derive: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("derive: %w", err)
	}
	return nil
}

// input resolves a source ID to a file path, its displayed size, face box
// and the duration to use.
type input struct {
	path string
	src  source
	dur  float64
	fps  float64
}

func resolve(data string, clips map[string]Clip, id string) (input, error) {
	s, ok := lookupSource(id)
	if !ok {
		return input{}, fmt.Errorf("derive: unknown source %q", id)
	}
	if isPhoto(id) {
		return input{path: filepath.Join(data, id), src: s, dur: MaxDuration, fps: 25}, nil
	}
	c, ok := clips[id]
	if !ok {
		return input{}, fmt.Errorf("derive: clip %s not in MANIFEST.tsv", id)
	}
	d := c.Duration
	if d <= 0 || d > MaxDuration {
		d = MaxDuration
	}
	fps := c.FPS
	if fps <= 0 {
		fps = 25
	}
	return input{path: filepath.Join(data, "videos", c.File), src: s, dur: d, fps: fps}, nil
}

func even(v float64) int {
	n := int(math.Round(v/2)) * 2
	return max(n, 2)
}

func f3(v float64) string { return fmt.Sprintf("%.3f", v) }

// render makes one item with ffmpeg, writing to a temporary name first.
func render(ctx context.Context, bin, data, out, work string, clips map[string]Clip, it Item, threads int) error {
	in, err := resolve(data, clips, it.Source)
	if err != nil {
		return err
	}
	if _, err := os.Stat(in.path); err != nil {
		return fmt.Errorf("derive: %s: %w", it.File, err)
	}
	args, err := ffmpegArgs(data, work, clips, it, in)
	if err != nil {
		return err
	}
	crf := 20.0
	if c := it.Param("crf"); c > 0 {
		crf = c
	}
	fps := in.fps
	if it.Perturbation == PhotoReplay {
		fps = photoFPS
	}
	tmp := filepath.Join(out, it.File+".part")
	args = append(args,
		"-map", "[v]", "-an", "-t", f3(in.dur), "-r", f3(fps),
		"-c:v", "libx264", "-preset", "veryfast", "-crf", fmt.Sprint(crf), "-pix_fmt", "yuv420p",
		"-threads", fmt.Sprint(threads), "-filter_threads", fmt.Sprint(threads),
		"-movflags", "+faststart", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
		"-f", "mp4", tmp)
	full := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("derive: ffmpeg %s: %w: %s", it.File, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp, filepath.Join(out, it.File)); err != nil {
		return fmt.Errorf("derive: %w", err)
	}
	return nil
}

// Args returns the ffmpeg arguments (inputs and filter graph, without the
// encoder options) of it, for -list and tests. Images the item needs are
// written into work.
func Args(data, work string, clips map[string]Clip, it Item) ([]string, error) {
	in, err := resolve(data, clips, it.Source)
	if err != nil {
		return nil, err
	}
	return ffmpegArgs(data, work, clips, it, in)
}

func ffmpegArgs(data, work string, clips map[string]Clip, it Item, in input) ([]string, error) {
	W, H := float64(in.src.w), float64(in.src.h)
	fc := in.src.face
	fw, fh := fc.w*W, fc.h*H // face box in pixels
	base := fmt.Sprintf("[0:v]scale=%d:%d,setsar=1", even(W), even(H))
	clipIn := []string{"-t", f3(in.dur), "-i", in.path}
	// An image input is decoded once and repeated by the loop filter at
	// the clip's frame rate (the image demuxer's -loop would decode it
	// again for every frame).
	still := func(path string) []string { return []string{"-i", path} }
	loop := func(idx int) string {
		return fmt.Sprintf("[%d:v]loop=loop=-1:size=1:start=0,settb=AVTB,setpts=N/(%s*TB)", idx, f3(in.fps))
	}
	seed := it.Seed % 1000003

	switch it.Perturbation {
	case Dark:
		g := it.Param("gain")
		c := math.Sqrt(g)
		return append(clipIn, "-filter_complex", fmt.Sprintf(
			"%s,lutyuv=y='16+(val-16)*%s':u='128+(val-128)*%s':v='128+(val-128)*%s',noise=alls=%d:allf=t+u:all_seed=%d[v]",
			base, f3(g), f3(c), f3(c), int(it.Param("noise")), seed)), nil

	case Blur:
		return append(clipIn, "-filter_complex", fmt.Sprintf("%s,gblur=sigma=%s[v]",
			base, f3(it.Param("sigma_face")*fw))), nil

	case Downscale:
		k := it.Param("face_px") / fw
		return append(clipIn, "-filter_complex", fmt.Sprintf(
			"%s,scale=%d:%d:flags=area,scale=%d:%d:flags=bilinear[v]",
			base, even(W*k), even(H*k), even(W), even(H))), nil

	case Far:
		const CW, CH = 1280.0, 720.0
		k := it.Param("face_frac") * CH / fh
		cw, ch := even(W*k), even(H*k)
		tx := CW/2 + it.Param("dx")*CW - fc.cx*float64(cw)
		ty := CH/2 + it.Param("dy")*CH - fc.cy*float64(ch)
		x := int(math.Max(0, math.Min(CW-float64(cw), tx)))
		y := int(math.Max(0, math.Min(CH-float64(ch), ty)))
		return append(clipIn, "-filter_complex", fmt.Sprintf(
			"%s,split[a][b];[b]scale=%d:%d,drawbox=x=0:y=0:w=iw:h=ih:color=0x6b7079:t=fill,noise=alls=10:all_seed=%d[bg];"+
				"[a]scale=%d:%d[s];[bg][s]overlay=%d:%d[v]",
			base, int(CW), int(CH), seed, cw, ch, x, y)), nil

	case Rotate:
		return append(clipIn, "-filter_complex", fmt.Sprintf(
			"%s,rotate=%s*PI/180:ow=iw:oh=ih:c=black:bilinear=1[v]", base, f3(it.Param("degrees")))), nil

	case Shake:
		win, amp, ph := it.Param("window"), it.Param("amp"), it.Param("phase")
		return append(clipIn, "-filter_complex", fmt.Sprintf(
			"%s,crop=w=%d:h=%d:x='(iw-ow)/2*(1+%s*sin(n*2.1+%s)*cos(n*0.83+%s))':y='(ih-oh)/2*(1+%s*sin(n*1.7+%s)*cos(n*1.13+%s))',scale=%d:%d[v]",
			base, even(W*win), even(H*win), f3(amp), f3(ph), f3(ph/2), f3(amp), f3(ph*1.3), f3(ph*0.7), even(W), even(H))), nil

	case Glare:
		pw := it.Param("size_face") * fw
		ph := pw * 0.7
		cx, cy := fc.cx*W, fc.cy*H
		switch int(it.Param("where")) {
		case 0: // forehead
			cy -= 0.27 * fh
		case 1:
			cx -= 0.2 * fw
			cy += 0.05 * fh
		default:
			cx += 0.2 * fw
			cy += 0.05 * fh
		}
		p := filepath.Join(work, strings.TrimSuffix(it.File, ".mp4")+"_glare.png")
		if err := writePNG(p, glarePatch(int(pw), int(ph))); err != nil {
			return nil, err
		}
		return append(append(clipIn, still(p)...), "-filter_complex", fmt.Sprintf(
			"%s[b];%s,format=rgba[g];[b][g]overlay=%d:%d:shortest=1[v]",
			base, loop(1), int(cx-pw/2), int(cy-ph/2))), nil

	case SecondFace:
		sec, err := resolve(data, clips, it.Second)
		if err != nil {
			return nil, err
		}
		sW, sH := float64(sec.src.w), float64(sec.src.h)
		sf := sec.src.face
		// Crop around the second face with room for hair and chin.
		cropW := math.Min(sW, 1.6*sf.w*sW)
		cropH := math.Min(sH, 1.6*sf.h*sH)
		cropX := math.Max(0, math.Min(sW-cropW, sf.cx*sW-cropW/2))
		cropY := math.Max(0, math.Min(sH-cropH, sf.cy*sH-cropH*0.45))
		k := it.Param("rel_size") * fh / (sf.h * sH)
		ow, oh := even(cropW*k), even(cropH*k)
		if float64(oh) > H {
			r := H / float64(oh)
			ow, oh = even(float64(ow)*r), even(float64(oh)*r)
		}
		x := fc.cx*W + fw/2 + 0.08*fw
		canvasW := math.Max(W, x+float64(ow)+0.05*W)
		y := math.Max(0, math.Min(H-float64(oh), fc.cy*H-float64(oh)/2))
		secIn := []string{"-t", f3(in.dur), "-i", sec.path}
		// A clip is first brought to its displayed size (rotation, odd
		// sizes); a photo is used as it is.
		prep := fmt.Sprintf("[1:v]scale=%d:%d,setsar=1,", even(sW), even(sH))
		if isPhoto(it.Second) {
			secIn, prep = still(sec.path), loop(1)+","
		}
		args := append(clipIn, secIn...)
		return append(args, "-filter_complex", fmt.Sprintf(
			"%s,pad=%d:%d:0:0:color=0x59606a[b];%scrop=%d:%d:%d:%d,scale=%d:%d[s];"+
				"[b][s]overlay=%d:%d:eof_action=repeat:shortest=0[v]",
			base, even(canvasW), even(H), prep, int(cropW), int(cropH), int(cropX), int(cropY),
			ow, oh, int(x), int(y))), nil

	case PhotoReplay:
		const fps = photoFPS
		n := int(it.Param("duration_s") * fps)
		var args []string
		w, h := W, H
		if isPhoto(it.Source) {
			// Photos larger than a phone frame are reduced to 720 px wide.
			if w > 720 {
				h, w = h*720/w, 720
			}
			args = []string{"-i", in.path}
		} else {
			args = []string{"-ss", "1", "-i", in.path}
		}
		per, zoom, pan, ks := it.Param("period_s"), it.Param("zoom"), it.Param("pan"), it.Param("keystone")
		tt := fmt.Sprintf("(in/%d)", fps)
		m := fmt.Sprintf("(0.04+%s*%s/%s)", f3(zoom), tt, f3(it.Param("duration_s")))
		px := fmt.Sprintf("(%s*sin(2*PI*%s/%s))", f3(pan), tt, f3(per))
		py := fmt.Sprintf("(%s*cos(2*PI*%s/%s))", f3(0.6*pan), tt, f3(per*0.8))
		k := fmt.Sprintf("(%s*sin(2*PI*%s/%s))", f3(ks), tt, f3(per*1.3))
		persp := fmt.Sprintf("perspective=x0='W*(%[1]s+%[2]s+%[4]s)':y0='H*(%[1]s+%[3]s)':"+
			"x1='W*(1-%[1]s+%[2]s-%[4]s)':y1='H*(%[1]s+%[3]s)':"+
			"x2='W*(%[1]s+%[2]s)':y2='H*(1-%[1]s+%[3]s)':"+
			"x3='W*(1-%[1]s+%[2]s)':y3='H*(1-%[1]s+%[3]s)':interpolation=linear:eval=frame", m, px, py, k)
		return append(args, "-filter_complex", fmt.Sprintf(
			"[0:v]trim=end_frame=1,scale=%d:%d,setsar=1,loop=loop=%d:size=1:start=0,setpts=N/(%d*TB),fps=%d,%s,noise=alls=4:allf=t:all_seed=%d,format=yuv420p[v]",
			even(w), even(h), n-1, fps, fps, persp, seed)), nil

	case ScreenReplay:
		// The final frame is a window of a slightly larger canvas that
		// sways (a hand-held phone filming a monitor). The wall and bezel
		// are one static image; the pixel grid and moiré another.
		CW, CH := 1280, 720
		if H > W {
			CW, CH = 720, 1280
		}
		const margin = 40
		k := it.Param("fill") * math.Min(float64(CW)/W, float64(CH)/H)
		cw, ch := even(W*k), even(H*k)
		bz := even(0.035 * float64(max(cw, ch)))
		x, y := (CW+margin-cw)/2, (CH+margin-ch)/2
		name := strings.TrimSuffix(it.File, ".mp4")
		pb := filepath.Join(work, name+"_screen.png")
		pm := filepath.Join(work, name+"_moire.png")
		if err := writePNG(pb, screenBackground(CW+margin, CH+margin, image.Rect(x-bz, y-bz, x+cw+bz, y+ch+bz), it.Seed)); err != nil {
			return nil, err
		}
		if err := writePNG(pm, moire(cw, ch, it.Param("moire"))); err != nil {
			return nil, err
		}
		// Sway amplitude: tilt of the frame size, within the margin.
		ax := math.Min(margin/2-1, it.Param("tilt")*float64(CW))
		ay := math.Min(margin/2-1, it.Param("tilt")*float64(CH))
		sx := fmt.Sprintf("%d+%s*sin(2*PI*t/3.3)", margin/2, f3(ax))
		sy := fmt.Sprintf("%d+%s*cos(2*PI*t/4.1)", margin/2, f3(ay))
		args := append(clipIn, still(pb)...)
		args = append(args, still(pm)...)
		return append(args, "-filter_complex", fmt.Sprintf(
			"%s,scale=%d:%d,eq=gamma=%s:saturation=%s:contrast=0.92,colorbalance=bs=0.06:bm=0.04:rs=-0.03[s0];"+
				"%s,format=rgba[m];[s0][m]overlay=0:0:shortest=1,gblur=sigma=0.7[s];"+
				"%s,format=yuv420p[bg];[bg][s]overlay=%d:%d:shortest=1,"+
				"crop=%d:%d:x='%s':y='%s',noise=alls=3:allf=t:all_seed=%d,format=yuv420p[v]",
			base, cw, ch, f3(it.Param("gamma")), f3(it.Param("saturation")), loop(2), loop(1),
			x, y, CW, CH, sx, sy, seed)), nil
	}
	return nil, fmt.Errorf("derive: unknown perturbation %q", it.Perturbation)
}

// photoFPS is the frame rate of photo replays.
const photoFPS = 25

// glarePatch is a warm-white elliptical highlight whose core (about the
// inner third of the ellipse's area) is opaque, so the face pixels under
// it saturate; it fades out smoothly to nothing at the ellipse's edge.
func glarePatch(w, h int) *image.NRGBA {
	const c, k = 2.5, 2.81 // opaque for e <= ~0.36, 0 at e = 1
	edge := math.Exp(-c)
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			dx := (float64(x) + 0.5 - float64(w)/2) / (float64(w) / 2)
			dy := (float64(y) + 0.5 - float64(h)/2) / (float64(h) / 2)
			a := math.Max(0, math.Min(1, k*(math.Exp(-c*(dx*dx+dy*dy))-edge)))
			img.SetNRGBA(x, y, color.NRGBA{255, 252, 245, uint8(math.Round(a * 255))})
		}
	}
	return img
}

// moire is a dark overlay of a display's pixel grid (every third row and
// column) modulated by the beat of two slightly rotated gratings, the
// low-frequency banding a camera sees when filming a screen.
func moire(w, h int, strength float64) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	th := 0.06 // radians between the two gratings
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			grid := 0.0
			if x%3 == 0 {
				grid += 0.5
			}
			if y%3 == 0 {
				grid += 0.5
			}
			g1 := math.Cos(2 * math.Pi * fx / 3)
			g2 := math.Cos(2 * math.Pi * (fx*math.Cos(th) + fy*math.Sin(th)) / 3.12)
			beat := 0.5 + 0.5*g1*g2
			a := strength * (0.55*grid + 0.45*beat)
			img.SetNRGBA(x, y, color.NRGBA{0, 0, 8, uint8(math.Round(math.Min(1, a) * 255))})
		}
	}
	return img
}

// screenBackground is a dim textured wall with a vignette and a monitor
// bezel (a near-black frame with a faint highlight on its inner edge)
// around screen.
func screenBackground(w, h int, bezel image.Rectangle, seed uint64) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 7))
	inner := bezel.Inset(max(2, bezel.Dx()/60))
	for y := range h {
		for x := range w {
			dx := (float64(x) - float64(w)/2) / float64(w)
			dy := (float64(y) - float64(h)/2) / float64(h)
			v := 58 * (1 - 1.4*(dx*dx+dy*dy))
			v += r.NormFloat64() * 5
			c := uint8(math.Max(0, math.Min(255, v)))
			px := color.NRGBA{c, c + c/20, c + c/10, 255}
			p := image.Pt(x, y)
			if p.In(bezel) {
				px = color.NRGBA{12, 12, 14, 255}
				if !p.In(inner) && (x == inner.Min.X-1 || y == inner.Min.Y-1) {
					px = color.NRGBA{40, 40, 44, 255}
				}
			}
			img.SetNRGBA(x, y, px)
		}
	}
	return img
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("derive: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("derive: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("derive: %w", err)
	}
	return nil
}
