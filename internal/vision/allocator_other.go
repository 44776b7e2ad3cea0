//go:build !linux

package vision

func setMmapThreshold(int) AllocatorTuning { return AllocatorUnsupported }

func mmappedBlock(int) (mmapped, ok bool) { return false, false }

func mallocInUse() (n int64, ok bool) { return 0, false }
