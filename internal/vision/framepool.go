package vision

import (
	"sync"

	"gocv.io/x/gocv"
)

// DefaultFramePoolBytes bounds the pixel memory a FramePool keeps idle.
const DefaultFramePoolBytes = 64 << 20

// FramePool recycles the Mats that decoded frames are read into, so that
// a decoder reading many frames of the same size reuses their buffers
// instead of allocating (and page-faulting in) a fresh multi-megabyte
// buffer for each: OpenCV reads a frame into an existing Mat of the same
// size and type without reallocating. A frame taken from a Decoder with a
// pool is handed back with Put when its owner is done with it (Put closes
// Mats the pool does not keep). Idle Mats are bounded by count and by
// bytes, so a pool does not hold more than a few frames' memory between
// videos. Safe for concurrent use: a Mat may be put back from another
// goroutine than the one that took it, as long as its owner no longer
// uses it. The zero value is not usable; use NewFramePool.
type FramePool struct {
	mu       sync.Mutex
	free     []gocv.Mat
	bytes    int
	maxMats  int
	maxBytes int
	closed   bool
}

// NewFramePool returns a pool keeping at most maxMats idle Mats and at
// most maxBytes of their pixels (DefaultFramePoolBytes when maxBytes <=
// 0). The caller closes the pool.
func NewFramePool(maxMats, maxBytes int) *FramePool {
	if maxBytes <= 0 {
		maxBytes = DefaultFramePoolBytes
	}
	return &FramePool{maxMats: max(0, maxMats), maxBytes: maxBytes}
}

// get returns an idle Mat, preferably one of rows x cols 8-bit BGR (so
// that reading or rotating into it does not reallocate; a video with
// rotation metadata circulates Mats of two shapes), or a new empty one. A
// nil pool always returns a new Mat.
func (p *FramePool) get(rows, cols int) gocv.Mat {
	if p != nil {
		p.mu.Lock()
		if n := len(p.free); n > 0 {
			k := n - 1
			for i := n - 1; i >= 0; i-- {
				if m := p.free[i]; m.Rows() == rows && m.Cols() == cols && m.Type() == gocv.MatTypeCV8UC3 {
					k = i
					break
				}
			}
			m := p.free[k]
			p.free = append(p.free[:k], p.free[k+1:]...)
			p.bytes -= matBytes(m)
			p.mu.Unlock()
			return m
		}
		p.mu.Unlock()
	}
	return gocv.NewMat()
}

// Put gives m back: the pool keeps it for a later frame if it has room,
// otherwise (or once the pool is closed, or for a nil pool) m is closed.
// The caller must not use m afterwards.
func (p *FramePool) Put(m gocv.Mat) {
	if m.Ptr() == nil {
		return
	}
	if p != nil {
		b := matBytes(m)
		p.mu.Lock()
		if !p.closed && !m.Empty() && len(p.free) < p.maxMats && p.bytes+b <= p.maxBytes {
			p.free = append(p.free, m)
			p.bytes += b
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	m.Close()
}

// Idle returns how many Mats the pool holds.
func (p *FramePool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}

// Close releases the idle Mats; Mats put back later are closed by Put.
// It is idempotent.
func (p *FramePool) Close() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	free := p.free
	p.free, p.bytes, p.closed = nil, 0, true
	p.mu.Unlock()
	for _, m := range free {
		m.Close()
	}
	return nil
}

func matBytes(m gocv.Mat) int {
	return m.Total() * m.ElemSize()
}
