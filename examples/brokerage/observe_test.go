package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/registry"
)

func metricsBody(t *testing.T, f *fixture) string {
	t.Helper()
	w := f.do("GET", "/metrics", nil)
	require.Equal(t, http.StatusOK, w.Code)
	return w.Body.String()
}

// runCeremony drives inquiry, OTP, session, a spoof upload, a live upload
// and a status call, with the national ID and mobile in Persian digits in
// some requests and an invalid mobile in one.
func runCeremony(t *testing.T, f *fixture) {
	t.Helper()
	require.Equal(t, http.StatusOK, f.do("POST", "/api/inquiry", applicantBody("۰۴۹۹۳۷۰۸۹۹", "1370/01/15", "۰۹۱۲۱۲۳۴۵۶۷")).Code)
	f.do("POST", "/api/inquiry", applicantBody(testNID, "1370/01/15", "0912123456"))
	f.do("POST", "/api/otp", applicantBody(testNID, "1370/01/15", "09359876543"))
	id := f.session()
	w := f.upload(id, "video", kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: testNID}))
	require.Equal(t, http.StatusOK, w.Code)
	w = f.upload(f.begin(), "video", kyctest.LiveVideo(testNID))
	require.Equal(t, http.StatusOK, w.Code)
	f.do("GET", "/api/status/"+testNID, nil)
	f.do("GET", "/api/status/"+kyc.ToPersianDigits(testNID), nil)
}

func TestLogsMaskPersonalData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	runCeremony(t, f)
	logs := f.logs.String()
	require.NotEmpty(t, logs)
	for _, raw := range []string{testNID, "۰۴۹۹۳۷۰۸۹۹", testMobile, "۰۹۱۲۱۲۳۴۵۶۷", "09359876543", "0912123456"} {
		assert.NotContains(t, logs, raw, "raw personal data in the logs")
	}
	assert.Contains(t, logs, registry.NationalID(testNID).Masked(), "the masked form is logged")
	assert.Contains(t, logs, `"msg":"decision"`)
	assert.NotRegexp(t, `/api/status/[0-9۰-۹]`, logs, "paths (which may hold a national ID) are not logged")
	assert.Contains(t, logs, `"route":"GET /api/status/{nationalID}"`)
}

func TestMetricsHaveNoPersonalData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	runCeremony(t, f)
	body := metricsBody(t, f)
	for _, want := range []string{
		`hoviyat_decisions_total{outcome="approved"} 1`,
		`hoviyat_decisions_total{outcome="rejected"} 1`,
		`hoviyat_decision_reasons_total{outcome="rejected",reason="spoof_suspected"} 1`,
		`hoviyat_stage_duration_seconds_count{result="ok",stage="detect"} 2`,
		`hoviyat_stage_duration_seconds_count{result="ok",stage="submit"} 2`,
		`hoviyat_http_requests_total{code="200",method="POST",route="POST /api/sessions/{id}/video"} 2`,
		`hoviyat_http_requests_total{code="200",method="GET",route="GET /api/status/{nationalID}"} 2`,
		`hoviyat_uploads_in_flight 0`,
	} {
		assert.Contains(t, body, want)
	}
	// No digit run that could be a national ID or mobile, raw or masked.
	assert.NotRegexp(t, regexp.MustCompile(`[0-9۰-۹]{10}`), labelsOnly(body))
	for _, s := range []string{testNID, testMobile, registry.NationalID(testNID).Masked(), registry.Mobile(testMobile).Masked(), "ses_", "att_"} {
		assert.NotContains(t, body, s)
	}
}

// labelsOnly keeps the label sets of the hoviyat_ series.
func labelsOnly(exposition string) string {
	var b strings.Builder
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, "hoviyat_") {
			continue
		}
		if i, j := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}'); i >= 0 && j > i {
			b.WriteString(line[i:j+1] + "\n")
		}
	}
	return b.String()
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, path := range []string{"/", "/app.js", "/style.css", "/api/reasons", "/api/nothing", "/healthz"} {
		t.Run(path, func(t *testing.T) {
			w := f.do("GET", path, nil)
			h := w.Header()
			csp := h.Get("Content-Security-Policy")
			assert.Contains(t, csp, "default-src 'self'")
			assert.Contains(t, csp, "script-src 'self'")
			assert.Contains(t, csp, "media-src 'self' blob:")
			assert.Contains(t, csp, "frame-ancestors 'none'")
			assert.NotContains(t, csp, "unsafe-inline")
			assert.NotContains(t, csp, "unsafe-eval")
			assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
			assert.Contains(t, h.Get("Permissions-Policy"), "camera=(self)")
			assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
			assert.Empty(t, h.Get("Strict-Transport-Security"), "HSTS only over TLS")
			if strings.HasPrefix(path, "/api/") {
				assert.Equal(t, "no-store", h.Get("Cache-Control"))
			}
		})
	}
}

// The CSP forbids inline script and style; the page must not need them.
func TestPageHasNoInlineScriptOrStyle(t *testing.T) {
	t.Parallel()
	page, err := webFiles.ReadFile("web/index.html")
	require.NoError(t, err)
	html := string(page)
	for _, m := range regexp.MustCompile(`(?is)<script\b[^>]*>(.*?)</script>`).FindAllStringSubmatch(html, -1) {
		assert.Contains(t, m[0], `src="`, "script without src")
		assert.Empty(t, strings.TrimSpace(m[1]), "inline script body")
	}
	assert.NotRegexp(t, `(?i)<style\b`, html)
	assert.NotRegexp(t, `(?i)\sstyle="`, html)
	assert.NotRegexp(t, `(?i)\son[a-z]+="`, html, "inline event handlers")
	assert.Contains(t, html, `lang="fa" dir="rtl"`)
	assert.Contains(t, html, `name="viewport"`)
	// Every input has a label.
	for _, m := range regexp.MustCompile(`<input id="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		assert.Contains(t, html, `for="`+m[1]+`"`, "input %s has no label", m[1])
	}
	js, err := webFiles.ReadFile("web/app.js")
	require.NoError(t, err)
	assert.NotContains(t, string(js), "innerHTML", "texts are set with textContent")
	assert.NotContains(t, string(js), "eval(")
}

func TestPageServed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do("GET", "/", nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Header().Get("Content-Type"), "text/html")
	assert.Contains(t, w.Body.String(), `<script src="/app.js" defer></script>`)
	w = f.do("GET", "/app.js", nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Header().Get("Content-Type"), "javascript")
	assert.Contains(t, w.Body.String(), "MediaRecorder")
}
