package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstart runs the demo as `make demo` does and checks that the
// genuine clip is approved and the screen replay rejected with reasons.
func TestQuickstart(t *testing.T) {
	models, data := os.Getenv("HOVIYAT_MODELS"), os.Getenv("HOVIYAT_DATA")
	if models == "" || data == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HOVIYAT_MODELS and HOVIYAT_DATA must be set in CI")
		}
		t.Skip("HOVIYAT_MODELS/HOVIYAT_DATA not set")
	}
	var out bytes.Buffer
	err := run(context.Background(), models, data, filepath.Join("..", "..", "testdata", "quickstart"),
		"genuine/g24_retalking_aoc_talking.mp4", "attack/a01_screen_replay_of_g01.mp4", &out)
	t.Log(out.String())
	require.NoError(t, err)
	s := out.String()
	assert.Contains(t, s, "decision: APPROVED")
	assert.Contains(t, s, "decision: REJECTED")
	assert.Contains(t, s, "reason spoof_suspected")
	assert.Contains(t, s, "fa: ویدئو از یک فرد زنده")
	assert.Contains(t, s, "audit log: hash chain intact")
}
