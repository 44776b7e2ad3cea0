// Package eval holds the pure-Go metrics and report writing of
// `hoviyat eval`: presentation-attack detection error rates in ISO/IEC
// 30107-3 terms (APCER per attack species, BPCER), the reason-code
// confusion matrix of the labelled perturbation set, face-match error
// rates (through facematch's calibration tools), timing summaries, and
// the Markdown/JSON/PNG report.
//
// Nothing here runs a model: the CLI measures, this package counts. All
// functions are pure and safe for concurrent use.
package eval

import (
	"slices"
	"sort"
)

// Outcome of one presentation as the system decided it. It mirrors
// policy.Outcome plus Error for "could not decide".
type Outcome string

// Outcomes.
const (
	Approved Outcome = "approved"
	Rejected Outcome = "rejected"
	Review   Outcome = "review"
	Locked   Outcome = "locked"
	Error    Outcome = "error"
)

// Presentation is one video shown to the system, with what it decided.
type Presentation struct {
	ID string
	// Species is the attack species (PAI species) of an attack
	// presentation; "" marks a bona fide presentation.
	Species string
	Outcome Outcome
	// Spoof reports that the decision named spoof_suspected (the liveness
	// verdict itself, as opposed to a quality reason).
	Spoof bool
}

// SpeciesRate is APCER for one attack species.
type SpeciesRate struct {
	Species string `json:"species"`
	N       int    `json:"n"`
	// APCER is the share of this species' presentations that were not
	// rejected (approved, sent to review, or not decided).
	APCER float64 `json:"apcer"`
	// Approved counts presentations approved outright (the worst case).
	Approved int `json:"approved"`
	Review   int `json:"review"`
	Rejected int `json:"rejected"`
	Errors   int `json:"errors"`
	// Spoof counts presentations whose decision named spoof_suspected:
	// caught by the liveness verdict rather than only by the quality gate.
	Spoof int `json:"spoof"`
	// Missed lists the presentations that were not rejected.
	Missed []string `json:"missed,omitempty"`
}

// PADRates are decision-level presentation-attack detection error rates.
//
// Terms (ISO/IEC 30107-3): a bona fide presentation is a genuine user
// presenting themself; an attack presentation uses a presentation attack
// instrument (PAI) of some species (a photo, a screen replay). APCER is the
// proportion of attack presentations of one species wrongly classified as
// bona fide; BPCER is the proportion of bona fide presentations wrongly
// classified as attacks. Here the classification is the system's decision:
// an attack counts against APCER unless it is rejected (review is not a
// rejection: an operator would have to catch it), and a bona fide
// presentation counts against BPCER when it is rejected for any reason.
// Review of a bona fide presentation is reported separately (ReviewRate):
// it is operator load, not an error.
type PADRates struct {
	Species []SpeciesRate `json:"species"`
	// APCERMax is the highest per-species APCER (ISO's APCER of the
	// most successful species).
	APCERMax float64 `json:"apcer_max"`
	BonaFide int     `json:"bona_fide"`
	BPCER    float64 `json:"bpcer"`
	// ReviewRate is the share of bona fide presentations sent to review,
	// ErrorRate the share the system could not decide.
	ReviewRate float64 `json:"review_rate"`
	ErrorRate  float64 `json:"error_rate"`
	// BonaFideRejected lists the bona fide presentations rejected.
	BonaFideRejected []string `json:"bona_fide_rejected,omitempty"`
	// BonaFideSpoof counts bona fide presentations called spoof_suspected.
	BonaFideSpoof int `json:"bona_fide_spoof"`
}

// PAD computes PADRates over ps. Species are listed in name order.
func PAD(ps []Presentation) PADRates {
	var r PADRates
	by := map[string]*SpeciesRate{}
	var bfRej, bfRev, bfErr int
	for _, p := range ps {
		if p.Species == "" {
			r.BonaFide++
			if p.Spoof {
				r.BonaFideSpoof++
			}
			switch p.Outcome {
			case Rejected, Locked:
				bfRej++
				r.BonaFideRejected = append(r.BonaFideRejected, p.ID)
			case Review:
				bfRev++
			case Error:
				bfErr++
			}
			continue
		}
		s := by[p.Species]
		if s == nil {
			s = &SpeciesRate{Species: p.Species}
			by[p.Species] = s
		}
		s.N++
		if p.Spoof {
			s.Spoof++
		}
		switch p.Outcome {
		case Rejected, Locked:
			s.Rejected++
		case Approved:
			s.Approved++
			s.Missed = append(s.Missed, p.ID)
		case Review:
			s.Review++
			s.Missed = append(s.Missed, p.ID)
		default:
			s.Errors++
			s.Missed = append(s.Missed, p.ID)
		}
	}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := by[n]
		s.APCER = float64(s.N-s.Rejected) / float64(s.N)
		r.APCERMax = max(r.APCERMax, s.APCER)
		r.Species = append(r.Species, *s)
	}
	if r.BonaFide > 0 {
		n := float64(r.BonaFide)
		r.BPCER = float64(bfRej) / n
		r.ReviewRate = float64(bfRev) / n
		r.ErrorRate = float64(bfErr) / n
	}
	slices.Sort(r.BonaFideRejected)
	return r
}
