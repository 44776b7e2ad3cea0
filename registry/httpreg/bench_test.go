package httpreg_test

import (
	"testing"

	"github.com/hoviyat/hoviyat/registry/httpreg"
	"github.com/hoviyat/hoviyat/registry/registrytest"
)

// BenchmarkLookup measures a lookup over loopback HTTP against the fixture
// server (client and server share the machine, so this is an upper bound
// of the client's own cost, not a network figure).
func BenchmarkLookup(b *testing.B) {
	fx := registrytest.DefaultFixtures()
	srv := registrytest.NewServer(fx)
	defer srv.Close()
	c, err := httpreg.New(httpreg.Config{BaseURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	p := fx.People[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Lookup(b.Context(), p.NationalID, p.BirthDate); err != nil {
			b.Fatal(err)
		}
	}
}
