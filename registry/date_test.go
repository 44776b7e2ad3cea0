package registry_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/registry"
)

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    registry.Date
		wantErr bool
	}{
		{"1370/01/15", registry.Date{Year: 1370, Month: 1, Day: 15}, false},
		{"1370-1-15", registry.Date{Year: 1370, Month: 1, Day: 15}, false},
		{"۱۳۷۰/۰۱/۱۵", registry.Date{Year: 1370, Month: 1, Day: 15}, false},
		{"٭1370/01/15", registry.Date{}, true},
		{" 1380.06.31 ", registry.Date{Year: 1380, Month: 6, Day: 31}, false},
		{"1399/12/30", registry.Date{Year: 1399, Month: 12, Day: 30}, false}, // leap year
		{"1400/12/30", registry.Date{}, true},                                // common year
		{"1370/07/31", registry.Date{}, true},                                // the second half has 30 days
		{"1370/13/01", registry.Date{}, true},
		{"1370/00/01", registry.Date{}, true},
		{"1370/01/00", registry.Date{}, true},
		{"1370/01", registry.Date{}, true},
		{"", registry.Date{}, true},
		{"abc/01/01", registry.Date{}, true},
	}
	for _, tt := range tests {
		got, err := registry.ParseDate(tt.in)
		if tt.wantErr {
			var de *registry.ErrInvalidDate
			assert.True(t, errors.As(err, &de), "%q: %v", tt.in, err)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestDateConversions(t *testing.T) {
	t.Parallel()
	tehran, err := time.LoadLocation("Asia/Tehran")
	if err != nil {
		tehran = time.FixedZone("IRST", 3*3600+1800)
	}
	tests := []struct {
		jalali    registry.Date
		gregorian time.Time
	}{
		{registry.Date{Year: 1403, Month: 1, Day: 1}, time.Date(2024, 3, 20, 0, 0, 0, 0, tehran)},
		{registry.Date{Year: 1370, Month: 1, Day: 15}, time.Date(1991, 4, 4, 0, 0, 0, 0, tehran)},
		{registry.Date{Year: 1399, Month: 12, Day: 30}, time.Date(2021, 3, 20, 0, 0, 0, 0, tehran)},
	}
	for _, tt := range tests {
		g, err := tt.jalali.Gregorian(tehran)
		require.NoError(t, err)
		assert.True(t, tt.gregorian.Equal(g), "%s -> %s, want %s", tt.jalali, g, tt.gregorian)
		assert.Equal(t, tt.jalali, registry.DateOf(tt.gregorian))
	}
	_, err = registry.Date{Year: 1400, Month: 12, Day: 30}.Gregorian(tehran)
	assert.Error(t, err)
}

func TestDateOrderAndLeap(t *testing.T) {
	t.Parallel()
	a := registry.Date{Year: 1370, Month: 1, Day: 15}
	for _, later := range []registry.Date{{Year: 1371, Month: 1, Day: 1}, {Year: 1370, Month: 2, Day: 1}, {Year: 1370, Month: 1, Day: 16}} {
		assert.True(t, a.Before(later), later.String())
		assert.False(t, later.Before(a), later.String())
	}
	assert.False(t, a.Before(a))
	assert.True(t, registry.Date{Year: 1399}.IsLeap())
	assert.False(t, registry.Date{Year: 1400}.IsLeap())
	assert.True(t, registry.Date{}.IsZero())
	assert.False(t, a.IsZero())
	_, err := registry.NewDate(1400, 12, 30)
	assert.Error(t, err)
}

// TestPersonJSON pins the wire form of a Person: the date is a string and
// the photo standard base64 (registry/httpreg's protocol relies on it).
func TestPersonJSON(t *testing.T) {
	t.Parallel()
	p := registry.Person{NationalID: "0499370899", FirstName: "سارا", Gender: registry.Female,
		BirthDate: registry.Date{Year: 1370, Month: 1, Day: 15}, Alive: true, Photo: []byte{0xff, 0xd8, 0xff}}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	assert.JSONEq(t, `{"national_id":"0499370899","first_name":"سارا","last_name":"","father_name":"",
		"gender":"female","birth_date":"1370/01/15","alive":true,"native":false,"photo":"/9j/"}`, string(b))
	var back registry.Person
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, p, back)
}

// FuzzParseDate: no panic; errors are *ErrInvalidDate; a parsed date is
// valid and its String parses back to it.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"1370/01/15", "۱۳۹۹/۱۲/۳۰", "1400-12-30", "0/0/0", "9999999999999999999/1/1", "1/-1/1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := registry.ParseDate(s)
		if err != nil {
			var de *registry.ErrInvalidDate
			if !errors.As(err, &de) {
				t.Fatalf("untyped error %T %v", err, err)
			}
			return
		}
		if d.Validate() != nil {
			t.Fatalf("ParseDate(%q) = %v, invalid", s, d)
		}
		again, err := registry.ParseDate(d.String())
		if err != nil || again != d {
			t.Fatalf("re-parse of %s = %v, %v", d, again, err)
		}
	})
}
