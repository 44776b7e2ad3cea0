package liveness_test

import (
	"fmt"
	"time"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/liveness"
)

// frame is a well-framed face on a 720x1280 frame with the given mean
// luminance.
func frame(i int, luma float64) liveness.FrameMeasures {
	x, y, w, h := 210.0, 400.0, 300.0, 380.0
	return liveness.FrameMeasures{
		Index: i, Time: time.Duration(i) * 100 * time.Millisecond, Width: 720, Height: 1280,
		Faces: []liveness.FaceObs{{
			Box: facematch.Rect{X: x, Y: y, W: w, H: h},
			Landmarks: [5]facematch.Point{
				{X: x + 0.32*w, Y: y + 0.40*h}, {X: x + 0.68*w, Y: y + 0.40*h}, {X: x + 0.5*w, Y: y + 0.58*h},
				{X: x + 0.36*w, Y: y + 0.76*h}, {X: x + 0.64*w, Y: y + 0.76*h},
			},
			Score: 0.9,
		}},
		Luma: luma, DynamicRange: luma, Sharpness: 0.8, FacePixels: h,
	}
}

// The quality gate turns per-frame measures into reason codes; a problem
// must persist, so one dark frame does not count.
func ExampleQualityConfig_Assess() {
	var frames []liveness.FrameMeasures
	for i := 0; i < 30; i++ {
		frames = append(frames, frame(i, 130))
	}
	frames[7].Luma = 12
	fmt.Println(liveness.QualityConfig{}.Assess(frames, 0.002, false).Reasons)

	for i := range frames {
		frames[i].Luma, frames[i].DynamicRange = 18, 20
	}
	fmt.Println(liveness.QualityConfig{}.Assess(frames, 0.002, false).Reasons)
	// Output:
	// []
	// [low_light]
}

// JudgeTemporal fuses the evidence: here a face that reads the challenge
// (mouth activity) and that MiniFASNet finds live.
func ExampleJudgeTemporal() {
	var frames []liveness.FrameMeasures
	for i := 0; i < 40; i++ {
		frames = append(frames, frame(i, 130))
	}
	tm := liveness.Temporal{Parallax: 0.08, Change: 0.7, Mouth: 0.5, Eyes: 0.4, Blinks: 2}
	obs := []liveness.SpoofObs{{Real: 0.97}, {Real: 0.99}, {Real: 0.98}}
	r := liveness.JudgeTemporal(frames, tm, obs, liveness.Challenge{Text: "۲۴۸۹"}, liveness.QualityConfig{}, liveness.LivenessConfig{})
	fmt.Println(r.Verdict, r.Quality, r.Reasons)

	tm.Mouth, tm.Change, tm.Blinks = 0.02, 0.2, 0 // a replayed photo
	r = liveness.JudgeTemporal(frames, tm, obs, liveness.Challenge{Text: "۲۴۸۹"}, liveness.QualityConfig{}, liveness.LivenessConfig{})
	fmt.Println(r.Verdict, r.Reasons)
	// Output:
	// live [] []
	// spoof_suspected [challenge_not_met spoof_suspected]
}
