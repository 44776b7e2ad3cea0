//go:build !linux

package vision

func setMmapThreshold(int) AllocatorTuning { return AllocatorUnsupported }

func mmappedBlock(int) (mmapped, ok bool) { return false, false }
