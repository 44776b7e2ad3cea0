package httpreg_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/httpreg"
)

// The client-level fuzzers put arbitrary answers (status, content type,
// body) on the wire of a real HTTP server and check what Lookup and Owns
// make of them: no panic; a success is consistent with the question; and
// every failure is a *registry.Error naming the dependency, with a known
// kind. They complement FuzzDecodePerson and FuzzDecodeOwnership, which
// fuzz the decoders alone.

// fuzzAnswer is the answer the fixture server gives next.
type fuzzAnswer struct {
	mu     sync.Mutex
	status int
	ctype  string
	body   []byte
}

func (a *fuzzAnswer) set(status uint16, ctype string, body []byte) {
	a.mu.Lock()
	// Final statuses only: net/http panics on codes outside 100-999, and
	// 1xx are informational.
	a.status, a.ctype, a.body = 200+int(status)%400, ctype, body
	a.mu.Unlock()
}

func (a *fuzzAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	status, ctype, body := a.status, a.ctype, a.body
	a.mu.Unlock()
	if ctype != "" {
		w.Header()["Content-Type"] = []string{ctype}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// fuzzClient starts the server and a client without retries or breaker.
func fuzzClient(f *testing.F) (*httpreg.Client, *fuzzAnswer) {
	a := &fuzzAnswer{}
	srv := httptest.NewServer(a)
	f.Cleanup(srv.Close)
	c, err := httpreg.New(httpreg.Config{BaseURL: srv.URL, MaxAttempts: 1, Timeout: 5 * time.Second, BreakerThreshold: -1})
	require.NoError(f, err)
	return c, a
}

var fuzzKinds = []string{registry.KindMalformed, registry.KindStatus, registry.KindNotFound, registry.KindNetwork, registry.KindTimeout}

// requireRegistryError checks the typed-error property.
func requireRegistryError(t *testing.T, err error, dep registry.Dependency) *registry.Error {
	t.Helper()
	var re *registry.Error
	require.True(t, errors.As(err, &re), "untyped error %T: %v", err, err)
	require.Equal(t, dep, re.Dependency)
	require.Contains(t, fuzzKinds, re.Kind, "%v", err)
	require.Contains(t, err.Error(), string(dep))
	return re
}

func FuzzClientLookupResponse(f *testing.F) {
	c, answer := fuzzClient(f)
	id := registry.NationalID("0499370899")
	birth := registry.Date{Year: 1370, Month: 1, Day: 15}
	f.Add(uint16(0), "application/json", []byte(`{"national_id":"0499370899","first_name":"سارا","last_name":"احمدی","father_name":"رضا","gender":"female","birth_date":"1370/01/15","alive":true,"native":true}`))
	f.Add(uint16(204), "application/json", []byte(`{"error":"not_found"}`))
	f.Add(uint16(303), "application/json; charset=utf-8", []byte(`{"error":"unavailable","message":"maintenance"}`))
	f.Add(uint16(0), "text/html", []byte(`<html>gateway</html>`))
	f.Add(uint16(0), "application/json", []byte(`{"national_id": "04993`))
	f.Fuzz(func(t *testing.T, status uint16, ctype string, body []byte) {
		answer.set(status, ctype, body)
		p, err := c.Lookup(context.Background(), id, birth)
		if err == nil {
			require.Equal(t, id, p.NationalID)
			require.Equal(t, birth, p.BirthDate)
			require.Contains(t, []registry.Gender{registry.Male, registry.Female}, p.Gender)
			return
		}
		re := requireRegistryError(t, err, registry.DepCivilRegistry)
		if re.Kind == registry.KindNotFound {
			require.ErrorIs(t, err, registry.ErrNotFound)
		} else {
			require.ErrorIs(t, err, registry.ErrUnavailable)
		}
	})
}

func FuzzClientOwnershipResponse(f *testing.F) {
	c, answer := fuzzClient(f)
	f.Add(uint16(0), "application/json", []byte(`{"owned":true}`))
	f.Add(uint16(0), "application/json", []byte(`{"owned":"yes"}`))
	f.Add(uint16(300), "application/json", []byte(`{"error":"unavailable"}`))
	f.Add(uint16(0), "", []byte(`{"owned":false}`))
	f.Fuzz(func(t *testing.T, status uint16, ctype string, body []byte) {
		answer.set(status, ctype, body)
		_, err := c.Owns(context.Background(), "0499370899", "09121234567")
		if err == nil {
			return
		}
		re := requireRegistryError(t, err, registry.DepMobileOwnership)
		require.NotEqual(t, registry.KindNotFound, re.Kind, "ownership has no not-found answer")
		require.ErrorIs(t, err, registry.ErrUnavailable)
	})
}
