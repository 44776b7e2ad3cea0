package onnx

import (
	"fmt"
	"math"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/vision"
)

// referenceRules decide which face of a reference photo is its subject.
type referenceRules struct {
	minScore   float64 // detector confidence of the chosen face
	minEyeDist float64 // pixels between the eyes in the photo
	maxYaw     float64 // degrees
	ambiguity  float64 // a rival face weighing this share of the main one makes the photo ambiguous
}

// pickMainFace chooses the subject of a reference photo of w x h pixels.
//
// Faces below minScore are ignored (at YuNet's 0.6 floor, weaker
// detections on portraits are background people, posters or false
// positives). Each remaining face weighs its box area times a centrality
// factor, 1 at the image centre falling linearly to 0.5 at a corner, and
// the heaviest is the main face. If another face weighs at least
// `ambiguity` of it (a group photo, two people side by side), there is no
// single clear subject and the photo is unusable. The main face must also
// be large enough (eye distance) and not strongly turned (yaw), or its
// template would be poor.
func pickMainFace(faces []vision.Face, w, h int, r referenceRules) (vision.Face, error) {
	type cand struct {
		f      vision.Face
		weight float64
	}
	var cs []cand
	cx, cy := float64(w)/2, float64(h)/2
	half := math.Hypot(cx, cy)
	for _, f := range faces {
		if f.Score < r.minScore {
			continue
		}
		fx, fy := f.Box.X+f.Box.W/2, f.Box.Y+f.Box.H/2
		central := 1 - 0.5*math.Min(1, math.Hypot(fx-cx, fy-cy)/half)
		cs = append(cs, cand{f, f.Box.W * f.Box.H * central})
	}
	if len(cs) == 0 {
		return vision.Face{}, fmt.Errorf("%w: no face found (%d weak detections)", facematch.ErrReferenceUnusable, len(faces))
	}
	best := 0
	for i := range cs {
		if cs[i].weight > cs[best].weight {
			best = i
		}
	}
	for i := range cs {
		if i != best && cs[i].weight >= r.ambiguity*cs[best].weight {
			return vision.Face{}, fmt.Errorf("%w: %d comparable faces, no single subject", facematch.ErrReferenceUnusable, len(cs))
		}
	}
	f := cs[best].f
	lm := f.Landmarks
	if d := math.Hypot(lm[1].X-lm[0].X, lm[1].Y-lm[0].Y); d < r.minEyeDist {
		return vision.Face{}, fmt.Errorf("%w: face too small (eye distance %.0f px < %.0f)", facematch.ErrReferenceUnusable, d, r.minEyeDist)
	}
	if yaw, _, _ := vision.HeadPose(lm); math.Abs(yaw) > r.maxYaw {
		return vision.Face{}, fmt.Errorf("%w: face turned %.0f° (limit %.0f°)", facematch.ErrReferenceUnusable, yaw, r.maxYaw)
	}
	return f, nil
}
