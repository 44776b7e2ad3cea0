package vision

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "threads.h"
*/
import "C"

import "sync"

var threadsMu sync.Mutex

// SetOpenCVThreads sets how many threads OpenCV's parallel regions
// (DNN layers, resizing, colour conversion) use, for the whole process
// (cv::setNumThreads), and returns the previous setting. 1 runs every
// OpenCV call on its caller's thread; n <= 0 restores OpenCV's default
// (one per CPU). It does not change FFmpeg's decoding threads.
//
// A pipeline that already keeps every core busy with its own goroutines
// (decoding, per-frame measures and the temporal analysis of
// liveness/cv overlap) loses CPU to OpenCV's worker threads: on 2 cores,
// YuNet at 320 px costs 5.8 ms of CPU per frame over 2 threads and 4.5 ms
// on one, for the same result. Safe for concurrent use, but call it at
// start-up: OpenCV does not document changing it while another goroutine
// is inside an OpenCV call.
func SetOpenCVThreads(n int) int {
	threadsMu.Lock()
	defer threadsMu.Unlock()
	prev := int(C.hoviyat_cv_get_num_threads())
	switch {
	case n <= 0:
		C.hoviyat_cv_set_num_threads(-1) // OpenCV: negative resets to the default
	case n != prev:
		C.hoviyat_cv_set_num_threads(C.int(n))
	}
	return prev
}

// OpenCVThreads returns OpenCV's current thread setting
// (cv::getNumThreads).
func OpenCVThreads() int {
	threadsMu.Lock()
	defer threadsMu.Unlock()
	return int(C.hoviyat_cv_get_num_threads())
}
