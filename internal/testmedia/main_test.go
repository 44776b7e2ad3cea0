package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/internal/testmedia/derive"
)

func TestRunList(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := run([]string{"-list"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, derive.LabelsHeader, lines[0])
	assert.Len(t, lines, len(derive.Plan())+1)
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"no out", []string{"-data", "/nonexistent"}},
		{"bad flag", []string{"-frobnicate"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			assert.Equal(t, 2, run(tc.args, &out, &errb))
			assert.NotEmpty(t, errb.String())
		})
	}
}

func TestRunMissingData(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := run([]string{"-data", t.TempDir(), "-out", t.TempDir()}, &out, &errb)
	assert.Equal(t, 1, code)
	assert.Contains(t, errb.String(), "MANIFEST.tsv")
}
