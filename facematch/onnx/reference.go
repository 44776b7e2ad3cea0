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
// positives); among the rest facematch.MainFace picks the subject by area
// and centrality, refusing an ambiguous photo. The subject must also be
// large enough (eye distance) and not strongly turned (yaw), or its
// template would be poor.
func pickMainFace(faces []vision.Face, w, h int, r referenceRules) (vision.Face, error) {
	var cs []vision.Face
	var boxes []facematch.Rect
	for _, f := range faces {
		if f.Score >= r.minScore {
			cs = append(cs, f)
			boxes = append(boxes, f.Box)
		}
	}
	if len(cs) == 0 {
		return vision.Face{}, fmt.Errorf("%w: no face found (%d weak detections)", facematch.ErrReferenceUnusable, len(faces))
	}
	i, err := facematch.MainFace(boxes, w, h, r.ambiguity)
	if err != nil {
		return vision.Face{}, err
	}
	f := cs[i]
	lm := f.Landmarks
	if d := math.Hypot(lm[1].X-lm[0].X, lm[1].Y-lm[0].Y); d < r.minEyeDist {
		return vision.Face{}, fmt.Errorf("%w: face too small (eye distance %.0f px < %.0f)", facematch.ErrReferenceUnusable, d, r.minEyeDist)
	}
	if yaw, _, _ := vision.HeadPose(lm); math.Abs(yaw) > r.maxYaw {
		return vision.Face{}, fmt.Errorf("%w: face turned %.0f° (limit %.0f°)", facematch.ErrReferenceUnusable, yaw, r.maxYaw)
	}
	return f, nil
}
