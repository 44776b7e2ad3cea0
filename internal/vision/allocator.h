// Bridge to glibc's malloc tuning (mallopt) for vision.TuneAllocator.
#ifndef HOVIYAT_VISION_ALLOCATOR_H
#define HOVIYAT_VISION_ALLOCATOR_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
// Sets M_MMAP_THRESHOLD: 1 done, 0 refused by mallopt, -1 not glibc.
int hoviyat_set_mmap_threshold(int bytes);
// Mallocs size bytes into *p (the caller frees it): 1 if the block was
// mmapped, 0 if not, -1 if it cannot be told (not glibc 2.33+).
int hoviyat_malloc_is_mmapped(size_t size, void **p);
// Bytes in use in malloc's heaps (all arenas, mmapped blocks excluded),
// or -1 where that cannot be told (not glibc 2.33+).
long long hoviyat_malloc_in_use(void);
#ifdef __cplusplus
}
#endif
#endif
