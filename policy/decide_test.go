package policy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
)

func score(d facematch.Decision) *facematch.Score {
	return &facematch.Score{Similarity: 0.5, Decision: d, Threshold: 0.6, ReviewFloor: 0.4}
}

func live() liveness.Result { return liveness.Result{Verdict: liveness.Live, Score: 0.9} }

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      policy.DecisionConfig
		ev       policy.Evidence
		outcome  policy.Outcome
		reasons  []reason.Code
		counted  bool
		inPerson bool
	}{
		{name: "approved",
			ev:      policy.Evidence{Liveness: live(), Match: score(facematch.Match)},
			outcome: policy.Approved},
		{name: "quality reasons rejected and counted",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.NotJudged, Quality: []reason.Code{reason.LowLight, reason.CameraShake, reason.LowLight}}},
			outcome: policy.Rejected, reasons: []reason.Code{reason.LowLight, reason.CameraShake}, counted: true},
		{name: "quality wins over a match",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.Live, Quality: []reason.Code{reason.MultipleFaces}}, Match: score(facematch.Match)},
			outcome: policy.Rejected, reasons: []reason.Code{reason.MultipleFaces}, counted: true},
		{name: "spoof",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.SpoofSuspected}},
			outcome: policy.Rejected, reasons: []reason.Code{reason.SpoofSuspected}, counted: true},
		{name: "spoof with challenge not met",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.SpoofSuspected, Reasons: []reason.Code{reason.ChallengeNotMet, reason.SpoofSuspected}}},
			outcome: policy.Rejected, reasons: []reason.Code{reason.SpoofSuspected, reason.ChallengeNotMet}, counted: true},
		{name: "challenge not met with a live verdict",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.Live, Reasons: []reason.Code{reason.ChallengeNotMet}}, Match: score(facematch.Match)},
			outcome: policy.Rejected, reasons: []reason.Code{reason.ChallengeNotMet}, counted: true},
		{name: "challenge not met with uncertain verdict",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.Uncertain, Reasons: []reason.Code{reason.ChallengeNotMet}}},
			outcome: policy.Rejected, reasons: []reason.Code{reason.ChallengeNotMet}, counted: true},
		{name: "not judged without a reason",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.NotJudged}},
			outcome: policy.Rejected, reasons: []reason.Code{reason.VideoInvalid}},
		{name: "empty verdict",
			ev:      policy.Evidence{Match: score(facematch.Match)},
			outcome: policy.Rejected, reasons: []reason.Code{reason.VideoInvalid}},
		{name: "unknown verdict",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: "probably"}, Match: score(facematch.Match)},
			outcome: policy.Rejected, reasons: []reason.Code{reason.VideoInvalid}},
		{name: "uncertain liveness to review",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.Uncertain}, Match: score(facematch.Match)},
			outcome: policy.Review, reasons: []reason.Code{reason.BorderlineLiveness}},
		{name: "uncertain liveness rejected when configured",
			cfg:     policy.DecisionConfig{RejectUncertainLiveness: true},
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.Uncertain}, Match: score(facematch.Match)},
			outcome: policy.Rejected, reasons: []reason.Code{reason.SpoofSuspected}, counted: true},
		{name: "reference unusable",
			ev:      policy.Evidence{Liveness: live(), ReferenceUnusable: true},
			outcome: policy.Review, reasons: []reason.Code{reason.ReferenceUnusable}},
		{name: "no match run",
			ev:      policy.Evidence{Liveness: live()},
			outcome: policy.Review, reasons: []reason.Code{reason.BorderlineMatch}},
		{name: "face mismatch",
			ev:      policy.Evidence{Liveness: live(), Match: score(facematch.NonMatch)},
			outcome: policy.Rejected, reasons: []reason.Code{reason.FaceMismatch}, counted: true},
		{name: "uncertain match to review",
			ev:      policy.Evidence{Liveness: live(), Match: score(facematch.Uncertain)},
			outcome: policy.Review, reasons: []reason.Code{reason.BorderlineMatch}},
		{name: "unknown match decision to review",
			ev:      policy.Evidence{Liveness: live(), Match: score("maybe")},
			outcome: policy.Review, reasons: []reason.Code{reason.BorderlineMatch}},
		{name: "uncertain match rejected when configured",
			cfg:     policy.DecisionConfig{RejectUncertainMatch: true},
			ev:      policy.Evidence{Liveness: live(), Match: score(facematch.Uncertain)},
			outcome: policy.Rejected, reasons: []reason.Code{reason.FaceMismatch}, counted: true},
		{name: "second failure is not yet a lock",
			ev:      policy.Evidence{Liveness: live(), Match: score(facematch.NonMatch), FailedBefore: 1},
			outcome: policy.Rejected, reasons: []reason.Code{reason.FaceMismatch}, counted: true},
		{name: "third failure locks",
			ev:      policy.Evidence{Liveness: live(), Match: score(facematch.NonMatch), FailedBefore: 2},
			outcome: policy.Locked, reasons: []reason.Code{reason.FaceMismatch, reason.AttemptsExhausted}, counted: true, inPerson: true},
		{name: "third failure by quality locks",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.NotJudged, Quality: []reason.Code{reason.NoFace}}, FailedBefore: 2},
			outcome: policy.Locked, reasons: []reason.Code{reason.NoFace, reason.AttemptsExhausted}, counted: true, inPerson: true},
		{name: "third spoof locks",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.SpoofSuspected}, FailedBefore: 2},
			outcome: policy.Locked, reasons: []reason.Code{reason.SpoofSuspected, reason.AttemptsExhausted}, counted: true, inPerson: true},
		{name: "uncounted rejection never locks",
			ev:      policy.Evidence{Liveness: liveness.Result{Verdict: liveness.NotJudged}, FailedBefore: 2},
			outcome: policy.Rejected, reasons: []reason.Code{reason.VideoInvalid}},
		{name: "review on the last attempt is not a lock",
			ev:      policy.Evidence{Liveness: live(), Match: score(facematch.Uncertain), FailedBefore: 2},
			outcome: policy.Review, reasons: []reason.Code{reason.BorderlineMatch}},
		{name: "approval on the last attempt",
			ev:      policy.Evidence{Liveness: live(), Match: score(facematch.Match), FailedBefore: 2},
			outcome: policy.Approved},
		{name: "negative failures read as zero",
			ev:      policy.Evidence{Liveness: live(), Match: score(facematch.NonMatch), FailedBefore: -5},
			outcome: policy.Rejected, reasons: []reason.Code{reason.FaceMismatch}, counted: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mustNew(t, policy.Config{Decision: tc.cfg})
			j := p.Decide(tc.ev)
			assert.Equal(t, tc.outcome, j.Outcome)
			assert.Equal(t, tc.reasons, j.Reasons)
			assert.Equal(t, tc.counted, j.Counted)
			assert.Equal(t, tc.inPerson, j.InPersonRequired)
			// Invariant: approval if and only if no reason.
			assert.Equal(t, j.Outcome == policy.Approved, len(j.Reasons) == 0)
		})
	}
}

func TestDecideMaxUploads(t *testing.T) {
	t.Parallel()
	p := mustNew(t, policy.Config{MaxUploads: 1})
	j := p.Decide(policy.Evidence{Liveness: live(), Match: score(facematch.NonMatch)})
	assert.Equal(t, policy.Locked, j.Outcome, "with one upload the first failure locks")
	assert.True(t, j.InPersonRequired)

	p = mustNew(t, policy.Config{MaxUploads: 5})
	j = p.Decide(policy.Evidence{Liveness: live(), Match: score(facematch.NonMatch), FailedBefore: 3})
	assert.Equal(t, policy.Rejected, j.Outcome)
	j = p.Decide(policy.Evidence{Liveness: live(), Match: score(facematch.NonMatch), FailedBefore: 4})
	assert.Equal(t, policy.Locked, j.Outcome)
}

// TestDecideDoesNotAlias: the Judgement's reasons are its own, not the
// detector's slice.
func TestDecideDoesNotAlias(t *testing.T) {
	t.Parallel()
	p := mustNew(t, policy.Config{})
	q := []reason.Code{reason.LowLight, reason.Reflection}
	j := p.Decide(policy.Evidence{Liveness: liveness.Result{Verdict: liveness.NotJudged, Quality: q}})
	j.Reasons[0] = reason.NoFace
	assert.Equal(t, []reason.Code{reason.LowLight, reason.Reflection}, q)
}
