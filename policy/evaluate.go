package policy

import (
	"time"

	"github.com/hoviyat/hoviyat/reason"
)

// Evaluate checks f against the policy with "today" taken from the
// configured clock. See EvaluateAt.
func (p *Policy) Evaluate(f Facts) Verdict { return p.EvaluateAt(f, p.cfg.Now()) }

// EvaluateAt checks f as of now. It never fails: a "no" is a Verdict with
// Eligible false and every applicable reason, in this fixed order:
//
//  1. identity_not_found: f.Person is nil (2-4 and 12 are then skipped)
//  2. deceased: the registry records a death
//  3. underage: Age < MinAge on today in Location; also
//     when the age cannot be computed (impossible birth date, or one after
//     today), since it cannot be shown to be MinAge or more
//  4. not_native: not a native citizen, unless AllowNonNative
//  5. representative_in_person: any non-empty Representative, known kind
//     or not, unless AllowRepresentatives
//  6. already_verified: verified before, unless AllowReverification
//  7. locked: the national ID is locked
//  8. attempts_exhausted: FailedAttempts >= MaxUploads
//  9. in_review: a previous video awaits an operator
//  10. outside_country: only when f.CountryChecked: a country not
//     in AllowedCountries (compared case-insensitively)
//  11. location_unknown: only when f.CountryChecked: an empty
//     country, unless AllowUnknownCountry
//  12. mobile_not_owned: unless SkipMobileOwnership; skipped when
//     f.Person is nil (ownership is not asked about an unknown person)
//  13. otp_required: OTP not confirmed at StageBegin or later, unless
//     SkipOTP
//
// InPersonRequired is true when any reason sends the applicant to a service
// centre (reason.Code.InPerson). Age is filled whenever it can be computed;
// AttemptsLeft always.
func (p *Policy) EvaluateAt(f Facts, now time.Time) Verdict {
	v := Verdict{AttemptsLeft: p.AttemptsLeft(f.FailedAttempts)}
	// Collect on the stack and copy once at the end: an eligible verdict
	// allocates nothing, a refusal exactly one slice.
	var buf [13]reason.Code
	reasons := buf[:0]

	if f.Person == nil {
		reasons = append(reasons, reason.IdentityNotFound)
	} else {
		if !f.Person.Alive {
			reasons = append(reasons, reason.Deceased)
		}
		n, ok := p.ageAt(f, now)
		if ok {
			v.Age = n
		}
		if !ok || n < p.cfg.MinAge {
			reasons = append(reasons, reason.Underage)
		}
		if !f.Person.Native && !p.cfg.AllowNonNative {
			reasons = append(reasons, reason.NotNative)
		}
	}
	if f.Representative != NoRepresentative && !p.cfg.AllowRepresentatives {
		reasons = append(reasons, reason.RepresentativeInPerson)
	}
	if f.Verified && !p.cfg.AllowReverification {
		reasons = append(reasons, reason.AlreadyVerified)
	}
	if f.Locked {
		reasons = append(reasons, reason.Locked)
	}
	if f.FailedAttempts >= p.cfg.MaxUploads {
		reasons = append(reasons, reason.AttemptsExhausted)
	}
	if f.InReview {
		reasons = append(reasons, reason.InReview)
	}
	if f.CountryChecked {
		switch {
		case f.Country == "":
			if !p.cfg.AllowUnknownCountry {
				reasons = append(reasons, reason.LocationUnknown)
			}
		case !p.CountryAllowed(f.Country):
			reasons = append(reasons, reason.OutsideCountry)
		}
	}
	if f.Person != nil && !f.MobileOwned && !p.cfg.SkipMobileOwnership {
		reasons = append(reasons, reason.MobileNotOwned)
	}
	if f.Stage >= StageBegin && !f.OTPConfirmed && !p.cfg.SkipOTP {
		reasons = append(reasons, reason.OTPRequired)
	}

	if len(reasons) == 0 {
		v.Eligible = true
		return v
	}
	v.Reasons = append([]reason.Code(nil), reasons...)
	v.InPersonRequired = reason.AnyInPerson(reasons)
	return v
}

// ageAt returns the person's age on now's date in Location, and false when
// it cannot be computed.
func (p *Policy) ageAt(f Facts, now time.Time) (int, bool) {
	today, err := dateIn(now, p.cfg.Location)
	if err != nil || !validDate(f.Person.BirthDate) {
		return 0, false
	}
	n, err := age(f.Person.BirthDate, today)
	return n, err == nil
}
