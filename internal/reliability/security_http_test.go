package reliability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/registry"
)

// persianDigits writes s's ASCII digits as Persian digits.
func persianDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '۰' + (r - '0')
		}
		return r
	}, s)
}

// longDigitRun matches 10 or more digits in a row, ASCII or not: a
// national ID or a mobile number that escaped masking.
var longDigitRun = regexp.MustCompile(`\p{Nd}{10,}`)

// randomID matches the SDK's random identifiers (kyc: a prefix and 32 hex
// characters, such as ses_…, att_…), removed before looking for digit
// runs: their hex often holds 10 digits in a row (about 8% of IDs).
var randomID = regexp.MustCompile(`\b[a-z]{2,5}_[0-9a-f]{32}\b`)

// metricLabels matches the label sets of Prometheus text samples.
var metricLabels = regexp.MustCompile(`(?m)^[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\}`)

// TestBrokerageMasksIdentifiers drives the example server through every
// endpoint an applicant touches (inquiries eligible, unknown and invalid;
// Persian digits; OTP wrong and right; an unusable and a good upload;
// status by URL; a resend too soon; the operator queue) with debug logs
// on, then reads its logs and /metrics: no national ID or mobile number
// appears in full, in ASCII or Persian digits, while the logs do name the
// applicants in masked form.
func TestBrokerageMasksIdentifiers(t *testing.T) {
	ctx := context.Background()
	ids := nids(3)
	reg := writeRegistryDir(t, ids[:2]) // ids[2] is unknown to the registry
	token := "reliability-operator-token"
	b := startBrokerage(t, "-vision", "fake", "-registry", "memory:"+reg, "-geoip", "dev", "-ip-rate", "0", "-id-rate", "0",
		"-operator-token", token, "-data", t.TempDir(), "-vault-keys", vaultKeySpec(t), "-log-level", "debug")
	c := newAPIClient(token)
	a, other, unknown := ids[0], ids[1], ids[2]
	calls := []struct {
		name string
		do   func() (apiReply, error)
		want int
	}{
		{"inquiry in Persian digits", func() (apiReply, error) {
			body := applicantBody(a)
			body["national_id"], body["mobile"] = persianDigits(a), persianDigits(mobileOf(a))
			return c.postJSON(ctx, b.URL+"/api/inquiry", body)
		}, http.StatusOK},
		{"inquiry unknown person", func() (apiReply, error) { return c.postJSON(ctx, b.URL+"/api/inquiry", applicantBody(unknown)) }, http.StatusOK},
		{"inquiry invalid ID", func() (apiReply, error) {
			body := applicantBody(a)
			body["national_id"] = a[:9] + string('0'+(a[9]-'0'+1)%10)
			return c.postJSON(ctx, b.URL+"/api/inquiry", body)
		}, http.StatusBadRequest},
		{"send OTP", func() (apiReply, error) { return c.postJSON(ctx, b.URL+"/api/otp", applicantBody(a)) }, http.StatusOK},
		{"resend too soon", func() (apiReply, error) { return c.postJSON(ctx, b.URL+"/api/otp", applicantBody(a)) }, http.StatusTooManyRequests},
		{"wrong OTP", func() (apiReply, error) {
			return c.postJSON(ctx, b.URL+"/api/otp/confirm", map[string]string{"national_id": a, "code": "000000"})
		}, 0},
		{"OTP of another mobile (not owned)", func() (apiReply, error) {
			body := applicantBody(other)
			body["mobile"] = mobileOf(a)
			return c.postJSON(ctx, b.URL+"/api/otp", body)
		}, http.StatusForbidden},
	}
	for _, call := range calls {
		r, err := call.do()
		require.NoError(t, err, call.name)
		if call.want != 0 {
			require.Equal(t, call.want, r.Status, "%s: %s", call.name, r.Raw)
		}
	}
	// A fresh OTP for the applicant (the wrong guess may have used one of
	// its tries), then an unusable and a good upload.
	r, err := c.do(ctx, http.MethodGet, b.URL+"/api/dev/otp/"+mobileOf(a), "", nil, true)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r, err = c.postJSON(ctx, b.URL+"/api/otp/confirm", map[string]string{"national_id": a, "code": r.str("code")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r, err = c.postJSON(ctx, b.URL+"/api/sessions", applicantBody(a))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	r, err = c.upload(ctx, b.URL, r.str("session_id"), []byte("<html><body>"+a+" "+mobileOf(a)+"</body></html>"))
	require.NoError(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Raw)
	r, err = c.postJSON(ctx, b.URL+"/api/sessions", applicantBody(a))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	r, err = c.upload(ctx, b.URL, r.str("session_id"), videoBytes(t, kyctest.VideoSpec{Behaviour: kyctest.Live, Face: a}))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Equal(t, string(kyc.Approved), r.str("outcome"))
	for _, path := range []string{"/api/status/" + a, "/api/status/" + url.PathEscape(persianDigits(a)), "/api/status/" + unknown} {
		r, err = c.do(ctx, http.MethodGet, b.URL+path, "", nil, false)
		require.NoError(t, err)
		require.Less(t, r.Status, 500, "%s: %s", path, r.Raw)
	}
	r, err = c.do(ctx, http.MethodGet, b.URL+"/api/reviews", "", nil, true)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	metrics, err := c.do(ctx, http.MethodGet, b.URL+"/metrics", "", nil, false)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, metrics.Status)
	require.Contains(t, string(metrics.Raw), "hoviyat_decisions_total", "metrics exported")

	b.stop(t)
	logs := b.logs.String()
	require.NotEmpty(t, logs)
	var secrets []string
	for _, id := range ids {
		m := mobileOf(id)
		secrets = append(secrets, id, persianDigits(id), m, persianDigits(m), m[1:], "98"+m[1:])
	}
	// In the metrics, digit runs are only suspicious in label values
	// (sample values are floats such as 1.8446744073709552e+19).
	labels := strings.Join(metricLabels.FindAllString(string(metrics.Raw), -1), "\n")
	require.Contains(t, labels, "outcome=", "the metrics have labels to check")
	for name, text := range map[string]string{"logs": logs, "metrics": string(metrics.Raw), "metric labels": labels} {
		for _, s := range secrets {
			assert.NotContains(t, text, s, "%s expose an identifier", name)
		}
		if name == "metrics" {
			continue
		}
		for _, run := range longDigitRun.FindAllString(randomID.ReplaceAllString(text, "<id>"), -1) {
			t.Errorf("%s: a run of %d digits: %q", name, len([]rune(run)), run)
		}
	}
	assert.Contains(t, logs, registry.NationalID(a).Masked(), "the logs name the applicant, masked")
	lines := strings.Count(logs, "\n")
	figures(t, "security_masking", "log_lines", lines, "log_bytes", len(logs), "metrics_bytes", len(metrics.Raw),
		"identifiers_searched", len(secrets), "found", 0)
}

// TestBrokerageRateLimits: the per-IP bucket stops a burst from one
// client (an untrusted X-Forwarded-For does not get around it), and the
// per-national-ID bucket stops requests about one applicant while others
// go through; refusals are 429 with Retry-After and are counted in
// /metrics.
func TestBrokerageRateLimits(t *testing.T) {
	ctx := context.Background()
	ids := nids(2)
	reg := writeRegistryDir(t, ids)
	common := []string{"-vision", "fake", "-registry", "memory:" + reg, "-geoip", "dev", "-vault-keys", vaultKeySpec(t), "-log-level", "warn"}
	c := newAPIClient("")

	perIP := startBrokerage(t, append([]string{"-ip-rate", "1", "-ip-burst", "5", "-id-rate", "0", "-data", t.TempDir()}, common...)...)
	const burst = 20
	ok, limited := 0, 0
	start := time.Now()
	for i := range burst {
		body, err := jsonBody(applicantBody(ids[i%2]))
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, perIP.URL+"/api/inquiry", body)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("5.160.0.%d", i+1)) // not a trusted proxy: ignored
		resp, err := c.hc.Do(req)
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			assert.Contains(t, string(raw), `"rate_limited"`)
		default:
			t.Errorf("inquiry %d: %d %s", i, resp.StatusCode, raw)
		}
	}
	elapsed := time.Since(start)
	maxOK := 5 + int(elapsed.Seconds()) + 1
	assert.LessOrEqual(t, ok, maxOK, "per-IP burst")
	assert.GreaterOrEqual(t, ok, 5)
	assert.Positive(t, limited)
	m, err := c.do(ctx, http.MethodGet, perIP.URL+"/metrics", "", nil, false)
	require.NoError(t, err)
	assert.Regexp(t, `hoviyat_rate_limited_total\{[^}]*\} [1-9]`, string(m.Raw))

	perID := startBrokerage(t, append([]string{"-ip-rate", "0", "-id-rate", "0.1", "-id-burst", "3", "-data", t.TempDir()}, common...)...)
	okA, limitedA := 0, 0
	for range 10 {
		r, err := c.postJSON(ctx, perID.URL+"/api/inquiry", applicantBody(ids[0]))
		require.NoError(t, err)
		switch r.Status {
		case http.StatusOK:
			okA++
		case http.StatusTooManyRequests:
			limitedA++
		default:
			t.Errorf("inquiry: %d %s", r.Status, r.Raw)
		}
	}
	assert.LessOrEqual(t, okA, 4, "per-ID burst of 3")
	assert.Positive(t, limitedA)
	r, err := c.postJSON(ctx, perID.URL+"/api/inquiry", applicantBody(ids[1]))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, r.Status, "another applicant is not limited: %s", r.Raw)
	figures(t, "security_rate_limits", "ip_requests", burst, "ip_ok", ok, "ip_429", limited, "ip_window", elapsed,
		"id_requests", 10, "id_ok", okA, "id_429", limitedA)
}

func jsonBody(v any) (io.Reader, error) {
	var buf bytes.Buffer
	err := jsonEncode(&buf, v)
	return &buf, err
}

// TestBrokerageUploadCap: uploads over -max-upload are refused with 413,
// whether they announce their length or stream it (chunked), and the
// spool is left empty; the session can still be used.
func TestBrokerageUploadCap(t *testing.T) {
	ctx := context.Background()
	ids := nids(1)
	reg := writeRegistryDir(t, ids)
	token := "reliability-operator-token"
	data := t.TempDir()
	b := startBrokerage(t, "-vision", "fake", "-registry", "memory:"+reg, "-geoip", "dev", "-ip-rate", "0", "-id-rate", "0",
		"-operator-token", token, "-data", data, "-vault-keys", vaultKeySpec(t), "-log-level", "warn", "-max-upload", "64KiB")
	c := newAPIClient(token)
	require.NoError(t, c.confirmOTP(ctx, b.URL, b.URL, ids[0]))
	r, err := c.postJSON(ctx, b.URL+"/api/sessions", applicantBody(ids[0]))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	sid := r.str("session_id")
	big := bytes.Repeat([]byte{0x1a, 0x45, 0xdf, 0xa3}, 256<<10) // 1 MiB starting like WebM

	// Announced length.
	start := time.Now()
	r, err = c.upload(ctx, b.URL, sid, big)
	announced := time.Since(start)
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.Status, "%s", r.Raw)

	// Streamed (chunked, no Content-Length).
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("video", "selfie.webm")
		if err == nil {
			_, err = fw.Write(big)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.URL+"/api/sessions/"+sid+"/video", pr)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	start = time.Now()
	resp, err := c.hc.Do(req)
	streamed := time.Since(start)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s", raw)
	pr.CloseWithError(io.ErrClosedPipe)

	left, err := os.ReadDir(filepath.Join(data, "spool"))
	require.NoError(t, err)
	assert.Empty(t, left, "spool left behind")
	r, err = c.upload(ctx, b.URL, sid, videoBytes(t, kyctest.VideoSpec{Behaviour: kyctest.Live, Face: ids[0]}))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, r.Status, "the session survives refused uploads: %s", r.Raw)
	figures(t, "security_http_upload_cap", "cap", "64KiB", "upload", "1MiB", "announced_refused_in", announced,
		"streamed_refused_in", streamed)
}

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }
