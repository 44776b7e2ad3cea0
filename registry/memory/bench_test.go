package memory_test

import (
	"testing"

	"github.com/hoviyat/hoviyat/registry/memory"
	"github.com/hoviyat/hoviyat/registry/registrytest"
)

func BenchmarkLookup(b *testing.B) {
	fx := registrytest.DefaultFixtures()
	reg := memory.New()
	for _, p := range fx.People {
		if err := reg.Add(p); err != nil {
			b.Fatal(err)
		}
	}
	p := fx.People[0]
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := reg.Lookup(b.Context(), p.NationalID, p.BirthDate); err != nil {
				b.Fatal(err)
			}
		}
	})
}
