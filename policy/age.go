package policy

import (
	"fmt"
	"time"

	jalaali "github.com/jalaali/go-jalaali"

	"github.com/hoviyat/hoviyat/registry"
)

// Age returns the number of full Solar Hijri years a person born on birth
// has completed on today. Both dates must exist (registry.Date.Validate);
// a birth date after today is an error wrapping ErrBirthAfterToday.
//
// The birthday itself counts: on the day the calendar shows the birth
// month and day again, the year is complete.
//
// Esfand-30 rule (strict reading). Esfand, the 12th month, has 30 days only
// in leap years. A person born on 30 Esfand of a leap year completes a year
// on 30 Esfand when the year of the anniversary is a leap year, and
// otherwise at the start of 1 Farvardin of the next year, never on 29
// Esfand. This is what a plain comparison of (month, day) gives, so no date
// is ever shifted: on 29 Esfand of a common year the birthday has not been
// reached yet. It errs towards refusing on the one ambiguous day, which is
// the safe side for an 18+ rule.
func Age(birth, today registry.Date) (int, error) {
	if !validDate(birth) {
		return 0, fmt.Errorf("policy: birth date: %w", birth.Validate())
	}
	if !validDate(today) {
		return 0, fmt.Errorf("policy: today: %w", today.Validate())
	}
	return age(birth, today)
}

// age is Age for dates already known to be valid.
func age(birth, today registry.Date) (int, error) {
	if today.Before(birth) {
		return 0, fmt.Errorf("%w: born %s, today %s", ErrBirthAfterToday, birth, today)
	}
	n := today.Year - birth.Year
	if today.Month < birth.Month || (today.Month == birth.Month && today.Day < birth.Day) {
		n--
	}
	return n, nil
}

// validDate is registry.Date.Validate's rule without building an error (so
// the common case does not allocate). A test keeps the two in agreement.
func validDate(d registry.Date) bool {
	if d.Year < 1 || d.Year > 3177 || d.Month < 1 || d.Month > 12 || d.Day < 1 {
		return false
	}
	n, err := jalaali.MonthLength(d.Year, d.Month)
	return err == nil && d.Day <= n
}

// dateIn returns the Solar Hijri date of t's wall clock in loc.
func dateIn(t time.Time, loc *time.Location) (registry.Date, error) {
	gy, gm, gd := t.In(loc).Date()
	y, m, d, err := jalaali.ToJalaali(gy, gm, gd)
	if err != nil {
		return registry.Date{}, fmt.Errorf("policy: date of %s: %w", t.Format(time.RFC3339), err)
	}
	dt := registry.Date{Year: y, Month: int(m), Day: d}
	if !validDate(dt) {
		return registry.Date{}, fmt.Errorf("policy: date of %s: %w", t.Format(time.RFC3339), dt.Validate())
	}
	return dt, nil
}
