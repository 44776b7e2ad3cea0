package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/reason"
)

// TestBrowserRealPipeline is issue 4's acceptance test: real Chromium
// records from a fake camera fed with a genuine clip, the page uploads
// the WebM, and the real vision pipeline (liveness/cv, facematch/onnx)
// decides against a registry photo of the same person taken from another
// clip of her: approved. A second applicant "records" a photo-replay
// attack (a still of the same person, slowly zoomed): rejected.
func TestBrowserRealPipeline(t *testing.T) {
	chromium := e2eNeeds(t, true)
	shots := artifactDir(t)
	media := t.TempDir()
	start := time.Now()

	// The applicant's clip (g24) and her registry photo: a still from a
	// different clip of the same woman (g21).
	clip := dataFile(t, "videos/genuine/g24_retalking_aoc_talking.mp4")
	photo := still(t, media, dataFile(t, "videos/genuine/g21_hdtf_aoc_talking.mp4"), 4.0, "registry-photo.jpg")
	genuine := clipY4M(t, media, clip, 0, 5, 480, true)
	// The attack: a still of her from the applicant's own clip, held up
	// to the camera with a slight zoom.
	replay := photoReplayY4M(t, media, still(t, media, clip, 2.5, "replay-still.jpg"), 10, 480)
	t.Logf("media ready in %v", time.Since(start).Round(time.Millisecond))

	reg := writeRegistry(t,
		record("0499370899", "الکساندریا", "اوکاسیو", "1368/07/22", "09121234567", photo, ""),
		record("0790419904", "Alexandria", "Ocasio", "1368/07/22", "09191234567", photo, ""),
	)
	vision := "real"
	if v := os.Getenv("HOVIYAT_E2E_VISION"); v != "" {
		vision = v // development only: "fake" to try the media path without models
	}
	srv := startE2EServer(t, Options{Vision: vision, Registry: "memory:" + reg, ModelsDir: os.Getenv("HOVIYAT_MODELS")})

	t.Run("genuine applicant is approved", func(t *testing.T) {
		ctx := browser(t, chromium, genuine)
		run := pageRun{lang: "fa", nationalID: "0499370899", birth: [3]string{"1368", "07", "22"}, mobile: "09121234567",
			otp: srv.app.OTP, shots: shots, prefix: "fa-genuine", decisionMax: 120 * time.Second}
		res := run.walk(t, ctx, srv.URL)
		t.Logf("genuine: outcome %s reasons %v, %v", res.outcome, res.reasons, res.elapsed)
		st, err := srv.app.Verifier.Status(context.Background(), "0499370899")
		require.NoError(t, err)
		require.NotNil(t, st.Last, "the server decided")
		t.Logf("genuine: liveness %+v match %+v", st.Last.Liveness, st.Last.Match)
		assert.Equal(t, "approved", res.outcome)
		assert.Empty(t, res.reasons)
		assert.Equal(t, kyc.StateVerified, st.State)
		assert.Equal(t, kyc.Approved, st.Last.Outcome)
		require.NotNil(t, st.Last.Liveness)
		assert.Equal(t, "live", st.Last.Liveness.Verdict)
		require.NotNil(t, st.Last.Match, "the face was matched against the registry photo")
		assert.Equal(t, "match", st.Last.Match.Decision)
		assert.GreaterOrEqual(t, st.Last.Match.Similarity, st.Last.Match.Threshold)
		copyScreenshot(t, res.shots["1-form"], "page-fa-form.png")
		copyScreenshot(t, res.shots["3-otp"], "page-fa-otp.png")
		copyScreenshot(t, res.shots["6-analysing"], "page-fa-analysing.png")
		copyScreenshot(t, res.shots["7-decision"], "page-fa-decision-approved.png")
	})

	t.Run("photo replay is rejected", func(t *testing.T) {
		ctx := browser(t, chromium, replay)
		run := pageRun{lang: "en", nationalID: "0790419904", birth: [3]string{"1368", "7", "22"}, mobile: "09191234567",
			otp: srv.app.OTP, shots: shots, prefix: "en-replay", decisionMax: 120 * time.Second}
		res := run.walk(t, ctx, srv.URL)
		t.Logf("replay: outcome %s reasons %v, %v", res.outcome, res.reasons, res.elapsed)
		st, err := srv.app.Verifier.Status(context.Background(), "0790419904")
		require.NoError(t, err)
		require.NotNil(t, st.Last, "the server decided")
		t.Logf("replay: liveness %+v match %+v", st.Last.Liveness, st.Last.Match)
		assert.Equal(t, "rejected", res.outcome)
		assert.NotEqual(t, kyc.StateVerified, st.State)
		assert.Equal(t, 1, st.AttemptsUsed, "a rejection counts as an upload")
		// The page shows the server's reasons; a replayed photo fails on
		// liveness (not on the face, which is the right person's).
		got := make([]string, 0, len(st.Last.Reasons))
		for _, r := range st.Last.Reasons {
			got = append(got, string(r))
			assert.Contains(t, []reason.Kind{reason.KindLiveness, reason.KindQuality}, r.Kind(), "reason %s", r)
		}
		assert.Equal(t, got, res.reasons)
		require.NotNil(t, st.Last.Liveness)
		assert.NotEqual(t, "live", st.Last.Liveness.Verdict)
		copyScreenshot(t, res.shots["1-form"], "page-en-form.png")
		copyScreenshot(t, res.shots["7-decision"], "page-en-decision-rejected.png")
	})
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}
