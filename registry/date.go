package registry

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	jalaali "github.com/jalaali/go-jalaali"
)

// Date is a Solar Hijri (Jalali) calendar date, as the civil registry
// records birth dates. The zero Date is invalid.
type Date struct {
	Year  int `json:"year"`
	Month int `json:"month"`
	Day   int `json:"day"`
}

// ErrInvalidDate reports an impossible Solar Hijri date.
type ErrInvalidDate struct {
	Input string
	Why   string
}

// Error implements the error interface; branch on the fields or with errors.Is/As, not on this text.
func (e *ErrInvalidDate) Error() string {
	return fmt.Sprintf("registry: invalid Solar Hijri date %q: %s", e.Input, e.Why)
}

// NewDate returns the date y/m/d after checking that it exists (month
// lengths and leap Esfand included).
func NewDate(y, m, d int) (Date, error) {
	dt := Date{y, m, d}
	if err := dt.Validate(); err != nil {
		return Date{}, err
	}
	return dt, nil
}

// ParseDate parses "1370/01/15" or "1370-1-15", with Persian or
// Arabic-Indic digits accepted.
func ParseDate(s string) (Date, error) {
	norm := strings.TrimSpace(normalizeDigits(s))
	parts := strings.FieldsFunc(norm, func(r rune) bool { return r == '/' || r == '-' || r == '.' })
	if len(parts) != 3 {
		return Date{}, &ErrInvalidDate{Input: s, Why: "want year/month/day"}
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return Date{}, &ErrInvalidDate{Input: s, Why: "not a number: " + p}
		}
		v[i] = n
	}
	d := Date{v[0], v[1], v[2]}
	if err := d.Validate(); err != nil {
		return Date{}, err
	}
	return d, nil
}

// Validate returns an *ErrInvalidDate when d does not exist in the Solar
// Hijri calendar.
func (d Date) Validate() error {
	in := d.String()
	switch {
	case d.Year < 1 || d.Year > 3177:
		return &ErrInvalidDate{Input: in, Why: "year out of range"}
	case d.Month < 1 || d.Month > 12:
		return &ErrInvalidDate{Input: in, Why: "month must be 1..12"}
	case d.Day < 1:
		return &ErrInvalidDate{Input: in, Why: "day must be at least 1"}
	}
	n, err := jalaali.MonthLength(d.Year, d.Month)
	if err != nil {
		return &ErrInvalidDate{Input: in, Why: err.Error()}
	}
	if d.Day > n {
		return &ErrInvalidDate{Input: in, Why: fmt.Sprintf("month %d of %d has %d days", d.Month, d.Year, n)}
	}
	return nil
}

// IsLeap reports whether d's year is a Solar Hijri leap year (Esfand has
// 30 days).
func (d Date) IsLeap() bool {
	ok, err := jalaali.IsLeapYear(d.Year)
	return err == nil && ok
}

// String formats d as "1370/01/15".
func (d Date) String() string { return fmt.Sprintf("%04d/%02d/%02d", d.Year, d.Month, d.Day) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// DateOf returns the Solar Hijri date of t in t's location. Callers that
// need Tehran's "today" convert t with t.In(tehran) first.
func DateOf(t time.Time) Date {
	y, m, d, err := jalaali.ToJalaali(t.Year(), t.Month(), t.Day())
	if err != nil {
		// ToJalaali fails only for years outside the algorithm's range
		// (before 1 AP / after 3177 AP), which time.Time values of this
		// era never reach.
		panic("registry: " + err.Error())
	}
	return Date{y, int(m), d}
}

// Gregorian returns midnight of d in loc.
func (d Date) Gregorian(loc *time.Location) (time.Time, error) {
	if err := d.Validate(); err != nil {
		return time.Time{}, err
	}
	y, m, dd, err := jalaali.ToGregorian(d.Year, jalaali.Month(d.Month), d.Day)
	if err != nil {
		return time.Time{}, &ErrInvalidDate{Input: d.String(), Why: err.Error()}
	}
	return time.Date(y, m, dd, 0, 0, 0, 0, loc), nil
}

// MarshalText formats d as "1370/01/15".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses "1370/01/15" (see ParseDate).
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// NormalizeDigits maps Persian (۰-۹) and Arabic-Indic (٠-٩) digits in s to
// ASCII digits and leaves every other character alone.
func NormalizeDigits(s string) string { return normalizeDigits(s) }

// normalizeDigits maps Persian (U+06F0..9) and Arabic-Indic (U+0660..9)
// digits to ASCII and leaves everything else alone.
func normalizeDigits(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '۰' && r <= '۹':
			return '0' + (r - '۰')
		case r >= '٠' && r <= '٩':
			return '0' + (r - '٠')
		}
		return r
	}, s)
}
