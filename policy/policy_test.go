package policy_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

func tehran(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tehran")
	require.NoError(t, err)
	return loc
}

func date(t testing.TB, y, m, d int) registry.Date {
	t.Helper()
	dt, err := registry.NewDate(y, m, d)
	require.NoError(t, err)
	return dt
}

// noonIn returns 12:00 in Tehran on the Solar Hijri date y/m/d.
func noonIn(t testing.TB, y, m, d int) time.Time {
	t.Helper()
	mid, err := date(t, y, m, d).Gregorian(tehran(t))
	require.NoError(t, err)
	return mid.Add(12 * time.Hour)
}

func mustNew(t testing.TB, cfg policy.Config) *policy.Policy {
	t.Helper()
	p, err := policy.New(cfg)
	require.NoError(t, err)
	return p
}

// eligible returns facts that pass every default rule at StageBegin for a
// person born on 1370/05/10.
func eligible(t testing.TB) policy.Facts {
	return policy.Facts{
		Stage: policy.StageBegin,
		Person: &registry.Person{
			NationalID: "0499370899",
			BirthDate:  date(t, 1370, 5, 10),
			Alive:      true,
			Native:     true,
		},
		Country:        "IR",
		CountryChecked: true,
		MobileOwned:    true,
		OTPConfirmed:   true,
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	p := mustNew(t, policy.Config{})
	assert.Equal(t, 18, p.MinAge())
	assert.Equal(t, 3, p.MaxUploads())
	assert.Equal(t, []string{"IR"}, p.AllowedCountries())
	assert.Equal(t, "Asia/Tehran", p.Location().String())
	assert.False(t, p.AllowUnknownCountry())
	assert.False(t, p.AllowNonNative())
	assert.False(t, p.AllowRepresentatives())
	assert.False(t, p.AllowReverification())
	assert.False(t, p.SkipMobileOwnership())
	assert.False(t, p.SkipOTP())
	assert.Equal(t, policy.DecisionConfig{}, p.Decision())
	assert.WithinDuration(t, time.Now(), p.Now(), time.Minute)
	cfg := p.Config()
	assert.Equal(t, 18, cfg.MinAge)
	assert.NotNil(t, cfg.Now)
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   policy.Config
		field string
	}{
		{"negative MinAge", policy.Config{MinAge: -1}, "MinAge"},
		{"negative MaxUploads", policy.Config{MaxUploads: -3}, "MaxUploads"},
		{"three letters", policy.Config{AllowedCountries: []string{"IRN"}}, "AllowedCountries"},
		{"empty code", policy.Config{AllowedCountries: []string{"IR", ""}}, "AllowedCountries"},
		{"digits", policy.Config{AllowedCountries: []string{"1R"}}, "AllowedCountries"},
		{"non-ASCII", policy.Config{AllowedCountries: []string{"ایران"}}, "AllowedCountries"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := policy.New(tc.cfg)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.ErrorIs(t, err, policy.ErrInvalidConfig)
			var ce *policy.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.Contains(t, err.Error(), "policy: ")
		})
	}
}

func TestNewCopiesAndNormalises(t *testing.T) {
	t.Parallel()
	countries := []string{" ir ", "De", "IR"}
	p := mustNew(t, policy.Config{AllowedCountries: countries, MinAge: 21, MaxUploads: 5})
	assert.Equal(t, []string{"IR", "DE"}, p.AllowedCountries())
	assert.Equal(t, 21, p.MinAge())
	assert.Equal(t, 5, p.MaxUploads())

	// Changing the caller's slice or a returned copy changes nothing.
	countries[0] = "US"
	got := p.AllowedCountries()
	got[0] = "FR"
	cfg := p.Config()
	cfg.AllowedCountries[1] = "GB"
	assert.Equal(t, []string{"IR", "DE"}, p.AllowedCountries())
	assert.True(t, p.CountryAllowed("de"))
	assert.False(t, p.CountryAllowed("US"))
	assert.False(t, p.CountryAllowed(""))
}

func TestNewKeepsLocationAndClock(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2024, 3, 19, 23, 30, 0, 0, time.UTC)
	p := mustNew(t, policy.Config{Location: time.UTC, Now: func() time.Time { return fixed }})
	assert.Equal(t, time.UTC, p.Location())
	assert.Equal(t, fixed, p.Now())
	today, err := p.Today(fixed)
	require.NoError(t, err)
	assert.Equal(t, date(t, 1402, 12, 29), today, "UTC date is still 19 March")

	pt := mustNew(t, policy.Config{})
	today, err = pt.Today(fixed)
	require.NoError(t, err)
	assert.Equal(t, date(t, 1403, 1, 1), today, "03:00 on 20 March in Tehran")
}

func TestAge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		birth, today registry.Date
		want         int
	}{
		{"birthday itself", registry.Date{Year: 1385, Month: 1, Day: 1}, registry.Date{Year: 1403, Month: 1, Day: 1}, 18},
		{"day before birthday", registry.Date{Year: 1385, Month: 1, Day: 2}, registry.Date{Year: 1403, Month: 1, Day: 1}, 17},
		{"born today", registry.Date{Year: 1403, Month: 5, Day: 5}, registry.Date{Year: 1403, Month: 5, Day: 5}, 0},
		{"later month same year", registry.Date{Year: 1370, Month: 5, Day: 10}, registry.Date{Year: 1403, Month: 6, Day: 1}, 33},
		{"earlier month", registry.Date{Year: 1370, Month: 5, Day: 10}, registry.Date{Year: 1403, Month: 4, Day: 31}, 32},
		// Esfand 30 of a leap year, anniversary year common: the year
		// completes on 1 Farvardin, not on 29 Esfand.
		{"esfand30 leap birth, common year 29 esfand", registry.Date{Year: 1383, Month: 12, Day: 30}, registry.Date{Year: 1401, Month: 12, Day: 29}, 17},
		{"esfand30 leap birth, next 1 farvardin", registry.Date{Year: 1383, Month: 12, Day: 30}, registry.Date{Year: 1402, Month: 1, Day: 1}, 18},
		// Anniversary year leap: 30 Esfand exists and is the birthday.
		{"esfand30 leap birth, leap year 29 esfand", registry.Date{Year: 1366, Month: 12, Day: 30}, registry.Date{Year: 1403, Month: 12, Day: 29}, 36},
		{"esfand30 leap birth, leap year 30 esfand", registry.Date{Year: 1366, Month: 12, Day: 30}, registry.Date{Year: 1403, Month: 12, Day: 30}, 37},
		// Born on 29 Esfand of a common year: the birthday is 29 Esfand
		// in every year, leap or not.
		{"esfand29 common birth, leap year 29 esfand", registry.Date{Year: 1385, Month: 12, Day: 29}, registry.Date{Year: 1403, Month: 12, Day: 29}, 18},
		{"esfand29 common birth, leap year 28 esfand", registry.Date{Year: 1385, Month: 12, Day: 29}, registry.Date{Year: 1403, Month: 12, Day: 28}, 17},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := policy.Age(tc.birth, tc.today)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestAgeErrors(t *testing.T) {
	t.Parallel()
	ok := registry.Date{Year: 1403, Month: 1, Day: 1}
	tests := []struct {
		name         string
		birth, today registry.Date
		invalid      bool
	}{
		{"30 esfand of a common year", registry.Date{Year: 1401, Month: 12, Day: 30}, ok, true},
		{"31 mehr", registry.Date{Year: 1370, Month: 7, Day: 31}, ok, true},
		{"month 13", registry.Date{Year: 1370, Month: 13, Day: 1}, ok, true},
		{"day 0", registry.Date{Year: 1370, Month: 1, Day: 0}, ok, true},
		{"zero date", registry.Date{}, ok, true},
		{"year past range", registry.Date{Year: 3178, Month: 1, Day: 1}, ok, true},
		{"invalid today", ok, registry.Date{Year: 1402, Month: 12, Day: 30}, true},
		{"birth after today", registry.Date{Year: 1403, Month: 1, Day: 2}, ok, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, err := policy.Age(tc.birth, tc.today)
			require.Error(t, err)
			assert.Zero(t, n)
			var bad *registry.ErrInvalidDate
			assert.Equal(t, tc.invalid, errors.As(err, &bad), "ErrInvalidDate: %v", err)
			assert.Equal(t, !tc.invalid, errors.Is(err, policy.ErrBirthAfterToday), "ErrBirthAfterToday: %v", err)
		})
	}
}

// TestSeventeenYears364Days pins the acceptance case: 17 years and 364
// days old is refused; the 18th birthday itself is accepted.
func TestSeventeenYears364Days(t *testing.T) {
	t.Parallel()
	loc := tehran(t)
	birth := date(t, 1385, 1, 2)
	today := date(t, 1403, 1, 1)
	// Prove the arithmetic independently: 17th anniversary + 364 days.
	anniv17, err := date(t, 1402, 1, 2).Gregorian(loc)
	require.NoError(t, err)
	tg, err := today.Gregorian(loc)
	require.NoError(t, err)
	require.Equal(t, 364, int(tg.Sub(anniv17).Hours()/24+0.5))

	p := mustNew(t, policy.Config{})
	f := eligible(t)
	f.Person.BirthDate = birth
	v := p.EvaluateAt(f, noonIn(t, 1403, 1, 1))
	assert.False(t, v.Eligible)
	assert.Equal(t, []reason.Code{reason.Underage}, v.Reasons)
	assert.Equal(t, 17, v.Age)
	assert.True(t, v.InPersonRequired)

	v = p.EvaluateAt(f, noonIn(t, 1403, 1, 2))
	assert.True(t, v.Eligible, "the 18th birthday itself counts: %v", v.Reasons)
	assert.Empty(t, v.Reasons)
	assert.Equal(t, 18, v.Age)
}

// TestTehranMidnight: at 23:30 UTC it is already the next day in Tehran
// (UTC+03:30), so the birthday has arrived there, though not in UTC.
func TestTehranMidnight(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 19, 23, 30, 0, 0, time.UTC) // 1403/01/01 03:00 Tehran
	f := eligible(t)
	f.Person.BirthDate = date(t, 1385, 1, 1)

	v := mustNew(t, policy.Config{}).EvaluateAt(f, now)
	assert.True(t, v.Eligible, "%v", v.Reasons)
	assert.Equal(t, 18, v.Age)

	v = mustNew(t, policy.Config{Location: time.UTC}).EvaluateAt(f, now)
	assert.Equal(t, []reason.Code{reason.Underage}, v.Reasons)
	assert.Equal(t, 17, v.Age)

	// One hour earlier it is 02:00 in Tehran on the same day: still 18.
	// Four hours earlier (19:30 UTC, 23:00 Tehran 29 Esfand): 17.
	v = mustNew(t, policy.Config{}).EvaluateAt(f, now.Add(-4*time.Hour))
	assert.Equal(t, []reason.Code{reason.Underage}, v.Reasons)
	assert.Equal(t, 17, v.Age)
}

func TestEvaluateUsesClock(t *testing.T) {
	t.Parallel()
	now := noonIn(t, 1403, 1, 1)
	p := mustNew(t, policy.Config{Now: func() time.Time { return now }})
	f := eligible(t)
	f.Person.BirthDate = date(t, 1385, 1, 2)
	assert.Equal(t, p.EvaluateAt(f, now), p.Evaluate(f))
	assert.Equal(t, []reason.Code{reason.Underage}, p.Evaluate(f).Reasons)
}

func TestEsfand30Evaluate(t *testing.T) {
	t.Parallel()
	p := mustNew(t, policy.Config{})
	tests := []struct {
		name      string
		birth     registry.Date
		now       time.Time
		wantAge   int
		wantAdult bool
	}{
		{"leap birth, 29 esfand of common 18th year", date(t, 1383, 12, 30), noonIn(t, 1401, 12, 29), 17, false},
		{"leap birth, 1 farvardin after", date(t, 1383, 12, 30), noonIn(t, 1402, 1, 1), 18, true},
		{"common-year 29 esfand birth, leap 18th year", date(t, 1385, 12, 29), noonIn(t, 1403, 12, 29), 18, true},
		{"common-year 29 esfand birth, day before", date(t, 1385, 12, 29), noonIn(t, 1403, 12, 28), 17, false},
		{"leap birth, leap anniversary 30 esfand (min age 37)", date(t, 1366, 12, 30), noonIn(t, 1403, 12, 30), 37, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pp := p
			if tc.wantAge == 37 {
				pp = mustNew(t, policy.Config{MinAge: 37})
			}
			f := eligible(t)
			f.Person.BirthDate = tc.birth
			v := pp.EvaluateAt(f, tc.now)
			assert.Equal(t, tc.wantAge, v.Age)
			assert.Equal(t, tc.wantAdult, v.Eligible, "%v", v.Reasons)
			if !tc.wantAdult {
				assert.Equal(t, []reason.Code{reason.Underage}, v.Reasons)
			}
		})
	}
}

func TestEvaluateRules(t *testing.T) {
	t.Parallel()
	now := noonIn(t, 1403, 6, 1)
	tests := []struct {
		name     string
		cfg      policy.Config
		mutate   func(*policy.Facts)
		want     []reason.Code
		inPerson bool
		left     int
		noAge    bool // the age cannot be computed
	}{
		{name: "eligible", mutate: func(*policy.Facts) {}, left: 3},
		{name: "identity not found", mutate: func(f *policy.Facts) { f.Person = nil }, want: []reason.Code{reason.IdentityNotFound}, left: 3, noAge: true},
		{name: "non-native", mutate: func(f *policy.Facts) { f.Person.Native = false }, want: []reason.Code{reason.NotNative}, inPerson: true, left: 3},
		{name: "non-native allowed", cfg: policy.Config{AllowNonNative: true}, mutate: func(f *policy.Facts) { f.Person.Native = false }, left: 3},
		{name: "deceased", mutate: func(f *policy.Facts) { f.Person.Alive = false }, want: []reason.Code{reason.Deceased}, inPerson: true, left: 3},
		{name: "impossible birth date fails closed", mutate: func(f *policy.Facts) { f.Person.BirthDate = registry.Date{Year: 1401, Month: 12, Day: 30} }, want: []reason.Code{reason.Underage}, inPerson: true, left: 3, noAge: true},
		{name: "birth after today fails closed", mutate: func(f *policy.Facts) { f.Person.BirthDate = registry.Date{Year: 1404, Month: 1, Day: 1} }, want: []reason.Code{reason.Underage}, inPerson: true, left: 3, noAge: true},
		{name: "guardian", mutate: func(f *policy.Facts) { f.Representative = policy.Guardian }, want: []reason.Code{reason.RepresentativeInPerson}, inPerson: true, left: 3},
		{name: "custodian", mutate: func(f *policy.Facts) { f.Representative = policy.Custodian }, want: []reason.Code{reason.RepresentativeInPerson}, inPerson: true, left: 3},
		{name: "attorney", mutate: func(f *policy.Facts) { f.Representative = policy.Attorney }, want: []reason.Code{reason.RepresentativeInPerson}, inPerson: true, left: 3},
		{name: "unknown representative kind", mutate: func(f *policy.Facts) { f.Representative = "cousin" }, want: []reason.Code{reason.RepresentativeInPerson}, inPerson: true, left: 3},
		{name: "representatives allowed", cfg: policy.Config{AllowRepresentatives: true}, mutate: func(f *policy.Facts) { f.Representative = policy.Attorney }, left: 3},
		{name: "outside Iran", mutate: func(f *policy.Facts) { f.Country = "DE" }, want: []reason.Code{reason.OutsideCountry}, left: 3},
		{name: "lower-case IR", mutate: func(f *policy.Facts) { f.Country = "ir" }, left: 3},
		{name: "other allowed country", cfg: policy.Config{AllowedCountries: []string{"IR", "DE"}}, mutate: func(f *policy.Facts) { f.Country = "DE" }, left: 3},
		{name: "unknown country strict", mutate: func(f *policy.Facts) { f.Country = "" }, want: []reason.Code{reason.LocationUnknown}, left: 3},
		{name: "unknown country allowed", cfg: policy.Config{AllowUnknownCountry: true}, mutate: func(f *policy.Facts) { f.Country = "" }, left: 3},
		{name: "unknown country allowed, foreign still refused", cfg: policy.Config{AllowUnknownCountry: true}, mutate: func(f *policy.Facts) { f.Country = "US" }, want: []reason.Code{reason.OutsideCountry}, left: 3},
		{name: "country not checked", mutate: func(f *policy.Facts) { f.Country, f.CountryChecked = "US", false }, left: 3},
		{name: "mobile not owned", mutate: func(f *policy.Facts) { f.MobileOwned = false }, want: []reason.Code{reason.MobileNotOwned}, left: 3},
		{name: "mobile check skipped", cfg: policy.Config{SkipMobileOwnership: true}, mutate: func(f *policy.Facts) { f.MobileOwned = false }, left: 3},
		{name: "otp not needed at inquiry", mutate: func(f *policy.Facts) { f.Stage, f.OTPConfirmed = policy.StageInquiry, false }, left: 3},
		{name: "otp required from begin", mutate: func(f *policy.Facts) { f.Stage, f.OTPConfirmed = policy.StageBegin, false }, want: []reason.Code{reason.OTPRequired}, left: 3},
		{name: "otp required at submit", mutate: func(f *policy.Facts) { f.Stage, f.OTPConfirmed = policy.StageSubmit, false }, want: []reason.Code{reason.OTPRequired}, left: 3},
		{name: "otp skipped", cfg: policy.Config{SkipOTP: true}, mutate: func(f *policy.Facts) { f.OTPConfirmed = false }, left: 3},
		{name: "approved ID refused", mutate: func(f *policy.Facts) { f.Verified = true }, want: []reason.Code{reason.AlreadyVerified}, left: 3},
		{name: "approved ID refused even with attempts left and no failures", mutate: func(f *policy.Facts) { f.Verified, f.Stage = true, policy.StageSubmit }, want: []reason.Code{reason.AlreadyVerified}, left: 3},
		{name: "reverification allowed", cfg: policy.Config{AllowReverification: true}, mutate: func(f *policy.Facts) { f.Verified = true }, left: 3},
		{name: "two failures leave one", mutate: func(f *policy.Facts) { f.FailedAttempts = 2 }, left: 1},
		{name: "4th upload refused", mutate: func(f *policy.Facts) { f.FailedAttempts = 3 }, want: []reason.Code{reason.AttemptsExhausted}, inPerson: true, left: 0},
		{name: "more failures than allowed", mutate: func(f *policy.Facts) { f.FailedAttempts = 7 }, want: []reason.Code{reason.AttemptsExhausted}, inPerson: true, left: 0},
		{name: "negative failures read as zero", mutate: func(f *policy.Facts) { f.FailedAttempts = -2 }, left: 3},
		{name: "max uploads 5", cfg: policy.Config{MaxUploads: 5}, mutate: func(f *policy.Facts) { f.FailedAttempts = 3 }, left: 2},
		{name: "locked", mutate: func(f *policy.Facts) { f.Locked, f.FailedAttempts = true, 3 }, want: []reason.Code{reason.Locked, reason.AttemptsExhausted}, inPerson: true, left: 0},
		{name: "locked by operator", mutate: func(f *policy.Facts) { f.Locked = true }, want: []reason.Code{reason.Locked}, inPerson: true, left: 3},
		{name: "in review", mutate: func(f *policy.Facts) { f.InReview, f.FailedAttempts = true, 1 }, want: []reason.Code{reason.InReview}, left: 2},
		{name: "min age 40", cfg: policy.Config{MinAge: 40}, mutate: func(*policy.Facts) {}, want: []reason.Code{reason.Underage}, inPerson: true, left: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mustNew(t, tc.cfg)
			f := eligible(t)
			tc.mutate(&f)
			v := p.EvaluateAt(f, now)
			assert.Equal(t, tc.want, v.Reasons)
			assert.Equal(t, len(tc.want) == 0, v.Eligible)
			assert.Equal(t, tc.inPerson, v.InPersonRequired)
			assert.Equal(t, tc.left, v.AttemptsLeft)
			if tc.noAge {
				assert.Zero(t, v.Age)
			} else {
				assert.Equal(t, 33, v.Age)
			}
		})
	}
}

// TestEvaluateCollectsAll: every reason applies at once and is reported,
// in the documented order.
func TestEvaluateCollectsAll(t *testing.T) {
	t.Parallel()
	p := mustNew(t, policy.Config{})
	now := noonIn(t, 1403, 6, 1)
	f := policy.Facts{
		Stage:          policy.StageSubmit,
		Person:         &registry.Person{BirthDate: date(t, 1390, 1, 1)},
		Representative: policy.Guardian,
		Country:        "US",
		CountryChecked: true,
		Verified:       true,
		Locked:         true,
		InReview:       true,
		FailedAttempts: 3,
	}
	v := p.EvaluateAt(f, now)
	assert.False(t, v.Eligible)
	assert.Equal(t, []reason.Code{
		reason.Deceased, reason.Underage, reason.NotNative,
		reason.RepresentativeInPerson, reason.AlreadyVerified, reason.Locked,
		reason.AttemptsExhausted, reason.InReview, reason.OutsideCountry,
		reason.MobileNotOwned, reason.OTPRequired,
	}, v.Reasons)
	assert.True(t, v.InPersonRequired)
	assert.Equal(t, 13, v.Age)
	assert.Equal(t, 0, v.AttemptsLeft)

	f.Person = nil
	f.Country = ""
	v = p.EvaluateAt(f, now)
	assert.Equal(t, []reason.Code{
		reason.IdentityNotFound,
		reason.RepresentativeInPerson, reason.AlreadyVerified, reason.Locked,
		reason.AttemptsExhausted, reason.InReview, reason.LocationUnknown,
		reason.OTPRequired, // no mobile_not_owned: not asked about an unknown person
	}, v.Reasons)
	for _, c := range v.Reasons {
		assert.True(t, c.Known(), "%s is catalogued", c)
	}
}

// TestEvaluateReasonsNotShared: each verdict owns its Reasons.
func TestEvaluateReasonsNotShared(t *testing.T) {
	t.Parallel()
	p := mustNew(t, policy.Config{})
	f := eligible(t)
	f.Verified = true
	a := p.Evaluate(f)
	b := p.Evaluate(f)
	require.Len(t, a.Reasons, 1)
	a.Reasons[0] = reason.Underage
	assert.Equal(t, reason.AlreadyVerified, b.Reasons[0])
}

func TestEvaluateConcurrent(t *testing.T) {
	t.Parallel()
	p := mustNew(t, policy.Config{})
	now := noonIn(t, 1403, 6, 1)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				f := eligible(t)
				f.FailedAttempts = (g + i) % 5
				v := p.EvaluateAt(f, now)
				if want := f.FailedAttempts < 3; v.Eligible != want {
					errs <- fmt.Errorf("failed=%d: eligible=%v", f.FailedAttempts, v.Eligible)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

func TestStageAndRepresentative(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "inquiry", policy.StageInquiry.String())
	assert.Equal(t, "begin", policy.StageBegin.String())
	assert.Equal(t, "submit", policy.StageSubmit.String())
	assert.Equal(t, "stage(9)", policy.Stage(9).String())
	for _, r := range []policy.Representative{policy.NoRepresentative, policy.Guardian, policy.Custodian, policy.Attorney} {
		assert.True(t, r.Valid(), r)
	}
	assert.False(t, policy.Representative("cousin").Valid())
}

func TestTodayOutOfRange(t *testing.T) {
	t.Parallel()
	p := mustNew(t, policy.Config{})
	_, err := p.Today(time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC))
	assert.Error(t, err)
	// An instant the calendar cannot express fails closed, without panic.
	v := p.EvaluateAt(eligible(t), time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC))
	assert.Equal(t, []reason.Code{reason.Underage}, v.Reasons)
}

// TestAgeValidatesLikeRegistry: Age rejects exactly the dates that
// registry.Date.Validate rejects, across the whole calendar range and its
// edges (Age checks validity without building an error first).
func TestAgeValidatesLikeRegistry(t *testing.T) {
	t.Parallel()
	today := registry.Date{Year: 3177, Month: 12, Day: 29}
	checked := 0
	for y := -1; y <= 3178; y++ {
		for _, md := range [][2]int{{12, 28}, {12, 29}, {12, 30}, {12, 31}, {0, 1}, {1, 0}, {1, 31}, {1, 32}, {6, 31}, {7, 30}, {7, 31}, {11, 30}, {13, 1}} {
			d := registry.Date{Year: y, Month: md[0], Day: md[1]}
			_, err := policy.Age(d, today)
			if (d.Validate() == nil) != (err == nil) {
				t.Fatalf("%v: Validate=%v, Age err=%v", d, d.Validate(), err)
			}
			checked++
		}
	}
	assert.Greater(t, checked, 40000)
}
