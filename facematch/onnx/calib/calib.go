// Package calib measures a face matcher on the shared media and computes
// the numbers its thresholds are chosen from: FNMR at FMR 0.1% and 1%,
// AUC, EER and the sensitivity of the operating point, per data set.
//
// Three sets are built from a data directory laid out like
// ../shared/data (see its README):
//
//   - video: genuine clips against reference stills. A still is the best
//     frame of a clip's first second, re-encoded as a JPEG. Genuine pairs:
//     the frames of a clip after its first second, in 5 s windows (the
//     length of a verification video), against the still of the same
//     person from a different clip (g21 and g24 show the same person) or,
//     when no other clip exists, from the first second of the same clip.
//     Impostor pairs: every window against the stills of every other
//     person and against every single-person photo of the photo sets.
//     g01/a01 and g02/a02 are attacks, never genuine pairs; the attack
//     clips are scored against their victim's still and reported apart.
//   - deepface: the labelled pairs of photos/deepface/pairs_master.csv.
//   - video-frames: as video, every face frame scored alone against the
//     stills (no fusion, no pose filter): how single frames fare.
//   - goface: every pair of single-person photos of photos/goface, genuine
//     when LABELS.tsv gives the same identity (a hard set: make-up, pose).
//
// Windows are scored as the matcher scores a video: frames are ranked by
// a quality proxy (detector score, frontality, size), the matcher selects
// and embeds the best ones and fuses their similarities (Scorer).
package calib

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/vision"
)

// Scorer is what calib needs from a matcher: embeddings of references and
// probes, the matcher's own probe selection and its fusion into a Score.
// It must be safe for concurrent use (Run loads clips in parallel).
// *onnx.Matcher and *dlib.Matcher implement it.
type Scorer interface {
	EmbedReference(ctx context.Context, ref facematch.Reference) ([]float32, error)
	EmbedProbes(ctx context.Context, probes []facematch.Probe) ([][]float32, error)
	SelectProbes(probes []facematch.Probe) []int
	// Similarity compares two embeddings (cosine for ArcFace-family
	// models, 1 - Euclidean distance for dlib).
	Similarity(a, b []float32) float64
	Score(sims []float64) facematch.Score
	Thresholds() facematch.Thresholds
	Model() string
}

// Options configures Run. Zero values mean the defaults.
type Options struct {
	// DataDir is the media directory (default $HOVIYAT_DATA).
	DataDir string
	// ModelsDir holds the YuNet model used to find faces in the frames
	// (default $HOVIYAT_MODELS).
	ModelsDir string
	// SampleFPS is the frame sampling rate (default 10).
	SampleFPS float64
	// Window is the length of one simulated verification video (default 5 s).
	Window time.Duration
	// MaxDuration bounds how much of each clip is read (default 30 s).
	MaxDuration time.Duration
	// Delta is the threshold offset for the sensitivity report (default 0.05).
	Delta float64
	// Parallel is the number of clips processed at once (default 2).
	Parallel int
	// Logf, when set, receives progress lines.
	Logf func(format string, args ...any)
}

// Pair is one scored comparison.
type Pair struct {
	Probe     string  `json:"probe"`
	Reference string  `json:"reference"`
	Genuine   bool    `json:"genuine"`
	Score     float64 `json:"score"`
	// Decision at the matcher's thresholds.
	Decision facematch.Decision `json:"decision"`
}

// Set is the result on one data set.
type Set struct {
	Name  string `json:"name"`
	Pairs []Pair `json:"pairs"`
	// Report holds counts, AUC, EER and the operating points at FMR 0.1%
	// and 1%.
	Report facematch.Report `json:"report"`
	// Sensitivity is FMR/FNMR at the match threshold -Delta, at it and
	// +Delta; ReviewFloor the same at the review floor.
	Sensitivity [3]facematch.ROCPoint `json:"sensitivity"`
	AtReview    facematch.ROCPoint    `json:"at_review_floor"`
	// Decisions counts decisions at the matcher's thresholds, separately
	// for genuine and impostor pairs.
	Genuine  map[facematch.Decision]int `json:"genuine_decisions"`
	Impostor map[facematch.Decision]int `json:"impostor_decisions"`
	// Closest lists the highest-scoring impostor pairs and the lowest
	// genuine ones, for inspection.
	ClosestImpostors []Pair `json:"closest_impostors"`
	WeakestGenuine   []Pair `json:"weakest_genuine"`
	// Notes records inputs left out (unusable photos) and why.
	Notes []string `json:"notes,omitempty"`
}

// Fusion is one fusion rule's separation on the video set.
type Fusion struct {
	Name        string  `json:"name"`
	AUC         float64 `json:"auc"`
	EER         float64 `json:"eer"`
	GenuineMin  float64 `json:"genuine_min"`
	ImpostorMax float64 `json:"impostor_max"`
}

// Result is the outcome of Run (plain data; Markdown renders it).
type Result struct {
	Model      string               `json:"model"`
	Thresholds facematch.Thresholds `json:"thresholds"`
	Sets       []*Set               `json:"sets"`
	// Attacks are presentation attacks scored against the still of the
	// person shown (informative: matching is expected to succeed, liveness
	// must reject them).
	Attacks []Pair `json:"attacks"`
	// Fusions compares fusion rules on the video set (same selected
	// probes, same embeddings), to justify the matcher's choice.
	Fusions []Fusion `json:"fusions"`
	// Elapsed is the wall time of Run.
	Elapsed time.Duration `json:"elapsed"`
}

// clip identities: the same person across files (README "Pairs for face
// matching"). Others are their own identity.
var clipIdentity = map[string]string{"g21": "aoc", "g24": "aoc", "a01": "g01", "a02": "g02"}

func identityOf(id string) string {
	if v, ok := clipIdentity[id]; ok {
		return v
	}
	return id
}

type clipData struct {
	id     string
	path   string
	attack bool
	still  []byte // JPEG of the best first-second frame
	// windows of probes, quality-ranked, after the first second
	windows [][]facematch.Probe
	embs    [][][]float32
	sel     [][]int // the Scorer's selection per window
}

// Run builds the three sets and scores them with s.
func Run(ctx context.Context, s Scorer, opt Options) (*Result, error) {
	start := time.Now()
	if opt.DataDir == "" {
		opt.DataDir = os.Getenv("HOVIYAT_DATA")
	}
	if opt.DataDir == "" {
		return nil, errors.New("calib: no data directory (set $HOVIYAT_DATA)")
	}
	if opt.SampleFPS == 0 {
		opt.SampleFPS = 10
	}
	if opt.Window == 0 {
		opt.Window = 5 * time.Second
	}
	if opt.MaxDuration == 0 {
		opt.MaxDuration = 30 * time.Second
	}
	if opt.Delta == 0 {
		opt.Delta = 0.05
	}
	if opt.Parallel == 0 {
		opt.Parallel = 2
	}
	logf := opt.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	detPath, err := vision.ModelPath(opt.ModelsDir, vision.YuNetFile)
	if err != nil {
		return nil, fmt.Errorf("calib: %w", err)
	}
	res := &Result{Model: s.Model(), Thresholds: s.Thresholds()}

	// Photos: embed every single-person photo once.
	photos, err := loadPhotos(opt.DataDir)
	if err != nil {
		return nil, err
	}
	photoEmb := map[string][]float32{}
	photoNotes := map[string][]string{} // by set
	for _, p := range photos {
		b, err := os.ReadFile(p.path)
		if err != nil {
			return nil, fmt.Errorf("calib: %w", err)
		}
		emb, err := s.EmbedReference(ctx, facematch.Reference{Key: "calib:" + p.path, Photo: b})
		if errors.Is(err, facematch.ErrReferenceUnusable) {
			photoNotes[p.set] = append(photoNotes[p.set], fmt.Sprintf("%s unusable as a reference (left out of every set): %v", p.name, err))
			continue
		}
		if err != nil {
			return nil, err
		}
		photoEmb[p.set+"/"+p.name] = emb
	}
	logf("calib: %d photos embedded, %d unusable", len(photoEmb), len(photoNotes["deepface"])+len(photoNotes["goface"]))

	// Clips.
	var clips []*clipData
	for _, sub := range []string{"genuine", "attack"} {
		files, _ := filepath.Glob(filepath.Join(opt.DataDir, "videos", sub, "*"))
		for _, f := range files {
			id := strings.SplitN(filepath.Base(f), "_", 2)[0]
			if id == "a05" { // a digital deepfake of someone with no clip here
				continue
			}
			clips = append(clips, &clipData{id: id, path: f, attack: sub == "attack"})
		}
	}
	if len(clips) == 0 {
		return nil, fmt.Errorf("calib: no clips under %s/videos", opt.DataDir)
	}
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, opt.Parallel)
		errMu sync.Mutex
		first error
	)
	for _, c := range clips {
		wg.Add(1)
		go func(c *clipData) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			err := c.load(ctx, s, detPath, opt)
			if err != nil {
				errMu.Lock()
				if first == nil {
					first = fmt.Errorf("calib: %s: %w", c.id, err)
				}
				errMu.Unlock()
				return
			}
			n := 0
			for _, w := range c.windows {
				n += len(w)
			}
			logf("calib: %s: %d windows, %d face frames", c.id, len(c.windows), n)
		}(c)
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}

	// Stills as references.
	stillEmb := map[string][]float32{}
	for _, c := range clips {
		if c.attack || c.still == nil {
			continue
		}
		emb, err := s.EmbedReference(ctx, facematch.Reference{Key: "calib:still:" + c.id, Photo: c.still})
		if err != nil {
			return nil, fmt.Errorf("calib: still of %s: %w", c.id, err)
		}
		stillEmb[c.id] = emb
	}

	fusions := []struct {
		name string
		f    facematch.Fusion
		all  bool // over every face frame of the window, not the selection
	}{
		{"max of selected", facematch.Max, false},
		{"mean of top 3 of selected", facematch.MeanTopK(3), false},
		{"mean of all selected", facematch.MeanTopK(1 << 20), false},
		{"median of selected", facematch.Median, false},
		{"mean of top 3 of all frames", facematch.MeanTopK(3), true},
		{"median of all frames", facematch.Median, true},
	}
	fusionScores := make([][2][]float64, len(fusions)) // [genuine, impostor]
	score := func(c *clipData, wi int, ref []float32) facematch.Score {
		sel := c.sel[wi]
		sims := make([]float64, 0, len(sel))
		for _, i := range sel {
			if e := c.embs[wi][i]; e != nil {
				sims = append(sims, s.Similarity(e, ref))
			}
		}
		return s.Score(sims)
	}
	recordFusions := func(c *clipData, wi int, ref []float32, genuine bool) {
		var sel, all []float64
		for _, i := range c.sel[wi] {
			if e := c.embs[wi][i]; e != nil {
				sel = append(sel, s.Similarity(e, ref))
			}
		}
		for _, e := range c.embs[wi] {
			if e != nil {
				all = append(all, s.Similarity(e, ref))
			}
		}
		k := 1
		if genuine {
			k = 0
		}
		for fi, f := range fusions {
			in := sel
			if f.all {
				in = all
			}
			fusionScores[fi][k] = append(fusionScores[fi][k], f.f(in))
		}
	}

	video := &Set{Name: "video"}
	frames := &Set{Name: "video-frames"}
	frameScores := func(c *clipData, wi int, ref []float32, refName string, genuine bool) {
		for i, e := range c.embs[wi] {
			if e == nil {
				continue
			}
			sc := s.Score([]float64{s.Similarity(e, ref)})
			frames.Pairs = append(frames.Pairs, Pair{Probe: fmt.Sprintf("%s@%d", c.id, c.windows[wi][i].Frame), Reference: refName, Genuine: genuine, Score: sc.Similarity, Decision: sc.Decision})
		}
	}
	for _, c := range clips {
		for wi := range c.windows {
			probeName := fmt.Sprintf("%s#%d", c.id, wi)
			if c.attack {
				ref, ok := stillEmb[identityOf(c.id)]
				if ok {
					sc := score(c, wi, ref)
					res.Attacks = append(res.Attacks, Pair{Probe: probeName, Reference: identityOf(c.id) + " still", Score: sc.Similarity, Decision: sc.Decision})
				}
				continue
			}
			// Genuine: the still of another clip of the same person, else
			// the clip's own first second.
			gen := ""
			for _, o := range clips {
				if o.id != c.id && !o.attack && identityOf(o.id) == identityOf(c.id) && stillEmb[o.id] != nil {
					gen = o.id
				}
			}
			if gen == "" {
				gen = c.id
			}
			for rid, ref := range stillEmb {
				same := identityOf(rid) == identityOf(c.id)
				if same && rid != gen {
					continue // the same-clip still when a cross-clip one is used
				}
				sc := score(c, wi, ref)
				video.Pairs = append(video.Pairs, Pair{Probe: probeName, Reference: rid + " still", Genuine: same, Score: sc.Similarity, Decision: sc.Decision})
				frameScores(c, wi, ref, rid+" still", same)
				recordFusions(c, wi, ref, same)
			}
			for name, ref := range photoEmb {
				sc := score(c, wi, ref)
				video.Pairs = append(video.Pairs, Pair{Probe: probeName, Reference: name, Score: sc.Similarity, Decision: sc.Decision})
				recordFusions(c, wi, ref, false)
			}
		}
	}
	sortPairs(video.Pairs)
	sortPairs(res.Attacks)
	for fi, f := range fusions {
		g, im := fusionScores[fi][0], fusionScores[fi][1]
		rep := facematch.Evaluate(g, im)
		res.Fusions = append(res.Fusions, Fusion{Name: f.name, AUC: rep.AUC, EER: rep.EER, GenuineMin: rep.GenuineMin, ImpostorMax: rep.ImpostorMax})
	}

	deep, err := deepfaceSet(opt.DataDir, photoEmb, s)
	if err != nil {
		return nil, err
	}
	goface := gofaceSet(photos, photoEmb, s)
	deep.Notes = append(deep.Notes, photoNotes["deepface"]...)
	goface.Notes = append(goface.Notes, photoNotes["goface"]...)

	sortPairs(frames.Pairs)
	for _, set := range []*Set{video, frames, deep, goface} {
		set.summarise(s.Thresholds(), opt.Delta)
		res.Sets = append(res.Sets, set)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func sortPairs(ps []Pair) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Probe != ps[j].Probe {
			return ps[i].Probe < ps[j].Probe
		}
		return ps[i].Reference < ps[j].Reference
	})
}

func (set *Set) summarise(th facematch.Thresholds, delta float64) {
	var gen, imp []float64
	set.Genuine = map[facematch.Decision]int{}
	set.Impostor = map[facematch.Decision]int{}
	var gp, ip []Pair
	for _, p := range set.Pairs {
		if p.Genuine {
			gen = append(gen, p.Score)
			set.Genuine[p.Decision]++
			gp = append(gp, p)
		} else {
			imp = append(imp, p.Score)
			set.Impostor[p.Decision]++
			ip = append(ip, p)
		}
	}
	set.Report = facematch.Evaluate(gen, imp, 0.001, 0.01)
	set.Sensitivity = facematch.Sensitivity(gen, imp, th.Match, delta)
	set.AtReview = facematch.ROCPoint{Threshold: th.ReviewFloor, FMR: facematch.FMR(imp, th.ReviewFloor), FNMR: facematch.FNMR(gen, th.ReviewFloor)}
	sort.Slice(ip, func(i, j int) bool { return ip[i].Score > ip[j].Score })
	sort.Slice(gp, func(i, j int) bool { return gp[i].Score < gp[j].Score })
	set.ClosestImpostors = ip[:min(5, len(ip))]
	set.WeakestGenuine = gp[:min(5, len(gp))]
}

type photo struct {
	set, name, identity, path string
}

// loadPhotos lists the single-person photos with their identities:
// deepface from photos/PHOTOS.tsv, goface from photos/goface/LABELS.tsv
// (without the group photo pristin.jpg).
func loadPhotos(dir string) ([]photo, error) {
	var out []photo
	rows, err := readTSV(filepath.Join(dir, "photos", "PHOTOS.tsv"), "set", "file", "identity")
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r["set"] == "deepface" {
			out = append(out, photo{set: "deepface", name: filepath.Base(r["file"]), identity: r["identity"], path: filepath.Join(dir, r["file"])})
		}
	}
	rows, err = readTSV(filepath.Join(dir, "photos", "goface", "LABELS.tsv"), "file", "identity")
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r["file"] == "pristin.jpg" {
			continue // a group photo, not one identity
		}
		out = append(out, photo{set: "goface", name: r["file"], identity: r["identity"], path: filepath.Join(dir, "photos", "goface", r["file"])})
	}
	return out, nil
}

// readTSV reads a tab-separated file with a header into maps, requiring
// the given columns.
func readTSV(path string, need ...string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("calib: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("calib: %s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, k := range need {
		if _, ok := col[k]; !ok {
			return nil, fmt.Errorf("calib: %s has no %q column", path, k)
		}
	}
	var out []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("calib: %s: %w", path, err)
		}
		m := map[string]string{}
		for k, i := range col {
			if i < len(rec) {
				m[k] = rec[i]
			}
		}
		out = append(out, m)
	}
}

func deepfaceSet(dir string, emb map[string][]float32, s Scorer) (*Set, error) {
	set := &Set{Name: "deepface"}
	f, err := os.Open(filepath.Join(dir, "photos", "deepface", "pairs_master.csv"))
	if err != nil {
		return nil, fmt.Errorf("calib: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("calib: pairs_master.csv: %w", err)
	}
	for _, rec := range recs[1:] {
		if len(rec) < 3 {
			continue
		}
		a, b := emb["deepface/"+rec[0]], emb["deepface/"+rec[1]]
		if a == nil || b == nil {
			set.Notes = append(set.Notes, fmt.Sprintf("pair %s-%s skipped: a photo is unusable", rec[0], rec[1]))
			continue
		}
		sc := s.Score([]float64{s.Similarity(a, b)})
		set.Pairs = append(set.Pairs, Pair{Probe: rec[0], Reference: rec[1], Genuine: strings.EqualFold(rec[2], "yes"), Score: sc.Similarity, Decision: sc.Decision})
	}
	return set, nil
}

func gofaceSet(photos []photo, emb map[string][]float32, s Scorer) *Set {
	set := &Set{Name: "goface"}
	var gp []photo
	for _, p := range photos {
		if p.set == "goface" && emb["goface/"+p.name] != nil {
			gp = append(gp, p)
		}
	}
	for i := range gp {
		for j := i + 1; j < len(gp); j++ {
			a, b := emb["goface/"+gp[i].name], emb["goface/"+gp[j].name]
			sc := s.Score([]float64{s.Similarity(a, b)})
			set.Pairs = append(set.Pairs, Pair{Probe: gp[i].name, Reference: gp[j].name, Genuine: gp[i].identity == gp[j].identity, Score: sc.Similarity, Decision: sc.Decision})
		}
	}
	return set
}

// load decodes the clip, finds the main face of each sampled frame, keeps
// the best first-second frame as the still and embeds the later frames.
func (c *clipData) load(ctx context.Context, s Scorer, detPath string, opt Options) error {
	det, err := vision.NewFaceDetector(vision.FaceDetectorConfig{ModelPath: detPath})
	if err != nil {
		return err
	}
	defer det.Close()
	vc, err := gocv.VideoCaptureFile(c.path)
	if err != nil {
		return err
	}
	defer vc.Close()
	fps := vc.Get(gocv.VideoCaptureFPS)
	if !(fps > 1 && fps < 240) {
		fps = 25
	}
	step := max(1, int(math.Round(fps/opt.SampleFPS)))
	frame := gocv.NewMat()
	defer frame.Close()
	var bestStill float64 = -1
	var probes []facematch.Probe
	for i := 0; vc.Read(&frame) && !frame.Empty(); i++ {
		t := time.Duration(float64(i) / fps * float64(time.Second))
		if t > opt.MaxDuration {
			break
		}
		if i%step != 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		faces, err := det.Detect(frame)
		if err != nil {
			return err
		}
		if len(faces) == 0 {
			continue
		}
		f := largest(faces)
		q := quality(f)
		if t < time.Second {
			if q > bestStill {
				var buf []byte
				buf, err = encodeJPEG(frame)
				if err != nil {
					return err
				}
				c.still, bestStill = buf, q
			}
			continue
		}
		p, err := probeFrom(frame, f, i, t)
		if err != nil {
			return err
		}
		probes = append(probes, p)
	}
	// Windows of opt.Window after the first second; a last window shorter
	// than half a window joins the previous one.
	var cur []facematch.Probe
	winStart := time.Second
	flush := func() {
		if len(cur) > 0 {
			c.windows = append(c.windows, cur)
		}
		cur = nil
	}
	for _, p := range probes {
		if p.Time >= winStart+opt.Window {
			flush()
			winStart += opt.Window
		}
		cur = append(cur, p)
	}
	if len(cur) > 0 && len(c.windows) > 0 && cur[len(cur)-1].Time-winStart < opt.Window/2 {
		last := len(c.windows) - 1
		c.windows[last] = append(c.windows[last], cur...)
		cur = nil
	}
	flush()
	for wi, w := range c.windows {
		sort.SliceStable(w, func(i, j int) bool { return w[i].Quality > w[j].Quality })
		embs, err := s.EmbedProbes(ctx, w)
		if err != nil {
			return err
		}
		c.sel = append(c.sel, s.SelectProbes(w))
		for i := range w {
			w[i].Image = nil // keep memory bounded: only the embedding is needed now
		}
		c.windows[wi] = w
		c.embs = append(c.embs, embs)
	}
	return nil
}

func largest(faces []vision.Face) vision.Face {
	best := faces[0]
	for _, f := range faces[1:] {
		if f.Box.W*f.Box.H > best.Box.W*best.Box.H {
			best = f
		}
	}
	return best
}

// quality is a proxy for the liveness detector's ranking: detector
// confidence, frontality and size.
func quality(f vision.Face) float64 {
	yaw, pitch, _ := vision.HeadPose(f.Landmarks)
	front := math.Exp(-(yaw*yaw + pitch*pitch) / (2 * 15 * 15))
	lm := f.Landmarks
	eye := math.Hypot(lm[1].X-lm[0].X, lm[1].Y-lm[0].Y)
	return f.Score * front * math.Min(1, eye/40)
}

// probeFrom crops the face with a margin of one box size on each side
// and expresses the landmarks in the crop.
func probeFrom(frame gocv.Mat, f vision.Face, idx int, t time.Duration) (facematch.Probe, error) {
	b := f.Box
	x0 := max(0, int(b.X-b.W))
	y0 := max(0, int(b.Y-b.H))
	x1 := min(frame.Cols(), int(b.X+2*b.W))
	y1 := min(frame.Rows(), int(b.Y+2*b.H))
	if x1-x0 < 8 || y1-y0 < 8 {
		return facematch.Probe{}, fmt.Errorf("face box %v outside the frame", b)
	}
	roi := frame.Region(imageRect(x0, y0, x1, y1))
	img, err := vision.MatToImage(roi)
	roi.Close()
	if err != nil {
		return facematch.Probe{}, err
	}
	p := facematch.Probe{
		Image:    img,
		Box:      facematch.Rect{X: b.X - float64(x0), Y: b.Y - float64(y0), W: b.W, H: b.H},
		DetScore: f.Score,
		Quality:  quality(f),
		Frame:    idx,
		Time:     t,
	}
	for i, l := range f.Landmarks {
		p.Landmarks[i] = facematch.Point{X: l.X - float64(x0), Y: l.Y - float64(y0)}
	}
	p.Yaw, p.Pitch, p.Roll = vision.HeadPose(f.Landmarks)
	return p, nil
}

func encodeJPEG(m gocv.Mat) ([]byte, error) {
	img, err := vision.MatToImage(m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
