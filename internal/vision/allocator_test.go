package vision

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/internal/vision/visiontest"
)

func TestHostSetsMmapThreshold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing", nil, false},
		{"env var", map[string]string{"MALLOC_MMAP_THRESHOLD_": "65536"}, true},
		{"empty env var (glibc reads 0)", map[string]string{"MALLOC_MMAP_THRESHOLD_": ""}, true},
		{"tunable alone", map[string]string{"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"}, true},
		{"tunable among others", map[string]string{"GLIBC_TUNABLES": "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1"}, true},
		{"other tunables", map[string]string{"GLIBC_TUNABLES": "glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=1"}, false},
		{"other malloc env", map[string]string{"MALLOC_ARENA_MAX": "1", "MALLOC_TRIM_THRESHOLD_": "1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, hostSetsMmapThreshold(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }))
		})
	}
}

func TestAllocatorTuningString(t *testing.T) {
	t.Parallel()
	for a, want := range map[AllocatorTuning]string{AllocatorTuned: "tuned", AllocatorHostSet: "host-set",
		AllocatorUnsupported: "unsupported", AllocatorRefused: "refused", 0: "unknown"} {
		assert.Equal(t, want, a.String())
	}
}

// allocChildEnv names the scenario TestAllocatorChild runs in a fresh
// process: TuneAllocator's setting is process-wide and happens once.
const allocChildEnv = "HOVIYAT_VISION_ALLOC_CHILD"

// TuneAllocator's effect, observed through glibc's count of mmapped
// blocks, each scenario in its own process (the setting is process-wide
// and made once). Untuned, glibc's dynamic threshold moves a freed 512 KiB
// mmapped block's successors of 256 KiB to the heap, which is how large
// buffers end up fragmenting it; tuned, they stay mmapped; a host setting
// in the environment is left alone.
func TestTuneAllocator(t *testing.T) {
	if runtime.GOOS != "linux" {
		assert.Equal(t, AllocatorUnsupported, setMmapThreshold(TunedMmapThreshold))
		return
	}
	if _, ok := mmappedBlock(1 << 20); !ok {
		t.Skip("not glibc 2.33+: mmapped blocks cannot be counted")
	}
	for _, tc := range []struct{ scenario, env string }{
		{"untuned", ""},
		{"tuned", ""},
		{"host", "MALLOC_MMAP_THRESHOLD_=1048576"},
		{"tunable", "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			var extra []string
			if tc.env != "" {
				extra = append(extra, tc.env)
			}
			visiontest.RunFresh(t, "TestAllocatorChild", allocChildEnv, tc.scenario, extra...)
		})
	}
}

// TestAllocatorChild is TestTuneAllocator's helper process; it does
// nothing unless started by it. Blocks of 256 KiB and more are used
// because a block above the threshold still comes from the heap when the
// heap's free top (up to the 128 KiB trim threshold) can hold it.
func TestAllocatorChild(t *testing.T) {
	scenario := os.Getenv(allocChildEnv)
	if scenario == "" {
		t.Skip("helper process of TestTuneAllocator")
	}
	mm := func(size int) bool {
		m, ok := mmappedBlock(size)
		require.True(t, ok)
		return m
	}
	_, done := AllocatorTuningOutcome()
	require.False(t, done, "nothing tuned yet")
	switch scenario {
	case "untuned":
		assert.True(t, mm(512<<10), "512 KiB mmapped at glibc's initial 128 KiB threshold")
		assert.False(t, mm(256<<10), "freeing it raised the threshold: 256 KiB from the heap")
	case "tuned":
		require.Equal(t, AllocatorTuned, TuneAllocator())
		assert.True(t, mm(512<<10), "512 KiB mmapped")
		assert.True(t, mm(256<<10), "no dynamic threshold: 256 KiB still mmapped")
		assert.True(t, mm(8<<20), "8 MiB mmapped")
		assert.True(t, mm(256<<10), "still mmapped after an 8 MiB block was freed")
		assert.False(t, mm(16<<10), "small blocks from the heap")
	case "host", "tunable":
		require.Equal(t, AllocatorHostSet, TuneAllocator())
		assert.True(t, mm(2<<20), "2 MiB above the host's 1 MiB threshold")
		assert.False(t, mm(512<<10), "512 KiB below the host's threshold: from the heap")
	default:
		t.Fatalf("unknown scenario %q", scenario)
	}
	first := TuneAllocator()
	assert.Equal(t, first, TuneAllocator(), "later calls report the first outcome")
	got, done := AllocatorTuningOutcome()
	assert.True(t, done)
	assert.Equal(t, first, got)
}
