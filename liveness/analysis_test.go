package liveness

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/reason"
)

// liveTemporal is what a person reading the challenge shows.
func liveTemporal() Temporal {
	return Temporal{Shake: 0.001, ShakeSource: "background", Parallax: 0.08, Change: 0.8,
		Mouth: 0.5, Eyes: 0.4, Blinks: 3, YawMin: -5, YawMax: 6, Pairs: 40}
}

// photoTemporal is what a replayed photo shows.
func photoTemporal() Temporal {
	return Temporal{Shake: 0.001, ShakeSource: "background", Parallax: 0.05, Change: 0.2,
		Mouth: 0.03, Eyes: 0.05, YawMin: -2, YawMax: 2, Pairs: 40}
}

func spoofObs(real, bezel, sides float64) []SpoofObs {
	out := make([]SpoofObs, 5)
	for i := range out {
		out[i] = SpoofObs{Index: i, Real: real, V2: real, V1SE: real, Bezel: bezel, BezelSides: sides, Moire: 0.01}
	}
	return out
}

func TestJudgeVerdicts(t *testing.T) {
	t.Parallel()
	read := Challenge{Text: "۲۴۸۹۱", Nonce: "n"}
	turnLeft := Challenge{HeadTurn: TurnLeft}
	cases := []struct {
		name    string
		frames  []FrameMeasures
		tm      func() Temporal
		obs     []SpoofObs
		ch      Challenge
		verdict Verdict
		reasons []reason.Code
		quality []reason.Code
	}{
		{"live person reading", seq(40, nil), liveTemporal, spoofObs(0.98, 0.1, 0), read, Live, nil, nil},
		{"photo: no non-rigid motion", seq(40, nil), photoTemporal, spoofObs(0.97, 0.1, 0), Challenge{}, SpoofSuspected,
			[]reason.Code{reason.SpoofSuspected}, nil},
		{"photo asked to read", seq(40, nil), photoTemporal, spoofObs(0.97, 0.1, 0), read, SpoofSuspected,
			[]reason.Code{reason.ChallengeNotMet, reason.SpoofSuspected}, nil},
		{"screen: framed by a bezel", seq(40, nil), liveTemporal, spoofObs(0.9, 0.9, 1), read, SpoofSuspected,
			[]reason.Code{reason.SpoofSuspected}, nil},
		{"screen: MiniFASNet clearly negative", seq(40, nil), liveTemporal, spoofObs(0.02, 0.2, 0.25), read, SpoofSuspected,
			[]reason.Code{reason.SpoofSuspected}, nil},
		{"borderline MiniFASNet", seq(40, nil), liveTemporal, spoofObs(0.35, 0.2, 0.25), read, Uncertain, nil, nil},
		{"no anti-spoof observation", seq(40, nil), liveTemporal, nil, read, Uncertain, nil, nil},
		{"live but silent when asked to read", seq(40, nil), func() Temporal { tm := liveTemporal(); tm.Mouth = 0.05; return tm },
			spoofObs(0.98, 0.1, 0), read, Uncertain, []reason.Code{reason.ChallengeNotMet}, nil},
		{"static face with blinks, no challenge", seq(40, nil), func() Temporal {
			tm := photoTemporal()
			tm.Blinks = 2
			return tm
		}, spoofObs(0.99, 0.1, 0), Challenge{}, Live, nil, nil},
		{"cut to another face", seq(40, nil), func() Temporal { tm := liveTemporal(); tm.Jumps = 3; return tm },
			spoofObs(0.98, 0.1, 0), Challenge{}, SpoofSuspected, []reason.Code{reason.SpoofSuspected}, nil},
		{"head turn done", seq(40, nil), func() Temporal { tm := liveTemporal(); tm.YawMax = 32; return tm },
			spoofObs(0.98, 0.1, 0), turnLeft, Live, nil, nil},
		{"head turn the wrong way", seq(40, nil), func() Temporal { tm := liveTemporal(); tm.YawMin = -32; return tm },
			spoofObs(0.98, 0.1, 0), turnLeft, Uncertain, []reason.Code{reason.ChallengeNotMet}, nil},
		{"too dark to judge", seq(40, func(i int, m *FrameMeasures) { m.Luma, m.Under, m.DynamicRange = 20, 0.7, 25 }),
			liveTemporal, spoofObs(0.9, 0.1, 0), read, NotJudged, nil, []reason.Code{reason.LowLight}},
		{"dark photo is still only not judged", seq(40, func(i int, m *FrameMeasures) { m.Luma, m.Under, m.DynamicRange = 20, 0.7, 25 }),
			photoTemporal, spoofObs(0.9, 0.1, 0), Challenge{}, NotJudged, nil, []reason.Code{reason.LowLight}},
		{"blurred screen replay is a spoof", seq(40, func(i int, m *FrameMeasures) { m.Sharpness = 0.3 }),
			liveTemporal, spoofObs(0.01, 0.95, 1), read, SpoofSuspected, []reason.Code{reason.SpoofSuspected}, []reason.Code{reason.LowQuality}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := JudgeTemporal(c.frames, c.tm(), c.obs, c.ch, QualityConfig{}, LivenessConfig{})
			assert.Equal(t, c.verdict, r.Verdict)
			assert.Equal(t, c.reasons, r.Reasons)
			assert.Equal(t, c.quality, r.Quality)
			assert.GreaterOrEqual(t, r.Score, 0.0)
			assert.LessOrEqual(t, r.Score, 1.0)
			switch r.Verdict {
			case Live:
				assert.GreaterOrEqual(t, r.Score, 0.5)
			case SpoofSuspected:
				assert.Less(t, r.Score, 0.5)
			}
			names := map[string]bool{}
			for _, e := range r.Evidence {
				names[e.Name] = true
				assert.False(t, math.IsNaN(e.Value), e.Name)
			}
			for _, n := range []string{"antispoof", "nonrigid_motion", "mouth_activity", "blinks", "face_continuity", "replay_cues"} {
				assert.True(t, names[n], "evidence %s", n)
			}
			assert.Equal(t, c.ch.HeadTurn != TurnNone, names["head_turn"])
			assert.Contains(t, r.Thresholds, "liveness.min_antispoof")
			assert.Contains(t, r.Thresholds, "quality.min_luma")
			assert.Equal(t, len(c.frames), r.Frames)
		})
	}
}

func TestJudgeRunsTheTemporalAnalysis(t *testing.T) {
	t.Parallel()
	frames := seq(30, nil)
	for i := range frames {
		frames[i].Crop = synthFace(CropSize, 1, 0.2, sway(i), 4)
	}
	r := Judge(frames, spoofObs(0.99, 0.1, 0), Challenge{}, QualityConfig{}, LivenessConfig{})
	assert.Equal(t, SpoofSuspected, r.Verdict, "a swaying photo")
	assert.Contains(t, r.Measures, "face_change")
	assert.Contains(t, r.Measures, "mouth_activity")
	assert.Positive(t, r.Duration)
}

func TestLivenessConfig(t *testing.T) {
	t.Parallel()
	d := LivenessConfig{}.WithDefaults()
	require.NoError(t, d.Validate())
	assert.Equal(t, DefaultLivenessConfig(), d)
	assert.Error(t, LivenessConfig{MinAntiSpoof: 0.3, SpoofAntiSpoof: 0.4}.WithDefaults().Validate())
	assert.Error(t, LivenessConfig{MinBezel: 2}.WithDefaults().Validate())
	assert.Error(t, LivenessConfig{MinMouth: -1}.WithDefaults().Validate())
	c := LivenessConfig{MinMouth: 0.3, WeightReplay: 1}.WithDefaults()
	assert.Equal(t, 0.3, c.MinMouth)
	assert.Equal(t, 1.0, c.WeightReplay)
	assert.Zero(t, c.WeightAntiSpoof, "weights are taken as given once any is set")
	assert.Len(t, d.Thresholds(), 11)
}

func TestFrameQualityPrefersFrontalSharpFaces(t *testing.T) {
	t.Parallel()
	good := goodFrame(0)
	turned := goodFrame(1)
	turned.Yaw = 40
	blurred := goodFrame(2)
	blurred.Sharpness = 0.3
	none := goodFrame(3)
	none.Faces = nil
	assert.Greater(t, FrameQuality(&good), FrameQuality(&turned))
	assert.Greater(t, FrameQuality(&good), FrameQuality(&blurred))
	assert.Zero(t, FrameQuality(&none))
}
