package vision

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"
)

// asBenchFrame returns a 720p frame (g06, a 720x1280 phone selfie, at 1 s)
// and its face.
func asBenchFrame(b *testing.B) (gocv.Mat, Face) {
	b.Helper()
	d := asNewDetector(b)
	vc, err := gocv.VideoCaptureFile(filepath.Join(asData(b), "videos", "genuine", "g06_phone_selfie_glasses_talking_blinks.mp4"))
	require.NoError(b, err)
	defer vc.Close()
	frame := gocv.NewMat()
	for i := 0; i < 30; i++ {
		require.True(b, vc.Read(&frame))
	}
	require.Equal(b, 720*1280, frame.Rows()*frame.Cols())
	f, ok := asLargestFace(b, d, frame)
	require.True(b, ok)
	return frame, f
}

// BenchmarkAntiSpoofScore: both MiniFASNet models on one face of a 720p frame.
func BenchmarkAntiSpoofScore(b *testing.B) {
	a := asNewAntiSpoof(b)
	frame, f := asBenchFrame(b)
	defer frame.Close()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		if _, err := a.Score(frame, f.Box); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// BenchmarkMeasureReplayCues: all replay cues of one face of a 720p frame.
func BenchmarkMeasureReplayCues(b *testing.B) {
	frame, f := asBenchFrame(b)
	defer frame.Close()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		if _, err := MeasureReplayCues(frame, f); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// cpuClock measures the process's user+system CPU time (all threads,
// OpenCV's included), which on a loaded shared machine says more about the
// cost than wall time.
type cpuClock struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{start: processCPU()} }

func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-c.start)/float64(b.N), "cpu-ns/op")
}
