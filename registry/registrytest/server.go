package registrytest

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/httpreg"
	"github.com/hoviyat/hoviyat/registry/memory"
)

// FaultKind names a misbehaviour the Server can inject.
type FaultKind string

// Fault kinds.
const (
	// FaultStatus answers with Fault.Status (default 503) and a JSON
	// error body.
	FaultStatus FaultKind = "status"
	// FaultMalformed answers 200 with a truncated JSON body.
	FaultMalformed FaultKind = "malformed"
	// FaultReset closes the connection without answering, with a TCP
	// reset where the platform allows.
	FaultReset FaultKind = "reset"
	// FaultHang holds the request until the client gives up or the server
	// is closed, then closes the connection without answering.
	FaultHang FaultKind = "hang"
)

// Fault is one injected misbehaviour (a plain value).
type Fault struct {
	Kind   FaultKind
	Status int // for FaultStatus; 0 means 503
}

// Stats is a snapshot of what the Server saw (a plain value).
type Stats struct {
	// Requests is every request received, faulted ones included.
	Requests int64
	// Lookups and Ownerships count requests answered normally on each
	// path (200 or not-found 404), after any latency.
	Lookups    int64
	Ownerships int64
	// Faults counts requests that got an injected fault.
	Faults int64
	// Rejected counts requests refused as bad (4xx other than not found).
	Rejected int64
}

// Server is a fixture civil registry and mobile-ownership service speaking
// registry/httpreg's wire protocol on a local httptest server. Its
// methods are safe for concurrent use and may be called while requests are
// in flight. It validates requests strictly (method, content type, exact
// JSON) so a client bug shows up as a 4xx.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234", for
	// httpreg.Config.BaseURL.
	URL string

	srv     *httptest.Server
	reg     *memory.Registry
	closing chan struct{}
	once    sync.Once

	mu         sync.Mutex
	queue      []Fault
	always     *Fault
	latency    time.Duration
	authHeader string
	authValue  string

	requests, lookups, ownerships, faults, rejected atomic.Int64
}

// NewServer starts a Server loaded with fx. It panics if fx is invalid, as
// httptest.NewServer panics when it cannot listen: both are test set-up
// mistakes. Close it when done.
func NewServer(fx Fixtures) *Server {
	if err := fx.Validate(); err != nil {
		panic(err.Error())
	}
	reg := memory.New()
	for _, p := range fx.People {
		if err := reg.Add(p); err != nil {
			panic("registrytest: " + err.Error())
		}
	}
	for m, id := range fx.Mobiles {
		if err := reg.SetMobile(id, m); err != nil {
			panic("registrytest: " + err.Error())
		}
	}
	s := &Server{reg: reg, closing: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc(httpreg.LookupPath, s.lookup)
	mux.HandleFunc(httpreg.OwnershipPath, s.ownership)
	s.srv = httptest.NewServer(s.wrap(mux))
	s.URL = s.srv.URL
	return s
}

// Close stops the server, releasing hanging requests first.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.Close()
	})
}

// Registry returns the records the server answers from; add people or
// mobiles to it while the server runs.
func (s *Server) Registry() *memory.Registry { return s.reg }

// Inject queues f for the next n requests (in arrival order), after any
// earlier queued faults.
func (s *Server) Inject(n int, f Fault) {
	f = checkFault(f)
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.queue = append(s.queue, f)
	}
}

// InjectAlways applies f to every request (after the queue is used up)
// until Clear.
func (s *Server) InjectAlways(f Fault) {
	f = checkFault(f)
	s.mu.Lock()
	s.always = &f
	s.mu.Unlock()
}

// SetLatency delays every request by d before it is answered or faulted.
// The delay ends early if the client goes away.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// RequireHeader makes the server answer 401 to requests whose header name
// is not exactly value, to test an authorisation hook. An empty name turns
// the check off.
func (s *Server) RequireHeader(name, value string) {
	s.mu.Lock()
	s.authHeader, s.authValue = name, value
	s.mu.Unlock()
}

// Clear removes queued and permanent faults and the latency.
func (s *Server) Clear() {
	s.mu.Lock()
	s.queue, s.always, s.latency = nil, nil, 0
	s.mu.Unlock()
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:   s.requests.Load(),
		Lookups:    s.lookups.Load(),
		Ownerships: s.ownerships.Load(),
		Faults:     s.faults.Load(),
		Rejected:   s.rejected.Load(),
	}
}

func checkFault(f Fault) Fault {
	switch f.Kind {
	case FaultStatus:
		if f.Status == 0 {
			f.Status = http.StatusServiceUnavailable
		}
		if f.Status < 100 || f.Status > 999 {
			panic("registrytest: fault status out of range")
		}
	case FaultMalformed, FaultReset, FaultHang:
	default:
		panic("registrytest: unknown fault kind " + string(f.Kind))
	}
	return f
}

// next takes this request's fault and latency.
func (s *Server) next() (*Fault, time.Duration, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var f *Fault
	if len(s.queue) > 0 {
		f = &s.queue[0]
		s.queue = s.queue[1:]
	} else if s.always != nil {
		f = s.always
	}
	return f, s.latency, s.authHeader, s.authValue
}

// wrap applies latency, faults and the header check before the handlers.
func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		fault, latency, authName, authValue := s.next()
		if latency > 0 {
			t := time.NewTimer(latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.closing:
				t.Stop()
				return
			}
		}
		if fault != nil {
			s.faults.Add(1)
			s.inject(w, r, *fault)
			return
		}
		if authName != "" && r.Header.Get(authName) != authValue {
			s.reject(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) inject(w http.ResponseWriter, r *http.Request, f Fault) {
	switch f.Kind {
	case FaultStatus:
		writeJSON(w, f.Status, httpreg.ErrorResponse{Error: "injected_fault", Message: "registrytest: injected status"})
	case FaultMalformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"national_id": "04993`)
	case FaultReset:
		resetConn(w)
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		resetConn(w)
	}
}

// resetConn hijacks the connection and closes it unanswered; on TCP it
// sets linger 0 so the peer sees a reset rather than a clean close.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (s *Server) reject(w http.ResponseWriter, status int, code string) {
	s.rejected.Add(1)
	writeJSON(w, status, httpreg.ErrorResponse{Error: code})
}

// decodeRequest checks method and content type and decodes the body
// strictly into v; on failure it has answered and returns false.
func (s *Server) decodeRequest(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.reject(w, http.StatusMethodNotAllowed, "method_not_allowed")
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.reject(w, http.StatusUnsupportedMediaType, "unsupported_media_type")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		s.reject(w, http.StatusBadRequest, "bad_request")
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		s.reject(w, http.StatusBadRequest, "bad_request")
		return false
	}
	return true
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	var req httpreg.LookupRequest
	if !s.decodeRequest(w, r, &req) {
		return
	}
	if !req.NationalID.Valid() || req.BirthDate.Validate() != nil {
		s.reject(w, http.StatusBadRequest, "bad_request")
		return
	}
	p, err := s.reg.Lookup(r.Context(), req.NationalID, req.BirthDate)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		s.lookups.Add(1)
		writeJSON(w, http.StatusNotFound, httpreg.ErrorResponse{Error: httpreg.ErrorCodeNotFound})
	case err != nil: // the request's ctx ended; nobody is listening
		writeJSON(w, http.StatusServiceUnavailable, httpreg.ErrorResponse{Error: "unavailable"})
	default:
		s.lookups.Add(1)
		writeJSON(w, http.StatusOK, p)
	}
}

func (s *Server) ownership(w http.ResponseWriter, r *http.Request) {
	var req httpreg.OwnershipRequest
	if !s.decodeRequest(w, r, &req) {
		return
	}
	if !req.NationalID.Valid() || !req.Mobile.Valid() {
		s.reject(w, http.StatusBadRequest, "bad_request")
		return
	}
	owned, err := s.reg.Owns(r.Context(), req.NationalID, req.Mobile)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, httpreg.ErrorResponse{Error: "unavailable"})
		return
	}
	s.ownerships.Add(1)
	writeJSON(w, http.StatusOK, httpreg.OwnershipResponse{Owned: owned})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
