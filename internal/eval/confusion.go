package eval

import (
	"slices"

	"github.com/hoviyat/hoviyat/reason"
)

// Labelled is one video with the reason it was made to produce and what
// the system produced.
type Labelled struct {
	ID       string
	Expected reason.Code
	Outcome  Outcome
	// Produced are the reasons of the decision (quality, liveness and
	// match reasons), or the error code when the system could not decide.
	Produced []reason.Code
}

// ApprovedColumn is the column of the confusion matrix counting approvals
// (no reason produced). It is not a catalogued reason code, so the
// matrix is keyed by plain strings.
const ApprovedColumn = "(approved)"

// Confusion is the reason-code confusion matrix of a labelled set:
// expected reason × produced reason. A video may produce several reasons,
// so a row can sum to more than its video count.
type Confusion struct {
	// Expected lists the rows in first-seen order; Produced the columns,
	// the expected reasons first, then the others in first-seen order,
	// ApprovedColumn last when present.
	Expected []string `json:"expected"`
	Produced []string `json:"produced"`
	// Count[e][p] is how many videos expected to produce e produced p.
	Count map[string]map[string]int `json:"count"`
	// Total[e] is the number of videos expected to produce e; Hits[e] how
	// many of them produced e among their reasons.
	Total map[string]int `json:"total"`
	Hits  map[string]int `json:"hits"`
	// Misses[e] lists the IDs of videos that did not produce e.
	Misses map[string][]string `json:"misses,omitempty"`
	// Approved lists every approved video (none should be).
	Approved []string `json:"approved,omitempty"`
}

// NewConfusion counts ls.
func NewConfusion(ls []Labelled) Confusion {
	c := Confusion{
		Count:  map[string]map[string]int{},
		Total:  map[string]int{},
		Hits:   map[string]int{},
		Misses: map[string][]string{},
	}
	var others []string
	approved := false
	for _, l := range ls {
		e := string(l.Expected)
		if _, ok := c.Total[e]; !ok {
			c.Expected = append(c.Expected, e)
			c.Count[e] = map[string]int{}
		}
		c.Total[e]++
		row := c.Count[e]
		if l.Outcome == Approved {
			row[ApprovedColumn]++
			approved = true
			c.Approved = append(c.Approved, l.ID)
		}
		hit := false
		seen := map[string]bool{}
		for _, pc := range l.Produced {
			p := string(pc)
			if seen[p] {
				continue
			}
			seen[p] = true
			row[p]++
			if p == e {
				hit = true
			}
			if !slices.Contains(others, p) {
				others = append(others, p)
			}
		}
		if hit {
			c.Hits[e]++
		} else {
			c.Misses[e] = append(c.Misses[e], l.ID)
		}
	}
	c.Produced = append(c.Produced, c.Expected...)
	for _, p := range others {
		if !slices.Contains(c.Produced, p) {
			c.Produced = append(c.Produced, p)
		}
	}
	if approved {
		c.Produced = append(c.Produced, ApprovedColumn)
	}
	return c
}

// HitRate is the share of videos expected to produce e that did; NaN-free:
// 0 for an unknown row.
func (c Confusion) HitRate(e reason.Code) float64 {
	if c.Total[string(e)] == 0 {
		return 0
	}
	return float64(c.Hits[string(e)]) / float64(c.Total[string(e)])
}

// Failing returns the rows whose hit rate is below min, in row order.
func (c Confusion) Failing(min float64) []reason.Code {
	var out []reason.Code
	for _, e := range c.Expected {
		if c.HitRate(reason.Code(e)) < min {
			out = append(out, reason.Code(e))
		}
	}
	return out
}
