package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/policy/geoip"
)

//go:embed web
var webFiles embed.FS

// Config builds a Server. The Verifier (with Metrics as its Observer, so
// stage timings and decisions are exported) is required; zero values of
// the other fields mean the documented defaults. NewServer copies it.
type Config struct {
	// Verifier runs the ceremony. Required.
	Verifier *kyc.Verifier
	// Metrics collects and serves the Prometheus metrics. Default: a new
	// set (then the Verifier's stage metrics are missing unless it was
	// built with the same Metrics as Observer).
	Metrics *Metrics
	// Logger receives structured logs. Default: discard.
	Logger *slog.Logger
	// TrustedProxies are the proxies whose X-Forwarded-For is believed
	// (policy/geoip.ClientIP).
	TrustedProxies []netip.Prefix
	// OperatorToken protects /api/reviews and /api/dev/otp as a bearer
	// token; empty disables those endpoints (401).
	OperatorToken string
	// MaxUploadBytes caps a video upload. Default 50 MiB. The Verifier's
	// MaxVideoBytes should be the same.
	MaxUploadBytes int64
	// IPRate and IPBurst limit API requests per client IP; IDRate and
	// IDBurst requests per national ID. A zero rate disables the limit.
	IPRate  float64
	IPBurst int
	IDRate  float64
	IDBurst int
	// Vision is "real" or "fake"; the page warns when it is fake.
	Vision string
	// VisionModels names the models in use, shown by /api/config.
	VisionModels map[string]string
	// DevGeo reports that -geoip=dev is on; the page warns about it.
	DevGeo bool
	// DevOTP, when set, is the console OTP sender whose last codes the
	// operator can read at GET /api/dev/otp/{mobile} (development only).
	DevOTP *ConsoleOTP
	// Inspector draws an attempt's pictures for operators (GET
	// /api/reviews/{attemptID}/inspect); nil answers 501.
	Inspector *Inspector
	// RecordSeconds is how long the page records. Default 5.
	RecordSeconds int
	// Now is the rate limiters' clock. Default time.Now.
	Now func() time.Time
}

// Server is the brokerage example's HTTP handler: the JSON API under
// /api/, the page at /, /metrics and /healthz, wrapped in security
// headers, request logging, metrics and panic recovery. Safe for
// concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	metrics  *Metrics
	mux      *http.ServeMux
	handler  http.Handler
	ipLimit  *keyedLimiter
	idLimit  *keyedLimiter
	opToken  [32]byte
	draining atomic.Bool
}

// maxLimiterKeys bounds the buckets held per limiter.
const maxLimiterKeys = 1 << 20

// NewServer validates cfg and returns a Server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("brokerage: Config.Verifier is required")
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = 50 << 20
	}
	if cfg.MaxUploadBytes < 0 {
		return nil, errors.New("brokerage: Config.MaxUploadBytes must be positive")
	}
	if cfg.RecordSeconds == 0 {
		cfg.RecordSeconds = 5
	}
	if cfg.Vision == "" {
		cfg.Vision = "real"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics, mux: http.NewServeMux(),
		ipLimit: newKeyedLimiter(cfg.IPRate, cfg.IPBurst, maxLimiterKeys, cfg.Now),
		idLimit: newKeyedLimiter(cfg.IDRate, cfg.IDBurst, maxLimiterKeys, cfg.Now)}
	if cfg.OperatorToken != "" {
		s.opToken = sha256.Sum256([]byte(cfg.OperatorToken))
	}
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		return nil, err
	}
	s.routes(web)
	s.handler = s.observe(s.securityHeaders(s.recover(s.mux)))
	return s, nil
}

// routes registers every endpoint. Each API path also gets a method-less
// fallback so a wrong method is a JSON 405, and /api/ catches unknown API
// paths with a JSON 404.
func (s *Server) routes(web fs.FS) {
	routes := []struct {
		method, path string
		h            http.HandlerFunc
	}{
		{"POST", "/api/inquiry", s.handleInquiry},
		{"POST", "/api/otp", s.handleSendOTP},
		{"POST", "/api/otp/confirm", s.handleConfirmOTP},
		{"POST", "/api/sessions", s.handleBegin},
		{"POST", "/api/sessions/{id}/video", s.handleUpload},
		{"GET", "/api/status/{nationalID}", s.handleStatus},
		{"GET", "/api/reasons", s.handleReasons},
		{"GET", "/api/config", s.handleConfig},
		{"GET", "/api/reviews", s.operator(s.handleReviews)},
		{"POST", "/api/reviews/{attemptID}", s.operator(s.handleReview)},
		{"GET", "/api/reviews/{attemptID}/inspect", s.operator(s.handleInspect)},
		{"GET", "/api/dev/otp/{mobile}", s.operator(s.handleDevOTP)},
	}
	for _, rt := range routes {
		s.mux.Handle(rt.method+" "+rt.path, s.limitIP(rt.h))
		allow := rt.method
		if allow == "GET" {
			allow = "GET, HEAD"
		}
		s.mux.HandleFunc(rt.path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "method not allowed"})
		})
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint"})
	})
	s.mux.Handle("GET /metrics", s.metrics.Handler())
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	static := http.FileServerFS(web)
	// A method-less "/" (a "GET /" would conflict with "/api/").
	s.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		static.ServeHTTP(w, r)
	}))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Drain makes /healthz report 503 so load balancers stop sending new
// requests; call it when shutdown begins.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// clientIP is the request's client address under the trusted-proxy rule.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	return geoip.ClientIP(r, s.cfg.TrustedProxies)
}

// statusWriter records the status code and bytes written.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs and counts every request by its route pattern. The URL
// path is never logged or used as a label: it may carry a national ID.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern // set by the ServeMux on this same request
		if route == "" {
			route = "unmatched"
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.observeRequest(route, r.Method, sw.status, d)
		level := slog.LevelInfo
		switch {
		case route == "GET /metrics" || route == "GET /healthz" || route == "/" && sw.status < 400:
			level = slog.LevelDebug
		case sw.status >= 500:
			level = slog.LevelError
		}
		s.log.Log(r.Context(), level, "http request", "method", r.Method, "route", route,
			"status", sw.status, "bytes", sw.bytes, "duration_ms", d.Milliseconds(), "ip", s.clientIP(r).String())
	})
}

// contentSecurityPolicy allows only this origin's scripts, styles and
// connections, and blob: media (the recorded video's preview).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=(), payment=()")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "route", r.Pattern, "panic", v)
				writeError(w, apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitIP applies the per-IP token bucket.
func (s *Server) limitIP(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := s.ipLimit.Allow(s.clientIP(r).String()); !ok {
			s.metrics.limited.WithLabelValues("ip").Inc()
			writeError(w, rateLimited(wait))
			return
		}
		next(w, r)
	})
}

// allowNationalID applies the per-national-ID token bucket; on refusal it
// writes the 429 and returns false.
func (s *Server) allowNationalID(w http.ResponseWriter, id string) bool {
	if ok, wait := s.idLimit.Allow(id); !ok {
		s.metrics.limited.WithLabelValues("national_id").Inc()
		writeError(w, rateLimited(wait))
		return false
	}
	return true
}

// operator requires the operator bearer token.
func (s *Server) operator(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if s.cfg.OperatorToken == "" || !ok || subtle.ConstantTimeCompare(sum[:], s.opToken[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hoviyat-operator"`)
			writeError(w, apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "operator token required"})
			return
		}
		next(w, r)
	}
}
