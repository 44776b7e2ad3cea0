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

// TestDetectMatLeaks runs whole Detects (judged, refused, cancelled) and
// checks every Mat is closed again once the Detector is closed.
// Run with: go test -tags matprofile -run MatLeaks ./liveness/cv/
func TestDetectMatLeaks(t *testing.T) {
	start := gocv.MatProfile.Count()
	func() {
		d, err := New(Config{ModelsDir: cvModels(t), Workers: 1})
		require.NoError(t, err)
		defer d.Close()
		ctx := context.Background()
		for _, id := range []string{"g05", "g02", "a01", "n05"} {
			_, _ = d.Detect(ctx, fileVideo(t, cvClip(t, id)), readChallenge)
		}
		b, err := os.ReadFile(cvClip(t, "g16"))
		require.NoError(t, err)
		_, err = d.Detect(ctx, readerOnly{b}, liveness.Challenge{})
		require.NoError(t, err)
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err = d.Detect(cctx, fileVideo(t, cvClip(t, "g01")), liveness.Challenge{})
		require.Error(t, err)
	}()
	assert.Equal(t, start, gocv.MatProfile.Count(), "Mats leaked")
}
