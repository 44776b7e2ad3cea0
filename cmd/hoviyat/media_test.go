package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/internal/eval"
)

// needMedia returns $HOVIYAT_DATA and $HOVIYAT_MODELS, skipping outside CI
// when either is unset and failing in CI.
func needMedia(t *testing.T) (data, models string) {
	t.Helper()
	data, models = os.Getenv("HOVIYAT_DATA"), os.Getenv("HOVIYAT_MODELS")
	if data == "" || models == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HOVIYAT_DATA and HOVIYAT_MODELS must be set in CI")
		}
		t.Skip("HOVIYAT_DATA or HOVIYAT_MODELS not set")
	}
	return data, models
}

var (
	stillOnce sync.Once
	stillPath string
	stillErr  error
)

// g06Still is a reference photo of g06's person: its frame at 0.5 s.
func g06Still(t testing.TB, data string) string {
	t.Helper()
	stillOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hoviyat-cli-test-")
		if err != nil {
			stillErr = err
			return
		}
		stillPath = filepath.Join(dir, "g06.jpg")
		out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-ss", "0.5",
			"-i", filepath.Join(data, "videos/genuine/g06_phone_selfie_glasses_talking_blinks.mp4"),
			"-frames:v", "1", "-q:v", "2", stillPath).CombinedOutput()
		if err != nil {
			stillErr = err
			stillPath = string(out)
		}
	})
	require.NoError(t, stillErr, "ffmpeg: %s", stillPath)
	return stillPath
}

func TestVerifyJSONOnRealMedia(t *testing.T) {
	data, models := needMedia(t)
	photo := g06Still(t, data)
	clip := func(rel string) string { return filepath.Join(data, "videos", rel) }
	empty := filepath.Join(t.TempDir(), "empty.mp4")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	html := clip("negative/n06_corrupt_html_named_avi.avi")

	tests := []struct {
		name    string
		video   string
		photo   string
		models  string
		exit    int
		errCode string // when exit is 1
	}{
		{"genuine g06", clip("genuine/g06_phone_selfie_glasses_talking_blinks.mp4"), photo, models, exitOK, ""},
		{"genuine g24 rotation-free mp4", clip("genuine/g24_retalking_aoc_talking.mp4"), photo, models, exitOK, ""},
		{"n06 HTML named .avi", html, photo, models, exitFail, "video_invalid"},
		{"n05 0.2 s", clip("negative/n05_too_short_0.2s_tv_scene.mp4"), photo, models, exitFail, "video_too_short"},
		{"empty file", empty, photo, models, exitFail, "video_invalid"},
		{"missing video", filepath.Join(t.TempDir(), "nope.mp4"), photo, models, exitFail, "video_invalid"},
		{"photo is HTML", clip("genuine/g06_phone_selfie_glasses_talking_blinks.mp4"), html, models, exitFail, "photo_invalid"},
		{"models missing", clip("genuine/g06_phone_selfie_glasses_talking_blinks.mp4"), photo, t.TempDir(), exitFail, "models_missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := call(t, "verify", "--video", tc.video, "--photo", tc.photo, "--models", tc.models, "--json")
			require.Equal(t, tc.exit, code, "stdout %s stderr %s", out, errs)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			require.Len(t, lines, 1, "--json prints exactly one object")
			var obj map[string]json.RawMessage
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &obj), out)
			if tc.exit == exitFail {
				var e errorJSON
				require.NoError(t, json.Unmarshal([]byte(lines[0]), &e))
				assert.Equal(t, tc.errCode, e.Error.Code, e.Error.Message)
				assert.NotEmpty(t, e.Error.Message)
				assert.Len(t, obj, 1, "an error object has only the error key")
				return
			}
			for _, k := range []string{"outcome", "reasons", "liveness", "match", "quality", "timings_ms"} {
				assert.Contains(t, obj, k)
			}
			var v verifyJSON
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &v))
			assert.Contains(t, []string{"approved", "rejected", "review"}, v.Outcome)
			assert.NotNil(t, v.Reasons, "reasons is an array, never null")
			assert.GreaterOrEqual(t, v.Liveness.Score, 0.0)
			assert.LessOrEqual(t, v.Liveness.Score, 1.0)
			assert.Equal(t, v.Outcome == "approved", v.Liveness.Live && v.Match != nil && v.Match.Same && len(v.Reasons) == 0,
				"approved exactly when live, matched and no reason")
			assert.Positive(t, v.TimingsMS["total"])
			assert.Contains(t, v.TimingsMS, "liveness")
			assert.NotEmpty(t, v.Quality)
		})
	}
}

func TestVerifySummaryOnRealMedia(t *testing.T) {
	data, models := needMedia(t)
	photo := g06Still(t, data)
	code, out, errs := call(t, "verify", "--video", filepath.Join(data, "videos/genuine/g06_phone_selfie_glasses_talking_blinks.mp4"),
		"--photo", photo, "--models", models)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "Outcome: ")
	assert.Contains(t, out, "Liveness: ")
	assert.Contains(t, out, "Timings: ")
	assert.Contains(t, errs, "analysing video", "progress goes to stderr")

	code, _, errs = call(t, "verify", "--video", filepath.Join(data, "videos/negative/n06_corrupt_html_named_avi.avi"),
		"--photo", photo, "--models", models)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, errs, "video_invalid")
	assert.Contains(t, errs, "could not be read", "the catalogue's English message")
}

func TestBenchOnRealMedia(t *testing.T) {
	data, models := needMedia(t)
	code, out, errs := call(t, "bench", "--video", filepath.Join(data, "videos/genuine/g10_studio_greenscreen_eye_movements.mp4"),
		"--runs", "2", "--models", models, "--json")
	require.Equal(t, exitOK, code, errs)
	var b benchJSON
	require.NoError(t, json.Unmarshal([]byte(out), &b), out)
	assert.Equal(t, 2, b.DecodeMS.N)
	assert.Equal(t, 2, b.EndToEndMS.N)
	assert.Positive(t, b.DecodeMS.Median)
	assert.Less(t, b.ProbeMS.Median, b.DecodeMS.Median, "the probe is part of decode-only")
	assert.Greater(t, b.EndToEndMS.Median, b.DecodeMS.Median*0.5, "end-to-end includes decoding")
	assert.InDelta(t, b.EndToEndMS.Median/b.DecodeMS.Median, b.Ratio, 1e-9)
	assert.Positive(t, b.PerMinute)
	assert.Equal(t, 2, b.E2ECPUMS.N)
	assert.Positive(t, b.E2ECPUMS.Median)
	assert.Positive(t, b.DecodeCPUMS.Median)
	assert.Positive(t, b.PeakRSSMB)
	assert.Positive(t, b.FramesRead)
	assert.Equal(t, 512, b.Width)
}

// TestEvalRobustnessSets runs the evaluation on the negative clips and the
// malformed inputs only (fast): every one must give a decision or a typed
// error, with no panic and no timeout, and the report must be written.
func TestEvalRobustnessSets(t *testing.T) {
	data, models := needMedia(t)
	out := t.TempDir()
	code, stdout, errs := call(t, "eval", "--data", data, "--models", models, "--out", out,
		"--labels", "../../testdata/eval/clips.tsv", "--sets", "negative,malformed")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, stdout, "report.md")
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	var rep eval.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Len(t, rep.Clips, 10, "5 negative clips and 5 malformed inputs")
	for _, c := range rep.Clips {
		assert.False(t, c.Panicked, c.ID)
		assert.False(t, c.TimedOut, c.ID)
		assert.NotEqual(t, eval.Approved, c.Outcome, c.ID)
		if c.Outcome == eval.Error {
			assert.NotEqual(t, codeInternal, c.ErrorCode, "%s: untyped error %s", c.ID, c.Error)
		} else {
			assert.NotEmpty(t, c.Reasons, "%s: a rejection names its reasons", c.ID)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "## Acceptance")
}
