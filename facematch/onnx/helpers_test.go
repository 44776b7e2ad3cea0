package onnx

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/internal/vision"
)

func envDir(t testing.TB, env string) string {
	t.Helper()
	d := os.Getenv(env)
	if d == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("$%s is not set and CI=true: the models/media are required in CI", env)
		}
		t.Skipf("$%s is not set: skipping (set it to the shared directory to run this test)", env)
	}
	require.DirExists(t, d)
	return d
}

// matLeakCheck asserts at cleanup that the number of live gocv Mats is
// back to its value now (only under -tags matprofile). Call it first,
// in non-parallel tests only.
func matLeakCheck(t *testing.T) {
	t.Helper()
	p := pprof.Lookup("gocv.io/x/gocv.Mat")
	if p == nil {
		t.Log("not built with -tags matprofile: Mat leak check disabled")
		return
	}
	start := p.Count()
	t.Cleanup(func() {
		if !assert.Equal(t, start, p.Count(), "gocv Mats leaked") {
			var b strings.Builder
			_ = p.WriteTo(&b, 1)
			t.Log(b.String())
		}
	})
}

// faceProbe detects the largest face in img and returns it as a Probe
// whose Image is the whole picture.
func faceProbe(t testing.TB, det *vision.FaceDetector, img gocv.Mat) facematch.Probe {
	t.Helper()
	faces, err := det.Detect(img)
	require.NoError(t, err)
	require.NotEmpty(t, faces)
	f := faces[0]
	for _, g := range faces {
		if g.Box.W*g.Box.H > f.Box.W*f.Box.H {
			f = g
		}
	}
	goimg, err := vision.MatToImage(img)
	require.NoError(t, err)
	yaw, pitch, roll := vision.HeadPose(f.Landmarks)
	return facematch.Probe{Image: goimg, Box: f.Box, Landmarks: f.Landmarks, DetScore: f.Score, Quality: f.Score, Yaw: yaw, Pitch: pitch, Roll: roll}
}

// videoProbes returns probes from the first n face frames of a clip,
// starting at frame `from`, every `step` frames.
func videoProbes(t testing.TB, det *vision.FaceDetector, path string, from, step, n int) []facematch.Probe {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(path)
	require.NoError(t, err)
	defer vc.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	var out []facematch.Probe
	for i := 0; len(out) < n && vc.Read(&frame) && !frame.Empty(); i++ {
		if i < from || (i-from)%step != 0 {
			continue
		}
		out = append(out, faceProbe(t, det, frame))
	}
	require.Len(t, out, n)
	return out
}

func clipPath(t testing.TB, data, prefix string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(data, "videos", "*", prefix+"_*"))
	require.NoError(t, err)
	require.Len(t, m, 1, prefix)
	return m[0]
}

// stillJPEG returns frame `at` of a clip as JPEG bytes (a reference still).
func stillJPEG(t testing.TB, path string, at int) []byte {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(path)
	require.NoError(t, err)
	defer vc.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	for i := 0; i <= at; i++ {
		require.True(t, vc.Read(&frame))
	}
	buf, err := gocv.IMEncode(gocv.JPEGFileExt, frame)
	require.NoError(t, err)
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

// Minimal protobuf writer for a hand-made ONNX model.
type pb []byte

func (p pb) varint(field int, v uint64) pb {
	p = binary.AppendUvarint(p, uint64(field<<3))
	return binary.AppendUvarint(p, v)
}

func (p pb) bytes(field int, b []byte) pb {
	p = binary.AppendUvarint(p, uint64(field<<3|2))
	p = binary.AppendUvarint(p, uint64(len(b)))
	return append(p, b...)
}

func (p pb) str(field int, s string) pb { return p.bytes(field, []byte(s)) }

// identityONNX is an ONNX model (opset 10) whose output is its float
// input of shape [1,3,size,size]: running a Spec's pre-processing through
// it shows exactly what the network would receive.
func identityONNX(in, out string, size int) []byte {
	shape := pb{}
	for _, d := range []int{1, 3, size, size} {
		shape = shape.bytes(1, pb{}.varint(1, uint64(d)))
	}
	tensorType := pb{}.varint(1, 1).bytes(2, shape) // FLOAT
	typ := pb{}.bytes(1, tensorType)
	node := pb{}.str(1, in).str(2, out).str(3, "id").str(4, "Identity")
	graph := pb{}.bytes(1, node).str(2, "g").
		bytes(11, pb{}.str(1, in).bytes(2, typ)).
		bytes(12, pb{}.str(1, out).bytes(2, typ))
	return pb{}.varint(1, 5).str(2, "hoviyat-test").bytes(7, graph).bytes(8, pb{}.str(1, "").varint(2, 10))
}
