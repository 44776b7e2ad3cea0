package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/registry"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is a Server over a kyctest harness, with one eligible person.
type fixture struct {
	t       *testing.T
	h       *kyctest.Harness
	srv     *Server
	metrics *Metrics
	logs    *syncBuffer
	a       kyc.Applicant
	// ip is the RemoteAddr requests come from (inside the fake Iran range).
	ip string
}

const (
	testNID    = "0499370899"
	testMobile = "09121234567"
	testToken  = "op-secret-token"
)

type fixtureOpt func(*Config, *kyctest.Options)

func newFixture(t *testing.T, opts ...fixtureOpt) *fixture {
	t.Helper()
	f := &fixture{t: t, metrics: NewMetrics(), logs: &syncBuffer{}, ip: kyctest.IranIP.String() + ":40000"}
	log := newLogger(f.logs, slog.LevelDebug)
	cfg := Config{Metrics: f.metrics, Logger: log, OperatorToken: testToken, MaxUploadBytes: 1 << 20, Vision: "fake"}
	ko := kyctest.Options{}
	for _, o := range opts {
		o(&cfg, &ko)
	}
	prev := ko.Configure
	ko.Configure = func(c *kyc.Config) {
		c.Observer = f.metrics
		c.Logger = log
		c.MaxVideoBytes = cfg.MaxUploadBytes
		c.TempDir = t.TempDir()
		if prev != nil {
			prev(c)
		}
	}
	h, err := kyctest.New(ko)
	require.NoError(t, err)
	t.Cleanup(func() { h.Verifier.Close() })
	f.h = h
	f.a, err = h.AddPerson(kyctest.PersonSpec{NationalID: testNID, Mobile: testMobile, FirstName: "سارا", LastName: "احمدی"})
	require.NoError(t, err)
	cfg.Verifier = h.Verifier
	if cfg.Now == nil {
		cfg.Now = h.Clock.Now
	}
	f.srv, err = NewServer(cfg)
	require.NoError(t, err)
	return f
}

// applicantBody is the JSON body for inquiry/OTP/session requests.
func applicantBody(nid, birth, mobile string) map[string]string {
	return map[string]string{"national_id": nid, "birth_date": birth, "mobile": mobile}
}

func (f *fixture) body() map[string]string { return applicantBody(testNID, "1370/01/15", testMobile) }

// do sends a request with a JSON body (or none when body is nil).
func (f *fixture) do(method, path string, body any, hdr ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(f.t, err)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	req.RemoteAddr = f.ip
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	return w
}

// upload posts video in the multipart field field to the session.
func (f *fixture) upload(sessionID, field string, video io.Reader) *httptest.ResponseRecorder {
	f.t.Helper()
	body, ct := multipartBody(f.t, field, video)
	req := httptest.NewRequest("POST", "/api/sessions/"+sessionID+"/video", body)
	req.RemoteAddr = f.ip
	req.Header.Set("Content-Type", ct)
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	return w
}

func multipartBody(t *testing.T, field string, video io.Reader) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("note", "a field before the video is skipped"))
	fw, err := mw.CreateFormFile(field, "selfie.webm")
	require.NoError(t, err)
	_, err = io.Copy(fw, video)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return &buf, mw.FormDataContentType()
}

// session runs OTP send+confirm and begins a session; it returns the ID.
func (f *fixture) session() string {
	f.t.Helper()
	w := f.do("POST", "/api/otp", f.body())
	require.Equal(f.t, http.StatusOK, w.Code, w.Body.String())
	code := f.h.OTP.LastCode(registry.Mobile(testMobile))
	require.NotEmpty(f.t, code)
	w = f.do("POST", "/api/otp/confirm", map[string]string{"national_id": testNID, "code": code})
	require.Equal(f.t, http.StatusOK, w.Code, w.Body.String())
	return f.begin()
}

func (f *fixture) begin() string {
	f.t.Helper()
	w := f.do("POST", "/api/sessions", f.body())
	require.Equal(f.t, http.StatusCreated, w.Code, w.Body.String())
	var s sessionJSON
	require.NoError(f.t, json.Unmarshal(w.Body.Bytes(), &s))
	return s.SessionID
}

// errorBody is the JSON error envelope.
type errorBody struct {
	Error struct {
		Code       string   `json:"code"`
		Message    string   `json:"message"`
		Reason     string   `json:"reason"`
		Reasons    []string `json:"reasons"`
		RetryAfter int      `json:"retry_after_seconds"`
		Messages   *struct {
			FA []kyc.Message `json:"fa"`
			EN []kyc.Message `json:"en"`
		} `json:"messages"`
	} `json:"error"`
}

// apiErr decodes a JSON error response and checks its content type.
func apiErr(t *testing.T, w *httptest.ResponseRecorder) errorBody {
	t.Helper()
	require.True(t, strings.HasPrefix(w.Header().Get("Content-Type"), "application/json"), "content type %q", w.Header().Get("Content-Type"))
	var e errorBody
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), w.Body.String())
	require.NotEmpty(t, e.Error.Code, w.Body.String())
	return e
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v), w.Body.String())
	return v
}

// fakeClock is a settable clock for the limiter tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
