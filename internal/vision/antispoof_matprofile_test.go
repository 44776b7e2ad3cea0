//go:build matprofile

package vision

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
)

// TestAntiSpoofMatLeaks runs Score and MeasureReplayCues on good and bad
// input and checks that every Mat they create is closed again.
// Run with: go test -tags matprofile -run MatLeaks ./internal/vision/
func TestAntiSpoofMatLeaks(t *testing.T) {
	dir := filepath.Join(asData(t), "photos", "attack_stills")
	models := asModels(t)
	start := gocv.MatProfile.Count()
	func() {
		d, err := NewFaceDetector(FaceDetectorConfig{ModelPath: filepath.Join(models, YuNetFile)})
		require.NoError(t, err)
		defer d.Close()
		a, err := NewAntiSpoof(AntiSpoofConfig{})
		require.NoError(t, err)
		defer a.Close()
		img := gocv.IMRead(filepath.Join(dir, "SilentFace_T1_real.jpg"), gocv.IMReadColor)
		defer img.Close()
		faces, err := d.Detect(img)
		require.NoError(t, err)
		require.NotEmpty(t, faces)
		for i := 0; i < 3; i++ {
			_, err = a.Score(img, faces[0].Box)
			require.NoError(t, err)
			_, err = MeasureReplayCues(img, faces[0])
			require.NoError(t, err)
		}
		// Error paths.
		_, err = a.Score(img, facematch.Rect{X: 1e6, Y: 0, W: 10, H: 10})
		assert.Error(t, err)
		_, err = MeasureReplayCues(img, Face{Box: facematch.Rect{X: 1e6, Y: 0, W: 10, H: 10}})
		assert.Error(t, err)
		empty := gocv.NewMat()
		defer empty.Close()
		_, err = a.Score(empty, faces[0].Box)
		assert.Error(t, err)
		_, err = MeasureReplayCues(empty, faces[0])
		assert.Error(t, err)
	}()
	assert.Equal(t, start, gocv.MatProfile.Count(), "Mats left open")
}
