//go:build matprofile

package cv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/liveness"
)

// TestTraceMatLeaks runs Traces (a rotated phone clip, a video given as a
// reader, a refused one and a cancelled one) and checks every Mat is
// closed again once the Detector is closed.
// Run with: go test -tags matprofile -run MatLeaks ./liveness/cv/
func TestTraceMatLeaks(t *testing.T) {
	start := gocv.MatProfile.Count()
	func() {
		d, err := New(Config{ModelsDir: cvModels(t), Workers: 1})
		require.NoError(t, err)
		defer d.Close()
		ctx := context.Background()
		for _, id := range []string{"g05", "n05"} {
			_, _, _ = d.Trace(ctx, fileVideo(t, cvClip(t, id)), readChallenge, TraceConfig{})
		}
		b, err := os.ReadFile(cvClip(t, "g16"))
		require.NoError(t, err)
		_, tr, err := d.Trace(ctx, readerOnly{b}, liveness.Challenge{}, TraceConfig{Images: 4, ImageSide: 100})
		require.NoError(t, err)
		assert.NotEmpty(t, tr.Frames)
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, _, err = d.Trace(cctx, fileVideo(t, cvClip(t, "g01")), liveness.Challenge{}, TraceConfig{})
		require.Error(t, err)
	}()
	assert.Equal(t, start, gocv.MatProfile.Count(), "Mats leaked")
}
