package policy_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/registry"
)

// monthLen is the length of month m of year y from registry.Date.Validate,
// an oracle independent of policy.
func monthLen(y, m int) int {
	for d := 31; d >= 29; d-- {
		if (registry.Date{Year: y, Month: m, Day: d}).Validate() == nil {
			return d
		}
	}
	return 0
}

// validFrom maps arbitrary integers onto an existing Solar Hijri date
// between 1300 and 1500.
func validFrom(y, m, d int) registry.Date {
	abs := func(v int) int {
		if v < 0 {
			if v == -v { // math.MinInt
				return 0
			}
			return -v
		}
		return v
	}
	yy := 1300 + abs(y)%200
	mm := 1 + abs(m)%12
	return registry.Date{Year: yy, Month: mm, Day: 1 + abs(d)%monthLen(yy, mm)}
}

// anniversaryReached is an independent statement of the strict rule: the
// n-th anniversary is the same month and day n years later if that date
// exists, else 1 Farvardin of the following year.
func anniversaryReached(birth, today registry.Date, n int) bool {
	a := registry.Date{Year: birth.Year + n, Month: birth.Month, Day: birth.Day}
	if a.Validate() != nil {
		a = registry.Date{Year: birth.Year + n + 1, Month: 1, Day: 1}
	}
	return !today.Before(a)
}

// FuzzAge: Age never panics, agrees with Validate on which dates exist,
// matches the anniversary definition, and never decreases as today moves
// forward.
func FuzzAge(f *testing.F) {
	f.Add(1385, 1, 2, 1403, 1, 1, uint16(1))
	f.Add(1383, 12, 30, 1401, 12, 29, uint16(1))
	f.Add(1366, 12, 30, 1403, 12, 29, uint16(2))
	f.Add(1401, 12, 30, 1403, 1, 1, uint16(400))
	f.Add(-1, 0, 0, 3177, 12, 29, uint16(0))
	f.Fuzz(func(t *testing.T, by, bm, bd, ty, tm, td int, days uint16) {
		// Raw integers: an error exactly when a date does not exist or
		// birth is after today.
		rawB := registry.Date{Year: by, Month: bm, Day: bd}
		rawT := registry.Date{Year: ty, Month: tm, Day: td}
		n, err := policy.Age(rawB, rawT)
		invalid := rawB.Validate() != nil || rawT.Validate() != nil
		var bad *registry.ErrInvalidDate
		switch {
		case invalid:
			require.ErrorAs(t, err, &bad)
		case rawT.Before(rawB):
			require.ErrorIs(t, err, policy.ErrBirthAfterToday)
		default:
			require.NoError(t, err)
			require.GreaterOrEqual(t, n, 0)
		}

		// Valid dates.
		birth, today := validFrom(by, bm, bd), validFrom(ty, tm, td)
		if today.Before(birth) {
			birth, today = today, birth
		}
		n, err = policy.Age(birth, today)
		require.NoError(t, err)
		require.True(t, anniversaryReached(birth, today, n), "%s→%s: age %d not reached", birth, today, n)
		require.False(t, anniversaryReached(birth, today, n+1), "%s→%s: age %d+1 reached", birth, today, n)

		// Monotone: later days never give a smaller age, and at most
		// one more year per 365 days (plus one).
		g, err := today.Gregorian(time.UTC)
		require.NoError(t, err)
		later := registry.DateOf(g.AddDate(0, 0, int(days)))
		m, err := policy.Age(birth, later)
		require.NoError(t, err)
		require.GreaterOrEqual(t, m, n)
		require.LessOrEqual(t, m-n, int(days)/365+1)
	})
}

// FuzzOutcomeJSON: decoding stored JSON never panics and accepts only the
// four outcomes, which then round-trip.
func FuzzOutcomeJSON(f *testing.F) {
	for _, s := range []string{`"approved"`, `"locked"`, `"APPROVED"`, `""`, `null`, `1`, `"review`, `"\u0072eview"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var o policy.Outcome
		err := json.Unmarshal(b, &o)
		if err != nil {
			assert.Equal(t, policy.Outcome(""), o)
			return
		}
		require.True(t, o.Valid(), "accepted %q", b)
		out, err := json.Marshal(o)
		require.NoError(t, err)
		var back policy.Outcome
		require.NoError(t, json.Unmarshal(out, &back))
		assert.Equal(t, o, back)
		_, perr := policy.ParseOutcome(string(o))
		assert.False(t, errors.Is(perr, policy.ErrUnknownOutcome))
	})
}
