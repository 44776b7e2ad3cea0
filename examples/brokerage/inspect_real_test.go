package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/internal/inspect"
	"github.com/hoviyat/hoviyat/registry"
)

// realNeeds returns $HOVIYAT_MODELS, skipping the test outside CI when the
// models or the media are missing and failing it in CI.
func realNeeds(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("real pipeline skipped with -short")
	}
	for _, env := range []string{"HOVIYAT_DATA", "HOVIYAT_MODELS"} {
		if d := os.Getenv(env); d == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("$%s is not set (CI=true: not skipping)", env)
			}
			t.Skipf("$%s not set", env)
		}
	}
	return os.Getenv("HOVIYAT_MODELS")
}

// TestInspectRealPipeline: a genuine clip uploaded for a person whose
// registry record has no photo goes to review; the review queue links to
// its pictures, which the real detector draws from the vault's copy.
func TestInspectRealPipeline(t *testing.T) {
	models := realNeeds(t)
	const (
		nid    = "0499370899"
		mobile = "09121234567"
		token  = "op-token"
	)
	reg := writeRegistry(t, record(nid, "سارا", "احمدی", "1368/07/22", mobile, "", ""))
	srv := startE2EServer(t, Options{Vision: "real", Registry: "memory:" + reg, ModelsDir: models, OperatorToken: token})
	c := client{t: t, base: srv.URL}

	a := map[string]string{"national_id": nid, "birth_date": "1368/07/22", "mobile": mobile}
	st, _ := c.json("POST", "/api/otp", a, "")
	require.Equal(t, http.StatusOK, st)
	st, _ = c.json("POST", "/api/otp/confirm", map[string]any{"national_id": nid, "code": srv.app.OTP.LastCode(registry.Mobile(mobile))}, "")
	require.Equal(t, http.StatusOK, st)
	st, ses := c.json("POST", "/api/sessions", a, "")
	require.Equal(t, http.StatusCreated, st)

	clip, err := os.Open(dataFile(t, "videos/genuine/g24_retalking_aoc_talking.mp4"))
	require.NoError(t, err)
	defer clip.Close()
	body, ct := multipartBody(t, "video", clip)
	resp, err := http.Post(srv.URL+ses["upload_url"].(string), ct, body)
	require.NoError(t, err)
	var d decisionJSON
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&d))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "review", string(d.Outcome), "live, but no registry photo to match: review")

	st, q := c.json("GET", "/api/reviews", nil, token)
	require.Equal(t, http.StatusOK, st)
	reviews := q["reviews"].([]any)
	require.Len(t, reviews, 1)
	link, _ := reviews[0].(map[string]any)["inspect_url"].(string)
	require.Equal(t, "/api/reviews/"+d.AttemptID+"/inspect", link)

	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, b
	}
	resp, b := get(link)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	assert.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	sheet := decodePNG(t, b)
	assert.Equal(t, inspect.SheetWidth, sheet.Bounds().Dx())
	assert.Greater(t, sheet.Bounds().Dy(), 1500, "a header and 16 frames")

	resp, b = get(link + "?plot=timeline")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 1152, decodePNG(t, b).Bounds().Dx())

	resp, b = get(link + "?plot=data")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc inspect.Document
	require.NoError(t, json.NewDecoder(bytes.NewReader(b)).Decode(&doc))
	assert.Equal(t, "live", doc.Liveness.Verdict, "the re-run gives the decision's verdict")
	assert.Equal(t, ses["challenge"], doc.Challenge, "judged against the session's challenge")
	require.NotNil(t, doc.Decision)
	assert.Equal(t, "review", doc.Decision.Outcome)
	faces := 0
	for _, f := range doc.Frames {
		if len(f.Faces) > 0 {
			faces++
		}
	}
	assert.Greater(t, faces, len(doc.Frames)*9/10, "the face is found on the frames")
}
