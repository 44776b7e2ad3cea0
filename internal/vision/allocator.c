//go:build linux

#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "allocator.h"

int hoviyat_set_mmap_threshold(int bytes) {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
	return mallopt(M_MMAP_THRESHOLD, bytes) == 1 ? 1 : 0;
#else
	(void)bytes;
	return -1;
#endif
}

int hoviyat_malloc_is_mmapped(size_t size, void **p) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	size_t before = mallinfo2().hblks;
	*p = malloc(size);
	size_t after = mallinfo2().hblks;
	if (*p == NULL) {
		return -1;
	}
	return after > before ? 1 : 0;
#else
	*p = malloc(size);
	return -1;
#endif
}

long long hoviyat_malloc_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	return (long long)mallinfo2().uordblks;
#else
	return -1;
#endif
}
