package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/inspect"
	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/liveness/cv"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/vault"
)

// tracer is what inspecting needs from the liveness detector: liveness/cv's
// Detector has it, the fake detector of -vision=fake does not.
type tracer interface {
	Trace(ctx context.Context, v liveness.Video, ch liveness.Challenge, tc cv.TraceConfig) (liveness.Result, *cv.Trace, error)
}

var _ tracer = (*cv.Detector)(nil)

// evidenceStore reads an attempt's video and decision record (vault.Vault).
type evidenceStore interface {
	Get(ctx context.Context, id string) (io.ReadCloser, []byte, error)
}

var _ evidenceStore = (*vault.Vault)(nil)

// Inspector draws the pictures an operator looks at to understand an
// attempt's decision (GET /api/reviews/{attemptID}/inspect): it reads the
// attempt's encrypted video and decision record from the vault, runs the
// detector's trace on the video and renders the contact sheet, the
// timeline or the per-frame data (internal/inspect). Pictures of the last
// few attempts are kept in memory for a few minutes, so that the sheet and
// the timeline of one attempt cost one analysis. Safe for concurrent use;
// one inspection runs at a time (the detector's workers serve applicants
// first).
type Inspector struct {
	store   evidenceStore
	tracer  tracer // nil: inspecting is not available
	tempDir string
	now     func() time.Time
	sem     chan struct{}

	mu       sync.Mutex
	cache    []inspected // most recent last
	inflight map[string]*inspectCall
}

// Bounds of the Inspector's memory of rendered attempts.
const (
	inspectCacheSize = 4
	inspectCacheTTL  = 10 * time.Minute
	inspectTimeout   = 3 * time.Minute
)

// inspected is one attempt's rendered pictures and data.
type inspected struct {
	key      string
	at       time.Time
	sheet    []byte
	timeline []byte
	data     []byte
}

type inspectCall struct {
	done chan struct{}
	res  inspected
	err  error
}

// newInspector returns an Inspector over the evidence vault using det's trace when
// det has one (liveness/cv); otherwise every request answers 501. tempDir
// holds the decrypted video while it is analysed (a 0600 file, removed
// afterwards).
func newInspector(v evidenceStore, det liveness.Detector, tempDir string) *Inspector {
	in := &Inspector{store: v, tempDir: tempDir, now: time.Now, sem: make(chan struct{}, 1), inflight: map[string]*inspectCall{}}
	if t, ok := det.(tracer); ok && v != nil {
		in.tracer = t
	}
	return in
}

// inspectURL is the operator's link to an attempt's pictures ("" when the
// attempt kept no evidence).
func inspectURL(d kyc.Decision) string {
	if d.AttemptID == "" || d.EvidenceID == "" {
		return ""
	}
	return "/api/reviews/" + url.PathEscape(d.AttemptID) + "/inspect"
}

// evidenceRecord is the part of the SDK's decision record (stored next to
// the video in the vault) that the pictures show.
type evidenceRecord struct {
	AttemptID  string           `json:"attempt_id"`
	NationalID string           `json:"national_id"`
	Challenge  string           `json:"challenge"`
	Nonce      string           `json:"nonce"`
	HeadTurn   string           `json:"head_turn"`
	Outcome    policy.Outcome   `json:"outcome"`
	Reasons    []reason.Code    `json:"reasons"`
	Match      *facematch.Score `json:"match_detail"`
	DecidedAt  time.Time        `json:"decided_at"`
}

// handleInspect answers GET /api/reviews/{attemptID}/inspect with the
// contact sheet PNG; ?plot=timeline gives the timeline PNG and ?plot=data
// the per-frame values as JSON; ?redact=1 pixelates the faces (for
// pictures that leave the operator's screen).
func (s *Server) handleInspect(w http.ResponseWriter, r *http.Request) {
	in := s.cfg.Inspector
	if in == nil || in.tracer == nil {
		writeError(w, apiError{Status: http.StatusNotImplemented, Code: "inspect_unavailable",
			Message: "inspect needs the real vision pipeline (-vision=real): the fake detector does not analyse videos, so there is nothing to draw"})
		return
	}
	id := r.PathValue("attemptID")
	if !validAttemptID(id) {
		writeError(w, badRequest(string(kyc.CodeInvalidInput), "invalid attempt ID"))
		return
	}
	q := r.URL.Query()
	plot := q.Get("plot")
	switch plot {
	case "", "sheet", "timeline", "data":
	default:
		writeError(w, badRequest(string(kyc.CodeInvalidInput), "plot: want sheet, timeline or data"))
		return
	}
	redact := false
	switch q.Get("redact") {
	case "", "0", "false":
	case "1", "true":
		redact = true
	default:
		writeError(w, badRequest(string(kyc.CodeInvalidInput), "redact: want 1 or 0"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), inspectTimeout)
	defer cancel()
	res, err := in.render(ctx, id, redact, s.log)
	if err != nil {
		e := inspectError(err)
		s.log.Log(r.Context(), levelFor(e.Status), "inspect failed", "attempt", id, "code", e.Code, "err", err)
		writeError(w, e)
		return
	}
	body, ctype, name := res.sheet, "image/png", id+"-contact-sheet.png"
	switch plot {
	case "timeline":
		body, name = res.timeline, id+"-timeline.png"
	case "data":
		body, ctype, name = res.data, "application/json; charset=utf-8", id+"-inspect.json"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", name))
	h.Set("Cache-Control", "no-store, private")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// validAttemptID accepts what the vault accepts as an object ID.
func validAttemptID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// inspectError maps the failures of an inspection to API errors.
func inspectError(err error) apiError {
	var ie *liveness.InputError
	switch {
	case errors.Is(err, vault.ErrNotFound):
		return apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no evidence for this attempt"}
	case errors.Is(err, vault.ErrShredded):
		return apiError{Status: http.StatusGone, Code: "evidence_shredded", Message: "the attempt's evidence was shredded"}
	case errors.As(err, &ie):
		return apiError{Status: http.StatusUnprocessableEntity, Code: "video_unusable", Message: "the stored video cannot be analysed", Reason: ie.Code}
	case errors.Is(err, context.DeadlineExceeded):
		return apiError{Status: http.StatusServiceUnavailable, Code: "timeout", Message: "the analysis took too long; try again", RetryAfter: 5}
	case errors.Is(err, context.Canceled):
		return apiError{Status: http.StatusServiceUnavailable, Code: "canceled", Message: "the request was cancelled"}
	}
	return apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// render returns the attempt's pictures, from memory or by analysing the
// video; concurrent requests for one attempt share one analysis.
func (in *Inspector) render(ctx context.Context, id string, redact bool, log *slog.Logger) (inspected, error) {
	key := id
	if redact {
		key += "|redacted"
	}
	in.mu.Lock()
	now := in.now()
	kept := in.cache[:0]
	for _, c := range in.cache {
		if now.Sub(c.at) < inspectCacheTTL {
			kept = append(kept, c)
		}
	}
	in.cache = kept
	for _, c := range in.cache {
		if c.key == key {
			in.mu.Unlock()
			return c, nil
		}
	}
	if call, ok := in.inflight[key]; ok {
		in.mu.Unlock()
		select {
		case <-call.done:
			return call.res, call.err
		case <-ctx.Done():
			return inspected{}, ctx.Err()
		}
	}
	call := &inspectCall{done: make(chan struct{})}
	in.inflight[key] = call
	in.mu.Unlock()

	call.res, call.err = in.analyse(ctx, id, redact)
	call.res.key, call.res.at = key, in.now()
	in.mu.Lock()
	delete(in.inflight, key)
	if call.err == nil {
		in.cache = append(in.cache, call.res)
		if len(in.cache) > inspectCacheSize {
			in.cache = in.cache[len(in.cache)-inspectCacheSize:]
		}
	}
	in.mu.Unlock()
	close(call.done)
	if call.err == nil {
		log.InfoContext(ctx, "inspected", "attempt", id, "redacted", redact)
	}
	return call.res, call.err
}

// analyse decrypts the attempt's video into a private temporary file,
// traces it and draws the pictures.
func (in *Inspector) analyse(ctx context.Context, id string, redact bool) (inspected, error) {
	select {
	case in.sem <- struct{}{}:
		defer func() { <-in.sem }()
	case <-ctx.Done():
		return inspected{}, ctx.Err()
	}
	rc, rawRecord, err := in.store.Get(ctx, id)
	if err != nil {
		return inspected{}, err
	}
	defer rc.Close()
	var rec evidenceRecord
	if err := json.Unmarshal(rawRecord, &rec); err != nil {
		return inspected{}, fmt.Errorf("brokerage: inspect: decision record of %s: %w", id, err)
	}
	f, err := os.CreateTemp(in.tempDir, "inspect-*.video")
	if err != nil {
		return inspected{}, fmt.Errorf("brokerage: inspect: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return inspected{}, fmt.Errorf("brokerage: inspect: reading the evidence of %s: %w", id, err)
	}
	v, err := liveness.NewFileVideo(f.Name())
	if err != nil {
		return inspected{}, fmt.Errorf("brokerage: inspect: %w", err)
	}
	ch := liveness.Challenge{Text: rec.Challenge, Nonce: rec.Nonce, HeadTurn: liveness.HeadTurn(rec.HeadTurn)}
	res, tr, err := in.tracer.Trace(ctx, v, ch, cv.TraceConfig{})
	if err != nil {
		return inspected{}, err
	}
	title := "attempt " + id
	if rec.NationalID != "" {
		title += " · national ID " + registry.NationalID(rec.NationalID).Masked()
	}
	rep := inspect.Report{Title: title, Trace: tr, Result: res, Decision: &inspect.Decision{
		Outcome: rec.Outcome, Reasons: rec.Reasons, Match: rec.Match,
		Note: fmt.Sprintf("Automated decision of %s (an operator's review is not shown). The analysis below was re-run on the stored video with this server's detector.",
			rec.DecidedAt.UTC().Format("2006-01-02 15:04 MST")),
	}}
	var opts []inspect.Option
	if redact {
		opts = append(opts, inspect.WithRedaction())
	}
	var out inspected
	sheet, err := inspect.ContactSheet(rep, opts...)
	if err != nil {
		return inspected{}, err
	}
	if out.sheet, err = encodePNG(sheet); err != nil {
		return inspected{}, err
	}
	tl, err := inspect.Timeline(rep, opts...)
	if err != nil {
		return inspected{}, err
	}
	if out.timeline, err = encodePNG(tl); err != nil {
		return inspected{}, err
	}
	doc, err := inspect.Data(rep)
	if err != nil {
		return inspected{}, err
	}
	if out.data, err = json.Marshal(doc); err != nil {
		return inspected{}, fmt.Errorf("brokerage: inspect: %w", err)
	}
	return out, nil
}

// encodePNG encodes a picture as PNG.
func encodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("brokerage: inspect: %w", err)
	}
	return b.Bytes(), nil
}
