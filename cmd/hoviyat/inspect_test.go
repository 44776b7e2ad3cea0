package main

import (
	"encoding/json"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/internal/inspect"
)

func TestInspectUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		exit int
		err  string
	}{
		{"no flags", nil, exitUsage, "--video and --out are required"},
		{"no out", []string{"--video", "v.mp4"}, exitUsage, "--video and --out are required"},
		{"stray argument", []string{"--video", "v.mp4", "--out", dir, "extra"}, exitUsage, "required"},
		{"bad head turn", []string{"--video", "v.mp4", "--out", dir, "--head-turn", "up"}, exitUsage, "want left or right"},
		{"too many frames", []string{"--video", "v.mp4", "--out", dir, "--frames", "49"}, exitUsage, "--frames"},
		{"unknown flag", []string{"--video", "v.mp4", "--out", dir, "--nope"}, exitUsage, "flag provided but not defined"},
		{"help", []string{"-h"}, exitOK, "--redact"},
		{"missing video", []string{"--video", filepath.Join(dir, "nope.mp4"), "--out", dir, "--models", dir}, exitFail, "video_invalid"},
		{"missing photo", []string{"--video", "v.mp4", "--photo", filepath.Join(dir, "nope.jpg"), "--out", dir}, exitFail, "photo_invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := call(t, append([]string{"inspect"}, tc.args...)...)
			assert.Equal(t, tc.exit, code, "stdout %s stderr %s", out, errs)
			assert.Contains(t, errs, tc.err)
			if code != exitOK {
				assert.Empty(t, out, "nothing on stdout without pictures")
			}
		})
	}
}

// TestInspectOnRealMedia runs the real pipeline: a genuine clip against a
// photo of the same person (decided, pictures redacted), a still photo
// made into a video without a photo (liveness only), and a file that is
// not a video (no pictures, exit 1).
func TestInspectOnRealMedia(t *testing.T) {
	data, models := needMedia(t)
	photo := g06Still(t, data)
	genuine := filepath.Join(data, "videos/genuine/g06_phone_selfie_glasses_talking_blinks.mp4")
	still := filepath.Join(t.TempDir(), "still.mp4")
	out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-loop", "1", "-i", photo, "-t", "3",
		"-r", "25", "-pix_fmt", "yuv420p", "-vf", "scale=360:-2", still).CombinedOutput()
	require.NoError(t, err, "ffmpeg: %s", out)

	t.Run("genuine with photo", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		code, stdout, stderr := call(t, "inspect", "--video", genuine, "--photo", photo, "--challenge", "۴۷۱۹ سیب",
			"--out", dir, "--models", models, "--redact", "--frames", "8")
		require.Equal(t, exitOK, code, stderr)
		paths := strings.Fields(stdout)
		require.Equal(t, []string{filepath.Join(dir, inspectSheet), filepath.Join(dir, inspectTimeline), filepath.Join(dir, inspectJSON)}, paths)
		for _, p := range paths {
			fi, err := os.Stat(p)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s shows faces: private", p)
		}
		sheet := decodePNG(t, paths[0])
		assert.Equal(t, inspect.SheetWidth, sheet.Dx())
		assert.Greater(t, sheet.Dy(), 1000)
		tl := decodePNG(t, paths[1])
		assert.Equal(t, 1152, tl.Dx())

		doc := readDoc(t, paths[2])
		require.NotNil(t, doc.Decision, "a photo was given: decided")
		assert.Contains(t, []string{"approved", "review"}, doc.Decision.Outcome, "the genuine clip is not rejected")
		assert.Equal(t, "۴۷۱۹ سیب", doc.Challenge)
		assert.Equal(t, "live", doc.Liveness.Verdict)
		require.NotEmpty(t, doc.Frames)
		probes, pictured := 0, 0
		for _, f := range doc.Frames {
			if f.Probe > 0 {
				probes++
				require.NotEmpty(t, f.Faces)
			}
			if f.Pictured {
				pictured++
			}
		}
		assert.Positive(t, probes)
		assert.Equal(t, 8, pictured)
		assert.NotEmpty(t, doc.Activity)
	})

	t.Run("photo video without photo", func(t *testing.T) {
		dir := t.TempDir()
		code, stdout, stderr := call(t, "inspect", "--video", still, "--out", dir, "--models", models)
		require.Equal(t, exitOK, code, stderr)
		assert.Len(t, strings.Fields(stdout), 3)
		doc := readDoc(t, filepath.Join(dir, inspectJSON))
		assert.Nil(t, doc.Decision, "no photo: no decision")
		assert.NotEqual(t, "live", doc.Liveness.Verdict, "a still photo is not live")
		assert.Contains(t, stderr, "liveness:")
	})

	t.Run("not a video", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		code, stdout, stderr := call(t, "inspect", "--video", filepath.Join(data, "videos/negative/n06_corrupt_html_named_avi.avi"),
			"--out", dir, "--models", models)
		assert.Equal(t, exitFail, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "video_invalid")
		_, err := os.Stat(filepath.Join(dir, inspectSheet))
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
}

func decodePNG(t *testing.T, path string) image.Rectangle {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img.Bounds()
}

func readDoc(t *testing.T, path string) inspect.Document {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc inspect.Document
	require.NoError(t, json.Unmarshal(b, &doc))
	return doc
}
