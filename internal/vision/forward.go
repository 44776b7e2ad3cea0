package vision

/*
#include <stdlib.h>
#include "forward.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"gocv.io/x/gocv"
)

// netForward runs an OpenCV network forward to a fixed list of named
// outputs without the leak of gocv v0.31's Net.ForwardLayers, which on
// every call allocates the names as C strings and the output array with
// new[] and frees neither (~0.5 KB a call for YuNet's 12 outputs; gocv
// dnn.go ForwardLayers, dnn.cpp Net_ForwardLayers). The names are copied
// to C++ once; the output Mats live in C++ and are reused by every pass.
// Not safe for concurrent use (one per network, like the network).
type netForward struct {
	o    *C.hoviyat_net_outputs
	n    int
	data []*C.float
	lens []C.size_t
	outs [][]float32
	err  [256]byte
}

// newNetForward prepares forward passes to the named outputs.
func newNetForward(names []string) (*netForward, error) {
	if !gocvNetLayoutOK {
		return nil, errors.New("vision: gocv.Net is no longer a single C pointer: the forward helper needs updating")
	}
	if len(names) == 0 {
		return nil, errors.New("vision: no network outputs named")
	}
	cnames := make([]*C.char, len(names))
	for i, s := range names {
		cnames[i] = C.CString(s)
	}
	// cnames is Go memory holding C pointers only, so it may be passed
	// to C; the helper copies the strings.
	o := C.hoviyat_net_outputs_new(&cnames[0], C.int(len(names)))
	for _, p := range cnames {
		C.free(unsafe.Pointer(p))
	}
	if o == nil {
		return nil, errors.New("vision: cannot allocate the network outputs")
	}
	return &netForward{o: o, n: len(names), data: make([]*C.float, len(names)),
		lens: make([]C.size_t, len(names)), outs: make([][]float32, len(names))}, nil
}

// run runs net forward (after its SetInput) and returns the outputs in
// the order of the names: views of buffers owned by f, valid until the
// next run or close.
func (f *netForward) run(net *gocv.Net) ([][]float32, error) {
	if f.o == nil {
		return nil, errors.New("vision: network outputs closed")
	}
	p := gocvNetPointer(net)
	if p == nil {
		return nil, errors.New("vision: network not loaded")
	}
	if C.hoviyat_net_forward(p, f.o, &f.data[0], &f.lens[0], (*C.char)(unsafe.Pointer(&f.err[0])), C.size_t(len(f.err))) != 0 {
		return nil, fmt.Errorf("vision: forward pass: %s", C.GoString((*C.char)(unsafe.Pointer(&f.err[0]))))
	}
	for i := range f.outs {
		f.outs[i] = unsafe.Slice((*float32)(unsafe.Pointer(f.data[i])), int(f.lens[i]))
	}
	return f.outs, nil
}

// close releases the C++ side; idempotent.
func (f *netForward) close() {
	if f == nil || f.o == nil {
		return
	}
	C.hoviyat_net_outputs_free(f.o)
	f.o = nil
	clear(f.outs)
}

// gocvNetLayoutOK says that gocv.Net is what gocv v0.31 declares: a
// struct whose only field is the unsafe.Pointer to the C++ cv::dnn::Net
// (gocv's C.Net is a cv::dnn::Net*). gocvNetPointer relies on it; a gocv
// upgrade that changes the struct makes newNetForward fail instead of
// reading garbage, and TestNetForwardEqualsForwardLayers checks that the
// pointer is the network.
var gocvNetLayoutOK = func() bool {
	t := reflect.TypeOf(gocv.Net{})
	return t.Kind() == reflect.Struct && t.NumField() == 1 &&
		t.Field(0).Type.Kind() == reflect.UnsafePointer && t.Size() == unsafe.Sizeof(unsafe.Pointer(nil))
}()

// gocvNetPointer returns net's cv::dnn::Net* (see gocvNetLayoutOK).
func gocvNetPointer(net *gocv.Net) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(net))
}
