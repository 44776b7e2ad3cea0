package vision

import (
	"context"
	"fmt"
	"image"
	"io"
	"time"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/reason"
)

// OpenCV 4.6 capture properties that gocv v0.31 does not name.
const (
	propOrientationMeta = gocv.VideoCaptureProperties(48) // CAP_PROP_ORIENTATION_META
	propOrientationAuto = gocv.VideoCaptureProperties(49) // CAP_PROP_ORIENTATION_AUTO
)

// DecodeOptions choose which frames a Decoder returns. A plain value, safe
// to share.
type DecodeOptions struct {
	// Interval is the spacing of returned frames on the video's own
	// timeline; frames in between are demuxed and decoded but not
	// converted (Grab). Zero returns every frame.
	Interval time.Duration
	// MaxFrames caps the returned frames; when the duration is known the
	// interval is widened so the cap covers the whole video. Zero: no cap.
	MaxFrames int
	// Limits are enforced while decoding too: streams whose header had no
	// duration are refused once a frame passes MaxDuration, frames larger
	// than MaxSide are refused, and a stream that ends before MinDuration
	// is reported by Err after io.EOF.
	Limits Limits
	// ThumbSize, when positive, makes the decoder also return a grey
	// thumbnail of each frame with this longest side (Frame.Thumb), so the
	// decoding goroutine does that work rather than the analysis.
	ThumbSize int
	// Pool, when set, supplies the Mats frames are read into and takes
	// back those the decoder drops; the receiver of a frame then hands its
	// Mat back with Pool.Put instead of closing it. Nil: every frame gets
	// a new Mat.
	Pool *FramePool
}

// Frame is one decoded, upright BGR frame. The receiver owns Mat and must
// Close it (or give it back with FramePool.Put when the decoder has a
// pool); like any gocv Mat it must not be used from two goroutines at
// once.
type Frame struct {
	// Index is the frame's position in the stream (0-based, display order).
	Index int
	// Time is its presentation time relative to the first frame, from the
	// container's timestamps (not assumed from a nominal frame rate).
	Time time.Duration
	Mat  gocv.Mat
	// Thumb is the frame in grey scaled to ThumbW x ThumbH (row-major),
	// when DecodeOptions.ThumbSize asked for it.
	Thumb          []byte
	ThumbW, ThumbH int
}

// Decoder returns sampled frames of one video through OpenCV's FFmpeg
// backend. It is not safe for concurrent use; one goroutine drives it.
type Decoder struct {
	vc     *gocv.VideoCapture
	info   VideoInfo
	opt    DecodeOptions
	lim    Limits
	rotate int         // extra clockwise rotation to apply to decoded frames
	raw    image.Point // size of the last decoded frame, before rotation
	thumbs *thumbnailer

	next     int           // index of the next frame in the stream
	target   time.Duration // time of the next frame to return
	returned int
	decoded  int // frames grabbed or read
	last     time.Duration
	lastStep time.Duration
	started  bool
	done     bool // no more frames will be returned
	eos      bool // the stream itself ended
	closed   bool
}

// NewDecoder opens the video at path, described by info (from Probe).
// Frames come out upright: OpenCV's own orientation handling is turned off
// because OpenCV 4.6 with FFmpeg 5 turns display-matrix videos the wrong
// way (a portrait phone clip came out upside down), and info.Rotation is
// applied instead; if the backend refuses to turn it off, the difference
// between what it applied and what is needed is applied on top.
func NewDecoder(path string, info VideoInfo, opt DecodeOptions) (*Decoder, error) {
	vc, err := gocv.VideoCaptureFileWithAPI(path, gocv.VideoCaptureFFmpeg)
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		return nil, inputError(reason.VideoInvalid, "cannot open video", nil)
	}
	d := &Decoder{vc: vc, info: info, opt: opt, lim: opt.Limits.WithDefaults()}
	vc.Set(propOrientationAuto, 0)
	applied := 0
	if vc.Get(propOrientationAuto) != 0 {
		applied = normaliseRotation(vc.Get(propOrientationMeta))
	}
	d.rotate = ((info.Rotation-applied)%360 + 360) % 360
	if opt.ThumbSize > 0 {
		d.thumbs = newThumbnailer(opt.ThumbSize)
	}
	if opt.MaxFrames > 0 && info.Duration > 0 {
		if iv := info.Duration / time.Duration(opt.MaxFrames); iv > d.opt.Interval {
			d.opt.Interval = iv
		}
	}
	return d, nil
}

// Info returns the probe information the decoder works from.
func (d *Decoder) Info() VideoInfo { return d.info }

// Decoded returns how many frames were decoded so far (sampled or not).
func (d *Decoder) Decoded() int { return d.decoded }

// Span returns the time from the first frame to the end of the last
// decoded one, once decoding reached the end (an estimate before).
func (d *Decoder) Span() time.Duration { return d.last + d.lastStep }

// frameTime estimates the time of frame i before decoding it.
func (d *Decoder) frameTime(i int) (time.Duration, bool) {
	if i < len(d.info.Timestamps) {
		return d.info.Timestamps[i], true
	}
	if !d.info.VFR && d.info.FPS > 0 {
		return time.Duration(float64(i) / d.info.FPS * float64(time.Second)), true
	}
	return 0, false
}

// Next returns the next sampled frame, io.EOF at the end of the stream, or
// a *liveness.InputError when the stream breaks a limit. The context is
// checked between frames (a single frame's decoding cannot be interrupted).
func (d *Decoder) Next(ctx context.Context) (Frame, error) {
	if d.closed {
		return Frame{}, fmt.Errorf("vision: decoder closed")
	}
	for !d.done {
		if err := ctx.Err(); err != nil {
			return Frame{}, fmt.Errorf("vision: decoding: %w", err)
		}
		if d.opt.MaxFrames > 0 && d.returned >= d.opt.MaxFrames {
			d.done = true
			break
		}
		t, known := d.frameTime(d.next)
		if known && t > d.lim.MaxDuration {
			return Frame{}, inputError(reason.VideoTooLong, fmt.Sprintf("longer than %.1f s", d.lim.MaxDuration.Seconds()), nil)
		}
		half := d.lastStep / 2
		if known && d.started && t+half < d.target {
			// Not sampled: decode without converting to BGR.
			d.vc.Grab(1)
			d.next++
			d.decoded++
			d.advance(t)
			continue
		}
		f, ok, err := d.read()
		if err != nil {
			return Frame{}, err
		}
		if !ok {
			continue
		}
		if !known && d.returned > 0 && f.Time+half < d.target {
			// Without timestamps before decoding (OpenCV-only probing of
			// a VFR stream) every frame is converted; frames closer than
			// the interval are still dropped here to bound the analysis.
			d.opt.Pool.Put(f.Mat)
			continue
		}
		d.returned++
		d.target = f.Time + d.opt.Interval
		return f, nil
	}
	if d.eos && d.info.Frames > 10 && d.decoded < d.info.Frames*4/5 {
		return Frame{}, inputError(reason.VideoInvalid, fmt.Sprintf("truncated: %d of %d frames decodable", d.decoded, d.info.Frames), nil)
	}
	if span := d.Span(); d.decoded > 0 && span < d.lim.MinDuration {
		return Frame{}, inputError(reason.VideoTooShort, fmt.Sprintf("%.2f s decoded, minimum %.1f s", span.Seconds(), d.lim.MinDuration.Seconds()), nil)
	}
	if d.decoded == 0 {
		return Frame{}, inputError(reason.VideoInvalid, "no decodable frame", nil)
	}
	return Frame{}, io.EOF
}

// advance records t as the time of the frame just decoded.
func (d *Decoder) advance(t time.Duration) {
	if d.started && t > d.last {
		d.lastStep = t - d.last
	}
	if !d.started || t > d.last {
		d.last = t
	}
	d.started = true
}

// read decodes and converts the next frame. At the end of the stream it
// sets done and returns ok == false.
func (d *Decoder) read() (Frame, bool, error) {
	m := d.opt.Pool.get(d.raw.Y, d.raw.X)
	if !d.vc.Read(&m) || m.Empty() {
		d.opt.Pool.Put(m)
		d.done, d.eos = true, true
		return Frame{}, false, nil
	}
	d.raw = image.Pt(m.Cols(), m.Rows())
	idx := d.next
	if pf := int(d.vc.Get(gocv.VideoCapturePosFrames)) - 1; pf >= idx && pf < idx+4 {
		idx = pf // the backend's own count, in case it skipped a frame
	}
	d.next = idx + 1
	d.decoded++
	t, known := d.frameTime(idx)
	if !known {
		// Streams without usable timestamps in the probe (OpenCV-only
		// probing of VFR video): the backend's position, which is exact
		// for WebM and MPEG but not for MP4 in OpenCV 4.6.
		t = time.Duration(d.vc.Get(gocv.VideoCapturePosMsec) * float64(time.Millisecond))
	}
	if t > d.lim.MaxDuration {
		d.opt.Pool.Put(m)
		return Frame{}, false, inputError(reason.VideoTooLong, fmt.Sprintf("longer than %.1f s", d.lim.MaxDuration.Seconds()), nil)
	}
	if m.Cols() > d.lim.MaxSide || m.Rows() > d.lim.MaxSide {
		d.opt.Pool.Put(m)
		return Frame{}, false, inputError(reason.VideoInvalid, fmt.Sprintf("frame %dx%d exceeds %d px", m.Cols(), m.Rows(), d.lim.MaxSide), nil)
	}
	d.advance(t)
	if d.rotate != 0 {
		rows, cols := m.Rows(), m.Cols()
		if d.rotate != 180 {
			rows, cols = cols, rows
		}
		r := d.opt.Pool.get(rows, cols)
		gocv.Rotate(m, &r, rotateFlag(d.rotate))
		d.opt.Pool.Put(m)
		m = r
	}
	f := Frame{Index: idx, Time: t, Mat: m}
	if d.thumbs != nil {
		f.Thumb, f.ThumbW, f.ThumbH = d.thumbs.thumb(m)
	}
	return f, true, nil
}

func rotateFlag(cw int) gocv.RotateFlag {
	switch cw {
	case 90:
		return gocv.Rotate90Clockwise
	case 180:
		return gocv.Rotate180Clockwise
	default:
		return gocv.Rotate90CounterClockwise
	}
}

// Close releases the decoder. It is idempotent.
func (d *Decoder) Close() error {
	if d == nil || d.closed {
		return nil
	}
	d.closed = true
	d.thumbs.close()
	return d.vc.Close()
}
