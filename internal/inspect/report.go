package inspect

import (
	"errors"
	"math"
	"sort"
	"time"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/liveness/cv"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
)

// ErrNoTrace is returned when a Report has no Trace.
var ErrNoTrace = errors.New("inspect: report has no trace")

// Report is what the pictures show: one analysed video and, when a
// reference photo was compared, the decision. The pictures only read it.
type Report struct {
	// Title names the video (a file name, an attempt ID); shown in the
	// header.
	Title string
	// Trace and Result come from cv.Detector.Trace. Required.
	Trace  *cv.Trace
	Result liveness.Result
	// Decision is the policy's decision; nil when none was made (no
	// reference photo): the header then shows the liveness verdict.
	Decision *Decision
}

// Decision is the outcome of policy.Decide with what went into it.
type Decision struct {
	Outcome policy.Outcome
	Reasons []reason.Code
	// Match is the face comparison; nil when matching did not run.
	Match *facematch.Score
	// ReferenceUnusable reports a reference photo without a usable face.
	ReferenceUnusable bool
	// Note is an extra header line (who decided, when).
	Note string
}

// Option tunes one picture.
type Option func(*options)

type options struct {
	redact   bool
	maxTiles int
}

// DefaultMaxTiles is the number of frames a contact sheet shows at most.
const DefaultMaxTiles = 16

// WithRedaction pixelates every face box, and every frame in which no face
// was found, before annotations are drawn: for pictures published outside
// the operator's screen.
func WithRedaction() Option { return func(o *options) { o.redact = true } }

// WithMaxTiles bounds the frames on a contact sheet (default
// DefaultMaxTiles); the frames used for matching come first.
func WithMaxTiles(n int) Option { return func(o *options) { o.maxTiles = n } }

func collect(opts []Option) options {
	o := options{maxTiles: DefaultMaxTiles}
	for _, f := range opts {
		f(&o)
	}
	if o.maxTiles <= 0 {
		o.maxTiles = DefaultMaxTiles
	}
	return o
}

// Document is the plain-JSON form of a Report (inspect.json): every
// per-frame value the pictures are drawn from. Numbers that could not be
// measured are null.
type Document struct {
	Title     string         `json:"title"`
	Video     VideoJSON      `json:"video"`
	Challenge string         `json:"challenge,omitempty"`
	HeadTurn  string         `json:"head_turn,omitempty"`
	Decision  *DecisionJSON  `json:"decision,omitempty"`
	Liveness  LivenessJSON   `json:"liveness"`
	Frames    []FrameJSON    `json:"frames"`
	Activity  []PairJSON     `json:"activity_pairs"`
	Change    []PairJSON     `json:"change_pairs"`
	Temporal  map[string]any `json:"temporal"`
}

// VideoJSON describes the video.
type VideoJSON struct {
	Container  string  `json:"container,omitempty"`
	Codec      string  `json:"codec,omitempty"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	Rotation   int     `json:"rotation"`
	FPS        float64 `json:"fps"`
	DurationS  float64 `json:"duration_s"`
	IntervalMS int64   `json:"sample_interval_ms"`
}

// DecisionJSON is a Decision.
type DecisionJSON struct {
	Outcome           string        `json:"outcome"`
	Reasons           []reason.Code `json:"reasons"`
	Match             *MatchJSON    `json:"match,omitempty"`
	ReferenceUnusable bool          `json:"reference_unusable,omitempty"`
	Note              string        `json:"note,omitempty"`
}

// MatchJSON is a face comparison.
type MatchJSON struct {
	Similarity  *float64   `json:"similarity"`
	Decision    string     `json:"decision"`
	Threshold   float64    `json:"threshold"`
	ReviewFloor float64    `json:"review_floor"`
	PerProbe    []*float64 `json:"per_probe,omitempty"`
	Model       string     `json:"model,omitempty"`
}

// LivenessJSON is the liveness Result without probes.
type LivenessJSON struct {
	Verdict    string              `json:"verdict"`
	Score      *float64            `json:"score"`
	Quality    []reason.Code       `json:"quality_reasons"`
	Reasons    []reason.Code       `json:"reasons"`
	Evidence   []EvidenceJSON      `json:"evidence"`
	Measures   map[string]*float64 `json:"measures"`
	Thresholds map[string]*float64 `json:"thresholds"`
	Models     map[string]string   `json:"models,omitempty"`
}

// EvidenceJSON is one liveness signal.
type EvidenceJSON struct {
	Name      string   `json:"name"`
	Value     *float64 `json:"value"`
	Threshold float64  `json:"threshold"`
	Pass      bool     `json:"pass"`
	Weight    float64  `json:"weight"`
	Note      string   `json:"note,omitempty"`
}

// FaceJSON is one detected face.
type FaceJSON struct {
	Box       [4]float64    `json:"box"` // x, y, w, h in frame pixels
	Landmarks [5][2]float64 `json:"landmarks"`
	Score     float64       `json:"score"`
}

// FrameJSON is one sampled frame.
type FrameJSON struct {
	Index        int                `json:"index"`
	TimeS        float64            `json:"time_s"`
	Faces        []FaceJSON         `json:"faces"`
	Luma         *float64           `json:"luma"`
	Under        *float64           `json:"under"`
	Over         *float64           `json:"over"`
	DynamicRange *float64           `json:"dynamic_range"`
	Sharpness    *float64           `json:"sharpness"`
	Glare        *float64           `json:"glare"`
	FacePixels   *float64           `json:"face_pixels"`
	FaceHeight   *float64           `json:"face_height_ratio"`
	Yaw          *float64           `json:"yaw"`
	Pitch        *float64           `json:"pitch"`
	Roll         *float64           `json:"roll"`
	Quality      float64            `json:"frame_quality"`
	Problems     []reason.Code      `json:"problems"`
	Probe        int                `json:"probe_rank,omitempty"`
	AntiSpoof    *float64           `json:"antispoof_live"`
	Spoof        *liveness.SpoofObs `json:"spoof_obs,omitempty"`
	Motion       *float64           `json:"motion"`
	Shake        *float64           `json:"shake_local"`
	Pictured     bool               `json:"pictured"`
}

// PairJSON is one registered pair of frames.
type PairJSON struct {
	A      int      `json:"a"` // positions in frames
	B      int      `json:"b"`
	TimeS  float64  `json:"time_s"` // of A
	Mouth  *float64 `json:"mouth,omitempty"`
	Eyes   *float64 `json:"eyes,omitempty"`
	Change *float64 `json:"change,omitempty"`
}

// num is v, or nil when v is not a finite number (JSON has no NaN).
func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

func nonNil(rs []reason.Code) []reason.Code {
	if rs == nil {
		return []reason.Code{}
	}
	return rs
}

// Data returns the plain-JSON form of r.
func Data(r Report) (Document, error) {
	tr := r.Trace
	if tr == nil {
		return Document{}, ErrNoTrace
	}
	doc := Document{Title: r.Title, Challenge: tr.Challenge.Text, HeadTurn: string(tr.Challenge.HeadTurn),
		Frames: []FrameJSON{}, Activity: []PairJSON{}, Change: []PairJSON{}}
	v := tr.Video
	doc.Video = VideoJSON{Container: v.Container, Codec: v.Codec, Width: v.Width, Height: v.Height, Rotation: v.Rotation,
		FPS: math.Round(v.FPS*1000) / 1000, DurationS: seconds(v.Duration), IntervalMS: v.Interval.Milliseconds()}
	if d := r.Decision; d != nil {
		dj := &DecisionJSON{Outcome: string(d.Outcome), Reasons: nonNil(d.Reasons), ReferenceUnusable: d.ReferenceUnusable, Note: d.Note}
		if m := d.Match; m != nil {
			mj := &MatchJSON{Similarity: num(m.Similarity), Decision: string(m.Decision), Threshold: m.Threshold,
				ReviewFloor: m.ReviewFloor, Model: m.Model}
			for _, s := range m.PerProbe {
				mj.PerProbe = append(mj.PerProbe, num(s))
			}
			dj.Match = mj
		}
		doc.Decision = dj
	}
	res := r.Result
	lj := LivenessJSON{Verdict: string(res.Verdict), Score: num(res.Score), Quality: nonNil(res.Quality),
		Reasons: nonNil(res.Reasons), Evidence: []EvidenceJSON{}, Measures: map[string]*float64{},
		Thresholds: map[string]*float64{}, Models: res.Models}
	for _, e := range res.Evidence {
		lj.Evidence = append(lj.Evidence, EvidenceJSON{Name: e.Name, Value: num(e.Value), Threshold: e.Threshold,
			Pass: e.Pass, Weight: e.Weight, Note: e.Note})
	}
	for k, x := range res.Measures {
		lj.Measures[k] = num(x)
	}
	for k, x := range res.Thresholds {
		lj.Thresholds[k] = num(x)
	}
	doc.Liveness = lj
	for i := range tr.Frames {
		doc.Frames = append(doc.Frames, frameJSON(&tr.Frames[i]))
	}
	for _, p := range tr.Activity {
		doc.Activity = append(doc.Activity, pairJSON(tr, p))
	}
	for _, p := range tr.Change {
		doc.Change = append(doc.Change, pairJSON(tr, p))
	}
	t := tr.Temporal
	doc.Temporal = map[string]any{
		"shake": num(t.Shake), "shake_source": t.ShakeSource, "jumps": t.Jumps, "gaps": t.Gaps,
		"parallax": num(t.Parallax), "change": num(t.Change), "mouth": num(t.Mouth), "eyes": num(t.Eyes),
		"blinks": t.Blinks, "yaw_min": num(t.YawMin), "yaw_max": num(t.YawMax), "pairs": t.Pairs,
	}
	return doc, nil
}

func frameJSON(f *cv.TraceFrame) FrameJSON {
	j := FrameJSON{Index: f.Index, TimeS: seconds(f.Time), Faces: []FaceJSON{}, Quality: f.Quality,
		Problems: nonNil(f.Problems), Probe: f.Probe, AntiSpoof: num(f.AntiSpoof), Spoof: f.Spoof,
		Motion: num(f.Motion), Shake: num(f.Shake), Pictured: f.Image != nil}
	for _, fc := range f.Faces {
		fj := FaceJSON{Box: [4]float64{fc.Box.X, fc.Box.Y, fc.Box.W, fc.Box.H}, Score: fc.Score}
		for k, l := range fc.Landmarks {
			fj.Landmarks[k] = [2]float64{l.X, l.Y}
		}
		j.Faces = append(j.Faces, fj)
	}
	if m, ok := f.Main(); ok {
		j.Luma, j.Under, j.Over, j.DynamicRange = num(f.Luma), num(f.Under), num(f.Over), num(f.DynamicRange)
		j.Sharpness, j.Glare, j.FacePixels = num(f.Sharpness), num(f.Glare), num(f.FacePixels)
		j.Yaw, j.Pitch, j.Roll = num(f.Yaw), num(f.Pitch), num(f.Roll)
		if f.Height > 0 {
			j.FaceHeight = num(m.Box.H / float64(f.Height))
		}
	}
	return j
}

func pairJSON(tr *cv.Trace, p cv.TracePair) PairJSON {
	j := PairJSON{A: p.A, B: p.B, Mouth: num(p.Mouth), Eyes: num(p.Eyes), Change: num(p.Change)}
	if p.A >= 0 && p.A < len(tr.Frames) {
		j.TimeS = seconds(tr.Frames[p.A].Time)
	}
	return j
}

// sortedKeys returns m's keys in order (deterministic drawing).
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
