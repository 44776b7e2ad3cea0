package facematch

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMainFace(t *testing.T) {
	t.Parallel()
	box := func(x, y, s float64) Rect { return Rect{X: x, Y: y, W: s, H: s * 1.2} }
	for _, tc := range []struct {
		name  string
		boxes []Rect
		want  int // -1: unusable
		msg   string
	}{
		{"single", []Rect{box(300, 200, 200)}, 0, ""},
		{"small background face", []Rect{box(20, 20, 60), box(300, 200, 200)}, 1, ""},
		{"central beats a smaller corner face", []Rect{box(0, 0, 110), box(330, 230, 140)}, 1, ""},
		{"larger corner face is ambiguous", []Rect{box(0, 0, 160), box(330, 230, 140)}, -1, "comparable"},
		{"two side by side", []Rect{box(100, 200, 180), box(500, 200, 180)}, -1, "comparable"},
		{"group of ten", func() []Rect {
			var r []Rect
			for i := 0; i < 10; i++ {
				r = append(r, box(float64(i*80), 250, 60))
			}
			return r
		}(), -1, "10 comparable"},
		{"none", nil, -1, "no face"},
	} {
		i, err := MainFace(tc.boxes, 800, 600, 0)
		if tc.want < 0 {
			require.Error(t, err, tc.name)
			assert.ErrorIs(t, err, ErrReferenceUnusable, tc.name)
			assert.Contains(t, err.Error(), tc.msg, tc.name)
			assert.Equal(t, -1, i)
			continue
		}
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, i, tc.name)
	}
	// A stricter ambiguity share accepts the side-by-side pair's bigger face.
	i, err := MainFace([]Rect{box(100, 200, 180), box(500, 200, 150)}, 800, 600, 0.9)
	require.NoError(t, err)
	assert.Equal(t, 0, i)
}
