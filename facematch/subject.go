package facematch

import (
	"fmt"
	"math"
)

// DefaultAmbiguity is the share of the main face's weight at which a rival
// face makes a reference photo ambiguous (see MainFace).
const DefaultAmbiguity = 0.6

// MainFace picks the subject of a reference photo of width x height pixels
// among the detected face boxes, for matchers that need one clear face.
//
// Each face weighs its box area times a centrality factor, 1 at the image
// centre falling linearly to 0.5 at a corner; the heaviest is the subject.
// Small background faces (posters, passers-by) therefore lose to the
// sitter. If another face weighs at least `ambiguity` times as much (two
// people side by side, a group photo), there is no single clear subject
// and the result is an error wrapping ErrReferenceUnusable, as it is for
// no boxes. ambiguity <= 0 means DefaultAmbiguity; a larger face can only
// lose to a more central one when it is ambiguous.
func MainFace(boxes []Rect, width, height int, ambiguity float64) (int, error) {
	if ambiguity <= 0 {
		ambiguity = DefaultAmbiguity
	}
	if len(boxes) == 0 {
		return -1, fmt.Errorf("%w: no face found", ErrReferenceUnusable)
	}
	cx, cy := float64(width)/2, float64(height)/2
	half := math.Hypot(cx, cy)
	if half == 0 {
		half = 1
	}
	weights := make([]float64, len(boxes))
	best := 0
	for i, b := range boxes {
		fx, fy := b.X+b.W/2, b.Y+b.H/2
		central := 1 - 0.5*math.Min(1, math.Hypot(fx-cx, fy-cy)/half)
		weights[i] = math.Max(0, b.W) * math.Max(0, b.H) * central
		if weights[i] > weights[best] {
			best = i
		}
	}
	for i, w := range weights {
		if i != best && w >= ambiguity*weights[best] {
			return -1, fmt.Errorf("%w: %d comparable faces, no single subject", ErrReferenceUnusable, len(boxes))
		}
	}
	return best, nil
}
