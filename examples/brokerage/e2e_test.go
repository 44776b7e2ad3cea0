package main

// Browser end-to-end tests: headless Debian Chromium, driven over the
// DevTools protocol by chromedp, walks the page served by an in-process
// server: details -> inquiry -> OTP -> camera -> 5-second recording ->
// upload -> decision. Chromium's fake media device stands in for the
// camera: its built-in test pattern, or a .y4m made at test time with
// ffmpeg from a clip in $HOVIYAT_DATA.
//
// Screenshots of every step go to $HOVIYAT_ARTIFACTS (or a temporary
// directory), printed in the log. With HOVIYAT_UPDATE_SCREENSHOTS=1 the
// ones shown in the README are copied to docs/img/ — only pages that show
// no face (the camera steps there come from the built-in test pattern),
// so no third-party media ends up in the repository.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/registry"
)

// e2eNeeds checks the tools a browser test needs. Outside CI a missing one
// skips the test; with CI=true it fails, so CI cannot pass by skipping.
func e2eNeeds(t *testing.T, media bool) (chromium string) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	var missing []string
	chromium = os.Getenv("HOVIYAT_CHROMIUM")
	if chromium == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		missing = append(missing, "chromium (apt-get install chromium; or set HOVIYAT_CHROMIUM)")
	}
	if media {
		if _, err := exec.LookPath("ffmpeg"); err != nil {
			missing = append(missing, "ffmpeg")
		}
		for _, env := range []string{"HOVIYAT_DATA", "HOVIYAT_MODELS"} {
			if d := os.Getenv(env); d == "" {
				missing = append(missing, "$"+env)
			} else if _, err := os.Stat(d); err != nil {
				missing = append(missing, "$"+env+" ("+d+" not found)")
			}
		}
	}
	if len(missing) > 0 {
		msg := "browser test needs: " + strings.Join(missing, ", ")
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: not skipping)")
		}
		t.Skip(msg)
	}
	return chromium
}

// artifactDir is where screenshots go: $HOVIYAT_ARTIFACTS/<test> or a
// temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if root := os.Getenv("HOVIYAT_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_"))
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	t.Logf("screenshots: %s", dir)
	return dir
}

// e2eServer is the program's server (built from Options like main) on a
// loopback port, which -geoip=dev counts as Iran.
type e2eServer struct {
	URL  string
	app  *app
	logs *syncBuffer
}

func startE2EServer(t *testing.T, o Options) *e2eServer {
	t.Helper()
	logs := &syncBuffer{}
	log := newLogger(logs, slog.LevelInfo)
	dir := t.TempDir()
	if o.DataDir == "" {
		o.DataDir = dir
	}
	o.Store = "sqlite:" + filepath.Join(dir, "kyc.db")
	o.VaultDir = filepath.Join(dir, "vault")
	o.GeoIP = "dev"
	if o.MaxUpload == 0 {
		o.MaxUpload = 50 << 20
	}
	a, err := buildApp(context.Background(), o, log, buildHooks{})
	require.NoError(t, err)
	ts := httptest.NewServer(a.Server)
	t.Cleanup(func() {
		ts.Close()
		require.NoError(t, a.Close())
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &e2eServer{URL: ts.URL, app: a, logs: logs}
}

// browser starts headless Chromium with a fresh profile, a phone-sized
// window and the fake camera (y4m, or the built-in pattern when empty).
func browser(t *testing.T, chromium, y4m string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(412, 915),
	}
	if y4m != "" {
		opts = append(opts, chromedp.Flag("use-file-for-fake-video-capture", y4m))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(412, 915, chromedp.EmulateScale(2), chromedp.EmulatePortrait)))
	return ctx
}

// pageRun is one walk through the page.
type pageRun struct {
	lang        string
	nationalID  string
	birth       [3]string
	mobile      string
	otp         *ConsoleOTP
	shots       string
	prefix      string
	decisionMax time.Duration
	// stopAtCamera ends the walk once the camera preview runs.
	stopAtCamera bool
}

// pageResult is what the page showed.
type pageResult struct {
	eligible bool
	outcome  string
	reasons  []string
	shots    map[string]string
	elapsed  map[string]time.Duration
}

func (r pageRun) shot(t *testing.T, ctx context.Context, res *pageResult, name string) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err, "screenshot %s", name)
	p := filepath.Join(r.shots, r.prefix+"-"+name+".png")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	res.shots[name] = p
}

func poll(ctx context.Context, expr string, timeout time.Duration) error {
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout)))
	return err
}

// walk drives the page and returns what it showed.
func (r pageRun) walk(t *testing.T, ctx context.Context, baseURL string) pageResult {
	t.Helper()
	res := pageResult{shots: map[string]string{}, elapsed: map[string]time.Duration{}}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			b, _ := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if b != nil {
				_ = os.WriteFile(filepath.Join(r.shots, r.prefix+"-FAILED.png"), b, 0o644)
			}
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v\npage text:\n%s", what, err, body)
		}
	}
	start := time.Now()
	step("open the page", chromedp.Do(ctx, chromedp.Navigate(baseURL+"/?lang="+r.lang)))
	step("page ready", poll(ctx, `document.body.dataset.ready === 'true'`, 20*time.Second))
	lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang + '/' + document.documentElement.dir`))
	step("read the language", err)
	want := map[string]string{"fa": "fa/rtl", "en": "en/ltr"}[r.lang]
	require.Equal(t, want, lang, "page language and direction")

	step("fill the form", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("national-id"), r.nationalID),
		chromedp.SendKeys(chromedp.ID("birth-year"), r.birth[0]),
		chromedp.SendKeys(chromedp.ID("birth-month"), r.birth[1]),
		chromedp.SendKeys(chromedp.ID("birth-day"), r.birth[2]),
		chromedp.SendKeys(chromedp.ID("mobile"), r.mobile),
	))
	r.shot(t, ctx, &res, "1-form")
	step("inquiry", chromedp.Do(ctx, chromedp.Click(chromedp.ID("btn-inquiry"))))
	step("inquiry answered", poll(ctx, `document.body.dataset.step === 'inquiry'`, 20*time.Second))
	r.shot(t, ctx, &res, "2-inquiry")
	el, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('inquiry-result').dataset.eligible`))
	step("read eligibility", err)
	res.eligible = el == "true"
	if !res.eligible {
		res.reasons = r.codes(t, ctx, "#inquiry-result li")
		return res
	}

	step("send OTP", chromedp.Do(ctx, chromedp.Click(chromedp.ID("btn-send-otp"))))
	step("OTP step", poll(ctx, `document.body.dataset.step === 'otp'`, 20*time.Second))
	m, err := registry.ParseMobile(r.mobile)
	require.NoError(t, err)
	code := r.otp.LastCode(m)
	require.Len(t, code, 6, "the console OTP sender captured the code")
	step("type the code", chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("otp-code"), code)))
	r.shot(t, ctx, &res, "3-otp")
	step("confirm", chromedp.Do(ctx, chromedp.Click(chromedp.ID("btn-confirm"))))

	step("camera step", poll(ctx, `document.body.dataset.step === 'camera'`, 20*time.Second))
	step("camera running", poll(ctx, `!document.getElementById('btn-record').disabled && document.getElementById('preview').readyState >= 2 && document.getElementById('preview').videoWidth > 0`, 20*time.Second))
	time.Sleep(700 * time.Millisecond) // a few frames in the preview
	challenge, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("challenge")))
	step("read the challenge", err)
	require.NotEmpty(t, strings.TrimSpace(challenge), "a challenge to read aloud")
	r.shot(t, ctx, &res, "4-camera")
	res.elapsed["to_camera"] = time.Since(start)
	if r.stopAtCamera {
		return res
	}

	step("record", chromedp.Do(ctx, chromedp.Click(chromedp.ID("btn-record"))))
	step("recording", poll(ctx, `document.body.dataset.recording === 'true'`, 10*time.Second))
	time.Sleep(2500 * time.Millisecond)
	r.shot(t, ctx, &res, "5-recording")
	recStart := time.Now()
	step("uploaded", poll(ctx, `document.body.dataset.uploaded === 'true' || document.body.dataset.step === 'decision'`, 60*time.Second))
	if s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.step`)); s == "upload" {
		pct, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById('upload-progress').value`))
		step("read the progress bar", err)
		require.Equal(t, 100.0, pct, "the progress bar is full once the upload is sent")
		r.shot(t, ctx, &res, "6-analysing")
	}
	step("decision", poll(ctx, `document.body.dataset.step === 'decision'`, r.decisionMax))
	res.elapsed["record_to_decision"] = time.Since(recStart) + 2500*time.Millisecond
	time.Sleep(200 * time.Millisecond) // focus ring and layout settle
	r.shot(t, ctx, &res, "7-decision")
	res.outcome, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('decision').dataset.outcome`))
	step("read the outcome", err)
	res.reasons = r.codes(t, ctx, "#decision-reasons li")
	res.elapsed["total"] = time.Since(start)
	return res
}

// codes returns the reason codes of the list items matching sel, checking
// that each shows its catalogue text (non-empty text and hint).
func (r pageRun) codes(t *testing.T, ctx context.Context, sel string) []string {
	t.Helper()
	items, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]string](fmt.Sprintf(
		`[...document.querySelectorAll(%q)].map(li => ({code: li.dataset.code || '', text: (li.querySelector('.text')||{}).textContent || '', hint: (li.querySelector('.hint')||{}).textContent || ''}))`, sel)))
	require.NoError(t, err)
	var out []string
	for _, it := range items {
		require.NotEmpty(t, it["text"], "reason %s has its message", it["code"])
		require.NotEmpty(t, it["hint"], "reason %s has its hint", it["code"])
		out = append(out, it["code"])
	}
	return out
}

// copyScreenshot copies an artifact into docs/img when
// HOVIYAT_UPDATE_SCREENSHOTS=1.
func copyScreenshot(t *testing.T, src, name string) {
	t.Helper()
	if os.Getenv("HOVIYAT_UPDATE_SCREENSHOTS") != "1" || src == "" {
		return
	}
	dst := filepath.Join("..", "..", "docs", "img", name)
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	in, err := os.Open(src)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.Create(dst)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
	t.Logf("updated %s", dst)
}

// writeRegistry writes memory-registry records (see registry/memory) into
// a new directory and returns it.
func writeRegistry(t *testing.T, records ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i, rec := range records {
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d.json", i)), []byte(rec), 0o600))
	}
	return dir
}

func record(nid, first, last, birth, mobile, photo string, extra string) string {
	ph := ""
	if photo != "" {
		ph = fmt.Sprintf(`, "photo": %q`, photo)
	}
	return fmt.Sprintf(`{"national_id": %q, "first_name": %q, "last_name": %q, "father_name": "رضا", "gender": "female",
		"birth_date": %q, "alive": true, "native": true, "mobiles": [%q]%s%s}`, nid, first, last, birth, mobile, ph, extra)
}

// TestBrowserFakeVision walks the whole page in real Chromium with its
// built-in fake camera (a synthetic test pattern) against -vision=fake:
// it proves the page mechanics (form, OTP, getUserMedia, MediaRecorder,
// multipart upload with progress, decision rendering, language toggle)
// without models or media, and makes the README's camera screenshots.
func TestBrowserFakeVision(t *testing.T) {
	chromium := e2eNeeds(t, false)
	shots := artifactDir(t)
	reg := writeRegistry(t,
		record("0499370899", "سارا", "احمدی", "1370/01/15", "09121234567", "", ""),
		record("0023456787", "مریم", "کریمی", "1390/02/10", "09131234567", "", ""),
		record("0790419904", "Ali", "Rezaei", "1380/06/31", "09191234567", "", ""),
	)
	srv := startE2EServer(t, Options{Vision: "fake", Registry: "memory:" + reg, IPRate: 0, IDRate: 0})
	ctx := browser(t, chromium, "")

	fa := pageRun{lang: "fa", nationalID: "۰۴۹۹۳۷۰۸۹۹", birth: [3]string{"۱۳۷۰", "۱", "۱۵"}, mobile: "09121234567",
		otp: srv.app.OTP, shots: shots, prefix: "fa-fake", decisionMax: 30 * time.Second}
	res := fa.walk(t, ctx, srv.URL)
	require.True(t, res.eligible)
	require.Equal(t, "approved", res.outcome, "fake vision approves any real recording")
	require.Empty(t, res.reasons)
	banner, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById('banner-fake').hidden`))
	require.NoError(t, err)
	require.True(t, banner, "the page says fake vision is on")
	st, err := srv.app.Verifier.Status(context.Background(), "0499370899")
	require.NoError(t, err)
	require.Equal(t, "verified", string(st.State), "the server recorded the decision")
	require.NotNil(t, st.Last)
	t.Logf("fake vision walk: %v", res.elapsed)

	// The language toggle switches texts and direction in place.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("lang-toggle"))))
	require.NoError(t, poll(ctx, `document.documentElement.lang === 'en' && document.documentElement.dir === 'ltr' && document.getElementById('decision-title').textContent === 'Identity verified'`, 5*time.Second))

	// An ineligible applicant sees the reasons and hints from the catalogue.
	ctx2 := browser(t, chromium, "")
	under := pageRun{lang: "fa", nationalID: "0023456787", birth: [3]string{"1390", "02", "10"}, mobile: "09131234567",
		otp: srv.app.OTP, shots: shots, prefix: "fa-underage"}
	res2 := under.walk(t, ctx2, srv.URL)
	require.False(t, res2.eligible)
	require.Equal(t, []string{"underage"}, res2.reasons)

	// The camera in English, for the README.
	ctx3 := browser(t, chromium, "")
	en := pageRun{lang: "en", nationalID: "0790419904", birth: [3]string{"1380", "6", "31"}, mobile: "09191234567",
		otp: srv.app.OTP, shots: shots, prefix: "en-fake", stopAtCamera: true}
	res3 := en.walk(t, ctx3, srv.URL)
	require.True(t, res3.eligible)
	title, err := chromedp.Run(ctx3, chromedp.Text(chromedp.ID("h-camera")))
	require.NoError(t, err)
	require.Equal(t, "Record a selfie video", title)

	copyScreenshot(t, res3.shots["4-camera"], "page-en-camera.png")
	copyScreenshot(t, res.shots["4-camera"], "page-fa-camera.png")
	copyScreenshot(t, res.shots["5-recording"], "page-fa-recording.png")
	copyScreenshot(t, res2.shots["2-inquiry"], "page-fa-inquiry-refused.png")
}
