package vision

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"
)

func TestFramePoolBounds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name             string
		maxMats, maxByte int
		put              int
		idle             int
	}{
		{"count bound", 2, 1 << 20, 4, 2},
		{"byte bound", 10, 2 * 64 * 64 * 3, 4, 2},
		{"none kept", 0, 1 << 20, 3, 0},
	}
	for _, c := range cases {
		p := NewFramePool(c.maxMats, c.maxByte)
		for i := 0; i < c.put; i++ {
			p.Put(gocv.NewMatWithSize(64, 64, gocv.MatTypeCV8UC3))
		}
		assert.Equal(t, c.idle, p.Idle(), c.name)
		p.Put(gocv.NewMat()) // empty Mats are closed, never kept
		assert.Equal(t, c.idle, p.Idle(), c.name)
		require.NoError(t, p.Close())
		assert.Equal(t, 0, p.Idle(), c.name)
		p.Put(gocv.NewMatWithSize(8, 8, gocv.MatTypeCV8UC3)) // closed pool: closed
		assert.Equal(t, 0, p.Idle(), c.name)
		require.NoError(t, p.Close())
	}
	var nilPool *FramePool
	nilPool.Put(gocv.NewMatWithSize(8, 8, gocv.MatTypeCV8UC3)) // closes it
	m := nilPool.get(8, 8)
	assert.True(t, m.Empty())
	m.Close()
	assert.NoError(t, nilPool.Close())
}

// A decoder with a pool returns the same frames as one without, reading
// them into recycled Mats.
func TestDecoderWithPoolReusesMats(t *testing.T) {
	t.Parallel()
	p := ingestClip(t, "g05") // portrait clip with rotation metadata
	ctx := context.Background()
	info, err := Probe(ctx, p, Limits{})
	require.NoError(t, err)
	read := func(pool *FramePool) (sums []gocv.Scalar, ptrs map[uintptr]bool) {
		ptrs = map[uintptr]bool{}
		d, err := NewDecoder(p, info, DecodeOptions{Interval: 200 * time.Millisecond, Pool: pool})
		require.NoError(t, err)
		defer d.Close()
		for {
			f, err := d.Next(ctx)
			if errors.Is(err, io.EOF) {
				return sums, ptrs
			}
			require.NoError(t, err)
			sums = append(sums, f.Mat.Sum())
			if b, err := f.Mat.DataPtrUint8(); err == nil && len(b) > 0 {
				ptrs[uintptr(unsafePointer(b))] = true
			}
			pool.Put(f.Mat)
		}
	}
	pool := NewFramePool(4, 0)
	defer pool.Close()
	plain, _ := read(nil)
	pooled, bufs := read(pool)
	require.NotEmpty(t, plain)
	assert.Equal(t, plain, pooled, "same pixels with and without a pool")
	assert.LessOrEqual(t, len(bufs), 3, "frames read into a few recycled buffers")
	assert.Positive(t, pool.Idle())
}
