//go:build matprofile

package vision

import (
	"context"
	"errors"
	"image"
	"image/color"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"
)

// TestIngestMatLeaks decodes (with rotation and thumbnails) and measures
// clips, including a tilted face and a face-less frame, and an early stop,
// and checks every Mat is closed again.
// Run with: go test -tags matprofile -run MatLeaks ./internal/vision/
func TestIngestMatLeaks(t *testing.T) {
	start := gocv.MatProfile.Count()
	func() {
		m := newTestMeasurer(t)
		defer m.Close()
		for _, id := range []string{"g05", "g04", "g16"} {
			p := ingestClip(t, id)
			ctx := context.Background()
			info, err := Probe(ctx, p, Limits{})
			require.NoError(t, err)
			d, err := NewDecoder(p, info, DecodeOptions{Interval: 300 * time.Millisecond, ThumbSize: DefaultThumbSize})
			require.NoError(t, err)
			n := 0
			for {
				f, err := d.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				if n == 3 {
					// A tilted copy exercises the upright re-detection.
					rot := gocv.GetRotationMatrix2D(image.Pt(f.Mat.Cols()/2, f.Mat.Rows()/2), 35, 1)
					tilted := gocv.NewMat()
					gocv.WarpAffineWithParams(f.Mat, &tilted, rot, image.Pt(f.Mat.Cols(), f.Mat.Rows()), gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
					_, err := m.Measure(Frame{Mat: tilted})
					require.NoError(t, err)
					tilted.Close()
					rot.Close()
				}
				_, err = m.Measure(f)
				require.NoError(t, err)
				f.Mat.Close()
				n++
				if id == "g16" && n == 4 {
					break // stop early: Close must release what is pending
				}
			}
			require.NoError(t, d.Close())
		}
	}()
	assert.Equal(t, start, gocv.MatProfile.Count(), "Mats leaked")
}
