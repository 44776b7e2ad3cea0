package vision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/reason"
)

// VideoInfo describes a video before it is decoded. It is a plain value;
// Timestamps must not be modified once shared.
type VideoInfo struct {
	// Container is the container family found by sniffing the file's first
	// bytes ("mp4", "matroska", "mpeg", "avi", "mpegts", "ogg", "flv").
	Container string `json:"container"`
	// Codec is the video codec (ffprobe's name, e.g. "h264", "vp8",
	// "mpeg1video", "mpeg4"; OpenCV's FourCC when probed without ffprobe).
	Codec string `json:"codec"`
	// Width and Height are the coded frame size, before rotation.
	Width  int `json:"width"`
	Height int `json:"height"`
	// Rotation is the clockwise rotation in degrees (0, 90, 180 or 270)
	// that makes decoded frames upright, from the display matrix.
	Rotation int `json:"rotation"`
	// FPS is the average frame rate over the stream.
	FPS float64 `json:"fps"`
	// Frames is the number of video frames (0 when unknown before decoding).
	Frames int `json:"frames"`
	// Duration is from the first frame's start to the last frame's end (0
	// when unknown before decoding: some streams have no duration header).
	Duration time.Duration `json:"duration"`
	// VFR reports a variable frame rate.
	VFR bool `json:"vfr"`
	// HeaderDuration is the duration the container header claims (0 if
	// none); Truncated reports frames missing against the header (a cut
	// upload).
	HeaderDuration time.Duration `json:"header_duration"`
	Truncated      bool          `json:"truncated"`
	// Timestamps are the presentation times of the frames in display
	// order, relative to the first, when the prober could list them.
	Timestamps []time.Duration `json:"-"`
	// Prober names what produced the information ("mp4", "ffprobe" or
	// "opencv").
	Prober string `json:"prober"`
}

// DisplaySize returns the frame size after rotation.
func (i VideoInfo) DisplaySize() (w, h int) {
	if i.Rotation == 90 || i.Rotation == 270 {
		return i.Height, i.Width
	}
	return i.Width, i.Height
}

// CheckLimits refuses a probed video outside lim with a *liveness.InputError.
// Unknown values (zero) pass; the decoder enforces them while decoding.
func CheckLimits(info VideoInfo, lim Limits) error {
	lim = lim.WithDefaults()
	if info.Width < 0 || info.Height < 0 {
		return inputError(reason.VideoInvalid, "negative frame size", nil)
	}
	if info.Width > lim.MaxSide || info.Height > lim.MaxSide {
		return inputError(reason.VideoInvalid, fmt.Sprintf("frame %dx%d exceeds %d px", info.Width, info.Height, lim.MaxSide), nil)
	}
	if info.Frames == 1 {
		return inputError(reason.VideoInvalid, "a single frame is a still image, not a video", nil)
	}
	if info.Duration > 0 && info.Duration < lim.MinDuration {
		return inputError(reason.VideoTooShort, fmt.Sprintf("%.2f s, minimum %.1f s", info.Duration.Seconds(), lim.MinDuration.Seconds()), nil)
	}
	if d := max(info.Duration, info.HeaderDuration); d > lim.MaxDuration {
		return inputError(reason.VideoTooLong, fmt.Sprintf("%.2f s, maximum %.1f s", d.Seconds(), lim.MaxDuration.Seconds()), nil)
	}
	if info.Truncated {
		return inputError(reason.VideoInvalid, fmt.Sprintf("truncated: %.2f s of frames, header says %.2f s", info.Duration.Seconds(), info.HeaderDuration.Seconds()), nil)
	}
	return nil
}

// sniffLen is how many leading bytes Sniff needs at most.
const sniffLen = 512

// Sniff returns the container family of a file from its first bytes, or ""
// when they match no video container we accept. It refuses text (an HTML
// page saved as .avi), playlists that would make FFmpeg open other files,
// images and audio-only formats before any demuxer runs.
func Sniff(head []byte) string {
	switch {
	case len(head) >= 12 && isMP4Box(head[4:8]):
		return "mp4"
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0x1a, 0x45, 0xdf, 0xa3}):
		return "matroska"
	case len(head) >= 4 && head[0] == 0 && head[1] == 0 && head[2] == 1 && (head[3] == 0xba || head[3] == 0xb3):
		return "mpeg"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "AVI ":
		return "avi"
	case len(head) >= 4 && string(head[:4]) == "OggS":
		return "ogg"
	case len(head) >= 3 && string(head[:3]) == "FLV":
		return "flv"
	case len(head) >= 189 && head[0] == 0x47 && head[188] == 0x47:
		return "mpegts"
	}
	return ""
}

// isMP4Box reports an ISO-BMFF/QuickTime box type that may start a file.
func isMP4Box(t []byte) bool {
	switch string(t) {
	case "ftyp", "moov", "mdat", "free", "wide", "skip", "pnot":
		return true
	}
	return false
}

// ffprobeFormats are the demuxers ffprobe may use (its -format_whitelist);
// they match the families Sniff accepts.
const ffprobeFormats = "mov,matroska,webm,mpeg,mpegvideo,avi,mpegts,ogg,flv"

// maxProbeOutput bounds what is read from ffprobe (about 40k packets).
const maxProbeOutput = 4 << 20

// Probe describes the video at path without decoding it. It sniffs the
// container, reads the sample table of MP4/MOV files itself, and otherwise
// asks ffprobe (demuxing only, bounded by lim.ProbeTimeout and ctx) or,
// when ffprobe is unavailable, OpenCV's FFmpeg backend. A file
// that is not a readable video is refused with a *liveness.InputError
// (reason.VideoInvalid). Probe does not apply the duration or size limits;
// call CheckLimits.
func Probe(ctx context.Context, path string, lim Limits) (VideoInfo, error) {
	lim = lim.WithDefaults()
	f, err := os.Open(path)
	if err != nil {
		return VideoInfo{}, fmt.Errorf("vision: %w", err)
	}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(f, head)
	f.Close()
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return VideoInfo{}, fmt.Errorf("vision: %w", err)
	}
	container := Sniff(head[:n])
	if container == "" {
		return VideoInfo{}, inputError(reason.VideoInvalid, "not a recognised video container", nil)
	}
	// MP4/MOV: the sample table is read directly (exact timestamps and the
	// display matrix without a subprocess). Fragmented or odd files, and
	// files this reader refuses, go to ffprobe, whose verdict is final.
	var mp4Err error
	if container == "mp4" {
		info, err := probeMP4(path)
		if err == nil {
			info.Container = container
			return info, nil
		}
		mp4Err = err
	}
	bin, err := ffprobePath(lim.FFprobe)
	var info VideoInfo
	switch {
	case err == nil:
		info, err = probeFFprobe(ctx, bin, path, lim.ProbeTimeout)
	case mp4Err != nil && !errors.Is(mp4Err, errMP4Unsupported):
		return VideoInfo{}, mp4Err
	default:
		info, err = probeOpenCV(path)
	}
	if err != nil {
		return VideoInfo{}, err
	}
	info.Container = container
	return info, nil
}

var errNoFFprobe = errors.New("vision: ffprobe disabled")

func ffprobePath(configured string) (string, error) {
	switch configured {
	case "-":
		return "", errNoFFprobe
	case "":
		return exec.LookPath("ffprobe")
	}
	return configured, nil
}

// probeFFprobe runs ffprobe on the first video stream, listing its packets
// (demuxing only, no decoding) for exact frame count, timestamps and
// duration even when the header has none (browser MediaRecorder WebM).
func probeFFprobe(parent context.Context, bin, path string, timeout time.Duration) (VideoInfo, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	// Reading stops 2 s past the longest video we accept, so a long or
	// packet-dense file cannot flood the output.
	window := fmt.Sprintf("%%+%d", int(DefaultMaxDuration/time.Second)+2)
	cmd := exec.CommandContext(ctx, bin,
		"-v", "error",
		"-format_whitelist", ffprobeFormats,
		"-read_intervals", window,
		"-select_streams", "v:0",
		"-show_entries", "format=format_name,duration:"+
			"stream=codec_name,width,height,r_frame_rate,avg_frame_rate,nb_frames,duration,start_time:"+
			"stream_side_data=rotation:stream_tags=rotate:packet=pts_time,duration_time",
		"-of", "json",
		"file:"+path)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 4096}
	out := &limitedBuffer{buf: new(bytes.Buffer), max: maxProbeOutput}
	cmd.Stdout = out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if perr := parent.Err(); perr != nil {
		return VideoInfo{}, fmt.Errorf("vision: probing: %w", perr)
	}
	if ctx.Err() != nil {
		// Our own bound fired: demuxing this file is pathological.
		return VideoInfo{}, inputError(reason.VideoInvalid, "probing timed out", ctx.Err())
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg := strings.TrimSpace(stderr.String())
			if i := strings.LastIndex(msg, ": "); i >= 0 {
				msg = msg[i+2:]
			}
			return VideoInfo{}, inputError(reason.VideoInvalid, "ffprobe: "+msg, nil)
		}
		return VideoInfo{}, fmt.Errorf("vision: running ffprobe: %w", err)
	}
	if out.truncated {
		return VideoInfo{}, inputError(reason.VideoInvalid, "ffprobe output too large", nil)
	}
	info, err := parseFFprobe(out.buf.Bytes())
	if err != nil {
		return VideoInfo{}, err
	}
	info.Prober = "ffprobe"
	return info, nil
}

type limitedBuffer struct {
	buf       *bytes.Buffer
	max       int
	truncated bool
}

// Write keeps at most max bytes and reports the rest as written, so the
// subprocess is never blocked; truncated records the loss.
func (b *limitedBuffer) Write(p []byte) (int, error) {
	room := b.max - b.buf.Len()
	if room <= 0 {
		b.truncated = b.truncated || len(p) > 0
		return len(p), nil
	}
	if len(p) > room {
		b.buf.Write(p[:room])
		b.truncated = true
		return len(p), nil
	}
	return b.buf.Write(p)
}

type ffprobeOutput struct {
	Packets []struct {
		PTS      string `json:"pts_time"`
		Duration string `json:"duration_time"`
	} `json:"packets"`
	Streams []struct {
		Codec        string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		RFrameRate   string `json:"r_frame_rate"`
		AvgFrameRate string `json:"avg_frame_rate"`
		NbFrames     string `json:"nb_frames"`
		Duration     string `json:"duration"`
		SideData     []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
		Tags struct {
			Rotate string `json:"rotate"`
		} `json:"tags"`
	} `json:"streams"`
	Format struct {
		Name     string `json:"format_name"`
		Duration string `json:"duration"`
	} `json:"format"`
}

// parseFFprobe turns ffprobe's JSON into a VideoInfo. The output is driven
// by an untrusted file, so every field is validated.
func parseFFprobe(b []byte) (VideoInfo, error) {
	var o ffprobeOutput
	if err := json.Unmarshal(b, &o); err != nil {
		return VideoInfo{}, inputError(reason.VideoInvalid, "unreadable ffprobe output", err)
	}
	if len(o.Streams) == 0 {
		return VideoInfo{}, inputError(reason.VideoInvalid, "no video stream", nil)
	}
	s := o.Streams[0]
	if s.Width <= 0 || s.Height <= 0 {
		return VideoInfo{}, inputError(reason.VideoInvalid, "video stream has no frame size", nil)
	}
	info := VideoInfo{Codec: s.Codec, Width: s.Width, Height: s.Height}

	// Rotation: the display matrix angle is counter-clockwise (as ffmpeg's
	// own autorotate reads it); the legacy "rotate" tag is clockwise.
	switch {
	case len(s.SideData) > 0 && hasRotation(s.SideData):
		for _, sd := range s.SideData {
			if sd.Rotation != nil {
				info.Rotation = normaliseRotation(-*sd.Rotation)
				break
			}
		}
	case s.Tags.Rotate != "":
		if r, err := strconv.ParseFloat(s.Tags.Rotate, 64); err == nil {
			info.Rotation = normaliseRotation(r)
		}
	}

	pts := make([]float64, 0, len(o.Packets))
	var lastDur float64
	for _, p := range o.Packets {
		t, ok := parseSeconds(p.PTS)
		if !ok {
			continue
		}
		pts = append(pts, t)
		if d, ok := parseSeconds(p.Duration); ok && d > 0 {
			lastDur = d
		}
	}
	sort.Float64s(pts)
	if d, ok := parseSeconds(s.Duration); ok && d > 0 {
		info.HeaderDuration = seconds(d)
	} else if d, ok := parseSeconds(o.Format.Duration); ok && d > 0 {
		info.HeaderDuration = seconds(d)
	}
	nbFrames, _ := strconv.Atoi(s.NbFrames)
	rate := parseRate(s.AvgFrameRate)
	if rate <= 0 {
		rate = parseRate(s.RFrameRate)
		info.VFR = true
	}
	if len(pts) >= 2 {
		t0 := pts[0]
		info.Timestamps = make([]time.Duration, len(pts))
		for i, t := range pts {
			info.Timestamps[i] = seconds(t - t0)
		}
		span := pts[len(pts)-1] - t0
		step := span / float64(len(pts)-1)
		if lastDur <= 0 || lastDur > 4*step {
			lastDur = step
		}
		info.Frames = len(pts)
		info.Duration = seconds(span + lastDur)
		if span > 0 {
			info.FPS = float64(len(pts)-1) / span
		}
		info.VFR = info.VFR || irregular(pts)
		// A cut upload: the header promises much more than the packets
		// that are actually there (the container's audio may run a little
		// longer than its video, hence the slack).
		missing := info.HeaderDuration - info.Duration
		info.Truncated = (missing > time.Second && info.Duration < info.HeaderDuration*4/5) ||
			(nbFrames > 10 && len(pts) < nbFrames*4/5)
	} else {
		if nbFrames > 0 {
			info.Frames = nbFrames
		}
		if len(pts) == 1 {
			info.Frames = 1
		}
		info.Duration = info.HeaderDuration
		info.FPS = rate
		if info.Frames == 0 && rate > 0 && info.Duration > 0 {
			info.Frames = int(math.Round(info.Duration.Seconds() * rate))
		}
	}
	if info.FPS <= 0 || info.FPS > 1000 {
		info.FPS = rate
	}
	return info, nil
}

func hasRotation(sd []struct {
	Rotation *float64 `json:"rotation"`
}) bool {
	for _, d := range sd {
		if d.Rotation != nil {
			return true
		}
	}
	return false
}

// normaliseRotation maps an angle in degrees to the nearest of 0, 90, 180,
// 270 (a display matrix may carry any angle; frames turn by right angles).
func normaliseRotation(deg float64) int {
	if math.IsNaN(deg) || math.IsInf(deg, 0) {
		return 0
	}
	r := int(math.Round(deg/90)) % 4
	if r < 0 {
		r += 4
	}
	return r * 90
}

// irregular reports frame intervals varying by more than 25% around their
// median (a variable frame rate).
func irregular(pts []float64) bool {
	if len(pts) < 3 {
		return false
	}
	d := make([]float64, len(pts)-1)
	for i := range d {
		d[i] = pts[i+1] - pts[i]
	}
	sort.Float64s(d)
	med := d[len(d)/2]
	if med <= 0 {
		return true
	}
	lo, hi := d[len(d)/10], d[len(d)-1-len(d)/10]
	return lo < 0.75*med || hi > 1.25*med
}

func parseSeconds(s string) (float64, bool) {
	if s == "" || s == "N/A" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e7 {
		return 0, false
	}
	return f, true
}

func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		f, _ := parseSeconds(s)
		return f
	}
	n, err1 := strconv.ParseFloat(num, 64)
	d, err2 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || d <= 0 || n <= 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0
	}
	r := n / d
	if r > 1000 {
		return 0
	}
	return r
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// probeOpenCV reads what OpenCV's FFmpeg backend reports. Frame counts and
// rates of streams without a duration header are unreliable there (VFR
// WebM reports 1000 fps and a garbage count), so implausible values are
// left at zero for the decoder to establish.
func probeOpenCV(path string) (VideoInfo, error) {
	vc, err := gocv.VideoCaptureFileWithAPI(path, gocv.VideoCaptureFFmpeg)
	if err != nil {
		return VideoInfo{}, inputError(reason.VideoInvalid, "cannot open video", nil)
	}
	defer vc.Close()
	if !vc.IsOpened() {
		return VideoInfo{}, inputError(reason.VideoInvalid, "cannot open video", nil)
	}
	vc.Set(propOrientationAuto, 0)
	info := VideoInfo{
		Codec:  strings.TrimRight(vc.CodecString(), "\x00 "),
		Width:  int(vc.Get(gocv.VideoCaptureFrameWidth)),
		Height: int(vc.Get(gocv.VideoCaptureFrameHeight)),
		Prober: "opencv",
	}
	if info.Width <= 0 || info.Height <= 0 {
		return VideoInfo{}, inputError(reason.VideoInvalid, "video stream has no frame size", nil)
	}
	// OpenCV reports the orientation as a clockwise angle; with FFmpeg 5
	// its sign is unreliable (see decode.go), so it is used only as the
	// best information available without ffprobe.
	info.Rotation = normaliseRotation(vc.Get(propOrientationMeta))
	fps := vc.Get(gocv.VideoCaptureFPS)
	n := vc.Get(gocv.VideoCaptureFrameCount)
	if fps > 0 && fps <= 240 {
		info.FPS = fps
		if n > 0 && n < 1e6 {
			info.Frames = int(n)
			info.Duration = seconds(n / fps)
		}
	} else {
		info.VFR = true
	}
	return info, nil
}
