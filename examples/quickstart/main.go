// Command quickstart runs the whole remote verification ceremony on
// embedded defaults and real computer vision: an SQLite store and an
// encrypted vault in a temporary directory, the in-memory civil registry
// loaded from testdata/quickstart, the real liveness detector and face
// matcher on the models in $HOVIYAT_MODELS, and two applicants:
//
//  1. a genuine selfie video of the person in the registry photo, which is
//     approved;
//  2. a screen replay of another registered person, which is rejected with
//     its reasons in Persian and English.
//
// Run it with `make demo` or `go run ./examples/quickstart`.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/hoviyat/hoviyat/facematch/onnx"
	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/liveness/cv"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/memory"
	"github.com/hoviyat/hoviyat/store/sqlite"
	"github.com/hoviyat/hoviyat/vault"
)

func main() {
	models := flag.String("models", os.Getenv("HOVIYAT_MODELS"), "models directory")
	data := flag.String("data", os.Getenv("HOVIYAT_DATA"), "test media directory")
	fixtures := flag.String("fixtures", "testdata/quickstart", "registry fixtures")
	genuine := flag.String("genuine", "genuine/g24_retalking_aoc_talking.mp4", "genuine clip of applicant 1, under data/videos")
	attack := flag.String("attack", "attack/a01_screen_replay_of_g01.mp4", "attack clip for applicant 2, under data/videos")
	flag.Parse()
	log.SetFlags(0)
	if *models == "" || *data == "" {
		log.Fatal("quickstart: set HOVIYAT_MODELS and HOVIYAT_DATA (make demo does) or pass -models and -data")
	}
	if err := run(context.Background(), *models, *data, *fixtures, *genuine, *attack, os.Stdout); err != nil {
		log.Fatal("quickstart: ", err)
	}
}

func run(ctx context.Context, models, data, fixtures, genuine, attack string, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "hoviyat-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// Registry photos: stills of the shared clips (never committed).
	if err := extractPhotos(filepath.Join(fixtures, "photos.tsv"), filepath.Join(data, "videos"), tmp); err != nil {
		return err
	}
	reg := memory.New()
	if err := reg.LoadDir(filepath.Join(fixtures, "people"), memory.WithPhotoRoot(tmp)); err != nil {
		return err
	}

	st, err := sqlite.Open(ctx, filepath.Join(tmp, "kyc.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	keys, err := vault.NewKeyRing("demo", map[string][]byte{"demo": key})
	if err != nil {
		return err
	}
	vlt, err := vault.New(vault.Config{Keys: keys, Dir: filepath.Join(tmp, "vault")})
	if err != nil {
		return err
	}
	defer vlt.Close()

	fmt.Fprintln(out, "loading models from", models, "...")
	det, err := cv.New(cv.Config{ModelsDir: models})
	if err != nil {
		return err
	}
	defer det.Close()
	mat, err := onnx.New(onnx.Config{ModelsDir: models})
	if err != nil {
		return err
	}
	defer mat.Close()
	pol, err := policy.New(policy.Config{})
	if err != nil {
		return err
	}
	sms := &consoleSMS{out: out}
	v, err := kyc.New(kyc.Config{
		Registry: reg, Mobiles: reg, Detector: det, Matcher: mat, Policy: pol,
		Store: st, Vault: vlt, Locator: iranOnly{}, OTP: sms,
		Charger: consoleCharger{out: out}, Fee: 250_000,
	})
	if err != nil {
		return err
	}
	defer v.Close()

	applicants := []struct {
		title string
		a     kyc.Applicant
		clip  string
	}{
		{"genuine selfie video", kyc.Applicant{NationalID: "0499370899", BirthDate: registry.Date{Year: 1368, Month: 7, Day: 21},
			Mobile: "09121234567", IP: netip.MustParseAddr("5.160.10.20")}, genuine},
		{"screen replay attack", kyc.Applicant{NationalID: "0790419904", BirthDate: registry.Date{Year: 1378, Month: 3, Day: 2},
			Mobile: "09351234567", IP: netip.MustParseAddr("5.160.10.21")}, attack},
	}
	for i, ap := range applicants {
		fmt.Fprintf(out, "\n== applicant %d: %s (%s)\n", i+1, ap.title, filepath.Base(ap.clip))
		if err := ceremony(ctx, v, sms, ap.a, filepath.Join(data, "videos", ap.clip), out); err != nil {
			return err
		}
	}
	if err := v.VerifyAudit(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "\naudit log: hash chain intact")
	return nil
}

func ceremony(ctx context.Context, v *kyc.Verifier, sms *consoleSMS, a kyc.Applicant, clip string, out io.Writer) error {
	el, err := v.Inquire(ctx, a)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "inquiry: eligible=%v attempts left=%d (%s %s)\n", el.Eligible, el.AttemptsLeft, el.FirstName, el.LastName)
	if !el.Eligible {
		printReasons(out, el.Messages(reason.English), el.Messages(reason.Persian))
		return nil
	}
	if _, err := v.SendOTP(ctx, a); err != nil {
		return err
	}
	if err := v.ConfirmOTP(ctx, a.NationalID, sms.last()); err != nil {
		return err
	}
	fmt.Fprintln(out, "otp: confirmed")
	s, err := v.Begin(ctx, a)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "challenge (read aloud): %s   [expires %s]\n", s.Challenge, s.ExpiresAt.Format(time.TimeOnly))
	f, err := os.Open(clip)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	d, err := v.Submit(ctx, s.ID, f)
	if err != nil {
		var ke *kyc.Error
		if errors.As(err, &ke) && ke.Reason != "" {
			fmt.Fprintf(out, "could not decide: %s (%s)\n", ke.Reason.Message(reason.English), ke.Reason)
		}
		return err
	}
	fmt.Fprintf(out, "decision: %s in %v (attempts left %d)\n", strings.ToUpper(string(d.Outcome)), time.Since(start).Round(time.Millisecond), d.AttemptsLeft)
	if d.Liveness != nil {
		fmt.Fprintf(out, "  liveness: %s score=%.2f\n", d.Liveness.Verdict, d.Liveness.Score)
	}
	if d.Match != nil {
		fmt.Fprintf(out, "  face match: %s similarity=%.2f (threshold %.2f, %s)\n", d.Match.Decision, d.Match.Similarity, d.Match.Threshold, d.Match.Model)
	}
	printReasons(out, d.Messages(reason.English), d.Messages(reason.Persian))
	return nil
}

func printReasons(out io.Writer, en, fa []kyc.Message) {
	for i := range en {
		fmt.Fprintf(out, "  reason %s\n    en: %s %s\n    fa: %s %s\n", en[i].Code, en[i].Text, en[i].Hint, fa[i].Text, fa[i].Hint)
	}
}

// extractPhotos writes the registry stills listed in index (photo, clip,
// second) into dir.
func extractPhotos(index, videos, dir string) error {
	f, err := os.Open(index)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 {
			return fmt.Errorf("%s: want photo<TAB>clip<TAB>second: %q", index, line)
		}
		sec, err := strconv.ParseFloat(parts[2], 64)
		if err != nil {
			return fmt.Errorf("%s: %w", index, err)
		}
		if err := still(filepath.Join(videos, parts[1]), sec, filepath.Join(dir, parts[0])); err != nil {
			return err
		}
	}
	return sc.Err()
}

// still saves the frame at sec seconds of clip as a JPEG.
func still(clip string, sec float64, dst string) error {
	vc, err := gocv.VideoCaptureFile(clip)
	if err != nil {
		return fmt.Errorf("opening %s: %w", clip, err)
	}
	defer vc.Close()
	vc.Set(gocv.VideoCapturePosMsec, sec*1000)
	m := gocv.NewMat()
	defer m.Close()
	if !vc.Read(&m) || m.Empty() {
		return fmt.Errorf("no frame at %.1fs in %s", sec, clip)
	}
	buf, err := gocv.IMEncode(gocv.JPEGFileExt, m)
	if err != nil {
		return err
	}
	defer buf.Close()
	return os.WriteFile(dst, buf.GetBytes(), 0o600)
}

// consoleSMS prints codes instead of sending SMS and remembers the last
// one so the demo can type it in. Safe for concurrent use.
type consoleSMS struct {
	out  io.Writer
	mu   sync.Mutex
	code string
}

func (c *consoleSMS) Send(_ context.Context, m registry.Mobile, code string, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.code = code
	fmt.Fprintf(c.out, "sms to %s: your code is %s (valid %v)\n", m.Masked(), code, ttl)
	return nil
}

func (c *consoleSMS) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code
}

// consoleCharger prints the fee instead of charging a card. Its
// reference depends only on the ChargeID (the idempotency key), as a real
// provider's answer to a repeated request would; a real Charger passes
// ChargeID to the provider so a repeated request never charges twice.
type consoleCharger struct{ out io.Writer }

func (c consoleCharger) Charge(_ context.Context, ch kyc.Charge) (string, error) {
	fmt.Fprintf(c.out, "fee: %d %s charged (attempt %s, not refundable)\n", ch.Amount, ch.Currency, ch.AttemptID[:12])
	return "demo-" + ch.ChargeID, nil
}

// iranOnly stands in for a GeoIP database (policy/geoip.Open on a
// GeoLite2-Country file in production): 5.160.0.0/14 is an Iranian range.
type iranOnly struct{}

func (iranOnly) Country(_ context.Context, ip netip.Addr) (string, error) {
	if netip.MustParsePrefix("5.160.0.0/14").Contains(ip.Unmap()) {
		return "IR", nil
	}
	return "", nil
}
