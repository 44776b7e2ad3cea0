package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Test media are made here, at test time, from clips in $HOVIYAT_DATA
// into a temporary directory; nothing derived from them is committed.

func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-nostdin", "-loglevel", "error", "-y"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "ffmpeg %v:\n%s", args, out)
}

// clipY4M converts dur seconds of src from start into a .y4m for
// Chromium's fake camera: 25 fps, width w (height keeps the aspect),
// 4:2:0. Chromium loops the file, so it should outlast the time from
// opening the camera to the end of the recording (about 7 s); pingPong
// appends the segment reversed, which doubles it without a jump cut.
func clipY4M(t *testing.T, dir, src string, start, dur float64, w int, pingPong bool) string {
	t.Helper()
	out := filepath.Join(dir, fmt.Sprintf("%s-%g-%g.y4m", filepath.Base(src), start, dur))
	chain := fmt.Sprintf("[0:v]trim=start=%g:duration=%g,setpts=PTS-STARTPTS,fps=25,scale=%d:-2", start, dur, w)
	if pingPong {
		chain += ",split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1:a=0"
	}
	chain += ",format=yuv420p[out]"
	ffmpeg(t, "-i", src, "-filter_complex", chain, "-map", "[out]", "-an", "-f", "yuv4mpegpipe", out)
	return out
}

// still extracts the frame of src at second at as a JPEG.
func still(t *testing.T, dir, src string, at float64, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	ffmpeg(t, "-ss", fmt.Sprint(at), "-i", src, "-frames:v", "1", "-q:v", "2", out)
	return out
}

// photoReplayY4M makes a presentation attack: a still photo held in front
// of the camera, dur seconds with a slow slight zoom (1.00 -> 1.06), as a
// .y4m of width w.
func photoReplayY4M(t *testing.T, dir, photo string, dur float64, w int) string {
	t.Helper()
	out := filepath.Join(dir, "replay-"+filepath.Base(photo)+".y4m")
	frames := int(dur * 25)
	vf := fmt.Sprintf("scale=%d:-2,zoompan=z='min(1+0.06*on/%d,1.06)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s=%dx%d:fps=25,format=yuv420p",
		w, frames, w, probeHeight(t, photo, w))
	ffmpeg(t, "-loop", "1", "-i", photo, "-t", fmt.Sprint(dur), "-vf", vf, "-an", "-f", "yuv4mpegpipe", out)
	return out
}

// probeHeight is the even height of img scaled to width w.
func probeHeight(t *testing.T, img string, w int) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
		"-of", "csv=p=0:s=x", img).Output()
	require.NoError(t, err)
	var iw, ih int
	_, err = fmt.Sscanf(string(out), "%dx%d", &iw, &ih)
	require.NoError(t, err, "ffprobe %s: %q", img, out)
	h := ih * w / iw
	return h - h%2
}

// dataFile is a file under $HOVIYAT_DATA, which must exist.
func dataFile(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(os.Getenv("HOVIYAT_DATA"), rel)
	_, err := os.Stat(p)
	require.NoError(t, err, "test media missing")
	return p
}
