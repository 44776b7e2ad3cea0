package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/inspect"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/liveness/cv"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/vault"
)

var bearer = []string{"Authorization", "Bearer " + testToken}

// stubTracer answers Trace with a small synthetic trace and records what
// it was given. Safe for concurrent use.
type stubTracer struct {
	mu     sync.Mutex
	calls  int
	ch     liveness.Challenge
	video  []byte
	err    error
	frames int
}

func (s *stubTracer) Trace(ctx context.Context, v liveness.Video, ch liveness.Challenge, tc cv.TraceConfig) (liveness.Result, *cv.Trace, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.ch = ch
	if p, ok := v.(liveness.Pather); ok {
		s.video, _ = os.ReadFile(p.Path())
	}
	if s.err != nil {
		return liveness.Result{}, nil, s.err
	}
	tr := &cv.Trace{Challenge: ch, Quality: liveness.DefaultQualityConfig(), Liveness: liveness.DefaultLivenessConfig(),
		Video:    cv.TraceVideo{Width: 320, Height: 240, FPS: 25, Duration: time.Second, Interval: 100 * time.Millisecond},
		Temporal: liveness.Temporal{Shake: math.NaN(), Mouth: math.NaN(), Change: math.NaN(), Parallax: math.NaN(), Eyes: math.NaN()}}
	for i := 0; i < s.frames; i++ {
		f := cv.TraceFrame{AntiSpoof: 0.8, Motion: math.NaN(), Shake: math.NaN(), Quality: 0.5}
		f.Index, f.Time, f.Width, f.Height = i, time.Duration(i)*100*time.Millisecond, 320, 240
		f.Faces = []liveness.FaceObs{{Box: facematch.Rect{X: 100, Y: 60, W: 100, H: 120}, Score: 0.9}}
		f.Luma, f.Sharpness, f.FacePixels = 120, 0.7, 120
		img := image.NewRGBA(image.Rect(0, 0, 320, 240))
		for p := range img.Pix {
			img.Pix[p] = uint8(p * 7)
		}
		f.Image, f.ImageScale = img, 1
		if i == 1 {
			f.Probe = 1
		}
		tr.Frames = append(tr.Frames, f)
	}
	return liveness.Result{Verdict: liveness.Live, Score: 0.8, Frames: s.frames}, tr, nil
}

func (s *stubTracer) snapshot() (int, liveness.Challenge, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.ch, s.video
}

// testVault is a vault holding one attempt's evidence.
func testVault(t *testing.T, id string, video []byte, record map[string]any) *vault.Vault {
	t.Helper()
	ring, err := vault.ParseKeyRing("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	require.NoError(t, err)
	v, err := vault.New(vault.Config{Keys: ring, Dir: filepath.Join(t.TempDir(), "vault")})
	require.NoError(t, err)
	t.Cleanup(func() { v.Close() })
	rec, err := json.Marshal(record)
	require.NoError(t, err)
	require.NoError(t, v.Put(context.Background(), id, bytes.NewReader(video), rec))
	return v
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	return img
}

// TestInspectNeedsTheRealPipeline: with -vision=fake (no Inspector, or a
// detector without a trace) the endpoint explains itself with a 501.
func TestInspectNeedsTheRealPipeline(t *testing.T) {
	t.Parallel()
	vlt := testVault(t, "att_1", []byte("video"), map[string]any{"attempt_id": "att_1"})
	for name, in := range map[string]*Inspector{
		"no inspector":  nil,
		"fake detector": newInspector(vlt, &fakeDetector{}, t.TempDir()),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *Config, _ *kyctest.Options) { c.Inspector = in })
			w := f.do("GET", "/api/reviews/att_1/inspect", nil, bearer...)
			assert.Equal(t, http.StatusNotImplemented, w.Code)
			e := apiErr(t, w)
			assert.Equal(t, "inspect_unavailable", e.Error.Code)
			assert.Contains(t, e.Error.Message, "-vision=real")

			w = f.do("GET", "/api/reviews/att_1/inspect", nil)
			assert.Equal(t, http.StatusUnauthorized, w.Code, "operators only")
			w = f.do("POST", "/api/reviews/att_1/inspect", nil, bearer...)
			assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
		})
	}
}

// TestInspectEndpoint drives the handler over a real vault with a stub
// trace: the pictures and data, the cache, the record's challenge, the
// temporary video removed, and the errors.
func TestInspectEndpoint(t *testing.T) {
	t.Parallel()
	video := []byte("\x1a\x45\xdf\xa3 the stored video")
	vlt := testVault(t, "att_42", video, map[string]any{
		"attempt_id": "att_42", "national_id": "0499370899", "challenge": "۴۷۱۹ سیب", "nonce": "n1", "head_turn": "left",
		"outcome": "review", "reasons": []string{"borderline_match"},
		"match_detail": map[string]any{"similarity": 0.41, "decision": "uncertain", "threshold": 0.5, "review_floor": 0.3},
		"decided_at":   time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
	})
	tmp := t.TempDir()
	st := &stubTracer{frames: 3}
	in := newInspector(vlt, nil, tmp)
	in.tracer = st
	f := newFixture(t, func(c *Config, _ *kyctest.Options) { c.Inspector = in })

	w := f.do("GET", "/api/reviews/att_42/inspect", nil, bearer...)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "image/png", w.Header().Get("Content-Type"))
	assert.Contains(t, w.Header().Get("Cache-Control"), "no-store")
	sheet := decodePNG(t, w.Body.Bytes())
	assert.Equal(t, inspect.SheetWidth, sheet.Bounds().Dx())
	// The header band is the colour of the recorded outcome (review).
	assert.Equal(t, color.RGBA{0xfe, 0xf3, 0xc7, 0xff}, color.RGBAModel.Convert(sheet.At(sheet.Bounds().Dx()-3, 3)))

	w = f.do("GET", "/api/reviews/att_42/inspect?plot=timeline", nil, bearer...)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, 1152, decodePNG(t, w.Body.Bytes()).Bounds().Dx())

	w = f.do("GET", "/api/reviews/att_42/inspect?plot=data", nil, bearer...)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	doc := decode[inspect.Document](t, w)
	assert.Len(t, doc.Frames, 3)
	require.NotNil(t, doc.Decision)
	assert.Equal(t, "review", doc.Decision.Outcome)
	assert.Equal(t, []reason.Code{reason.BorderlineMatch}, doc.Decision.Reasons)
	require.NotNil(t, doc.Decision.Match)
	assert.InDelta(t, 0.41, *doc.Decision.Match.Similarity, 1e-9)
	assert.Contains(t, doc.Title, "att_42")
	assert.NotContains(t, doc.Title, "0499370899", "the national ID is masked")

	calls, ch, got := st.snapshot()
	assert.Equal(t, 1, calls, "sheet, timeline and data come from one analysis")
	assert.Equal(t, liveness.Challenge{Text: "۴۷۱۹ سیب", Nonce: "n1", HeadTurn: liveness.TurnLeft}, ch, "the session's challenge")
	assert.Equal(t, video, got, "the decrypted stored video was analysed")
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "the decrypted video is removed")

	w = f.do("GET", "/api/reviews/att_42/inspect?redact=1", nil, bearer...)
	require.Equal(t, http.StatusOK, w.Code)
	calls, _, _ = st.snapshot()
	assert.Equal(t, 2, calls, "a redacted sheet is its own rendering")

	errs := []struct {
		name, path string
		status     int
		code       string
	}{
		{"unknown attempt", "/api/reviews/att_nope/inspect", http.StatusNotFound, "not_found"},
		{"bad attempt ID", "/api/reviews/.hidden/inspect", http.StatusBadRequest, "invalid_input"},
		{"bad plot", "/api/reviews/att_42/inspect?plot=pie", http.StatusBadRequest, "invalid_input"},
		{"bad redact", "/api/reviews/att_42/inspect?redact=maybe", http.StatusBadRequest, "invalid_input"},
	}
	for _, e := range errs {
		w := f.do("GET", e.path, nil, bearer...)
		assert.Equal(t, e.status, w.Code, e.name)
		assert.Equal(t, e.code, apiErr(t, w).Error.Code, e.name)
	}

	// A stored video the detector refuses is a 422 with its reason.
	st2 := &stubTracer{err: &liveness.InputError{Code: reason.VideoInvalid, Msg: "corrupt"}}
	in2 := newInspector(vlt, nil, t.TempDir())
	in2.tracer = st2
	f2 := newFixture(t, func(c *Config, _ *kyctest.Options) { c.Inspector = in2 })
	w = f2.do("GET", "/api/reviews/att_42/inspect", nil, bearer...)
	assert.Equal(t, http.StatusUnprocessableEntity, w.Code)
	e := apiErr(t, w)
	assert.Equal(t, "video_unusable", e.Error.Code)
	assert.Equal(t, string(reason.VideoInvalid), e.Error.Reason)
}

// TestReviewListLinksToInspect: each decision in the review queue carries
// the link to its pictures.
func TestReviewListLinksToInspect(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.upload(f.session(), "video", kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Live, Face: testNID, Similarity: 0.4}))
	require.Equal(t, http.StatusOK, w.Code)
	d := decode[decisionJSON](t, w)
	w = f.do("GET", "/api/reviews", nil, bearer...)
	require.Equal(t, http.StatusOK, w.Code)
	q := decode[struct {
		Reviews []reviewJSON `json:"reviews"`
	}](t, w)
	require.Len(t, q.Reviews, 1)
	assert.Equal(t, "/api/reviews/"+d.AttemptID+"/inspect", q.Reviews[0].InspectURL)
}

func TestValidAttemptID(t *testing.T) {
	t.Parallel()
	for id, ok := range map[string]bool{
		"att_0123abc": true, "a.b-c_d": true, "": false, ".x": false, "a/b": false, "a b": false,
		"att_é": false, strings.Repeat("a", 128): true, strings.Repeat("a", 129): false,
	} {
		assert.Equal(t, ok, validAttemptID(id), "%q", id)
	}
}
