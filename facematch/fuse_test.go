package facematch

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFusion(t *testing.T) {
	t.Parallel()
	in := []float64{0.2, 0.9, math.NaN(), 0.5, 0.7}
	orig := append([]float64(nil), in...)
	for _, tc := range []struct {
		name string
		f    Fusion
		want float64
	}{
		{"top1", MeanTopK(1), 0.9},
		{"top3", MeanTopK(3), (0.9 + 0.7 + 0.5) / 3},
		{"top10 uses all", MeanTopK(10), (0.9 + 0.7 + 0.5 + 0.2) / 4},
		{"k<1 is 1", MeanTopK(0), 0.9},
		{"max", Max, 0.9},
		{"median even", Median, (0.5 + 0.7) / 2},
	} {
		assert.InDelta(t, tc.want, tc.f(in), 1e-12, tc.name)
		assert.True(t, math.IsNaN(tc.f(nil)), tc.name)
		assert.True(t, math.IsNaN(tc.f([]float64{math.NaN()})), tc.name)
	}
	assert.InDelta(t, 0.5, Median([]float64{0.9, 0.5, 0.1}), 0)
	assert.Equal(t, len(orig), len(in))
	for i := range in {
		if !math.IsNaN(orig[i]) {
			assert.Equal(t, orig[i], in[i], "input modified")
		}
	}
	assert.Equal(t, []float64{0.9, 0.7, 0.5, 0.2}, SortDesc(in))
}

func TestCosineAndNormalize(t *testing.T) {
	t.Parallel()
	assert.InDelta(t, 1, Cosine([]float32{1, 2, 3}, []float32{2, 4, 6}), 1e-9)
	assert.InDelta(t, -1, Cosine([]float32{1, 0}, []float32{-3, 0}), 1e-9)
	assert.InDelta(t, 0, Cosine([]float32{1, 0}, []float32{0, 5}), 1e-9)
	assert.Zero(t, Cosine([]float32{1}, []float32{1, 2}))
	assert.Zero(t, Cosine([]float32{0, 0}, []float32{1, 2}))
	v := L2Normalize([]float32{3, 4})
	assert.InDelta(t, 0.6, v[0], 1e-6)
	assert.InDelta(t, 0.8, v[1], 1e-6)
	z := L2Normalize([]float32{0, 0})
	assert.Equal(t, []float32{0, 0}, z)
}
