package docgen

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/reason"
)

// TestREADMEReasonTable fails when README.md's reason table no longer
// matches the catalogue (regenerate with HOVIYAT_DOCGEN_WRITE=1 go test
// ./internal/docgen).
func TestREADMEReasonTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	out, changed, err := Update(string(b))
	require.NoError(t, err)
	if changed && os.Getenv("HOVIYAT_DOCGEN_WRITE") == "1" {
		require.NoError(t, os.WriteFile("../../README.md", []byte(out), 0o644))
		changed = false
	}
	assert.False(t, changed, "README.md reason table is stale: run HOVIYAT_DOCGEN_WRITE=1 go test ./internal/docgen")
	for _, in := range reason.All() {
		assert.Contains(t, out, "`"+string(in.Code)+"`")
	}
}

func TestUpdateNeedsMarkers(t *testing.T) {
	_, _, err := Update("no markers here")
	require.Error(t, err)
	out, changed, err := Update("a\n" + BeginReasons + "\nold\n" + EndReasons + "\nb")
	require.NoError(t, err)
	assert.True(t, changed)
	assert.True(t, strings.HasPrefix(out, "a\n"+BeginReasons+"\n| code |"))
	assert.True(t, strings.HasSuffix(out, EndReasons+"\nb"))
}
