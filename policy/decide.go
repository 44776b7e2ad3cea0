package policy

import (
	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
)

// Decide fuses what the vision pipeline measured for one attempt into a
// Judgement. It is the single fusion rule shared by kyc.Verifier and the
// CLI. It never approves when any reason is present, and it does not
// re-check eligibility (that is Evaluate's job, before the upload).
//
// The rules, first match wins:
//
//  1. The video failed: Liveness.Quality is non-empty, or the liveness
//     Verdict is SpoofSuspected, or Liveness.Reasons is non-empty (e.g.
//     challenge_not_met, whatever the verdict). Rejected, counted, with
//     the quality reasons, then spoof_suspected when that is the verdict,
//     then the liveness reasons, each code once.
//  2. The verdict is NotJudged, empty or unknown with no reason given (a
//     detector defect). Rejected with video_invalid, not counted: the
//     applicant did nothing we can name, so the upload is not used up,
//     and nothing is approved.
//  3. Uncertain liveness: Review with borderline_liveness, not counted; or,
//     with Decision.RejectUncertainLiveness, Rejected with spoof_suspected,
//     counted.
//
// From here the verdict is Live.
//
//  4. ReferenceUnusable: Review with reference_unusable, not counted.
//  5. Match is nil (matching did not run): Review with borderline_match,
//     not counted.
//  6. Match.Decision NonMatch: Rejected with face_mismatch, counted.
//  7. Match.Decision Uncertain, or a decision Decide does not know: Review
//     with borderline_match, not counted; or, with
//     Decision.RejectUncertainMatch, Rejected with face_mismatch, counted.
//  8. Match.Decision Match: Approved, no reasons.
//
// Lock: a counted rejection with FailedBefore+1 >= MaxUploads (a negative
// FailedBefore counts as 0) becomes Locked, with attempts_exhausted
// appended and InPersonRequired set. Otherwise InPersonRequired follows the
// reason catalogue (reason.AnyInPerson).
func (p *Policy) Decide(e Evidence) Judgement {
	// Reasons are collected in a stack buffer and copied once, so the
	// Judgement owns its slice (never aliasing e's) in one allocation.
	var buf [8]reason.Code
	out, counted, rs := p.judge(&e, buf[:0])
	if out == Rejected && counted && max(0, e.FailedBefore)+1 >= p.cfg.MaxUploads {
		out = Locked
		rs = appendUnique(rs, reason.AttemptsExhausted)
	}
	j := Judgement{Outcome: out, Counted: counted}
	j.InPersonRequired = out == Locked || reason.AnyInPerson(rs)
	if len(rs) > 0 {
		j.Reasons = append([]reason.Code(nil), rs...)
	}
	return j
}

// judge applies rules 1-8 of Decide, appending reasons to rs.
func (p *Policy) judge(e *Evidence, rs []reason.Code) (Outcome, bool, []reason.Code) {
	lv := &e.Liveness
	if len(lv.Quality) > 0 || lv.Verdict == liveness.SpoofSuspected || len(lv.Reasons) > 0 {
		rs = appendUnique(rs, lv.Quality...)
		if lv.Verdict == liveness.SpoofSuspected {
			rs = appendUnique(rs, reason.SpoofSuspected)
		}
		rs = appendUnique(rs, lv.Reasons...)
		return Rejected, true, rs
	}
	switch lv.Verdict {
	case liveness.Live:
	case liveness.Uncertain:
		if p.cfg.Decision.RejectUncertainLiveness {
			return Rejected, true, append(rs, reason.SpoofSuspected)
		}
		return Review, false, append(rs, reason.BorderlineLiveness)
	default: // NotJudged without a quality reason, empty or unknown
		return Rejected, false, append(rs, reason.VideoInvalid)
	}
	switch {
	case e.ReferenceUnusable:
		return Review, false, append(rs, reason.ReferenceUnusable)
	case e.Match == nil:
		return Review, false, append(rs, reason.BorderlineMatch)
	}
	switch e.Match.Decision {
	case facematch.Match:
		return Approved, false, rs
	case facematch.NonMatch:
		return Rejected, true, append(rs, reason.FaceMismatch)
	default: // Uncertain or unknown
		if p.cfg.Decision.RejectUncertainMatch {
			return Rejected, true, append(rs, reason.FaceMismatch)
		}
		return Review, false, append(rs, reason.BorderlineMatch)
	}
}

// appendUnique appends each code of add not already in dst (or earlier in
// add). Lists are short, so a linear scan beats a map.
func appendUnique(dst []reason.Code, add ...reason.Code) []reason.Code {
	for _, c := range add {
		seen := false
		for _, d := range dst {
			if d == c {
				seen = true
				break
			}
		}
		if !seen {
			dst = append(dst, c)
		}
	}
	return dst
}
