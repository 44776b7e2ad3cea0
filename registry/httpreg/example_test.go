package httpreg_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/httpreg"
	"github.com/hoviyat/hoviyat/registry/registrytest"
)

// A client against the fixture server, including a failure a host can
// branch on.
func ExampleNew() {
	srv := registrytest.NewServer(registrytest.DefaultFixtures())
	defer srv.Close()

	reg, err := httpreg.New(httpreg.Config{
		BaseURL:     srv.URL,
		Timeout:     time.Second,
		BackoffBase: time.Millisecond,
		BackoffMax:  time.Millisecond,
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	id, _ := registry.ParseNationalID("۰۴۹۹۳۷۰۸۹۹")
	birth, _ := registry.ParseDate("1370/01/15")

	p, err := reg.Lookup(ctx, id, birth)
	fmt.Println(p.LastName, p.Gender, p.Alive, err)

	owned, err := reg.Owns(ctx, id, "09121234567")
	fmt.Println(owned, err)

	_, err = reg.Lookup(ctx, id, registry.Date{Year: 1370, Month: 1, Day: 16})
	fmt.Println(errors.Is(err, registry.ErrNotFound))

	srv.Inject(3, registrytest.Fault{Kind: registrytest.FaultStatus, Status: 503})
	_, err = reg.Lookup(ctx, id, birth)
	var re *registry.Error
	if errors.As(err, &re) {
		fmt.Println(re.Dependency, re.Kind, re.Status, errors.Is(err, registry.ErrUnavailable))
	}
	// Output:
	// احمدی female true <nil>
	// true <nil>
	// true
	// civil_registry status 503 true
}
