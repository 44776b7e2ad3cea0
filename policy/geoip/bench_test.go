package geoip_test

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/hoviyat/hoviyat/policy/geoip"
)

var (
	sinkCountry string
	sinkAddr    netip.Addr
)

func BenchmarkCountry(b *testing.B) {
	db := openTestDB(b)
	ctx := context.Background()
	for _, ip := range []string{"2.144.5.6", "2a01:5ec0::1", "::ffff:46.4.0.1", "9.9.9.9"} {
		a := netip.MustParseAddr(ip)
		b.Run(ip, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkCountry, _ = db.Country(ctx, a)
			}
		})
	}
}

func BenchmarkClientIP(b *testing.B) {
	lb, err := geoip.ParsePrefixes("10.0.0.0/8", "2001:db8::/32")
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:80"
	r.Header.Set("X-Forwarded-For", "9.9.9.9, 2.144.1.1, 10.0.0.2, 10.0.0.3")
	b.ReportAllocs()
	for b.Loop() {
		sinkAddr = geoip.ClientIP(r, lb)
	}
}
