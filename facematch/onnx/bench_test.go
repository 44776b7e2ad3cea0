package onnx

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/vision"
)

func benchFixture(b *testing.B, cfg Config) (*Matcher, []facematch.Probe, []byte) {
	models := envDir(b, "HOVIYAT_MODELS")
	data := envDir(b, "HOVIYAT_DATA")
	cfg.ModelsDir = models
	m, err := New(cfg)
	require.NoError(b, err)
	b.Cleanup(func() { _ = m.Close() })
	det, err := vision.NewFaceDetector(vision.FaceDetectorConfig{ModelPath: filepath.Join(models, vision.YuNetFile)})
	require.NoError(b, err)
	defer det.Close()
	probes := videoProbes(b, det, clipPath(b, data, "g21"), 30, 10, 3)
	return m, probes, stillJPEG(b, clipPath(b, data, "g24"), 10)
}

// BenchmarkEmbed is one embedding of an aligned 112x112 crop
// (pre-processing + MobileFaceNet forward).
func BenchmarkEmbed(b *testing.B) {
	m, probes, _ := benchFixture(b, Config{Workers: 1})
	w := <-m.pool
	defer func() { m.pool <- w }()
	mat, err := vision.ImageToMat(probes[0].Image)
	require.NoError(b, err)
	defer mat.Close()
	aligned, err := vision.AlignFace(mat, probes[0].Landmarks, w.tpl)
	require.NoError(b, err)
	defer aligned.Close()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := w.embedAligned(aligned); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkCompare is a full Compare of K=3 probes (image conversion,
// alignment, embedding, fusion) with the reference template cached, and
// uncached (the 590x590 still decoded, detected and embedded each time).
func BenchmarkCompare(b *testing.B) {
	m, probes, still := benchFixture(b, Config{Workers: 1, MaxProbes: 3, TopK: 3})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		key  string
	}{{"K3-cached", "g24"}, {"K3-uncached", ""}} {
		b.Run(tc.name, func(b *testing.B) {
			ref := facematch.Reference{Key: tc.key, Photo: still}
			_, err := m.Compare(ctx, probes, ref) // fill the cache
			require.NoError(b, err)
			b.ResetTimer()
			start := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := m.Compare(ctx, probes, ref); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}

// cpuTime is the process's user+system CPU time; benchmarks report it per
// op ("cpu-ns/op") because wall time is noisy on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
