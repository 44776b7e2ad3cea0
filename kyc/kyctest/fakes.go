package kyctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

// Clock is a settable clock for tests. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Faults injects failures into a fake dependency. The zero value injects
// nothing. Safe for concurrent use.
type Faults struct {
	mu    sync.Mutex
	err   error
	n     int
	delay time.Duration
	calls int
}

// FailNext makes the next n calls fail with err (n < 0: every call).
func (f *Faults) FailNext(n int, err error) {
	f.mu.Lock()
	f.n, f.err = n, err
	f.mu.Unlock()
}

// SetDelay makes every call wait d (or until its context is done).
func (f *Faults) SetDelay(d time.Duration) {
	f.mu.Lock()
	f.delay = d
	f.mu.Unlock()
}

// Calls returns how many calls were made.
func (f *Faults) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// hit counts a call, applies the delay and returns the injected error.
func (f *Faults) hit(ctx context.Context) error {
	f.mu.Lock()
	f.calls++
	d := f.delay
	var err error
	if f.n != 0 {
		err = f.err
		if f.n > 0 {
			f.n--
		}
	}
	f.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// Registry is a fake civil registry and mobile-ownership service with
// fault injection. Safe for concurrent use.
type Registry struct {
	// Faults apply to Lookup; MobileFaults to Owns.
	Faults       Faults
	MobileFaults Faults

	mu      sync.RWMutex
	people  map[registry.NationalID]registry.Person
	mobiles map[registry.NationalID]map[registry.Mobile]bool
}

var (
	_ registry.CivilRegistry   = (*Registry)(nil)
	_ registry.MobileOwnership = (*Registry)(nil)
)

// NewRegistry returns an empty fake registry.
func NewRegistry() *Registry {
	return &Registry{people: map[registry.NationalID]registry.Person{}, mobiles: map[registry.NationalID]map[registry.Mobile]bool{}}
}

// Add stores p and registers mobiles to p's national ID. A person added
// without a photo gets Photo(p.NationalID), which the fake Matcher
// recognises.
func (r *Registry) Add(p registry.Person, mobiles ...registry.Mobile) {
	if p.Photo == nil {
		p.Photo = Photo(string(p.NationalID))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.people[p.NationalID] = p
	if r.mobiles[p.NationalID] == nil {
		r.mobiles[p.NationalID] = map[registry.Mobile]bool{}
	}
	for _, m := range mobiles {
		r.mobiles[p.NationalID][m] = true
	}
}

// Lookup implements registry.CivilRegistry.
func (r *Registry) Lookup(ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
	if err := r.Faults.hit(ctx); err != nil {
		return registry.Person{}, &registry.Error{Dependency: registry.DepCivilRegistry, Kind: registry.KindNetwork, Err: err}
	}
	r.mu.RLock()
	p, ok := r.people[id]
	r.mu.RUnlock()
	if !ok || p.BirthDate != birth {
		return registry.Person{}, &registry.Error{Dependency: registry.DepCivilRegistry, Kind: registry.KindNotFound, Err: registry.ErrNotFound}
	}
	p.Photo = bytes.Clone(p.Photo)
	return p, nil
}

// Owns implements registry.MobileOwnership.
func (r *Registry) Owns(ctx context.Context, id registry.NationalID, m registry.Mobile) (bool, error) {
	if err := r.MobileFaults.hit(ctx); err != nil {
		return false, &registry.Error{Dependency: registry.DepMobileOwnership, Kind: registry.KindNetwork, Err: err}
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.mobiles[id][m], nil
}

// Photo returns fake registry-photo bytes showing the person identity.
// The fake Matcher compares it with the identity in a fake video.
func Photo(identity string) []byte { return []byte("KYCTEST-PHOTO:" + identity) }

// Behaviour is what a fake video shows.
type Behaviour string

// Behaviours the fake Detector understands.
const (
	// Live: a live person, good quality.
	Live Behaviour = "live"
	// Spoof: a replayed photo or screen.
	Spoof Behaviour = "spoof"
	// Borderline: liveness not conclusive (review).
	Borderline Behaviour = "uncertain"
	// Corrupt: not a video (an InputError, no decision).
	Corrupt Behaviour = "corrupt"
)

// VideoSpec describes a fake video for the fake Detector.
type VideoSpec struct {
	Behaviour Behaviour `json:"behaviour"`
	// Face is the identity shown (compared with Photo(identity)).
	Face string `json:"face"`
	// Quality reasons the detector reports (e.g. reason.LowLight).
	Quality []reason.Code `json:"quality,omitempty"`
	// Similarity overrides the fake Matcher's score (0 = default: 0.9
	// for the same identity, 0.1 otherwise).
	Similarity float64 `json:"similarity,omitempty"`
	// Delay makes Detect take this long (honouring its context).
	Delay time.Duration `json:"delay,omitempty"`
}

const videoMagic = "KYCTEST-VIDEO:"

// Video returns a fake video the fake Detector decodes.
func Video(s VideoSpec) io.Reader {
	b, _ := json.Marshal(s)
	return bytes.NewReader(append([]byte(videoMagic), b...))
}

// LiveVideo is a good video of the person with national ID identity.
func LiveVideo(identity string) io.Reader { return Video(VideoSpec{Behaviour: Live, Face: identity}) }

// FaceImage is the image of a probe made by the fake Detector: it carries
// the identity the fake Matcher reads.
type FaceImage struct {
	Identity   string
	Similarity float64
}

// ColorModel implements image.Image.
func (f *FaceImage) ColorModel() color.Model { return color.GrayModel }

// Bounds implements image.Image.
func (f *FaceImage) Bounds() image.Rectangle { return image.Rect(0, 0, 1, 1) }

// At implements image.Image.
func (f *FaceImage) At(x, y int) color.Color { return color.Gray{Y: 128} }

// Detector is a fake liveness.Detector that reads a VideoSpec from the
// video bytes. Safe for concurrent use.
type Detector struct {
	Faults Faults
}

var _ liveness.Detector = (*Detector)(nil)

// Detect implements liveness.Detector.
func (d *Detector) Detect(ctx context.Context, v liveness.Video, ch liveness.Challenge) (liveness.Result, error) {
	if err := d.Faults.hit(ctx); err != nil {
		return liveness.Result{}, fmt.Errorf("kyctest: detector: %w", err)
	}
	rc, err := v.Open()
	if err != nil {
		return liveness.Result{}, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return liveness.Result{}, err
	}
	var s VideoSpec
	if !bytes.HasPrefix(b, []byte(videoMagic)) || json.Unmarshal(b[len(videoMagic):], &s) != nil || s.Behaviour == Corrupt {
		return liveness.Result{}, &liveness.InputError{Code: reason.VideoInvalid, Msg: "not a kyctest video"}
	}
	if s.Delay > 0 {
		t := time.NewTimer(s.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return liveness.Result{}, ctx.Err()
		}
	}
	r := liveness.Result{Frames: 150, Duration: 5 * time.Second, Models: map[string]string{"fake": "kyctest"},
		Measures: map[string]float64{"luminance_mean": 120}}
	switch {
	case len(s.Quality) > 0:
		r.Verdict, r.Quality = liveness.NotJudged, s.Quality
		return r, nil
	case s.Behaviour == Spoof:
		r.Verdict, r.Score, r.Reasons = liveness.SpoofSuspected, 0.1, []reason.Code{reason.SpoofSuspected}
	case s.Behaviour == Borderline:
		r.Verdict, r.Score = liveness.Uncertain, 0.5
	default:
		r.Verdict, r.Score = liveness.Live, 0.95
	}
	r.Evidence = []liveness.Evidence{{Name: "fake", Value: r.Score, Threshold: 0.5, Pass: r.Score >= 0.5, Weight: 1}}
	for i := 0; i < 3; i++ {
		r.Probes = append(r.Probes, facematch.Probe{Image: &FaceImage{Identity: s.Face, Similarity: s.Similarity},
			Quality: 1 - float64(i)/10, Frame: i * 10, DetScore: 0.9})
	}
	return r, nil
}

// Matcher is a fake facematch.Matcher: same identity scores 0.9, another
// 0.1, unless the video's spec overrides it. Thresholds: match >= 0.5,
// review band [0.35, 0.5). Safe for concurrent use.
type Matcher struct {
	Faults Faults
}

var _ facematch.Matcher = (*Matcher)(nil)

// Compare implements facematch.Matcher.
func (m *Matcher) Compare(ctx context.Context, probes []facematch.Probe, ref facematch.Reference) (facematch.Score, error) {
	if err := m.Faults.hit(ctx); err != nil {
		return facematch.Score{}, fmt.Errorf("kyctest: matcher: %w", err)
	}
	if len(probes) == 0 {
		return facematch.Score{}, facematch.ErrNoProbes
	}
	refID, ok := strings.CutPrefix(string(ref.Photo), "KYCTEST-PHOTO:")
	if !ok {
		return facematch.Score{}, fmt.Errorf("%w: not a kyctest photo", facematch.ErrReferenceUnusable)
	}
	var fi *FaceImage
	if f, ok := probes[0].Image.(*FaceImage); ok {
		fi = f
	} else {
		return facematch.Score{}, errors.New("kyctest: matcher: probe is not a kyctest face")
	}
	sim := 0.1
	if fi.Identity == refID {
		sim = 0.9
	}
	if fi.Similarity != 0 {
		sim = fi.Similarity
	}
	s := facematch.Score{Similarity: sim, Threshold: 0.5, ReviewFloor: 0.35, Model: "kyctest", PerProbe: []float64{sim}}
	switch {
	case sim >= s.Threshold:
		s.Decision = facematch.Match
	case sim >= s.ReviewFloor:
		s.Decision = facematch.Uncertain
	default:
		s.Decision = facematch.NonMatch
	}
	return s, nil
}

// OTPSender is a fake SMS gateway that remembers the codes it sent. Safe
// for concurrent use.
type OTPSender struct {
	Faults Faults
	mu     sync.Mutex
	codes  map[registry.Mobile][]string
}

var _ kyc.OTPSender = (*OTPSender)(nil)

// Send implements kyc.OTPSender.
func (o *OTPSender) Send(ctx context.Context, m registry.Mobile, code string, ttl time.Duration) error {
	if err := o.Faults.hit(ctx); err != nil {
		return fmt.Errorf("kyctest: sms: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.codes == nil {
		o.codes = map[registry.Mobile][]string{}
	}
	o.codes[m] = append(o.codes[m], code)
	return nil
}

// LastCode returns the last code sent to m ("" if none).
func (o *OTPSender) LastCode(m registry.Mobile) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.codes[m]
	if len(c) == 0 {
		return ""
	}
	return c[len(c)-1]
}

// Sent returns how many codes were sent to m.
func (o *OTPSender) Sent(m registry.Mobile) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.codes[m])
}

// Charger is a fake payment provider, idempotent per ChargeID as
// kyc.Charger requires: a ChargeID it has charged gets the same reference
// again ("ref-" + ChargeID) and is not charged twice. Safe for concurrent
// use.
type Charger struct {
	// Faults apply before anything is charged (the provider refused or
	// was unreachable: nothing taken).
	Faults Faults
	// ReplyFaults apply after the charge is taken (the provider charged
	// but its answer was lost: the caller sees an error, the money is
	// gone).
	ReplyFaults Faults
	mu          sync.Mutex
	charges     map[string]kyc.Charge // taken, by ChargeID
	requests    map[string]int        // calls that reached the provider, by ChargeID
	order       []string
}

var _ kyc.Charger = (*Charger)(nil)

// Charge implements kyc.Charger.
func (c *Charger) Charge(ctx context.Context, ch kyc.Charge) (string, error) {
	if ch.ChargeID == "" {
		return "", errors.New("kyctest: charger: empty ChargeID (the idempotency key)")
	}
	if err := c.Faults.hit(ctx); err != nil {
		return "", fmt.Errorf("kyctest: charger: %w", err)
	}
	c.mu.Lock()
	if c.charges == nil {
		c.charges, c.requests = map[string]kyc.Charge{}, map[string]int{}
	}
	c.requests[ch.ChargeID]++
	if _, dup := c.charges[ch.ChargeID]; !dup {
		c.charges[ch.ChargeID] = ch
		c.order = append(c.order, ch.ChargeID)
	}
	c.mu.Unlock()
	if err := c.ReplyFaults.hit(ctx); err != nil {
		return "", fmt.Errorf("kyctest: charger (after charging): %w", err)
	}
	return Ref(ch.ChargeID), nil
}

// Ref is the reference the fake Charger answers for a charge ID.
func Ref(chargeID string) string { return "ref-" + chargeID }

// Total returns the sum charged to a national ID and the number of
// distinct charges taken (a ChargeID asked for again is counted once).
func (c *Charger) Total(nationalID string) (amount int64, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.charges {
		if ch.NationalID == nationalID {
			amount += ch.Amount
			n++
		}
	}
	return amount, n
}

// Charges returns the charges taken, in the order they were first taken,
// each as first requested.
func (c *Charger) Charges() []kyc.Charge {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]kyc.Charge, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, c.charges[id])
	}
	return out
}

// Requests returns how many calls for chargeID reached the provider
// (Faults refusals excluded).
func (c *Charger) Requests(chargeID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests[chargeID]
}

// Locator is a fake GeoIP: addresses in IranPrefix are "IR", in
// ForeignPrefix "DE", others unknown. Safe for concurrent use.
type Locator struct {
	Faults Faults
}

var _ kyc.Locator = (*Locator)(nil)

// Fake address ranges and sample addresses of the fake Locator.
var (
	IranPrefix    = netip.MustParsePrefix("5.160.0.0/14")
	ForeignPrefix = netip.MustParsePrefix("85.214.0.0/15")
	IranIP        = netip.MustParseAddr("5.160.10.20")
	ForeignIP     = netip.MustParseAddr("85.214.1.2")
	UnknownIP     = netip.MustParseAddr("198.51.100.7")
)

// Country implements kyc.Locator.
func (l *Locator) Country(ctx context.Context, ip netip.Addr) (string, error) {
	if err := l.Faults.hit(ctx); err != nil {
		return "", fmt.Errorf("kyctest: geoip: %w", err)
	}
	ip = ip.Unmap()
	switch {
	case IranPrefix.Contains(ip):
		return "IR", nil
	case ForeignPrefix.Contains(ip):
		return "DE", nil
	}
	return "", nil
}

// Vault is an in-memory kyc.Vault. Safe for concurrent use.
type Vault struct {
	Faults Faults
	mu     sync.Mutex
	videos map[string][]byte
	recs   map[string][]byte
}

var _ kyc.Vault = (*Vault)(nil)

// Put implements kyc.Vault.
func (v *Vault) Put(ctx context.Context, id string, video io.Reader, record []byte) error {
	if err := v.Faults.hit(ctx); err != nil {
		return fmt.Errorf("kyctest: vault: %w", err)
	}
	b, err := io.ReadAll(video)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.videos == nil {
		v.videos, v.recs = map[string][]byte{}, map[string][]byte{}
	}
	v.videos[id], v.recs[id] = b, bytes.Clone(record)
	return nil
}

// Get returns a stored video and record.
func (v *Vault) Get(id string) (video, record []byte, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	video, ok = v.videos[id]
	return video, v.recs[id], ok
}

// Len returns the number of stored objects.
func (v *Vault) Len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.videos)
}
