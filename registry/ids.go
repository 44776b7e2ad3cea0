package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NationalID is a canonical 10-digit Iranian national ID (کد ملی) with a
// valid check digit. Obtain one with ParseNationalID. Its String is the
// full number; use Masked (or log the value through log/slog, which calls
// LogValue) when writing it to logs. Like any string, a NationalID is an
// immutable value, safe for concurrent use.
type NationalID string

// Mobile is a canonical Iranian mobile number "09xxxxxxxxx". Obtain one
// with ParseMobile. Like NationalID, it masks itself in slog output and is
// safe for concurrent use.
type Mobile string

// Sentinel errors of the identifier parsers. Every *ParseError matches
// exactly one of them with errors.Is, by its Field.
var (
	// ErrInvalidNationalID: the text is not a valid national ID.
	ErrInvalidNationalID = errors.New("registry: invalid national ID")
	// ErrInvalidMobile: the text is not a valid Iranian mobile number.
	ErrInvalidMobile = errors.New("registry: invalid mobile number")
)

// Field names an identifier in a ParseError.
type Field string

// Fields.
const (
	FieldNationalID Field = "national_id"
	FieldMobile     Field = "mobile"
)

// Problem is a stable snake_case word saying what is wrong with an
// identifier. Hosts branch on it; the error text is for people.
type Problem string

// Problems a parser reports.
const (
	// ProblemLength: too few or too many digits (empty input included).
	ProblemLength Problem = "length"
	// ProblemNonDigit: a character that is neither a digit (ASCII,
	// Persian or Arabic-Indic) nor an allowed separator.
	ProblemNonDigit Problem = "non_digit"
	// ProblemChecksum: the national ID's check digit does not match.
	ProblemChecksum Problem = "checksum"
	// ProblemRepeated: a national ID of one repeated digit (0000000000,
	// 1111111111, ...), which passes the checksum but is never issued.
	ProblemRepeated Problem = "repeated"
	// ProblemMiddleZeros: a national ID whose six middle digits (after the
	// 3-digit office prefix, before the check digit) are all zero.
	ProblemMiddleZeros Problem = "middle_zeros"
	// ProblemPrefix: a mobile number that does not start with 09 (or the
	// country code 98 followed by 9).
	ProblemPrefix Problem = "prefix"
)

// ParseError reports why an identifier was rejected. It matches
// ErrInvalidNationalID or ErrInvalidMobile (by Field) with errors.Is, and
// also any *ParseError template whose non-zero fields equal its own, e.g.
// errors.Is(err, &ParseError{Problem: ProblemChecksum}).
//
// The message deliberately leaves the input out (it may be a real,
// mistyped ID); Input holds it for callers that need it. The parsers
// return a new ParseError each time and never touch it again, so reading
// one from several goroutines is safe.
type ParseError struct {
	Field   Field
	Input   string
	Problem Problem
	// Detail is a short English explanation, e.g. "want 10 digits, got 12".
	Detail string
}

// Error implements the error interface; branch on the fields or with errors.Is/As, not on this text.
func (e *ParseError) Error() string {
	what := "national ID"
	if e.Field == FieldMobile {
		what = "mobile number"
	}
	msg := fmt.Sprintf("registry: invalid %s: %s", what, e.Problem)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Is matches the Field's sentinel and partly filled *ParseError templates.
func (e *ParseError) Is(target error) bool {
	switch target {
	case ErrInvalidNationalID:
		return e.Field == FieldNationalID
	case ErrInvalidMobile:
		return e.Field == FieldMobile
	}
	t, ok := target.(*ParseError)
	if !ok || t == nil {
		return false
	}
	return (t.Field == "" || t.Field == e.Field) &&
		(t.Problem == "" || t.Problem == e.Problem) &&
		(t.Input == "" || t.Input == e.Input)
}

// maxIDInput bounds the text the parsers look at: a real identifier with
// generous separators is far shorter, and the bound keeps hostile input
// cheap to reject.
const maxIDInput = 64

// ParseNationalID normalises and validates s as an Iranian national ID.
//
// Accepted: ASCII, Persian (۰-۹) and Arabic-Indic (٠-٩) digits; spaces,
// dashes and invisible direction/joiner marks anywhere (they are
// stripped); 8 or 9 digits, which are left-padded with zeros (old cards
// drop leading zeros). The result is the canonical 10-digit form.
//
// Rejected, with a *ParseError saying which: other characters
// (ProblemNonDigit), fewer than 8 or more than 10 digits (ProblemLength),
// the ten one-digit-repeated codes (ProblemRepeated), codes whose six
// middle digits are all zero (ProblemMiddleZeros) and a wrong check digit
// (ProblemChecksum). The check digit is d[9] = r if r < 2 else 11-r, where
// r = Σ d[i]·(10-i) for i = 0..8, mod 11. The 3-digit prefix (the issuing
// office) is not checked against a list: offices are added over time and a
// stale list would refuse real people.
func ParseNationalID(s string) (NationalID, error) {
	var d [10]byte
	n, _, p, detail := collectDigits(s, d[:], false)
	if p != "" {
		return "", &ParseError{Field: FieldNationalID, Input: s, Problem: p, Detail: detail}
	}
	if n < 8 {
		return "", &ParseError{Field: FieldNationalID, Input: s, Problem: ProblemLength,
			Detail: fmt.Sprintf("want 10 digits (8 or 9 are zero-padded), got %d", n)}
	}
	if n < 10 {
		shift := 10 - n
		copy(d[shift:], d[:n])
		for i := range shift {
			d[i] = '0'
		}
	}
	if p, detail := checkNationalID(&d); p != "" {
		return "", &ParseError{Field: FieldNationalID, Input: s, Problem: p, Detail: detail}
	}
	if s == string(d[:]) {
		return NationalID(s), nil // already canonical: no allocation
	}
	return NationalID(d[:]), nil
}

// checkNationalID validates ten ASCII digits.
func checkNationalID(d *[10]byte) (Problem, string) {
	repeated := true
	for i := 1; i < 10; i++ {
		if d[i] != d[0] {
			repeated = false
			break
		}
	}
	if repeated {
		return ProblemRepeated, "one digit repeated ten times"
	}
	if string(d[3:9]) == "000000" {
		return ProblemMiddleZeros, "digits 4 to 9 are all zero"
	}
	if want := checkDigit(d); d[9] != want {
		return ProblemChecksum, "check digit does not match"
	}
	return "", ""
}

// checkDigit returns the ASCII check digit for the first nine digits of d.
func checkDigit(d *[10]byte) byte {
	s := 0
	for i := range 9 {
		s += int(d[i]-'0') * (10 - i)
	}
	r := s % 11
	if r >= 2 {
		r = 11 - r
	}
	return byte('0' + r)
}

// ParseMobile normalises and validates s as an Iranian mobile number and
// returns it as "09xxxxxxxxx".
//
// Accepted forms, with ASCII, Persian or Arabic-Indic digits and spaces,
// dashes, dots, parentheses and invisible direction marks anywhere:
// "09xxxxxxxxx", "9xxxxxxxxx", "+989xxxxxxxxx", "00989xxxxxxxxx",
// "989xxxxxxxxx", and the country code followed by the trunk zero as
// people write "+98 (0)912 …". A '+' is allowed only as the first
// character. Operator prefixes (0910, 0935, …) are not checked against a
// list, for the same reason national ID prefixes are not.
func ParseMobile(s string) (Mobile, error) {
	var d [14]byte
	n, plus, p, detail := collectDigits(s, d[:], true)
	if p != "" {
		return "", &ParseError{Field: FieldMobile, Input: s, Problem: p, Detail: detail}
	}
	digits := d[:n]
	// Strip the international prefix, then the trunk zero.
	intl := false
	switch {
	case plus:
		if !hasPrefix(digits, "98") {
			return "", &ParseError{Field: FieldMobile, Input: s, Problem: ProblemPrefix, Detail: "country code is not +98"}
		}
		digits, intl = digits[2:], true
	case hasPrefix(digits, "0098"):
		digits, intl = digits[4:], true
	case hasPrefix(digits, "98") && (n == 12 || n == 13):
		digits, intl = digits[2:], true
	}
	if hasPrefix(digits, "0") && (len(digits) == 11 || !intl) {
		digits = digits[1:]
	}
	if len(digits) != 10 {
		return "", &ParseError{Field: FieldMobile, Input: s, Problem: ProblemLength,
			Detail: fmt.Sprintf("want 10 digits after 0 or +98, got %d", len(digits))}
	}
	if digits[0] != '9' {
		return "", &ParseError{Field: FieldMobile, Input: s, Problem: ProblemPrefix, Detail: "mobile numbers start with 09"}
	}
	var out [11]byte
	out[0] = '0'
	copy(out[1:], digits)
	if s == string(out[:]) {
		return Mobile(s), nil
	}
	return Mobile(out[:]), nil
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// collectDigits copies the digits of s, as ASCII, into dst and returns how
// many there were. Separators are skipped; with mobile, one '+' is allowed
// before the first digit (and reported) and dots and parentheses are
// separators too. It reports ProblemNonDigit for any other character and
// ProblemLength when s has more digits than dst holds.
func collectDigits(s string, dst []byte, mobile bool) (n int, plus bool, p Problem, detail string) {
	if len(s) > maxIDInput {
		return 0, false, ProblemLength, fmt.Sprintf("input longer than %d bytes", maxIDInput)
	}
	plusOK := mobile
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		var digit byte
		switch {
		case r >= '0' && r <= '9':
			digit = byte(r)
		case r >= '۰' && r <= '۹':
			digit = byte('0' + (r - '۰'))
		case r >= '٠' && r <= '٩':
			digit = byte('0' + (r - '٠'))
		case r == '+' && plusOK:
			plusOK, plus = false, true
			continue
		case isIgnorable(r):
			continue
		case mobile && (r == '(' || r == ')' || r == '.'):
			continue
		default:
			if r == utf8.RuneError && size == 1 {
				return 0, false, ProblemNonDigit, fmt.Sprintf("invalid UTF-8 at byte %d", i)
			}
			return 0, false, ProblemNonDigit, fmt.Sprintf("unexpected character %q at byte %d", r, i)
		}
		plusOK = false
		if n == len(dst) {
			return 0, false, ProblemLength, fmt.Sprintf("more than %d digits", len(dst))
		}
		dst[n] = digit
		n++
	}
	return n, plus, "", ""
}

// isIgnorable reports separators and invisible marks that copy-paste from
// Persian text brings along: white space, dashes, and the zero-width
// joiner/non-joiner and direction marks (Unicode format characters).
func isIgnorable(r rune) bool {
	return unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || r == '\u2212' || unicode.Is(unicode.Cf, r)
}

// String returns the full canonical number.
func (id NationalID) String() string { return string(id) }

// Masked returns id with its middle hidden, e.g. "049****899", for logs
// and support screens. A value that is not 10 bytes long is masked
// entirely, so a mistaken value never leaks.
func (id NationalID) Masked() string { return mask(string(id), 10, 3, 3) }

// LogValue makes log/slog print the masked form.
func (id NationalID) LogValue() slog.Value { return slog.StringValue(id.Masked()) }

// Valid reports whether id is canonical (what ParseNationalID returns).
func (id NationalID) Valid() bool {
	if len(id) != 10 {
		return false
	}
	var d [10]byte
	for i := range 10 {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
		d[i] = id[i]
	}
	p, _ := checkNationalID(&d)
	return p == ""
}

// String returns the full canonical number.
func (m Mobile) String() string { return string(m) }

// Masked returns m with its middle hidden, e.g. "0912***4567".
func (m Mobile) Masked() string { return mask(string(m), 11, 4, 4) }

// LogValue makes log/slog print the masked form.
func (m Mobile) LogValue() slog.Value { return slog.StringValue(m.Masked()) }

// Valid reports whether m is canonical (what ParseMobile returns).
func (m Mobile) Valid() bool {
	if len(m) != 11 || m[0] != '0' || m[1] != '9' {
		return false
	}
	for i := 2; i < 11; i++ {
		if m[i] < '0' || m[i] > '9' {
			return false
		}
	}
	return true
}

func mask(s string, want, head, tail int) string {
	if len(s) != want {
		return strings.Repeat("*", utf8.RuneCountInString(s))
	}
	return s[:head] + strings.Repeat("*", want-head-tail) + s[want-tail:]
}
