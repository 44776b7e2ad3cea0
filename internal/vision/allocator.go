package vision

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// TunedMmapThreshold is the glibc mmap threshold TuneAllocator sets:
// heap blocks of 64 KiB and more are then served by mmap and returned to
// the kernel when freed.
const TunedMmapThreshold = 64 << 10

// AllocatorTuning is what TuneAllocator did. It is a plain value.
type AllocatorTuning int

// Outcomes of TuneAllocator.
const (
	// AllocatorTuned: M_MMAP_THRESHOLD is now TunedMmapThreshold.
	AllocatorTuned AllocatorTuning = iota + 1
	// AllocatorHostSet: the environment already sets the threshold
	// (MALLOC_MMAP_THRESHOLD_, or glibc.malloc.mmap_threshold in
	// GLIBC_TUNABLES), so the host's choice was left alone.
	AllocatorHostSet
	// AllocatorUnsupported: not glibc on Linux; nothing to do.
	AllocatorUnsupported
	// AllocatorRefused: mallopt rejected the setting.
	AllocatorRefused
)

// String names the outcome.
func (a AllocatorTuning) String() string {
	switch a {
	case AllocatorTuned:
		return "tuned"
	case AllocatorHostSet:
		return "host-set"
	case AllocatorUnsupported:
		return "unsupported"
	case AllocatorRefused:
		return "refused"
	}
	return "unknown"
}

var (
	tuneOnce   sync.Once
	tuneResult AllocatorTuning
	tuneDone   atomic.Bool
)

// TuneAllocator sets glibc malloc's mmap threshold to TunedMmapThreshold
// (mallopt(M_MMAP_THRESHOLD, 64 KiB)) for the whole process, once; later
// calls return the first call's outcome. It does nothing when the
// environment already sets the threshold (MALLOC_MMAP_THRESHOLD_ or the
// glibc.malloc.mmap_threshold tunable: the host decides), and nothing on
// other systems or C libraries.
//
// Why: OpenCV's DNN layers, FFmpeg and the frame pipeline allocate and
// free buffers of tens of KB to a few MB for every frame, from many
// threads. glibc serves blocks below its threshold (128 KiB at start) from
// the brk/arena heap, and raises the threshold (up to 32 MiB) each time an
// mmapped block is freed, so after the first videos nearly every buffer
// comes from the heap; small long-lived allocations between them pin the
// freed space, and the heap only grows. Measured with liveness/cv and
// facematch/onnx (2 workers each, 5 s 720p clips, docs/RELIABILITY.md
// section 5): peak RSS grew ~1.5 MB per video, 267-311 MB after 2 videos
// to 478-501 MB after 96; with the threshold fixed at 64 KiB it stayed at
// ~300 MB. Setting M_MMAP_THRESHOLD also turns glibc's dynamic threshold
// adjustment off: that is the intent, since the adjustment is what moves
// the large buffers back to the heap. The cost is an mmap/munmap pair
// (and fresh zeroed pages) for every block of 64 KiB or more.
//
// liveness/cv.New and facematch/onnx.New call it unless their Config
// opts out. Safe for concurrent use; best called before the pipeline
// starts (glibc reads the threshold without a lock).
func TuneAllocator() AllocatorTuning {
	tuneOnce.Do(func() {
		if hostSetsMmapThreshold(os.LookupEnv) {
			tuneResult = AllocatorHostSet
			return
		}
		tuneResult = setMmapThreshold(TunedMmapThreshold)
	})
	tuneDone.Store(true)
	return tuneResult
}

// AllocatorTuningOutcome returns TuneAllocator's outcome, and false if
// TuneAllocator has not been called in this process. Safe for concurrent
// use.
func AllocatorTuningOutcome() (AllocatorTuning, bool) {
	if !tuneDone.Load() {
		return 0, false
	}
	return TuneAllocator(), true
}

// hostSetsMmapThreshold reports whether the environment (lookup) sets
// glibc's mmap threshold, which glibc itself reads at start-up. An empty
// MALLOC_MMAP_THRESHOLD_ counts: glibc takes it as 0 (everything from
// mmap).
func hostSetsMmapThreshold(lookup func(string) (string, bool)) bool {
	if _, ok := lookup("MALLOC_MMAP_THRESHOLD_"); ok {
		return true
	}
	tunables, _ := lookup("GLIBC_TUNABLES")
	for _, kv := range strings.Split(tunables, ":") {
		if name, _, ok := strings.Cut(kv, "="); ok && name == "glibc.malloc.mmap_threshold" {
			return true
		}
	}
	return false
}
