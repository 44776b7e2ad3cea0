package registry_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/registry"
)

func TestParseNationalIDValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want registry.NationalID
	}{
		// The acceptance vectors of issue 2.
		{"0499370899", "0499370899"},
		{"0790419904", "0790419904"},
		{"1583250689", "1583250689"},
		{"0013542419", "0013542419"},
		{"68415941", "0068415941"},
		{"۰۴۹۹۳۷۰۸۹۹", "0499370899"},
		// Normalisation.
		{"٠٤٩٩٣٧٠٨٩٩", "0499370899"},   // Arabic-Indic
		{"۰۴۹9370٨٩٩", "0499370899"},   // mixed scripts
		{"049-937089-9", "0499370899"}, // as printed on cards
		{" 049 937 0899 ", "0499370899"},
		{"\u200f۰۴۹۹۳۷۰۸۹۹\u200e", "0499370899"}, // RLM/LRM from RTL copy-paste
		{"049\u200c9370899", "0499370899"},       // ZWNJ
		{"049–937–0899", "0499370899"},           // en dashes
		{"499370899", "0499370899"},              // 9 digits
		{"13542419", "0013542419"},               // 8 digits
		// r < 2: the remainder itself is the check digit.
		{"0499370090", "0499370090"}, // r = 0
		{"0499370831", "0499370831"}, // r = 1
		{"0499370821", "0499370821"}, // r = 10, check 11-10 = 1
		// Middle digits 000001 are not all zero: accepted.
		{"0000000019", "0000000019"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := registry.ParseNationalID(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.True(t, got.Valid())
		})
	}
}

func TestParseNationalIDInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want registry.Problem
	}{
		// The acceptance vectors of issue 2.
		{"1234567890", registry.ProblemChecksum},
		{"0499370898", registry.ProblemChecksum},
		{"1111111111", registry.ProblemRepeated},
		{"0000000000", registry.ProblemRepeated},
		{"0010000000", registry.ProblemMiddleZeros},
		{"12345", registry.ProblemLength},
		// More.
		{"", registry.ProblemLength},
		{"   ", registry.ProblemLength},
		{"1234567", registry.ProblemLength},
		{"04993708990", registry.ProblemLength},
		{"04993708a9", registry.ProblemNonDigit},
		{"+0499370899", registry.ProblemNonDigit},
		{"0499.370.899", registry.ProblemNonDigit},
		{"0499370899\xff", registry.ProblemNonDigit},
		{strings.Repeat(" ", 65) + "0499370899", registry.ProblemLength},
		{"9999999999", registry.ProblemRepeated},
		{"5555555555", registry.ProblemRepeated},
		{"1230000002", registry.ProblemMiddleZeros}, // check digit right, middle zero
		{"۱۲۳۴۵۶۷۸۹۰", registry.ProblemChecksum},
		{"0790419905", registry.ProblemChecksum},
		{"00000000", registry.ProblemRepeated}, // pads to 0000000000
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := registry.ParseNationalID(tt.in)
			require.Error(t, err)
			assert.Empty(t, got)
			assert.ErrorIs(t, err, registry.ErrInvalidNationalID)
			assert.NotErrorIs(t, err, registry.ErrInvalidMobile)
			var pe *registry.ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.want, pe.Problem)
			assert.Equal(t, registry.FieldNationalID, pe.Field)
			assert.Equal(t, tt.in, pe.Input)
			assert.ErrorIs(t, err, &registry.ParseError{Problem: tt.want})
			assert.True(t, strings.HasPrefix(err.Error(), "registry: invalid national ID: "+string(tt.want)), err.Error())
		})
	}
}

// TestNationalIDCheckDigitAllPrefixes walks every check digit outcome: for
// each nine-digit body, exactly one of the ten possible last digits is
// accepted, and it matches the formula computed independently here.
func TestNationalIDCheckDigitAllPrefixes(t *testing.T) {
	t.Parallel()
	bodies := []string{"049937089", "079041990", "158325068", "001354241", "123456789", "987654321", "000000100", "300000001"}
	for _, body := range bodies {
		s := 0
		for i := range 9 {
			s += int(body[i]-'0') * (10 - i)
		}
		r := s % 11
		want := r
		if r >= 2 {
			want = 11 - r
		}
		accepted := 0
		for c := '0'; c <= '9'; c++ {
			id, err := registry.ParseNationalID(body + string(c))
			if err == nil {
				accepted++
				assert.Equal(t, body+string(rune('0'+want)), string(id))
			} else {
				assert.ErrorIs(t, err, &registry.ParseError{Problem: registry.ProblemChecksum}, body+string(c))
			}
		}
		assert.Equal(t, 1, accepted, body)
	}
}

func TestParseMobileValid(t *testing.T) {
	t.Parallel()
	tests := []string{
		"09121234567",
		"9121234567",
		"+989121234567",
		"00989121234567",
		"989121234567",
		"+98 (0)912 123 4567",
		"+98-912-123-4567",
		"0912 123 4567",
		"(0912) 123-4567",
		"0912.123.4567",
		"۰۹۱۲۱۲۳۴۵۶۷",
		"٠٩١٢١٢٣٤٥٦٧",
		"+۹۸۹۱۲۱۲۳۴۵۶۷",
		"\u200e+98 912 123 4567\u200f",
		"(+98) 912 123 4567",
		"9809121234567",
	}
	for _, in := range tests {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			got, err := registry.ParseMobile(in)
			require.NoError(t, err)
			assert.Equal(t, registry.Mobile("09121234567"), got)
			assert.True(t, got.Valid())
		})
	}
}

func TestParseMobileInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want registry.Problem
	}{
		{"", registry.ProblemLength},
		{"0912123456", registry.ProblemLength},
		{"091212345678", registry.ProblemLength},
		{"+98912123456", registry.ProblemLength},
		{"02112345678", registry.ProblemPrefix}, // Tehran landline
		{"+19121234567", registry.ProblemPrefix},
		{"+4915112345678", registry.ProblemPrefix},
		{"0098812345678", registry.ProblemLength},
		{"00988123456789", registry.ProblemPrefix},
		{"8121234567", registry.ProblemPrefix},
		{"00912123456", registry.ProblemPrefix},
		{"0912123456x", registry.ProblemNonDigit},
		{"0912+1234567", registry.ProblemNonDigit},
		{"++989121234567", registry.ProblemNonDigit},
		{"0912_123_4567", registry.ProblemNonDigit},
		{"\xff09121234567", registry.ProblemNonDigit},
		{"0912123456789012345", registry.ProblemLength},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := registry.ParseMobile(tt.in)
			require.Error(t, err, "got %q", got)
			assert.Empty(t, got)
			assert.ErrorIs(t, err, registry.ErrInvalidMobile)
			assert.NotErrorIs(t, err, registry.ErrInvalidNationalID)
			var pe *registry.ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.want, pe.Problem, pe.Error())
			assert.Equal(t, registry.FieldMobile, pe.Field)
			assert.True(t, strings.HasPrefix(err.Error(), "registry: invalid mobile number: "), err.Error())
		})
	}
}

func TestParseErrorIsTemplate(t *testing.T) {
	t.Parallel()
	_, err := registry.ParseNationalID("0499370898")
	require.Error(t, err)
	tests := []struct {
		name   string
		target error
		want   bool
	}{
		{"sentinel", registry.ErrInvalidNationalID, true},
		{"other sentinel", registry.ErrInvalidMobile, false},
		{"problem", &registry.ParseError{Problem: registry.ProblemChecksum}, true},
		{"wrong problem", &registry.ParseError{Problem: registry.ProblemLength}, false},
		{"field", &registry.ParseError{Field: registry.FieldNationalID}, true},
		{"wrong field", &registry.ParseError{Field: registry.FieldMobile}, false},
		{"input", &registry.ParseError{Input: "0499370898"}, true},
		{"wrong input", &registry.ParseError{Input: "x"}, false},
		{"nil template", (*registry.ParseError)(nil), false},
		{"unrelated", registry.ErrNotFound, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, errors.Is(err, tt.target), tt.name)
	}
	// The message never echoes the (possibly real) input.
	assert.NotContains(t, err.Error(), "0499370898")
}

func TestMasked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"id", registry.NationalID("0499370899").Masked(), "049****899"},
		{"mobile", registry.Mobile("09121234567").Masked(), "0912***4567"},
		{"short id", registry.NationalID("12345").Masked(), "*****"},
		{"empty id", registry.NationalID("").Masked(), ""},
		{"long mobile", registry.Mobile("+989121234567").Masked(), "*************"},
		{"id string", registry.NationalID("0499370899").String(), "0499370899"},
		{"mobile string", registry.Mobile("09121234567").String(), "09121234567"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.got, tt.name)
	}
}

func TestSlogMasks(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("lookup", "id", registry.NationalID("0499370899"), "mobile", registry.Mobile("09121234567"))
	out := buf.String()
	assert.Contains(t, out, "id=049****899")
	assert.Contains(t, out, "mobile=0912***4567")
	assert.NotContains(t, out, "0499370899")
	assert.NotContains(t, out, "09121234567")
}

func TestValid(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		id   registry.NationalID
		want bool
	}{
		{"0499370899", true}, {"0499370898", false}, {"68415941", false}, {"0000000000", false},
		{"049937089x", false}, {"", false},
	} {
		assert.Equal(t, tt.want, tt.id.Valid(), string(tt.id))
	}
	for _, tt := range []struct {
		m    registry.Mobile
		want bool
	}{
		{"09121234567", true}, {"9121234567", false}, {"0912123456x", false}, {"08121234567", false}, {"", false},
	} {
		assert.Equal(t, tt.want, tt.m.Valid(), string(tt.m))
	}
}
