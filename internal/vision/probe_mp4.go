package vision

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"time"

	"github.com/hoviyat/hoviyat/reason"
)

// A minimal ISO base media file format (MP4, MOV, 3GP) reader for the
// video track's sample table: exact presentation timestamps, frame count,
// size, codec and the display matrix's rotation, in well under a
// millisecond and without a subprocess (starting ffprobe alone costs about
// 40 ms: it loads some 200 shared libraries). Fragmented MP4 (samples in
// moof boxes) and anything unusual fall back to ffprobe.

// errMP4Unsupported means the file is valid enough but needs ffprobe.
var errMP4Unsupported = errors.New("vision: mp4 layout not handled here")

// Limits of the reader, far above any video we accept.
const (
	mp4MaxBoxDepth   = 10
	mp4MaxSamples    = 200_000
	mp4MaxMoovBytes  = 32 << 20
	mp4MaxTableItems = 1_000_000
)

type mp4Box struct {
	typ  string
	data []byte // payload (after the header), for boxes read into memory
}

// probeMP4 reads the moov box of the file at path and describes its first
// video track.
func probeMP4(path string) (VideoInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return VideoInfo{}, fmt.Errorf("vision: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return VideoInfo{}, fmt.Errorf("vision: %w", err)
	}
	return probeMP4Reader(f, fi.Size())
}

// probeMP4Reader is probeMP4 on any random-access reader of size bytes.
func probeMP4Reader(r io.ReaderAt, size int64) (VideoInfo, error) {
	moov, err := findTopBox(r, size, "moov")
	if err != nil {
		return VideoInfo{}, err
	}
	return parseMoov(moov, size)
}

// findTopBox scans the top-level boxes for typ and reads its payload.
func findTopBox(r io.ReaderAt, size int64, typ string) ([]byte, error) {
	var off int64
	hdr := make([]byte, 16)
	for off+8 <= size {
		if _, err := r.ReadAt(hdr[:8], off); err != nil {
			return nil, inputError(reason.VideoInvalid, "mp4: unreadable box header", err)
		}
		bsize := int64(binary.BigEndian.Uint32(hdr[:4]))
		btype := string(hdr[4:8])
		head := int64(8)
		switch bsize {
		case 1:
			if _, err := r.ReadAt(hdr[8:16], off+8); err != nil {
				return nil, inputError(reason.VideoInvalid, "mp4: unreadable box size", err)
			}
			bsize = int64(binary.BigEndian.Uint64(hdr[8:16]))
			head = 16
		case 0:
			bsize = size - off
		}
		if bsize < head || off+bsize > size {
			if btype == typ {
				return nil, inputError(reason.VideoInvalid, "mp4: "+typ+" box truncated", nil)
			}
			break
		}
		if btype == typ {
			n := bsize - head
			if n > mp4MaxMoovBytes {
				return nil, errMP4Unsupported
			}
			buf := make([]byte, n)
			if _, err := r.ReadAt(buf, off+head); err != nil {
				return nil, inputError(reason.VideoInvalid, "mp4: unreadable "+typ, err)
			}
			return buf, nil
		}
		off += bsize
	}
	return nil, inputError(reason.VideoInvalid, "mp4: no "+typ+" box (index missing: a cut upload?)", nil)
}

// children splits a container payload into its boxes.
func children(b []byte) ([]mp4Box, error) {
	var out []mp4Box
	for len(b) >= 8 {
		n := uint64(binary.BigEndian.Uint32(b[:4]))
		typ := string(b[4:8])
		head := uint64(8)
		if n == 1 {
			if len(b) < 16 {
				return nil, errors.New("short largesize box")
			}
			n = binary.BigEndian.Uint64(b[8:16])
			head = 16
		} else if n == 0 {
			n = uint64(len(b))
		}
		if n < head || n > uint64(len(b)) {
			return nil, fmt.Errorf("box %q size %d exceeds its parent", typ, n)
		}
		out = append(out, mp4Box{typ: typ, data: b[head:n]})
		b = b[n:]
	}
	return out, nil
}

func child(boxes []mp4Box, typ string) (mp4Box, bool) {
	for _, b := range boxes {
		if b.typ == typ {
			return b, true
		}
	}
	return mp4Box{}, false
}

// path descends through nested containers.
func path(b []byte, types ...string) ([]byte, bool) {
	for _, t := range types {
		cs, err := children(b)
		if err != nil {
			return nil, false
		}
		c, ok := child(cs, t)
		if !ok {
			return nil, false
		}
		b = c.data
	}
	return b, true
}

type mp4Track struct {
	matrix        [9]int32
	width, height float64 // tkhd, 16.16
	timescale     uint32
	codec         string
	stts          [][2]uint32 // count, delta
	ctts          [][2]int64  // count, offset
	samples       uint32
	sizes         []uint32 // per-sample sizes (nil when constant)
	constSize     uint32
	stsc          [][2]uint32 // first chunk (1-based), samples per chunk
	chunks        []uint64    // chunk offsets
	codedW        int
	codedH        int
}

func parseMoov(moov []byte, fileSize int64) (VideoInfo, error) {
	boxes, err := children(moov)
	if err != nil {
		return VideoInfo{}, inputError(reason.VideoInvalid, "mp4: malformed moov", err)
	}
	if _, ok := child(boxes, "mvex"); ok {
		return VideoInfo{}, errMP4Unsupported // fragmented: samples live in moof boxes
	}
	for _, b := range boxes {
		if b.typ != "trak" {
			continue
		}
		tr, isVideo, err := parseTrak(b.data)
		if err != nil {
			return VideoInfo{}, err
		}
		if isVideo {
			return tr.info(fileSize)
		}
	}
	return VideoInfo{}, inputError(reason.VideoInvalid, "mp4: no video track", nil)
}

func parseTrak(trak []byte) (mp4Track, bool, error) {
	var tr mp4Track
	hdlr, ok := path(trak, "mdia", "hdlr")
	if !ok || len(hdlr) < 12 {
		return tr, false, nil
	}
	if string(hdlr[8:12]) != "vide" {
		return tr, false, nil
	}
	bad := func(what string) (mp4Track, bool, error) {
		return tr, true, inputError(reason.VideoInvalid, "mp4: malformed "+what, nil)
	}
	if tkhd, ok := path(trak, "tkhd"); ok && len(tkhd) >= 4 {
		off := 4 + 20 // version 0: times and ids are 32-bit
		if tkhd[0] == 1 {
			off = 4 + 32
		}
		off += 8 + 2 + 2 + 2 + 2 // reserved, layer, alternate group, volume, reserved
		if len(tkhd) < off+36+8 {
			return bad("tkhd")
		}
		for i := range tr.matrix {
			tr.matrix[i] = int32(binary.BigEndian.Uint32(tkhd[off+4*i:]))
		}
		tr.width = float64(binary.BigEndian.Uint32(tkhd[off+36:])) / 65536
		tr.height = float64(binary.BigEndian.Uint32(tkhd[off+40:])) / 65536
	}
	mdhd, ok := path(trak, "mdia", "mdhd")
	if !ok || len(mdhd) < 4 {
		return bad("mdhd")
	}
	if mdhd[0] == 1 {
		if len(mdhd) < 4+16+4 {
			return bad("mdhd")
		}
		tr.timescale = binary.BigEndian.Uint32(mdhd[20:])
	} else {
		if len(mdhd) < 4+8+4 {
			return bad("mdhd")
		}
		tr.timescale = binary.BigEndian.Uint32(mdhd[12:])
	}
	if tr.timescale == 0 {
		return bad("mdhd timescale")
	}
	stbl, ok := path(trak, "mdia", "minf", "stbl")
	if !ok {
		return bad("stbl")
	}
	sb, err := children(stbl)
	if err != nil {
		return bad("stbl")
	}
	if stsd, ok := child(sb, "stsd"); ok && len(stsd.data) >= 8+8+28 {
		// First sample entry: size, format, 6 reserved, data ref index,
		// then the visual sample entry (16 bytes predefined, width, height).
		e := stsd.data[8:]
		tr.codec = mp4Codec(string(e[4:8]))
		if len(e) >= 8+8+16+4 {
			tr.codedW = int(binary.BigEndian.Uint16(e[8+8+16:]))
			tr.codedH = int(binary.BigEndian.Uint16(e[8+8+18:]))
		}
	}
	stts, ok := child(sb, "stts")
	if !ok || len(stts.data) < 8 {
		return bad("stts")
	}
	n := binary.BigEndian.Uint32(stts.data[4:])
	if uint64(n) > mp4MaxTableItems || len(stts.data) < 8+8*int(n) {
		return bad("stts")
	}
	var total uint64
	for i := 0; i < int(n); i++ {
		c := binary.BigEndian.Uint32(stts.data[8+8*i:])
		d := binary.BigEndian.Uint32(stts.data[12+8*i:])
		total += uint64(c)
		if total > mp4MaxSamples {
			return tr, true, inputError(reason.VideoTooLong, "mp4: too many frames", nil)
		}
		tr.stts = append(tr.stts, [2]uint32{c, d})
	}
	if ctts, ok := child(sb, "ctts"); ok && len(ctts.data) >= 8 {
		n := binary.BigEndian.Uint32(ctts.data[4:])
		if uint64(n) > mp4MaxTableItems || len(ctts.data) < 8+8*int(n) {
			return bad("ctts")
		}
		for i := 0; i < int(n); i++ {
			c := binary.BigEndian.Uint32(ctts.data[8+8*i:])
			// Signed in version 1; version 0 files written by some muxers
			// carry negative offsets too, which FFmpeg also reads as signed.
			o := int64(int32(binary.BigEndian.Uint32(ctts.data[12+8*i:])))
			tr.ctts = append(tr.ctts, [2]int64{int64(c), o})
		}
	}
	if stsz, ok := child(sb, "stsz"); ok && len(stsz.data) >= 12 {
		tr.constSize = binary.BigEndian.Uint32(stsz.data[4:])
		tr.samples = binary.BigEndian.Uint32(stsz.data[8:])
		if tr.constSize == 0 {
			if uint64(tr.samples) > mp4MaxSamples || len(stsz.data) < 12+4*int(tr.samples) {
				return bad("stsz")
			}
			tr.sizes = make([]uint32, tr.samples)
			for i := range tr.sizes {
				tr.sizes[i] = binary.BigEndian.Uint32(stsz.data[12+4*i:])
			}
		}
	}
	if stsc, ok := child(sb, "stsc"); ok && len(stsc.data) >= 8 {
		n := binary.BigEndian.Uint32(stsc.data[4:])
		if uint64(n) > mp4MaxTableItems || len(stsc.data) < 8+12*int(n) {
			return bad("stsc")
		}
		for i := 0; i < int(n); i++ {
			tr.stsc = append(tr.stsc, [2]uint32{
				binary.BigEndian.Uint32(stsc.data[8+12*i:]), binary.BigEndian.Uint32(stsc.data[12+12*i:])})
		}
	}
	for _, name := range []string{"stco", "co64"} {
		co, ok := child(sb, name)
		if !ok || len(co.data) < 8 {
			continue
		}
		n := binary.BigEndian.Uint32(co.data[4:])
		w := 4
		if name == "co64" {
			w = 8
		}
		if uint64(n) > mp4MaxTableItems || len(co.data) < 8+w*int(n) {
			return bad(name)
		}
		for i := 0; i < int(n); i++ {
			var o uint64
			if w == 4 {
				o = uint64(binary.BigEndian.Uint32(co.data[8+4*i:]))
			} else {
				o = binary.BigEndian.Uint64(co.data[8+8*i:])
			}
			tr.chunks = append(tr.chunks, o)
		}
	}
	return tr, true, nil
}

func mp4Codec(fourcc string) string {
	switch fourcc {
	case "avc1", "avc3":
		return "h264"
	case "hvc1", "hev1":
		return "hevc"
	case "mp4v":
		return "mpeg4"
	case "vp08":
		return "vp8"
	case "vp09":
		return "vp9"
	case "av01":
		return "av1"
	case "s263", "h263":
		return "h263"
	}
	return fourcc
}

// info turns the sample table into a VideoInfo.
func (tr mp4Track) info(fileSize int64) (VideoInfo, error) {
	var count uint64
	for _, e := range tr.stts {
		count += uint64(e[0])
	}
	if count == 0 {
		return VideoInfo{}, errMP4Unsupported
	}
	if tr.samples != 0 && uint64(tr.samples) != count {
		return VideoInfo{}, errMP4Unsupported
	}
	// Decode times from stts, plus composition offsets from ctts.
	pts := make([]int64, 0, count)
	var dts int64
	ci, cleft := 0, int64(0)
	if len(tr.ctts) > 0 {
		cleft = tr.ctts[0][0]
	}
	var lastDelta uint32
	for _, e := range tr.stts {
		for k := uint32(0); k < e[0]; k++ {
			t := dts
			for ci < len(tr.ctts) && cleft == 0 {
				ci++
				if ci < len(tr.ctts) {
					cleft = tr.ctts[ci][0]
				}
			}
			if ci < len(tr.ctts) {
				t += tr.ctts[ci][1]
				cleft--
			}
			pts = append(pts, t)
			dts += int64(e[1])
		}
		if e[0] > 0 {
			lastDelta = e[1]
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i] < pts[j] })
	ts := float64(tr.timescale)
	info := VideoInfo{
		Codec:      tr.codec,
		Width:      tr.codedW,
		Height:     tr.codedH,
		Frames:     len(pts),
		Timestamps: make([]time.Duration, len(pts)),
		Prober:     "mp4",
	}
	if info.Width <= 0 || info.Height <= 0 {
		info.Width, info.Height = int(math.Round(tr.width)), int(math.Round(tr.height))
	}
	if info.Width <= 0 || info.Height <= 0 {
		return VideoInfo{}, inputError(reason.VideoInvalid, "mp4: video track has no frame size", nil)
	}
	t0 := pts[0]
	for i, p := range pts {
		info.Timestamps[i] = time.Duration(float64(p-t0) / ts * float64(time.Second))
	}
	span := float64(pts[len(pts)-1]-t0) / ts
	step := float64(lastDelta) / ts
	if len(pts) > 1 {
		avg := span / float64(len(pts)-1)
		if step <= 0 || step > 4*avg {
			step = avg
		}
		if span > 0 {
			info.FPS = float64(len(pts)-1) / span
		}
	}
	info.Duration = time.Duration((span + step) * float64(time.Second))
	secs := make([]float64, len(pts))
	for i, p := range pts {
		secs[i] = float64(p-t0) / ts
	}
	info.VFR = irregular(secs)
	// Display matrix [a b u; c d v; x y w]: the clockwise rotation that
	// makes frames upright is atan2(b, a) (ffmpeg's autorotate reads the
	// same matrix as a counter-clockwise angle of -atan2(b, a)).
	a, b := float64(tr.matrix[0])/65536, float64(tr.matrix[1])/65536
	if a != 0 || b != 0 {
		info.Rotation = normaliseRotation(math.Atan2(b, a) * 180 / math.Pi)
	}
	// A cut upload whose index survived: sample data ends past the end of
	// the file.
	if tr.dataEnd() > uint64(fileSize) {
		info.Truncated = true
		info.HeaderDuration = info.Duration
	}
	return info, nil
}

// dataEnd returns the end offset of the track's last byte of sample data,
// from the chunk offsets, the sample-to-chunk table and the sample sizes
// (0 when the tables do not add up).
func (tr mp4Track) dataEnd() uint64 {
	if len(tr.chunks) == 0 || len(tr.stsc) == 0 {
		return 0
	}
	var end uint64
	sample := 0
	for e, run := range tr.stsc {
		first := uint64(run[0])
		last := uint64(len(tr.chunks))
		if e+1 < len(tr.stsc) {
			last = uint64(tr.stsc[e+1][0]) - 1
		}
		if first == 0 || first > last+1 {
			return 0
		}
		for c := first; c <= last && c <= uint64(len(tr.chunks)); c++ {
			off := tr.chunks[c-1]
			for k := uint32(0); k < run[1]; k++ {
				if tr.sizes != nil {
					if sample >= len(tr.sizes) {
						return end
					}
					off += uint64(tr.sizes[sample])
				} else {
					off += uint64(tr.constSize)
				}
				sample++
				if sample > mp4MaxSamples {
					return end
				}
			}
			end = max(end, off)
		}
	}
	return end
}
