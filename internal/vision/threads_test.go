package vision

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Not parallel: the setting is process-wide.
func TestSetOpenCVThreads(t *testing.T) {
	prev := OpenCVThreads()
	t.Cleanup(func() { SetOpenCVThreads(prev) })
	assert.Equal(t, prev, SetOpenCVThreads(1))
	assert.Equal(t, 1, OpenCVThreads())
	assert.Equal(t, 1, SetOpenCVThreads(0))
	assert.GreaterOrEqual(t, OpenCVThreads(), 1, "0 restores OpenCV's default")
}
