package main

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/registry"
)

// fakeDetector is the liveness.Detector of -vision=fake. A kyctest video
// (kyctest.Video) behaves as its spec says, so load and reliability tests
// can drive thousands of submissions with chosen outcomes; any other
// upload that starts like a real media container (WebM/Matroska, MP4,
// AVI, MPEG) is judged live with a matching face, so the web page works
// end to end without models. Everything else is video_invalid. Safe for
// concurrent use.
type fakeDetector struct {
	kyctest.Detector
}

var _ liveness.Detector = (*fakeDetector)(nil)

// Detect implements liveness.Detector.
func (d *fakeDetector) Detect(ctx context.Context, v liveness.Video, ch liveness.Challenge) (liveness.Result, error) {
	res, err := d.Detector.Detect(ctx, v, ch)
	var ie *liveness.InputError
	if err == nil || !errors.As(err, &ie) {
		return res, err
	}
	head, herr := readHead(v, 16)
	if herr != nil || !looksLikeMedia(head) {
		return res, err
	}
	// A real recording: replay it as a kyctest video of a live person
	// whose face matches whatever registry photo it is compared with.
	return d.Detector.Detect(ctx, fakeVideo{kyctest.VideoSpec{Behaviour: kyctest.Live, Face: "browser", Similarity: 0.9}}, ch)
}

// fakeVideo is a kyctest video in memory.
type fakeVideo struct{ spec kyctest.VideoSpec }

func (f fakeVideo) Open() (io.ReadCloser, error) { return io.NopCloser(kyctest.Video(f.spec)), nil }
func (f fakeVideo) Size() int64                  { return 0 }

func readHead(v liveness.Video, n int) ([]byte, error) {
	rc, err := v.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, n)
	k, err := io.ReadFull(rc, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return b[:k], nil
}

// looksLikeMedia recognises the first bytes of the containers browsers
// and phones record.
func looksLikeMedia(b []byte) bool {
	switch {
	case bytes.HasPrefix(b, []byte{0x1a, 0x45, 0xdf, 0xa3}): // EBML: WebM, Matroska
		return true
	case len(b) >= 8 && string(b[4:8]) == "ftyp": // ISO BMFF: MP4, MOV
		return true
	case bytes.HasPrefix(b, []byte("RIFF")) && len(b) >= 12 && string(b[8:12]) == "AVI ":
		return true
	case bytes.HasPrefix(b, []byte{0, 0, 1, 0xba}): // MPEG program stream
		return true
	}
	return false
}

// fakePhotos wraps a civil registry for -vision=fake: every person's
// photo is replaced by the kyctest photo of their national ID, which the
// fake matcher understands. Safe for concurrent use if the wrapped
// registry is.
type fakePhotos struct {
	registry.CivilRegistry
}

// Lookup implements registry.CivilRegistry.
func (f fakePhotos) Lookup(ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
	p, err := f.CivilRegistry.Lookup(ctx, id, birth)
	if err == nil {
		p.Photo = kyctest.Photo(string(p.NationalID))
	}
	return p, err
}

// vision is a Detector and Matcher pair with what to release at exit.
type vision struct {
	Detector liveness.Detector
	Matcher  facematch.Matcher
	// Name is "fake" or "real", shown on the page.
	Name string
	// Models names the models in use (real vision), for /api/config.
	Models map[string]string
	close  []io.Closer
}

// Close releases the vision models.
func (v *vision) Close() error {
	var errs []error
	for _, c := range v.close {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

func newFakeVision() *vision {
	return &vision{Detector: &fakeDetector{}, Matcher: &kyctest.Matcher{}, Name: "fake"}
}
