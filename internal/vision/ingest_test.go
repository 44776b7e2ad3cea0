package vision

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
)

// ingestDataDir returns $HOVIYAT_DATA; it skips the test when the variable
// is unset outside CI and fails it in CI.
func ingestDataDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HOVIYAT_DATA")
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HOVIYAT_DATA is not set (CI=true): the real-media tests need ../shared/data")
		}
		t.Skip("HOVIYAT_DATA not set; skipping real-media test")
	}
	return dir
}

// ingestClip returns the path of the clip whose file name starts with id
// (e.g. "g05") under videos/.
func ingestClip(t testing.TB, id string) string {
	t.Helper()
	root := filepath.Join(ingestDataDir(t), "videos")
	matches, err := filepath.Glob(filepath.Join(root, "*", id+"_*"))
	require.NoError(t, err)
	require.Len(t, matches, 1, "clip %s in %s", id, root)
	return matches[0]
}

// inputCode returns the reason code of a *liveness.InputError, or "".
func inputCode(err error) reason.Code {
	var ie *liveness.InputError
	if errors.As(err, &ie) {
		return ie.Code
	}
	return ""
}

// readerVideo is a liveness.Video without a path, so it is spooled.
type readerVideo struct {
	data []byte
	size int64 // reported size; may lie (unknown = 0)
}

func (v readerVideo) Open() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(v.data)), nil
}
func (v readerVideo) Size() int64 { return v.size }

func TestSpoolPermissionsAndCleanup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, err := Spool(context.Background(), strings.NewReader("not really a video"), Limits{TempDir: dir})
	require.NoError(t, err)
	require.True(t, src.Spooled())
	fi, err := os.Stat(src.Path())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "spooled file must be private")
	di, err := os.Stat(filepath.Dir(src.Path()))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm(), "spool directory must be private")
	assert.EqualValues(t, 18, src.Size())
	require.NoError(t, src.Close())
	require.NoError(t, src.Close(), "Close is idempotent")
	_, err = os.Stat(src.Path())
	assert.True(t, os.IsNotExist(err), "spool removed on Close")
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, left)
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

func TestSpoolLimits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := make([]byte, 3<<20)
	cr := &countingReader{r: bytes.NewReader(big)}
	_, err := Spool(context.Background(), cr, Limits{TempDir: dir, MaxBytes: 1 << 20})
	require.Error(t, err)
	assert.Equal(t, reason.VideoTooLarge, inputCode(err))
	assert.LessOrEqual(t, cr.n, int64(1<<20)+spoolChunk, "must stop reading soon after the cap")

	_, err = Spool(context.Background(), bytes.NewReader(nil), Limits{TempDir: dir})
	assert.Equal(t, reason.VideoInvalid, inputCode(err), "empty stream")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Spool(ctx, bytes.NewReader(big), Limits{TempDir: dir})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, inputCode(err), "cancellation is not the video's fault")

	// A video that declares its size is refused before it is opened.
	_, err = OpenSource(context.Background(), readerVideo{data: big, size: int64(len(big))}, Limits{TempDir: dir, MaxBytes: 1 << 20})
	assert.Equal(t, reason.VideoTooLarge, inputCode(err))
	// One that under-reports its size is caught while spooling.
	_, err = OpenSource(context.Background(), readerVideo{data: big}, Limits{TempDir: dir, MaxBytes: 1 << 20})
	assert.Equal(t, reason.VideoTooLarge, inputCode(err))

	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, left, "failed spools leave nothing behind")
}

func TestOpenSourcePathInPlace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "clip.mp4")
	require.NoError(t, os.WriteFile(plain, []byte("x"), 0o600))
	v, err := liveness.NewFileVideo(plain)
	require.NoError(t, err)
	src, err := OpenSource(context.Background(), v, Limits{TempDir: dir})
	require.NoError(t, err)
	assert.False(t, src.Spooled())
	assert.Equal(t, plain, src.Path())
	require.NoError(t, src.Close())
	_, err = os.Stat(plain)
	require.NoError(t, err, "the caller's file is never removed")

	// A name FFmpeg would read as an image-sequence pattern is linked
	// under a neutral name instead.
	odd := filepath.Join(dir, "clip%03d.mp4")
	require.NoError(t, os.WriteFile(odd, []byte("y"), 0o600))
	v, err = liveness.NewFileVideo(odd)
	require.NoError(t, err)
	src, err = OpenSource(context.Background(), v, Limits{TempDir: dir})
	require.NoError(t, err)
	assert.True(t, src.Spooled())
	assert.NotContains(t, src.Path(), "%")
	b, err := os.ReadFile(src.Path())
	require.NoError(t, err)
	assert.Equal(t, "y", string(b))
	require.NoError(t, src.Close())
	_, err = os.Stat(odd)
	require.NoError(t, err)

	empty := filepath.Join(dir, "empty.mp4")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	v, err = liveness.NewFileVideo(empty)
	require.NoError(t, err)
	_, err = OpenSource(context.Background(), v, Limits{TempDir: dir})
	assert.Equal(t, reason.VideoInvalid, inputCode(err))
}

func TestSniff(t *testing.T) {
	t.Parallel()
	ts := make([]byte, 200)
	ts[0], ts[188] = 0x47, 0x47
	cases := []struct {
		name string
		head []byte
		want string
	}{
		{"mp4", []byte("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00"), "mp4"},
		{"quicktime mdat first", []byte("\x00\x00\x00\x08mdat\x00\x00\x00\x00"), "mp4"},
		{"webm", []byte{0x1a, 0x45, 0xdf, 0xa3, 0x9f}, "matroska"},
		{"mpeg-ps", []byte{0, 0, 1, 0xba, 0x44}, "mpeg"},
		{"mpeg-es", []byte{0, 0, 1, 0xb3, 0x16}, "mpeg"},
		{"avi", []byte("RIFF\x10\x00\x00\x00AVI LIST"), "avi"},
		{"wav", []byte("RIFF\x10\x00\x00\x00WAVEfmt "), ""},
		{"mpegts", ts, "mpegts"},
		{"html", []byte("<!DOCTYPE html><html>"), ""},
		{"hls playlist", []byte("#EXTM3U\n#EXT-X-VERSION:3\n"), ""},
		{"jpeg", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0, 1}, ""},
		{"empty", nil, ""},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Sniff(c.head), c.name)
	}
}

func TestParseFFprobe(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		json      string
		wantErr   bool
		frames    int
		dur       time.Duration
		rot       int
		vfr       bool
		truncated bool
	}{
		{name: "no streams", json: `{"packets":[],"streams":[]}`, wantErr: true},
		{name: "garbage", json: `{"streams":`, wantErr: true},
		{name: "zero size", json: `{"streams":[{"codec_name":"h264","width":0,"height":0}]}`, wantErr: true},
		{name: "cfr with packets out of order", frames: 4, dur: 400 * time.Millisecond,
			json: `{"packets":[{"pts_time":"0.0","duration_time":"0.1"},{"pts_time":"0.3","duration_time":"0.1"},{"pts_time":"0.1","duration_time":"0.1"},{"pts_time":"0.2","duration_time":"0.1"}],
			"streams":[{"codec_name":"h264","width":64,"height":48,"avg_frame_rate":"10/1","r_frame_rate":"10/1","duration":"0.4","nb_frames":"4"}],"format":{"duration":"0.4"}}`},
		{name: "display matrix 90 ccw needs 270 cw", frames: 2, dur: 200 * time.Millisecond, rot: 270,
			json: `{"packets":[{"pts_time":"0.0"},{"pts_time":"0.1"}],"streams":[{"codec_name":"h264","width":64,"height":48,"avg_frame_rate":"10/1","side_data_list":[{"rotation":90}]}]}`},
		{name: "display matrix -90", frames: 2, dur: 200 * time.Millisecond, rot: 90,
			json: `{"packets":[{"pts_time":"0.0"},{"pts_time":"0.1"}],"streams":[{"codec_name":"h264","width":64,"height":48,"avg_frame_rate":"10/1","side_data_list":[{"rotation":-90}]}]}`},
		{name: "legacy rotate tag is clockwise", frames: 2, dur: 200 * time.Millisecond, rot: 90,
			json: `{"packets":[{"pts_time":"0.0"},{"pts_time":"0.1"}],"streams":[{"codec_name":"h264","width":64,"height":48,"avg_frame_rate":"10/1","tags":{"rotate":"90"}}]}`},
		{name: "vfr webm without duration", frames: 4, dur: 350 * time.Millisecond, vfr: true,
			json: `{"packets":[{"pts_time":"0.077"},{"pts_time":"0.110"},{"pts_time":"0.250"},{"pts_time":"0.327","duration_time":"0.1"}],"streams":[{"codec_name":"vp8","width":64,"height":48,"avg_frame_rate":"0/0","r_frame_rate":"193/12"}],"format":{}}`},
		{name: "truncated upload", frames: 3, dur: 3 * time.Second, truncated: true,
			json: `{"packets":[{"pts_time":"0"},{"pts_time":"1"},{"pts_time":"2"}],"streams":[{"codec_name":"vp8","width":64,"height":48,"avg_frame_rate":"1/1"}],"format":{"duration":"13.2"}}`},
		{name: "no packets, header only", frames: 50, dur: 2 * time.Second,
			json: `{"streams":[{"codec_name":"mpeg4","width":64,"height":48,"avg_frame_rate":"25/1","duration":"2.0"}]}`},
		{name: "hostile numbers", frames: 0, dur: 0, vfr: true,
			json: `{"packets":[{"pts_time":"NaN"},{"pts_time":"1e300"}],"streams":[{"codec_name":"x","width":64,"height":48,"avg_frame_rate":"1e400/1","duration":"-inf"}]}`},
	}
	for _, c := range cases {
		info, err := parseFFprobe([]byte(c.json))
		if c.wantErr {
			assert.Equal(t, reason.VideoInvalid, inputCode(err), c.name)
			continue
		}
		require.NoError(t, err, c.name)
		assert.Equal(t, c.frames, info.Frames, c.name)
		assert.InDelta(t, c.dur.Seconds(), info.Duration.Seconds(), 0.002, c.name)
		assert.Equal(t, c.rot, info.Rotation, c.name)
		assert.Equal(t, c.vfr, info.VFR, c.name)
		assert.Equal(t, c.truncated, info.Truncated, c.name)
		for i := 1; i < len(info.Timestamps); i++ {
			assert.Greater(t, info.Timestamps[i], info.Timestamps[i-1], c.name)
		}
	}
}

func FuzzParseFFprobe(f *testing.F) {
	f.Add([]byte(`{"packets":[{"pts_time":"0.0"},{"pts_time":"0.1"}],"streams":[{"codec_name":"h264","width":64,"height":48,"avg_frame_rate":"10/1","side_data_list":[{"rotation":90}]}]}`))
	f.Add([]byte(`{"streams":[{"codec_name":"vp8","width":1920,"height":1080,"avg_frame_rate":"0/0","r_frame_rate":"193/12"}],"format":{}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := parseFFprobe(b)
		if err != nil {
			require.Equal(t, reason.VideoInvalid, inputCode(err))
			return
		}
		require.Positive(t, info.Width)
		require.Positive(t, info.Height)
		require.Contains(t, []int{0, 90, 180, 270}, info.Rotation)
		require.GreaterOrEqual(t, info.Duration, time.Duration(0))
		require.GreaterOrEqual(t, info.Frames, 0)
		_ = CheckLimits(info, Limits{})
	})
}

func FuzzSniff(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x20ftypisom"))
	f.Add([]byte{0x1a, 0x45, 0xdf, 0xa3})
	f.Add([]byte("<html>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := Sniff(b)
		require.Contains(t, []string{"", "mp4", "matroska", "mpeg", "avi", "ogg", "flv", "mpegts"}, got)
	})
}

func TestCheckLimits(t *testing.T) {
	t.Parallel()
	ok := VideoInfo{Width: 1280, Height: 720, Frames: 150, Duration: 5 * time.Second}
	cases := []struct {
		name string
		mod  func(*VideoInfo)
		want reason.Code
	}{
		{"ok", func(*VideoInfo) {}, ""},
		{"unknown duration passes", func(i *VideoInfo) { i.Duration = 0; i.Frames = 0 }, ""},
		{"too short", func(i *VideoInfo) { i.Duration = 1400 * time.Millisecond }, reason.VideoTooShort},
		{"shortest accepted", func(i *VideoInfo) { i.Duration = 1500 * time.Millisecond }, ""},
		{"too long", func(i *VideoInfo) { i.Duration = 30100 * time.Millisecond }, reason.VideoTooLong},
		{"header says too long", func(i *VideoInfo) { i.HeaderDuration = time.Hour }, reason.VideoTooLong},
		{"too wide", func(i *VideoInfo) { i.Width = 4097 }, reason.VideoInvalid},
		{"largest accepted", func(i *VideoInfo) { i.Width = 4096; i.Height = 4096 }, ""},
		{"still image", func(i *VideoInfo) { i.Frames = 1 }, reason.VideoInvalid},
		{"truncated", func(i *VideoInfo) { i.Truncated = true }, reason.VideoInvalid},
	}
	for _, c := range cases {
		info := ok
		c.mod(&info)
		err := CheckLimits(info, Limits{})
		if c.want == "" {
			assert.NoError(t, err, c.name)
		} else {
			assert.Equal(t, c.want, inputCode(err), c.name)
			assert.ErrorIs(t, err, liveness.ErrInput, c.name)
		}
	}
}

// TestProbeRealMedia checks what the prober reports for every container
// and codec of the shared clips.
func TestProbeRealMedia(t *testing.T) {
	t.Parallel()
	cases := []struct {
		id        string
		codec     string
		w, h      int // display size
		rot       int
		fps       float64
		dur       float64
		vfr       bool
		container string
	}{
		{"g01", "h264", 368, 656, 0, 30, 20.7, false, "mp4"},
		{"g02", "vp8", 960, 540, 0, 15, 13.28, false, "matroska"},
		{"g04", "vp8", 1920, 1080, 0, 15.6, 8.94, true, "matroska"},
		{"g05", "h264", 480, 856, 270, 30, 7.23, false, "mp4"},
		{"g16", "mpeg1video", 360, 288, 0, 25, 3.0, false, "mpeg"},
		{"g21", "mpeg4", 512, 512, 0, 25, 8.0, false, "mp4"},
		{"g29", "mpeg4", 160, 160, 0, 25, 5.52, false, "mp4"},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			info, err := Probe(context.Background(), ingestClip(t, c.id), Limits{})
			require.NoError(t, err)
			wantProber := "ffprobe"
			if c.container == "mp4" {
				wantProber = "mp4" // read directly, no subprocess
			}
			assert.Equal(t, wantProber, info.Prober)
			assert.Equal(t, c.container, info.Container)
			assert.Equal(t, c.codec, info.Codec)
			w, h := info.DisplaySize()
			assert.Equal(t, [2]int{c.w, c.h}, [2]int{w, h})
			assert.Equal(t, c.rot, info.Rotation)
			assert.InDelta(t, c.fps, info.FPS, 0.5)
			assert.InDelta(t, c.dur, info.Duration.Seconds(), 0.1)
			assert.Equal(t, c.vfr, info.VFR)
			assert.Len(t, info.Timestamps, info.Frames)
			assert.NoError(t, CheckLimits(info, Limits{}))
		})
	}
}

// TestIngestRefusals: every unusable input is a typed error, never a panic
// or a hang.
func TestIngestRefusals(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	g01, err := os.ReadFile(ingestClip(t, "g01"))
	require.NoError(t, err)
	g02, err := os.ReadFile(ingestClip(t, "g02"))
	require.NoError(t, err)
	g06, err := os.ReadFile(ingestClip(t, "g06"))
	require.NoError(t, err)
	random := make([]byte, 64<<10)
	_, _ = rand.Read(random)
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	cases := []struct {
		name string
		path string
		want reason.Code
	}{
		{"n05 0.2 s", ingestClip(t, "n05"), reason.VideoTooShort},
		{"n06 html as avi", ingestClip(t, "n06"), reason.VideoInvalid},
		{"n04 30.5 s", ingestClip(t, "n04"), reason.VideoTooLong},
		{"random bytes", write("random.mp4", random), reason.VideoInvalid},
		{"mp4 header then random", write("fake.mp4", append(append([]byte{}, g01[:64]...), random...)), reason.VideoInvalid},
		{"mp4 cut, index at end", write("cut06.mp4", g06[:len(g06)/2]), reason.VideoInvalid},
		{"mp4 cut, index first", write("cut01.mp4", g01[:len(g01)/2]), reason.VideoInvalid},
		{"webm cut", write("cut02.webm", g02[:len(g02)/2]), reason.VideoInvalid},
		{"one byte", write("one.mp4", []byte{0}), reason.VideoInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := ingestProbeAndCheck(ctx, c.path, Limits{})
			require.Error(t, err)
			assert.Equal(t, c.want, inputCode(err), "%v", err)
			// Without ffprobe, OpenCV's properties and the decoder refuse
			// the same inputs (possibly with a nearby code for cut files).
			err = ingestProbeAndCheck(ctx, c.path, Limits{FFprobe: "-"})
			assert.Error(t, err)
			assert.ErrorIs(t, err, liveness.ErrInput, "%v", err)
		})
	}
}

// ingestProbeAndCheck probes, checks the limits and decodes every frame,
// as a detector would.
func ingestProbeAndCheck(ctx context.Context, path string, lim Limits) error {
	info, err := Probe(ctx, path, lim)
	if err != nil {
		return err
	}
	if err := CheckLimits(info, lim); err != nil {
		return err
	}
	d, err := NewDecoder(path, info, DecodeOptions{Interval: 200 * time.Millisecond, Limits: lim})
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		f, err := d.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		f.Mat.Close()
	}
}
