package registry_test

import (
	"testing"

	"github.com/hoviyat/hoviyat/registry"
)

var (
	sinkID     registry.NationalID
	sinkMobile registry.Mobile
)

func BenchmarkParseNationalID(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"canonical", "0499370899"},
		{"persian", "۰۴۹۹۳۷۰۸۹۹"},
		{"dashed", "049-937089-9"},
		{"invalid", "0499370898"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkID, _ = registry.ParseNationalID(bc.in)
			}
		})
	}
}

func BenchmarkParseMobile(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"canonical", "09121234567"},
		{"international", "+98 912 123 4567"},
		{"persian", "۰۹۱۲۱۲۳۴۵۶۷"},
		{"invalid", "02112345678"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkMobile, _ = registry.ParseMobile(bc.in)
			}
		})
	}
}
