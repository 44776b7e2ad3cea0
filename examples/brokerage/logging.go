package main

import (
	"io"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"
)

// newLogger returns a JSON slog logger at level whose attribute values
// (and messages) pass through redactDigits: the code logs national IDs and
// mobiles only through registry.NationalID.Masked and Mobile.Masked, and
// this is the safety net for anything that slips through, such as an
// error message quoting its input.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}))
}

func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); hasLongDigitRun(s) {
			a.Value = slog.StringValue(redactDigits(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			a.Value = slog.StringValue(redactDigits(err.Error()))
		}
	}
	return a
}

// minRedactDigits is the shortest digit run treated as personal data: a
// national ID has 10 digits, a mobile 11 (12 with +98).
const minRedactDigits = 10

func hasLongDigitRun(s string) bool {
	n := 0
	for _, r := range s {
		if unicode.IsDigit(r) {
			n++
			if n >= minRedactDigits {
				return true
			}
		} else if r != ' ' && r != '-' {
			n = 0
		}
	}
	return false
}

// redactDigits replaces every run of at least 10 digits (ASCII, Persian or
// Arabic-Indic; single spaces or dashes between digits allowed; a leading
// "+") that stands alone — not glued to letters or underscores, as inside
// a hex ID such as att_0123456789abcdef — with "[redacted]".
func redactDigits(s string) string {
	var b strings.Builder
	i, last := 0, 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsDigit(r) && r != '+' {
			i += size
			continue
		}
		start := i
		end, digits := scanDigitRun(s, i)
		if digits < minRedactDigits || wordRune(lastRune(s[:start])) || wordRune(firstRune(s[end:])) {
			i = max(end, i+size)
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString("[redacted]")
		last, i = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// scanDigitRun reads an optional '+' and digits separated by at most one
// space or dash from s[i:], returning the end offset and the digit count.
func scanDigitRun(s string, i int) (end, digits int) {
	if s[i] == '+' {
		i++
	}
	end = i
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsDigit(r) {
			digits++
			i += size
			end = i
			continue
		}
		if (r == ' ' || r == '-') && i+size < len(s) {
			if n, _ := utf8.DecodeRuneInString(s[i+size:]); unicode.IsDigit(n) {
				i += size
				continue
			}
		}
		break
	}
	return end, digits
}

func wordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) }

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}
