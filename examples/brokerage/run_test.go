package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc/kyctest"
)

// client talks to a running server over real HTTP.
type client struct {
	t    *testing.T
	base string
}

func (c client) json(method, path string, body any, token string) (int, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// startRun runs the whole program (flags, dependencies, HTTP server) in
// the background and returns its address, its cancel and its result.
func startRun(t *testing.T, args ...string) (string, context.CancelFunc, <-chan error, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	logs := &syncBuffer{}
	env := func(string) string { return "" }
	go func() { done <- run(ctx, args, env, logs, ready) }()
	select {
	case addr := <-ready:
		return "http://" + addr, cancel, done, logs
	case err := <-done:
		cancel()
		t.Fatalf("run failed: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	return "", cancel, done, logs
}

// TestRunServesAndShutsDownGracefully starts the program as main does
// (SQLite, dev vault key, demo registry, dev GeoIP, fake vision), walks
// the ceremony over HTTP, and stops it while an upload is being analysed:
// the upload still gets its decision, and run returns cleanly.
func TestRunServesAndShutsDownGracefully(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, cancel, done, logs := startRun(t, "-addr", "127.0.0.1:0", "-vision", "fake", "-data", data,
		"-operator-token", "tok", "-shutdown-timeout", "20s")
	defer cancel()
	c := client{t: t, base: base}

	a := map[string]string{"national_id": "0499370899", "birth_date": "1370/01/15", "mobile": "09121234567"}
	st, el := c.json("POST", "/api/inquiry", a, "")
	require.Equal(t, 200, st, "%v\n%s", el, logs.String())
	assert.Equal(t, true, el["eligible"])
	st, _ = c.json("POST", "/api/otp", a, "")
	require.Equal(t, 200, st)
	st, otp := c.json("GET", "/api/dev/otp/09121234567", nil, "tok")
	require.Equal(t, 200, st)
	st, _ = c.json("POST", "/api/otp/confirm", map[string]any{"national_id": "0499370899", "code": otp["code"]}, "")
	require.Equal(t, 200, st)
	st, ses := c.json("POST", "/api/sessions", a, "")
	require.Equal(t, 201, st)

	// A slow analysis (the fake detector waits 1.5 s) is in flight when
	// the shutdown begins.
	body, ct := multipartBody(t, "video", kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Live, Face: "0499370899", Delay: 1500 * time.Millisecond}))
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Post(base+ses["upload_url"].(string), ct, body)
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "hoviyat_uploads_in_flight 1")
	}, 10*time.Second, 20*time.Millisecond)
	cancel()

	r := <-res
	require.NoError(t, r.err)
	assert.Equal(t, http.StatusOK, r.status, r.body)
	assert.Contains(t, r.body, `"outcome":"approved"`)
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after shutdown")
	}
	_, err := http.Get(base + "/healthz")
	assert.Error(t, err, "the listener is closed")
	assert.Contains(t, logs.String(), "shutting down")
	assert.Contains(t, logs.String(), "DEV VAULT KEY")
	assert.Contains(t, logs.String(), "FAKE VISION")
	fi, err := os.Stat(filepath.Join(data, "vault-dev.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	entries, err := os.ReadDir(filepath.Join(data, "spool"))
	require.NoError(t, err)
	assert.Empty(t, entries, "spooled uploads are removed")
}

func TestRunRejectsBadConfig(t *testing.T) {
	t.Parallel()
	env := func(string) string { return "" }
	err := run(context.Background(), []string{"-vision", "nope"}, env, io.Discard, nil)
	assert.ErrorContains(t, err, "-vision")
	err = run(context.Background(), []string{"-vision", "fake", "-data", t.TempDir(), "-geoip", "/nonexistent.mmdb"}, env, io.Discard, nil)
	assert.ErrorContains(t, err, "geoip")
	err = run(context.Background(), []string{"-vision", "fake", "-data", t.TempDir(), "-vault-keys", "k:short"}, env, io.Discard, nil)
	assert.ErrorContains(t, err, "vault")
	err = run(context.Background(), []string{"-vision", "fake", "-data", t.TempDir(), "-registry", "memory:/nonexistent"}, env, io.Discard, nil)
	assert.Error(t, err)
}

// FuzzInquiryBody: any request body gets a JSON answer with a client
// error or a result, never a server error.
func FuzzInquiryBody(f *testing.F) {
	for _, s := range []string{
		`{"national_id":"0499370899","birth_date":"1370/01/15","mobile":"09121234567"}`,
		`{"national_id":"۰۴۹۹۳۷۰۸۹۹","birth_date":"۱۳۷۰/۰۱/۱۵","mobile":"+98 912 123 4567"}`,
		`{"national_id":1}`, `[]`, `null`, `{"national_id":"0499370899"}{}`, "", `{"birth_date":"1370/13/99"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := fuzzFixture(t)
		req := httptest.NewRequest("POST", "/api/inquiry", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = fx.ip
		w := httptest.NewRecorder()
		fx.srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body.String())
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("not JSON: %q", w.Body.String())
		}
	})
}

// FuzzUploadBody: any multipart body to a valid session gets a JSON
// answer, never a server error.
func FuzzUploadBody(f *testing.F) {
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"video\"; filename=\"v\"\r\n\r\nKYCTEST-VIDEO:{\"behaviour\":\"live\",\"face\":\"0499370899\"}\r\n--b--\r\n"))
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"video\"\r\n\r\n\x1a\x45\xdf\xa3\r\n--b--\r\n"))
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n"))
	f.Add([]byte("--b\r\n\r\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := fuzzFixture(t)
		id := fx.begin()
		req := httptest.NewRequest("POST", "/api/sessions/"+id+"/video", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		req.RemoteAddr = fx.ip
		w := httptest.NewRecorder()
		fx.srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body.String())
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("not JSON: %q", w.Body.String())
		}
	})
}

// fuzzFixture builds a fixture with a confirmed OTP (each fuzz input gets
// a fresh one: the harness is cheap and this keeps inputs independent).
func fuzzFixture(t *testing.T) *fixture {
	f := newFixture(t)
	w := f.do("POST", "/api/otp", f.body())
	require.Equal(t, http.StatusOK, w.Code)
	code := f.h.OTP.LastCode(testMobile)
	require.Equal(t, http.StatusOK, f.do("POST", "/api/otp/confirm", map[string]string{"national_id": testNID, "code": code}).Code)
	return f
}
