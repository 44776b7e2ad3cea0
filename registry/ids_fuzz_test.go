package registry_test

import (
	"errors"
	"testing"

	"github.com/hoviyat/hoviyat/registry"
)

// FuzzParseNationalID checks, for any input: no panic; an error is a
// *ParseError matching ErrInvalidNationalID; a result is canonical, valid,
// and parses to itself.
func FuzzParseNationalID(f *testing.F) {
	for _, s := range []string{
		"0499370899", "68415941", "۰۴۹۹۳۷۰۸۹۹", "٠٤٩٩٣٧٠٨٩٩", "049-937089-9", "\u200f0499370899",
		"1234567890", "0000000000", "0010000000", "12345", "", "+0499370899", "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := registry.ParseNationalID(s)
		if err != nil {
			var pe *registry.ParseError
			if !errors.As(err, &pe) || !errors.Is(err, registry.ErrInvalidNationalID) || errors.Is(err, registry.ErrInvalidMobile) {
				t.Fatalf("untyped or mis-typed error %T %v", err, err)
			}
			if pe.Problem == "" || pe.Input != s {
				t.Fatalf("incomplete ParseError %+v", pe)
			}
			if id != "" {
				t.Fatalf("non-empty result %q with error", id)
			}
			return
		}
		if !id.Valid() || len(id) != 10 {
			t.Fatalf("ParseNationalID(%q) = %q, not canonical", s, id)
		}
		again, err := registry.ParseNationalID(string(id))
		if err != nil || again != id {
			t.Fatalf("re-parse of %q = %q, %v", id, again, err)
		}
		if m := id.Masked(); len(m) != 10 || m[3:7] != "****" {
			t.Fatalf("Masked(%q) = %q", id, m)
		}
	})
}

// FuzzParseMobile is FuzzParseNationalID for mobile numbers.
func FuzzParseMobile(f *testing.F) {
	for _, s := range []string{
		"09121234567", "9121234567", "+989121234567", "00989121234567", "989121234567",
		"+98 (0)912 123 4567", "۰۹۱۲۱۲۳۴۵۶۷", "(+98) 912-123-4567", "02112345678", "+19121234567",
		"++989121234567", "", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := registry.ParseMobile(s)
		if err != nil {
			var pe *registry.ParseError
			if !errors.As(err, &pe) || !errors.Is(err, registry.ErrInvalidMobile) || errors.Is(err, registry.ErrInvalidNationalID) {
				t.Fatalf("untyped or mis-typed error %T %v", err, err)
			}
			if pe.Problem == "" || pe.Input != s {
				t.Fatalf("incomplete ParseError %+v", pe)
			}
			if m != "" {
				t.Fatalf("non-empty result %q with error", m)
			}
			return
		}
		if !m.Valid() {
			t.Fatalf("ParseMobile(%q) = %q, not canonical", s, m)
		}
		again, err := registry.ParseMobile(string(m))
		if err != nil || again != m {
			t.Fatalf("re-parse of %q = %q, %v", m, again, err)
		}
		// The international form of the result parses back to it too.
		intl, err := registry.ParseMobile("+98" + string(m[1:]))
		if err != nil || intl != m {
			t.Fatalf("+98 form of %q = %q, %v", m, intl, err)
		}
	})
}
