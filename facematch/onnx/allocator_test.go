package onnx

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/internal/vision"
	"github.com/hoviyat/hoviyat/internal/vision/visiontest"
)

const allocChildEnv = "HOVIYAT_ONNX_ALLOC_CHILD"

// New tunes glibc malloc (vision.TuneAllocator) unless
// Config.KeepAllocator is set; each case in a fresh process, since the
// tuning is process-wide and done once.
func TestNewTunesAllocator(t *testing.T) {
	envDir(t, "HOVIYAT_MODELS")
	for _, mode := range []string{"default", "keep"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			visiontest.RunFresh(t, "TestNewTunesAllocatorChild", allocChildEnv, mode)
		})
	}
}

// TestNewTunesAllocatorChild is TestNewTunesAllocator's helper process;
// it does nothing unless started by it.
func TestNewTunesAllocatorChild(t *testing.T) {
	mode := os.Getenv(allocChildEnv)
	if mode == "" {
		t.Skip("helper process of TestNewTunesAllocator")
	}
	_, done := vision.AllocatorTuningOutcome()
	require.False(t, done, "tuned before New")
	m, err := New(Config{ModelsDir: envDir(t, "HOVIYAT_MODELS"), Workers: 1, KeepAllocator: mode == "keep"})
	require.NoError(t, err)
	require.NoError(t, m.Close())
	got, done := vision.AllocatorTuningOutcome()
	if mode == "keep" {
		assert.False(t, done, "KeepAllocator: New left malloc alone")
		return
	}
	assert.True(t, done, "New tuned malloc")
	if runtime.GOOS == "linux" {
		assert.Equal(t, vision.AllocatorTuned, got)
	}
}
