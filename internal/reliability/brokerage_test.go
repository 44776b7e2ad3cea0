package reliability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc/kyctest"
)

// The examples/brokerage server, built from source once per test binary.
var (
	brokerageOnce sync.Once
	brokerageBin  string
	brokerageErr  error
	brokerageDir  string
)

// brokerageBinary builds examples/brokerage (once) and returns its path.
func brokerageBinary(t *testing.T) string {
	t.Helper()
	brokerageOnce.Do(func() {
		brokerageDir, brokerageErr = os.MkdirTemp("", "hoviyat-rel-brokerage-")
		if brokerageErr != nil {
			return
		}
		brokerageBin = filepath.Join(brokerageDir, "brokerage")
		cmd := exec.Command("go", "build", "-o", brokerageBin, "./examples/brokerage")
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		if err != nil {
			brokerageErr = fmt.Errorf("go build ./examples/brokerage: %v\n%s", err, out)
		}
	})
	require.NoError(t, brokerageErr)
	return brokerageBin
}

// brokerage is a running examples/brokerage process.
type brokerage struct {
	URL    string
	cmd    *exec.Cmd
	logs   *syncBuffer
	done   chan struct{}
	waitEr error
}

// startBrokerage runs the server with args (plus -addr on a free loopback
// port) and waits until /healthz answers. Its JSON logs (stderr) are kept.
func startBrokerage(t *testing.T, args ...string) *brokerage {
	t.Helper()
	bin := brokerageBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	b := &brokerage{URL: "http://" + addr, logs: &syncBuffer{}, done: make(chan struct{})}
	b.cmd = exec.Command(bin, append([]string{"-addr", addr}, args...)...)
	// Only the options given here: no HOVIYAT_* from the caller's
	// environment (HOVIYAT_STORE, HOVIYAT_VISION, ...).
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "HOVIYAT_") {
			b.cmd.Env = append(b.cmd.Env, e)
		}
	}
	b.cmd.Stderr = b.logs
	require.NoError(t, b.cmd.Start())
	go func() {
		b.waitEr = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() { b.stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(b.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b
			}
		}
		select {
		case <-b.done:
			t.Fatalf("brokerage exited: %v\n%s", b.waitEr, tail(b.logs.String(), 4000))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("brokerage did not answer /healthz within 60 s\n%s", tail(b.logs.String(), 4000))
		}
	}
}

// stop sends SIGTERM (graceful shutdown) and waits; SIGKILL after 30 s.
func (b *brokerage) stop(t *testing.T) {
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

// writeRegistryDir writes a registry/memory directory with the people of
// ids (no photos: -vision=fake gives each the kyctest photo).
func writeRegistryDir(t *testing.T, ids []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, id := range ids {
		rec := map[string]any{"national_id": id, "first_name": "آزمون", "last_name": "کاربر", "father_name": "پدر",
			"gender": "male", "birth_date": "1370/01/15", "alive": true, "native": true,
			"mobiles": []string{mobileOf(id)}}
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, id+".json"), b, 0o600))
	}
	return dir
}

// mobileOf is the mobile the scenarios register to a national ID (as
// kyctest.Harness.AddPerson does).
func mobileOf(id string) string { return "0912" + id[3:10] }

// apiClient talks to the brokerage API.
type apiClient struct {
	hc    *http.Client
	token string
}

func newAPIClient(token string) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 2000, 1000
	return &apiClient{hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, token: token}
}

// apiReply is an answer: status and the decoded JSON body.
type apiReply struct {
	Status int
	Body   map[string]any
	Raw    []byte
	Header http.Header
}

// code returns the error code of an error answer ("" otherwise).
func (r apiReply) code() string {
	if e, ok := r.Body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (r apiReply) str(key string) string {
	s, _ := r.Body[key].(string)
	return s
}

func (c *apiClient) do(ctx context.Context, method, url, ctype string, body io.Reader, operator bool) (apiReply, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return apiReply{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if operator {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return apiReply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return apiReply{}, err
	}
	r := apiReply{Status: resp.StatusCode, Raw: raw, Header: resp.Header}
	_ = json.Unmarshal(raw, &r.Body)
	return r, nil
}

func (c *apiClient) postJSON(ctx context.Context, url string, v any) (apiReply, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return apiReply{}, err
	}
	return c.do(ctx, http.MethodPost, url, "application/json", bytes.NewReader(b), false)
}

// applicantBody is the JSON of inquiry, OTP and session requests.
func applicantBody(id string) map[string]string {
	return map[string]string{"national_id": id, "birth_date": "1370/01/15", "mobile": mobileOf(id)}
}

// confirmOTP sends a code through replica from, reads it from that
// replica's dev endpoint (the codes stay in the sending process) and
// confirms it through replica to.
func (c *apiClient) confirmOTP(ctx context.Context, from, to, id string) error {
	r, err := c.postJSON(ctx, from+"/api/otp", applicantBody(id))
	if err != nil || r.Status != http.StatusOK {
		return fmt.Errorf("send OTP: %d %s %v", r.Status, r.Raw, err)
	}
	r, err = c.do(ctx, http.MethodGet, from+"/api/dev/otp/"+mobileOf(id), "", nil, true)
	if err != nil || r.Status != http.StatusOK {
		return fmt.Errorf("dev OTP: %d %s %v", r.Status, r.Raw, err)
	}
	r, err = c.postJSON(ctx, to+"/api/otp/confirm", map[string]string{"national_id": id, "code": r.str("code")})
	if err != nil || r.Status != http.StatusOK {
		return fmt.Errorf("confirm OTP: %d %s %v", r.Status, r.Raw, err)
	}
	return nil
}

// upload posts video as the multipart field "video".
func (c *apiClient) upload(ctx context.Context, base, sessionID string, video []byte) (apiReply, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("video", "selfie.webm")
	if err != nil {
		return apiReply{}, err
	}
	if _, err := fw.Write(video); err != nil {
		return apiReply{}, err
	}
	if err := mw.Close(); err != nil {
		return apiReply{}, err
	}
	return c.do(ctx, http.MethodPost, base+"/api/sessions/"+sessionID+"/video", mw.FormDataContentType(), &buf, false)
}

// videoBytes returns a kyctest video's bytes.
func videoBytes(t testing.TB, s kyctest.VideoSpec) []byte {
	b, err := io.ReadAll(kyctest.Video(s))
	require.NoError(t, err)
	return b
}
