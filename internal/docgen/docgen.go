// Package docgen generates the parts of README.md that must agree with the
// code: the reason-code table. Run `go run ./internal/docgen -w` after
// changing the catalogue; a test fails while README.md is out of date.
package docgen

import (
	"fmt"
	"strings"

	"github.com/hoviyat/hoviyat/reason"
)

// Markers delimit the generated reason table in README.md.
const (
	BeginReasons = "<!-- BEGIN reason table (HOVIYAT_DOCGEN_WRITE=1 go test ./internal/docgen) -->"
	EndReasons   = "<!-- END reason table -->"
)

// ReasonTable renders the catalogue as a Markdown table.
func ReasonTable() string {
	var b strings.Builder
	b.WriteString("| code | kind | in person | English | فارسی | hint |\n|---|---|---|---|---|---|\n")
	for _, in := range reason.All() {
		ip := ""
		if in.InPerson {
			ip = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", in.Code, in.Kind, ip, in.EN, in.FA, in.HintEN)
	}
	return b.String()
}

// Update replaces the generated section of readme and reports whether it
// changed. It fails when the markers are missing.
func Update(readme string) (string, bool, error) {
	i := strings.Index(readme, BeginReasons)
	j := strings.Index(readme, EndReasons)
	if i < 0 || j < i {
		return readme, false, fmt.Errorf("docgen: README.md lacks the reason table markers")
	}
	out := readme[:i+len(BeginReasons)] + "\n" + ReasonTable() + readme[j:]
	return out, out != readme, nil
}
