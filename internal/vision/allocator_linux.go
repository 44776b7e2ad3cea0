//go:build linux

package vision

/*
#include <stdlib.h>
#include "allocator.h"
*/
import "C"

import "unsafe"

func setMmapThreshold(bytes int) AllocatorTuning {
	switch C.hoviyat_set_mmap_threshold(C.int(bytes)) {
	case 1:
		return AllocatorTuned
	case 0:
		return AllocatorRefused
	}
	return AllocatorUnsupported
}

// mmappedBlock reports whether a C malloc of size bytes is served by mmap
// (glibc's count of mmapped blocks grows while it is held); ok is false
// where that cannot be told (not glibc 2.33+). For tests and diagnosis.
func mmappedBlock(size int) (mmapped, ok bool) {
	var p unsafe.Pointer
	r := C.hoviyat_malloc_is_mmapped(C.size_t(size), &p)
	C.free(p)
	return r == 1, r >= 0
}

// mallocInUse returns the bytes in use in malloc's heaps (mmapped blocks
// excluded); ok is false where that cannot be told (not glibc 2.33+). For
// tests and diagnosis.
func mallocInUse() (n int64, ok bool) {
	r := C.hoviyat_malloc_in_use()
	return int64(r), r >= 0
}
