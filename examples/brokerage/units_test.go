package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

func TestKeyedLimiter(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newKeyedLimiter(2, 3, 100, clk.Now)
	for i := 0; i < 3; i++ {
		ok, _ := l.Allow("a")
		require.True(t, ok, "burst token %d", i)
	}
	ok, wait := l.Allow("a")
	assert.False(t, ok)
	assert.Equal(t, 500*time.Millisecond, wait, "one token per 0.5 s")
	ok, _ = l.Allow("b")
	assert.True(t, ok, "keys are independent")
	clk.Advance(500 * time.Millisecond)
	ok, _ = l.Allow("a")
	assert.True(t, ok, "refilled")

	// Full buckets are dropped by the sweep: after a long pause nothing
	// is held.
	assert.Equal(t, 2, l.size())
	clk.Advance(time.Hour)
	ok, _ = l.Allow("c")
	assert.True(t, ok)
	assert.Equal(t, 1, l.size(), "a and b were full again and swept")

	var nilLimiter *keyedLimiter
	ok, _ = nilLimiter.Allow("x")
	assert.True(t, ok, "a disabled limiter admits everything")
	assert.Nil(t, newKeyedLimiter(0, 10, 10, nil))
}

func TestKeyedLimiterFailsClosedWhenFull(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newKeyedLimiter(0.001, 1, 2, clk.Now)
	ok, _ := l.Allow("a")
	require.True(t, ok)
	ok, _ = l.Allow("b")
	require.True(t, ok)
	ok, wait := l.Allow("c")
	assert.False(t, ok, "a third key while two buckets are in debt")
	assert.Positive(t, wait)
	clk.Advance(20 * time.Minute) // a and b refill (1 token per 1000 s)
	ok, _ = l.Allow("c")
	assert.True(t, ok, "room again after the sweep")
}

func TestRedactDigits(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"national ID 0499370899 refused", "national ID [redacted] refused"},
		{"mobile=09121234567", "mobile=[redacted]"},
		{"+98 912 123 4567", "[redacted]"},
		{"0912-123-4567.", "[redacted]."},
		{"کد ملی ۰۴۹۹۳۷۰۸۹۹", "کد ملی [redacted]"},
		{"٠٤٩٩٣٧٠٨٩٩", "[redacted]"},
		{"att_0123456789abcdef0123456789abcdef", "att_0123456789abcdef0123456789abcdef"},
		{"ses_abc1234567890", "ses_abc1234567890"},
		{"049****899 and 0912***4567", "049****899 and 0912***4567"},
		{"short 123456789", "short 123456789"},
		{"port 5.160.10.20:40000", "port 5.160.10.20:40000"},
		{"a+", "a+"},
		{"", ""},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, redactDigits(c.in), "input %q", c.in)
	}
}

// FuzzRedactDigits: the output never holds a free-standing run of 10 or
// more digits, and redacting twice changes nothing more.
func FuzzRedactDigits(f *testing.F) {
	for _, s := range []string{"0499370899", "+98 912 123 4567", "۰۴۹۹۳۷۰۸۹۹", "x_0123456789", "1-2-3-4-5-6-7-8-9-0", "++1234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := redactDigits(s)
		assert.Equal(t, out, redactDigits(out), "idempotent")
		// Every remaining run of 10+ digits must be glued to a letter or
		// underscore.
		runes := []rune(out)
		for i := 0; i < len(runes); {
			if !unicode.IsDigit(runes[i]) {
				i++
				continue
			}
			j, n := i, 0
			for j < len(runes) && (unicode.IsDigit(runes[j]) ||
				(runes[j] == ' ' || runes[j] == '-') && j+1 < len(runes) && unicode.IsDigit(runes[j+1]) && j > i) {
				if unicode.IsDigit(runes[j]) {
					n++
				}
				j++
			}
			if n >= minRedactDigits {
				before := i > 0 && (runes[i-1] == '_' || unicode.IsLetter(runes[i-1]) || runes[i-1] == '+' && i > 1 && wordRune(runes[i-2]))
				after := j < len(runes) && wordRune(runes[j])
				if !before && !after {
					t.Fatalf("free-standing digit run left in %q (from %q)", out, s)
				}
			}
			i = j
		}
	})
}

func TestParseOptions(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	o, err := parseOptions(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, ":8080", o.Addr)
	assert.Equal(t, filepath.Join(os.TempDir(), "hoviyat-brokerage"), o.DataDir)
	assert.Equal(t, "sqlite:"+filepath.Join(o.DataDir, "kyc.db"), o.Store)
	assert.Equal(t, filepath.Join(o.DataDir, "vault"), o.VaultDir)
	assert.Equal(t, "real", o.Vision)
	assert.Equal(t, "dev", o.GeoIP)
	assert.Equal(t, "demo", o.Registry)
	assert.Equal(t, int64(50<<20), o.MaxUpload)
	assert.Equal(t, 2.0, o.IPRate)
	assert.Equal(t, 2*time.Minute, o.ShutdownTimeout)

	o, err = parseOptions([]string{"-vision", "fake", "-max-upload", "8MiB"},
		env(map[string]string{"HOVIYAT_VISION": "real", "HOVIYAT_DATA_DIR": "/srv/kyc", "HOVIYAT_IP_RATE": "0",
			"HOVIYAT_STORE": "postgres:postgres://u:p@db/kyc"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "fake", o.Vision, "the flag wins over the environment")
	assert.Equal(t, "/srv/kyc", o.DataDir, "environment fallback")
	assert.Equal(t, "/srv/kyc/vault", o.VaultDir)
	assert.Equal(t, "postgres:postgres://u:p@db/kyc", o.Store)
	assert.Equal(t, 0.0, o.IPRate)
	assert.Equal(t, int64(8<<20), o.MaxUpload)

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"-vision", "maybe"}, "-vision"},
		{[]string{"-store", "mysql:x"}, "-store"},
		{[]string{"-store", "postgres:postgres://u:hunter2@db/kyc?x", "-registry", "ldap:x"}, "-registry"},
		{[]string{"-max-upload", "lots"}, "-max-upload"},
		{[]string{"-ip-rate", "-1"}, "-ip-rate"},
		{[]string{"-ip-rate", "1", "-ip-burst", "0"}, "burst"},
		{[]string{"-shutdown-timeout", "soon"}, "-shutdown-timeout"},
		{[]string{"-log-level", "loud"}, "-log-level"},
		{[]string{"extra"}, "unexpected"},
	}
	for _, c := range bad {
		_, err := parseOptions(c.args, env(nil), io.Discard)
		require.Error(t, err, "%v", c.args)
		assert.Contains(t, err.Error(), c.want)
		assert.NotContains(t, err.Error(), "hunter2", "passwords are not echoed")
	}

	var help bytes.Buffer
	_, err = parseOptions([]string{"-help"}, env(nil), &help)
	assert.True(t, errors.Is(err, flag.ErrHelp))
	for _, d := range optionDocs {
		assert.Contains(t, help.String(), "-"+d.Flag)
		assert.Contains(t, help.String(), d.Env)
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	good := map[string]int64{"1": 1, "512KiB": 512 << 10, "50MiB": 50 << 20, "50mb": 50_000_000, "2GiB": 2 << 30, " 7 B ": 7}
	for in, want := range good {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0", "-5MiB", "MiB", "1.5MiB", "9999999GiB", "12 apples"} {
		_, err := parseSize(in)
		assert.Error(t, err, in)
	}
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "postgres:postgres://***@db/kyc", redactDSN("postgres:postgres://user:pw@db/kyc"))
	assert.NotContains(t, redactDSN("postgres:host=db password=pw"), "pw")
	assert.Equal(t, "sqlite:/x.db", redactDSN("sqlite:/x.db"))
}

func TestFakeVision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	vis := newFakeVision()
	ref := facematch.Reference{Photo: kyctest.Photo(testNID)}
	spool := func(b []byte) liveness.Video {
		p := filepath.Join(t.TempDir(), "v")
		require.NoError(t, os.WriteFile(p, b, 0o600))
		v, err := liveness.NewFileVideo(p)
		require.NoError(t, err)
		return v
	}
	webm := append([]byte{0x1a, 0x45, 0xdf, 0xa3}, bytes.Repeat([]byte{0x42}, 100)...)
	mp4 := append([]byte{0, 0, 0, 0x18}, []byte("ftypisom0000")...)
	read := func(r io.Reader) []byte { b, _ := io.ReadAll(r); return b }
	cases := []struct {
		name    string
		video   []byte
		verdict liveness.Verdict
		match   facematch.Decision
		input   bool
	}{
		{"browser WebM", webm, liveness.Live, facematch.Match, false},
		{"phone MP4", mp4, liveness.Live, facematch.Match, false},
		{"kyctest spoof", read(kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: testNID})), liveness.SpoofSuspected, "", false},
		{"kyctest someone else", read(kyctest.LiveVideo("0790419904")), liveness.Live, facematch.NonMatch, false},
		{"HTML page", []byte("<!doctype html><html>"), "", "", true},
		{"empty", nil, "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := vis.Detector.Detect(ctx, spool(c.video), liveness.Challenge{Text: "x"})
			if c.input {
				var ie *liveness.InputError
				require.ErrorAs(t, err, &ie)
				assert.Equal(t, reason.VideoInvalid, ie.Code)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.verdict, res.Verdict)
			if c.match == "" {
				return
			}
			sc, err := vis.Matcher.Compare(ctx, res.Probes, ref)
			require.NoError(t, err)
			assert.Equal(t, c.match, sc.Decision)
		})
	}
	require.NoError(t, vis.Close())
}

func TestFakePhotos(t *testing.T) {
	t.Parallel()
	reg := kyctest.NewRegistry()
	reg.Add(registry.Person{NationalID: testNID, BirthDate: registry.Date{Year: 1370, Month: 1, Day: 15}, Photo: []byte("jpeg")})
	p, err := fakePhotos{reg}.Lookup(context.Background(), testNID, registry.Date{Year: 1370, Month: 1, Day: 15})
	require.NoError(t, err)
	assert.Equal(t, kyctest.Photo(testNID), p.Photo)
	_, err = fakePhotos{reg}.Lookup(context.Background(), testNID, registry.Date{Year: 1371, Month: 1, Day: 15})
	assert.ErrorIs(t, err, registry.ErrNotFound)
}

func TestDevLocator(t *testing.T) {
	t.Parallel()
	cases := map[string]string{"127.0.0.1": "IR", "::1": "IR", "192.168.1.5": "IR", "10.0.0.1": "IR",
		"fd00::1": "IR", "::ffff:127.0.0.1": "IR", "5.160.10.20": "", "8.8.8.8": ""}
	for ip, want := range cases {
		got, err := devLocator{}.Country(context.Background(), netip.MustParseAddr(ip))
		require.NoError(t, err)
		assert.Equal(t, want, got, ip)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := devLocator{}.Country(ctx, netip.MustParseAddr("127.0.0.1"))
	assert.Error(t, err)
}

func TestLooksLikeMedia(t *testing.T) {
	t.Parallel()
	assert.True(t, looksLikeMedia([]byte("RIFF\x00\x00\x00\x00AVI LIST")))
	assert.True(t, looksLikeMedia([]byte{0, 0, 1, 0xba, 0x44}))
	assert.False(t, looksLikeMedia([]byte("RIFF\x00\x00\x00\x00WAVE")))
	assert.False(t, looksLikeMedia([]byte("ftyp")))
	assert.False(t, looksLikeMedia(nil))
}

// Two replicas starting at once on one data directory must agree on the
// dev key, or one of them would encrypt evidence nobody can read.
func TestDevVaultKeyCreatedOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 8
	rings := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			r, err := vaultKeys(Options{DataDir: dir}, slog.New(slog.DiscardHandler))
			if err != nil {
				rings <- "error: " + err.Error()
				return
			}
			fp, err := r.Fingerprint("dev")
			if err != nil {
				rings <- "error: " + err.Error()
				return
			}
			rings <- fp
		}()
	}
	first := <-rings
	require.NotContains(t, first, "error")
	for i := 1; i < n; i++ {
		assert.Equal(t, first, <-rings)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files left")
	fi, err := os.Stat(filepath.Join(dir, "vault-dev.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	r, err := vaultKeys(Options{VaultKeys: "k1:" + strings.Repeat("A", 43) + "="}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Equal(t, "k1", r.Active())
}
