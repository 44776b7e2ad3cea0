package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// call runs the CLI in-process and returns its exit status and output.
func call(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runCtx(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		in   string // expected in stderr (or stdout for help)
	}{
		{"no command", nil, exitUsage, "usage: hoviyat"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"help", []string{"help"}, exitOK, "commands:"},
		{"verify without flags", []string{"verify"}, exitUsage, "--video and --photo are required"},
		{"verify without photo", []string{"verify", "--video", "x.mp4"}, exitUsage, "--video and --photo are required"},
		{"verify bad flag", []string{"verify", "--frob"}, exitUsage, "flag provided but not defined"},
		{"verify extra args", []string{"verify", "--video", "a", "--photo", "b", "extra"}, exitUsage, "usage:"},
		{"nid without codes", []string{"nid"}, exitUsage, "usage: hoviyat nid"},
		{"eval without out", []string{"eval", "--data", "/x"}, exitUsage, "--out are required"},
		{"bench without video", []string{"bench"}, exitUsage, "--video is required"},
		{"bench zero runs", []string{"bench", "--video", "x", "--runs", "0"}, exitUsage, "must be ≥ 1"},
		{"verify help", []string{"verify", "-h"}, exitOK, "usage: hoviyat verify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errs := call(t, tc.args...)
			assert.Equal(t, tc.code, code, "stderr: %s", errs)
			assert.Contains(t, out+errs, tc.in)
		})
	}
}

func TestNID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		codes []string
		exit  int
		lines []string
	}{
		{"valid ascii", []string{"0084575948"}, exitOK, []string{"0084575948\tvalid"}},
		{"valid persian digits", []string{"۰۰۸۴۵۷۵۹۴۸"}, exitOK, []string{"0084575948\tvalid"}},
		{"valid arabic digits and dashes", []string{"٠٠٨-٤٥٧٥٩٤-٨"}, exitOK, []string{"0084575948\tvalid"}},
		{"checksum", []string{"1234567890"}, exitFail, []string{`"1234567890"` + "\tinvalid: checksum"}},
		{"length", []string{"123"}, exitFail, []string{`"123"` + "\tinvalid: length"}},
		{"repeated", []string{"1111111111"}, exitFail, []string{`"1111111111"` + "\tinvalid: repeated"}},
		{"non digit", []string{"12345abcde"}, exitFail, []string{`"12345abcde"` + "\tinvalid: non_digit"}},
		{"mixed: one invalid fails the run", []string{"0084575948", "1234567890"}, exitFail,
			[]string{"0084575948\tvalid", `"1234567890"` + "\tinvalid: checksum"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, _ := call(t, append([]string{"nid"}, tc.codes...)...)
			assert.Equal(t, tc.exit, code)
			got := strings.Split(strings.TrimRight(out, "\n"), "\n")
			require.Len(t, got, len(tc.lines), out)
			for i, want := range tc.lines {
				assert.True(t, strings.HasPrefix(got[i], want), "line %d: %q does not start with %q", i, got[i], want)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	t.Setenv("HOVIYAT_DATA", "/d")
	t.Setenv("HOVIYAT_MODELS", "/m")
	assert.Equal(t, "go run ./cmd/hoviyat eval --data $HOVIYAT_DATA --out out/eval",
		commandLine([]string{"--data", "/d", "--out", "out/eval"}, "/d", ""))
	assert.Equal(t, "go run ./cmd/hoviyat eval --out o --models $HOVIYAT_MODELS --data $HOVIYAT_DATA",
		commandLine([]string{"--out", "o", "--models", "/m"}, "/d", "/m"))
}

func TestReadClipLabels(t *testing.T) {
	t.Parallel()
	ls, err := readClipLabels("../../testdata/eval/clips.tsv")
	require.NoError(t, err)
	sets := map[string]int{}
	ids := map[string]clipLabel{}
	for _, l := range ls {
		sets[l.Set]++
		ids[l.ID] = l
	}
	assert.Equal(t, 15, sets["genuine"], "every genuine clip of the manifest")
	assert.Equal(t, 2, sets["attack"])
	assert.Equal(t, 1, sets["deepfake"])
	assert.Equal(t, 5, sets["negative"])
	assert.Equal(t, "g24", ids["g21"].Reference)
	assert.Equal(t, ids["g21"].Identity, ids["g24"].Identity)
	assert.Equal(t, "screen_replay", ids["a01"].Species)
	assert.Equal(t, "phone_replay", ids["a02"].Species)
	assert.Empty(t, ids["g06"].Species)
	assert.Equal(t, "exclude", ids["photos/goface/pristin.jpg"].Set)

	_, err = readClipLabels("does-not-exist.tsv")
	assert.ErrorContains(t, err, "--labels")
}
