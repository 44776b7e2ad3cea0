package registrytest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/httpreg"
	"github.com/hoviyat/hoviyat/registry/registrytest"
)

func post(t *testing.T, url, contentType, body string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestServerProtocol(t *testing.T) {
	t.Parallel()
	srv := registrytest.NewServer(registrytest.DefaultFixtures())
	defer srv.Close()
	lookup, own := srv.URL+httpreg.LookupPath, srv.URL+httpreg.OwnershipPath
	const js = "application/json"
	tests := []struct {
		name, url, ctype, body string
		status                 int
		want                   string
	}{
		{"lookup", lookup, js, `{"national_id":"0013542419","birth_date":"1340/11/20"}`, 200, `"alive":false`},
		{"lookup not found", lookup, js, `{"national_id":"0013542419","birth_date":"1340/11/21"}`, 404, `{"error":"not_found"}`},
		{"ownership yes", own, js, `{"national_id":"0499370899","mobile":"09121234567"}`, 200, `{"owned":true}`},
		{"ownership no", own, js, `{"national_id":"0790419904","mobile":"09121234567"}`, 200, `{"owned":false}`},
		{"charset is fine", own, js + "; charset=utf-8", `{"national_id":"0499370899","mobile":"09121234567"}`, 200, `{"owned":true}`},
		{"wrong content type", lookup, "text/plain", `{"national_id":"0013542419","birth_date":"1340/11/20"}`, 415, "unsupported_media_type"},
		{"unknown field", lookup, js, `{"national_id":"0013542419","birth_date":"1340/11/20","x":1}`, 400, "bad_request"},
		{"trailing data", lookup, js, `{"national_id":"0013542419","birth_date":"1340/11/20"}{}`, 400, "bad_request"},
		{"not canonical", lookup, js, `{"national_id":"13542419","birth_date":"1340/11/20"}`, 400, "bad_request"},
		{"bad date", lookup, js, `{"national_id":"0013542419","birth_date":"1340/13/20"}`, 400, "bad_request"},
		{"bad mobile", own, js, `{"national_id":"0499370899","mobile":"+989121234567"}`, 400, "bad_request"},
		{"unknown path", srv.URL + "/v2/civil/lookup", js, `{}`, 404, "404 page not found"},
	}
	for _, tt := range tests {
		resp, body, err := post(t, tt.url, tt.ctype, tt.body)
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.status, resp.StatusCode, tt.name)
		assert.Contains(t, body, tt.want, tt.name)
	}

	// The lookup answer is registry.Person's JSON.
	_, body, err := post(t, lookup, js, `{"national_id":"0499370899","birth_date":"1370/01/15"}`)
	require.NoError(t, err)
	var p registry.Person
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	assert.Equal(t, registrytest.DefaultFixtures().People[0], p)

	resp, err := http.Get(lookup)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	st := srv.Stats()
	assert.EqualValues(t, len(tests)+2, st.Requests)
	assert.EqualValues(t, 3, st.Lookups)
	assert.EqualValues(t, 3, st.Ownerships)
	assert.EqualValues(t, 7, st.Rejected)
	assert.Zero(t, st.Faults)
}

func TestServerFaults(t *testing.T) {
	t.Parallel()
	srv := registrytest.NewServer(registrytest.DefaultFixtures())
	defer srv.Close()
	url := srv.URL + httpreg.OwnershipPath
	const body = `{"national_id":"0499370899","mobile":"09121234567"}`

	// The queue applies in order, then the permanent fault, then nothing.
	srv.Inject(1, registrytest.Fault{Kind: registrytest.FaultStatus, Status: 502})
	srv.Inject(1, registrytest.Fault{Kind: registrytest.FaultMalformed})
	srv.Inject(1, registrytest.Fault{Kind: registrytest.FaultReset})
	srv.InjectAlways(registrytest.Fault{Kind: registrytest.FaultStatus})

	resp, b, err := post(t, url, "application/json", body)
	require.NoError(t, err)
	assert.Equal(t, 502, resp.StatusCode)
	assert.Contains(t, b, "injected_fault")

	resp, b, err = post(t, url, "application/json", body)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Error(t, json.Unmarshal([]byte(b), new(any)), "malformed body %q", b)

	_, _, err = post(t, url, "application/json", body)
	assert.Error(t, err, "reset")

	for range 2 {
		resp, _, err = post(t, url, "application/json", body)
		require.NoError(t, err)
		assert.Equal(t, 503, resp.StatusCode)
	}
	srv.Clear()
	resp, b, err = post(t, url, "application/json", body)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `{"owned":true}`, b)

	st := srv.Stats()
	assert.EqualValues(t, 6, st.Requests)
	assert.EqualValues(t, 5, st.Faults)
	assert.EqualValues(t, 1, st.Ownerships)

	assert.Panics(t, func() { srv.Inject(1, registrytest.Fault{Kind: "nope"}) })
	assert.Panics(t, func() { srv.InjectAlways(registrytest.Fault{Kind: registrytest.FaultStatus, Status: 42}) })
}

// TestServerHangAndClose: a hanging request ends when the client gives up,
// and Close does not wait for hanging requests.
func TestServerHangAndClose(t *testing.T) {
	t.Parallel()
	srv := registrytest.NewServer(registrytest.DefaultFixtures())
	srv.InjectAlways(registrytest.Fault{Kind: registrytest.FaultHang})
	url := srv.URL + httpreg.OwnershipPath

	client := &http.Client{Timeout: 50 * time.Millisecond}
	_, err := client.Post(url, "application/json", strings.NewReader(`{}`))
	require.Error(t, err)

	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{}`))
		if err == nil {
			resp.Body.Close()
			err = errors.New("hanging request answered")
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return srv.Stats().Requests == 2 }, 5*time.Second, time.Millisecond)
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a hanging request")
	}
	assert.Error(t, <-done)
	srv.Close() // idempotent
}

func TestServerLatencyAndAuth(t *testing.T) {
	t.Parallel()
	srv := registrytest.NewServer(registrytest.DefaultFixtures())
	defer srv.Close()
	url := srv.URL + httpreg.OwnershipPath
	const body = `{"national_id":"0499370899","mobile":"09121234567"}`

	srv.SetLatency(100 * time.Millisecond)
	start := time.Now()
	resp, _, err := post(t, url, "application/json", body)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "latency was not applied")
	srv.SetLatency(0)

	srv.RequireHeader("X-Api-Key", "k")
	resp, b, err := post(t, url, "application/json", body)
	require.NoError(t, err)
	assert.Equal(t, 401, resp.StatusCode)
	assert.Contains(t, b, "unauthorized")
	srv.RequireHeader("", "")
	resp, _, err = post(t, url, "application/json", body)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
}

func TestServerRegistryAtRunTime(t *testing.T) {
	t.Parallel()
	srv := registrytest.NewServer(registrytest.DefaultFixtures())
	defer srv.Close()
	url := srv.URL + httpreg.OwnershipPath
	const body = `{"national_id":"0790419904","mobile":"09121234567"}`
	_, b, err := post(t, url, "application/json", body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"owned":false}`, b)
	require.NoError(t, srv.Registry().SetMobile("0790419904", "09121234567"))
	_, b, err = post(t, url, "application/json", body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"owned":true}`, b)
}

func TestNewServerPanicsOnBadFixtures(t *testing.T) {
	t.Parallel()
	fx := registrytest.DefaultFixtures()
	fx.People[0].NationalID = "1"
	assert.Panics(t, func() { registrytest.NewServer(fx) })
}
