package registry_test

import (
	"errors"
	"fmt"

	"github.com/hoviyat/hoviyat/registry"
)

func ExampleParseNationalID() {
	for _, in := range []string{"۰۴۹۹۳۷۰۸۹۹", "68415941", "049-937089-9", "0499370898", "1111111111"} {
		id, err := registry.ParseNationalID(in)
		var pe *registry.ParseError
		switch {
		case errors.As(err, &pe):
			fmt.Printf("%s: rejected (%s)\n", in, pe.Problem)
		case err != nil:
			fmt.Println(err)
		default:
			fmt.Printf("%s: %s, logged as %s\n", in, id, id.Masked())
		}
	}
	// Output:
	// ۰۴۹۹۳۷۰۸۹۹: 0499370899, logged as 049****899
	// 68415941: 0068415941, logged as 006****941
	// 049-937089-9: 0499370899, logged as 049****899
	// 0499370898: rejected (checksum)
	// 1111111111: rejected (repeated)
}

func ExampleParseMobile() {
	for _, in := range []string{"+98 912 123 4567", "00989121234567", "۰۹۱۲۱۲۳۴۵۶۷", "(0912) 123-4567", "02112345678"} {
		m, err := registry.ParseMobile(in)
		if errors.Is(err, registry.ErrInvalidMobile) {
			fmt.Printf("%s: %v\n", in, err)
			continue
		}
		fmt.Printf("%s: %s (%s)\n", in, m, m.Masked())
	}
	// Output:
	// +98 912 123 4567: 09121234567 (0912***4567)
	// 00989121234567: 09121234567 (0912***4567)
	// ۰۹۱۲۱۲۳۴۵۶۷: 09121234567 (0912***4567)
	// (0912) 123-4567: 09121234567 (0912***4567)
	// 02112345678: registry: invalid mobile number: prefix: mobile numbers start with 09
}
