package cv

import (
	"fmt"
	"runtime"
	"time"

	"github.com/hoviyat/hoviyat/liveness"
)

// Defaults of Config.
const (
	DefaultSampleInterval = 100 * time.Millisecond
	DefaultMaxFrames      = 90
	DefaultDetectSize     = 320
	DefaultBestFrames     = 5
	DefaultProbeMargin    = 0.3
	DefaultMaxBytes       = 50 << 20
	DefaultMinDuration    = 1500 * time.Millisecond
	DefaultMaxDuration    = 30 * time.Second
	DefaultMaxSide        = 4096
	DefaultProbeTimeout   = 15 * time.Second
	DefaultOpenCVThreads  = 1
	DefaultDetectParallel = 2
)

// Config configures New. It is copied by New (later changes to the
// caller's value have no effect); zero values mean the documented defaults.
type Config struct {
	// ModelsDir holds the YuNet and MiniFASNet ONNX files (see
	// ../shared/models/PROVENANCE.md); default $HOVIYAT_MODELS.
	ModelsDir string
	// Workers is the number of videos analysed at once; each worker owns a
	// face detector and the two anti-spoofing networks (about 10 MB) and
	// uses about two cores while it runs (decoding overlaps analysis).
	// Further Detect calls wait for a worker, honouring their context.
	// Default max(1, NumCPU/2).
	Workers int

	// SampleInterval is the spacing of the analysed frames on the video's
	// timeline; frames in between are decoded but not converted or
	// analysed. Default 100 ms (10 frames per second).
	SampleInterval time.Duration
	// MaxFrames caps the analysed frames of one video (the interval is
	// widened for long videos). Default 90.
	MaxFrames int
	// DetectSize is the longest side frames are scaled to for face
	// detection. Default 320.
	DetectSize int
	// DetectParallel is how many sampled frames of one video have their
	// faces detected at once, each on its own goroutine with its own copy
	// of the detector (about 1 MB): the detector is most of the per-frame
	// work, and one goroutine running it was the pipeline's critical path.
	// Results are used in frame order, so they do not depend on it.
	// Default 2.
	DetectParallel int
	// BestFrames is how many of the best frames go to the anti-spoofing
	// models and become matching probes. Default 5.
	BestFrames int
	// ProbeMargin widens each probe crop around the face box by this share
	// of the box on every side. Default 0.3.
	ProbeMargin float64

	// Input limits: MaxBytes (default 50 MB), MinDuration (1.5 s),
	// MaxDuration (30 s), MaxSide (4096 px, longest frame side).
	MaxBytes    int64
	MinDuration time.Duration
	MaxDuration time.Duration
	MaxSide     int
	// TempDir is where videos without a local path are spooled (0600
	// files, removed after Detect); default os.TempDir().
	TempDir string
	// FFprobe is the ffprobe executable used to probe videos before
	// decoding: "" looks it up in $PATH (falling back to OpenCV's own
	// properties when absent), "-" never uses it. ProbeTimeout bounds it
	// (default 15 s).
	FFprobe      string
	ProbeTimeout time.Duration

	// OpenCVThreads is the number of threads OpenCV's own parallel
	// regions use, set process-wide by New (vision.SetOpenCVThreads):
	// default 1, because each Detect already overlaps decoding, per-frame
	// measures, the temporal analysis and the anti-spoofing models on
	// goroutines of its own, and OpenCV's worker threads only competed with
	// them (on 2 cores they cost ~25% more CPU for YuNet, for the same
	// result). Negative leaves OpenCV's setting as it is; 0 means the
	// default.
	OpenCVThreads int

	// KeepAllocator leaves the C allocator alone. By default (false) New
	// calls vision.TuneAllocator, which fixes glibc malloc's mmap
	// threshold at 64 KiB for the whole process, once: blocks of 64 KiB
	// and more then come from mmap and go back to the kernel when freed.
	// Without it a long-running process grows with every analysed video:
	// glibc raises its threshold dynamically, so OpenCV's and FFmpeg's
	// per-frame buffers move to the heap and fragment it (2 workers, 5 s
	// 720p clips, docs/RELIABILITY.md section 5: peak RSS 267-311 MB after
	// 2 videos, 478-501 MB after 96; with the threshold fixed, ~300 MB
	// after 96). Fixing the threshold turns glibc's dynamic adjustment
	// off, which is the point. Nothing is changed when the environment
	// sets MALLOC_MMAP_THRESHOLD_ (or the glibc.malloc.mmap_threshold
	// tunable), nor outside glibc. Set KeepAllocator when the host
	// manages malloc itself.
	KeepAllocator bool

	// Quality and Liveness are the thresholds of the quality gate and of
	// the liveness decision (zero fields take their defaults).
	Quality  liveness.QualityConfig
	Liveness liveness.LivenessConfig
}

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.Workers == 0 {
		c.Workers = max(1, runtime.NumCPU()/2)
	}
	if c.SampleInterval == 0 {
		c.SampleInterval = DefaultSampleInterval
	}
	if c.MaxFrames == 0 {
		c.MaxFrames = DefaultMaxFrames
	}
	if c.DetectSize == 0 {
		c.DetectSize = DefaultDetectSize
	}
	if c.BestFrames == 0 {
		c.BestFrames = DefaultBestFrames
	}
	if c.ProbeMargin == 0 {
		c.ProbeMargin = DefaultProbeMargin
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MinDuration == 0 {
		c.MinDuration = DefaultMinDuration
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = DefaultMaxDuration
	}
	if c.MaxSide == 0 {
		c.MaxSide = DefaultMaxSide
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = DefaultProbeTimeout
	}
	if c.DetectParallel == 0 {
		c.DetectParallel = DefaultDetectParallel
	}
	if c.OpenCVThreads == 0 {
		c.OpenCVThreads = DefaultOpenCVThreads
	}
	c.Quality = c.Quality.WithDefaults()
	c.Liveness = c.Liveness.WithDefaults()
	switch {
	case c.Workers < 0 || c.Workers > 256:
		return c, fmt.Errorf("cv: Config.Workers %d outside [1,256]", c.Workers)
	case c.SampleInterval < 0 || c.SampleInterval > 2*time.Second:
		return c, fmt.Errorf("cv: Config.SampleInterval %v outside (0,2s]", c.SampleInterval)
	case c.MaxFrames < 10 || c.MaxFrames > 1000:
		return c, fmt.Errorf("cv: Config.MaxFrames %d outside [10,1000]", c.MaxFrames)
	case c.DetectSize < 64 || c.DetectSize > 1280:
		return c, fmt.Errorf("cv: Config.DetectSize %d outside [64,1280]", c.DetectSize)
	case c.BestFrames < 1 || c.BestFrames > 30:
		return c, fmt.Errorf("cv: Config.BestFrames %d outside [1,30]", c.BestFrames)
	case c.ProbeMargin < 0 || c.ProbeMargin > 2:
		return c, fmt.Errorf("cv: Config.ProbeMargin %g outside [0,2]", c.ProbeMargin)
	case c.MaxBytes < 0 || c.MinDuration < 0 || c.MaxDuration < 0 || c.MaxSide < 0 || c.ProbeTimeout < 0:
		return c, fmt.Errorf("cv: negative limit in Config")
	case c.DetectParallel < 1 || c.DetectParallel > 16:
		return c, fmt.Errorf("cv: Config.DetectParallel %d outside [1,16]", c.DetectParallel)
	case c.OpenCVThreads > 256:
		return c, fmt.Errorf("cv: Config.OpenCVThreads %d above 256", c.OpenCVThreads)
	case c.MinDuration >= c.MaxDuration:
		return c, fmt.Errorf("cv: Config.MinDuration %v must be below MaxDuration %v", c.MinDuration, c.MaxDuration)
	}
	if err := c.Quality.Validate(); err != nil {
		return c, err
	}
	if err := c.Liveness.Validate(); err != nil {
		return c, err
	}
	return c, nil
}
