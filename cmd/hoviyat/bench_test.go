package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hoviyat/hoviyat/liveness"
)

var (
	clipOnce sync.Once
	clipPath string
	clipErr  error
)

// benchClip is the bench clip of docs/bench/cli.md: the first 5 s of g06
// (a 720x1280 portrait phone selfie at 30 fps), re-encoded with libx264.
func benchClip(tb testing.TB, data string) string {
	tb.Helper()
	clipOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hoviyat-bench-")
		if err != nil {
			clipErr = err
			return
		}
		clipPath = filepath.Join(dir, "g06_5s_720p.mp4")
		out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-t", "5",
			"-i", filepath.Join(data, "videos/genuine/g06_phone_selfie_glasses_talking_blinks.mp4"),
			"-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-an",
			"-movflags", "+faststart", clipPath).CombinedOutput()
		if err != nil {
			clipErr = err
			clipPath = string(out)
		}
	})
	if clipErr != nil {
		tb.Fatalf("ffmpeg: %v: %s", clipErr, clipPath)
	}
	return clipPath
}

func benchEnv(b *testing.B) (data, models string) {
	b.Helper()
	data, models = os.Getenv("HOVIYAT_DATA"), os.Getenv("HOVIYAT_MODELS")
	if data == "" || models == "" {
		if os.Getenv("CI") == "true" {
			b.Fatal("HOVIYAT_DATA and HOVIYAT_MODELS must be set in CI")
		}
		b.Skip("HOVIYAT_DATA or HOVIYAT_MODELS not set")
	}
	return data, models
}

// BenchmarkDecodeOnly720p probes and decodes every frame of the 5 s 720p
// bench clip: the floor the end-to-end time is compared with.
func BenchmarkDecodeOnly720p(b *testing.B) {
	data, _ := benchEnv(b)
	clip := benchClip(b, data)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := decodeAll(ctx, clip); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEndToEnd720p runs Detect, Compare and Decide on the bench clip
// against a still of the same person, as `hoviyat verify` does.
func BenchmarkEndToEnd720p(b *testing.B) {
	data, models := benchEnv(b)
	clip := benchClip(b, data)
	eng, err := newEngine(models)
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	ref, err := loadReference(g06Still(b, data))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := eng.verify(ctx, clip, ref, liveness.Challenge{}, verifyOptions{}); err != nil {
		b.Fatal(err) // warm-up
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := eng.verify(ctx, clip, ref, liveness.Challenge{}, verifyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(peakRSSMB(), "peakRSS-MB")
}
