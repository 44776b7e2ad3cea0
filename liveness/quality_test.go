package liveness

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/reason"
)

// goodFrame is a well-exposed, sharp, frontal, centred face filling about
// 45% of a 720x1280 frame.
func goodFrame(i int) FrameMeasures {
	return FrameMeasures{
		Index: i * 3, Time: time.Duration(i) * 100 * time.Millisecond,
		Width: 720, Height: 1280,
		Faces: []FaceObs{face(210, 400, 300, 380, 0.9)},
		Luma:  130, Under: 0.01, Over: 0, DynamicRange: 150, Sharpness: 0.8, Glare: 0.002,
		FacePixels: 380, Yaw: 3, Pitch: -2, Roll: 1,
	}
}

// face builds a face box with landmarks placed as on a frontal face.
func face(x, y, w, h, score float64) FaceObs {
	return FaceObs{
		Box: facematch.Rect{X: x, Y: y, W: w, H: h},
		Landmarks: [5]facematch.Point{
			{X: x + 0.32*w, Y: y + 0.40*h}, {X: x + 0.68*w, Y: y + 0.40*h},
			{X: x + 0.50*w, Y: y + 0.58*h},
			{X: x + 0.36*w, Y: y + 0.76*h}, {X: x + 0.64*w, Y: y + 0.76*h},
		},
		Score: score,
	}
}

func seq(n int, mod func(i int, m *FrameMeasures)) []FrameMeasures {
	out := make([]FrameMeasures, n)
	for i := range out {
		out[i] = goodFrame(i)
		if mod != nil {
			mod(i, &out[i])
		}
	}
	return out
}

func TestAssessReasons(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		frames   []FrameMeasures
		shake    float64
		headTurn bool
		want     []reason.Code
	}{
		{"good", seq(40, nil), 0.001, false, nil},
		{"no frames", nil, math.NaN(), false, []reason.Code{reason.NoFace}},
		{"face in too few frames", seq(40, func(i int, m *FrameMeasures) {
			if i%3 != 0 {
				m.Faces = nil
			}
		}), 0, false, []reason.Code{reason.NoFace}},
		{"a second person", seq(40, func(i int, m *FrameMeasures) {
			if i%4 == 0 {
				m.Faces = append(m.Faces, face(20, 100, 200, 250, 0.85))
			}
		}), 0, false, []reason.Code{reason.MultipleFaces}},
		{"a distant face behind is ignored", seq(40, func(i int, m *FrameMeasures) {
			m.Faces = append(m.Faces, face(20, 100, 60, 70, 0.9))
		}), 0, false, nil},
		{"an unsure second detection is ignored", seq(40, func(i int, m *FrameMeasures) {
			m.Faces = append(m.Faces, face(20, 100, 250, 300, 0.6))
		}), 0, false, nil},
		{"second face on one frame only", seq(40, func(i int, m *FrameMeasures) {
			if i == 7 {
				m.Faces = append(m.Faces, face(20, 100, 250, 300, 0.9))
			}
		}), 0, false, nil},
		{"too far", seq(40, func(i int, m *FrameMeasures) {
			m.Faces[0] = face(300, 500, 120, 150, 0.9)
			m.FacePixels = 150
		}), 0, false, []reason.Code{reason.FaceTooFar}},
		{"out of frame", seq(40, func(i int, m *FrameMeasures) {
			m.Faces[0] = face(550, 400, 300, 380, 0.9)
		}), 0, false, []reason.Code{reason.FaceOutOfFrame}},
		{"dark", seq(40, func(i int, m *FrameMeasures) { m.Luma, m.Under, m.DynamicRange = 22, 0.6, 30 }), 0, false, []reason.Code{reason.LowLight}},
		{"dim with no contrast left", seq(40, func(i int, m *FrameMeasures) { m.Luma, m.Under, m.DynamicRange = 35, 0.2, 30 }), 0, false, []reason.Code{reason.LowLight}},
		{"dim but contrasty is fine (g03)", seq(40, func(i int, m *FrameMeasures) { m.Luma, m.Under, m.DynamicRange = 42, 0.13, 55 }), 0, false, nil},
		{"overexposed", seq(40, func(i int, m *FrameMeasures) { m.Luma, m.Over = 230, 0.4 }), 0, false, []reason.Code{reason.Overexposed}},
		{"blurred", seq(40, func(i int, m *FrameMeasures) { m.Sharpness = 0.3 }), 0, false, []reason.Code{reason.LowQuality}},
		{"too few pixels", seq(40, func(i int, m *FrameMeasures) {
			m.Width, m.Height = 80, 80
			m.Faces[0] = face(20, 20, 40, 40, 0.9)
			m.FacePixels = 40
		}), 0, false, []reason.Code{reason.LowQuality}},
		{"turned away", seq(40, func(i int, m *FrameMeasures) { m.Yaw = 50 }), 0, false, []reason.Code{reason.BadAngle}},
		{"tilted", seq(40, func(i int, m *FrameMeasures) { m.Roll = -30 }), 0, false, []reason.Code{reason.BadAngle}},
		{"requested head turn is not a bad angle", seq(40, func(i int, m *FrameMeasures) { m.Yaw = 50 }), 0, true, nil},
		{"a tilted camera is bad even in a head turn", seq(40, func(i int, m *FrameMeasures) { m.Roll = 35 }), 0, true, []reason.Code{reason.BadAngle}},
		{"head turn for a third of the video", seq(40, func(i int, m *FrameMeasures) {
			if i < 13 {
				m.Yaw = 50
			}
		}), 0, false, nil},
		{"glare", seq(40, func(i int, m *FrameMeasures) { m.Glare = 0.1 }), 0, false, []reason.Code{reason.Reflection}},
		{"shake", seq(40, nil), 0.12, false, []reason.Code{reason.CameraShake}},
		{"shake not measurable", seq(40, nil), math.NaN(), false, nil},
		{"several problems in catalogue order", seq(40, func(i int, m *FrameMeasures) {
			m.Glare, m.Luma, m.Under, m.DynamicRange = 0.1, 20, 0.7, 20
		}), 0.2, false, []reason.Code{reason.LowLight, reason.Reflection, reason.CameraShake}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rep := QualityConfig{}.Assess(c.frames, c.shake, c.headTurn)
			assert.Equal(t, c.want, rep.Reasons)
			assert.Equal(t, len(c.want) == 0, rep.Passed())
			if len(c.frames) > 0 {
				assert.Contains(t, rep.Measures, "face_share")
			}
		})
	}
}

func TestAssessThresholdsAreConfigurable(t *testing.T) {
	t.Parallel()
	frames := seq(30, func(i int, m *FrameMeasures) { m.Sharpness = 0.5 })
	assert.Empty(t, QualityConfig{}.Assess(frames, 0, false).Reasons)
	strict := QualityConfig{MinSharpness: 0.6}
	assert.Equal(t, []reason.Code{reason.LowQuality}, strict.Assess(frames, 0, false).Reasons)
	// Persistence: 40% blurred frames fire only when Persistence < 0.4.
	half := seq(30, func(i int, m *FrameMeasures) {
		if i%5 < 2 {
			m.Sharpness = 0.2
		}
	})
	assert.Empty(t, QualityConfig{}.Assess(half, 0, false).Reasons)
	assert.Equal(t, []reason.Code{reason.LowQuality}, QualityConfig{Persistence: 0.3}.Assess(half, 0, false).Reasons)
}

func TestQualityConfigValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, DefaultQualityConfig().Validate())
	bad := []QualityConfig{
		{MaxGlare: 1.5},
		{Persistence: -0.1},
		{MinLuma: 220, MaxLuma: 200},
		{MaxYaw: math.NaN()},
	}
	for i, c := range bad {
		assert.Error(t, c.WithDefaults().Validate(), "case %d", i)
	}
	th := DefaultQualityConfig().Thresholds()
	assert.Equal(t, 0.45, th["quality.min_sharpness"])
	assert.Len(t, th, 20)
}
