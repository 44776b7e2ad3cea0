package memory_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/memory"
)

func Example() {
	reg := memory.New()
	birth := registry.Date{Year: 1370, Month: 1, Day: 15}
	err := reg.Add(registry.Person{
		NationalID: "0499370899", FirstName: "Sara", LastName: "Ahmadi",
		Gender: registry.Female, BirthDate: birth, Alive: true, Native: true,
	})
	if err != nil {
		panic(err)
	}
	if err := reg.SetMobile("0499370899", "09121234567"); err != nil {
		panic(err)
	}
	ctx := context.Background()

	p, err := reg.Lookup(ctx, "0499370899", birth)
	fmt.Println(p.FirstName, p.LastName, err)

	_, err = reg.Lookup(ctx, "0499370899", registry.Date{Year: 1371, Month: 1, Day: 15})
	fmt.Println(errors.Is(err, registry.ErrNotFound))

	owned, _ := reg.Owns(ctx, "0499370899", "09121234567")
	notOwned, _ := reg.Owns(ctx, "0790419904", "09121234567")
	fmt.Println(owned, notOwned)
	// Output:
	// Sara Ahmadi <nil>
	// true
	// true false
}
