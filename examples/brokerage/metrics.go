package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hoviyat/hoviyat/kyc"
)

// Metrics holds the server's Prometheus collectors on a registry of its
// own and implements kyc.Observer. Label values come only from closed
// sets (outcomes, catalogue reason codes, stage names, route patterns,
// status codes), so a national ID or mobile can never become a label.
// Safe for concurrent use.
type Metrics struct {
	reg       *prometheus.Registry
	decisions *prometheus.CounterVec
	reasons   *prometheus.CounterVec
	stages    *prometheus.HistogramVec
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	limited   *prometheus.CounterVec
	uploads   prometheus.Gauge
}

var _ kyc.Observer = (*Metrics)(nil)

// knownStages are the stage names kyc.Observer documents; anything else
// is counted as "other" to keep the label set closed.
var knownStages = map[string]bool{
	"inquiry": true, "otp_send": true, "begin": true, "spool": true, "registry": true,
	"mobile_ownership": true, "charge": true, "queue": true, "detect": true, "match": true,
	"vault": true, "store": true, "submit": true,
}

// NewMetrics returns the collectors registered on a new registry, with
// the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hoviyat_decisions_total",
			Help: "Decisions returned by Submit and Review, by outcome.",
		}, []string{"outcome"}),
		reasons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hoviyat_decision_reasons_total",
			Help: "Reason codes of decisions, by outcome and reason (a decision with two reasons counts twice).",
		}, []string{"outcome", "reason"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hoviyat_stage_duration_seconds",
			Help:    "Duration of each verification stage, by stage and result (ok or error).",
			Buckets: []float64{.001, .005, .025, .1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80},
		}, []string{"stage", "result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hoviyat_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hoviyat_http_request_duration_seconds",
			Help:    "HTTP request duration by route pattern.",
			Buckets: []float64{.005, .025, .1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80},
		}, []string{"route"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hoviyat_rate_limited_total",
			Help: "Requests refused by a rate limit, by scope (ip or national_id).",
		}, []string{"scope"}),
		uploads: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hoviyat_uploads_in_flight",
			Help: "Video uploads being received or analysed now.",
		}),
	}
	m.reg.MustRegister(m.decisions, m.reasons, m.stages, m.requests, m.latency, m.limited, m.uploads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveStage implements kyc.Observer.
func (m *Metrics) ObserveStage(stage string, d time.Duration, err error) {
	if !knownStages[stage] {
		stage = "other"
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.stages.WithLabelValues(stage, result).Observe(d.Seconds())
}

// ObserveDecision implements kyc.Observer.
func (m *Metrics) ObserveDecision(d kyc.Decision) {
	out := string(d.Outcome)
	switch d.Outcome {
	case kyc.Approved, kyc.Rejected, kyc.Review, kyc.Locked:
	default:
		out = "other"
	}
	m.decisions.WithLabelValues(out).Inc()
	for _, r := range d.Reasons {
		code := string(r)
		if !r.Known() {
			code = "unknown"
		}
		m.reasons.WithLabelValues(out, code).Inc()
	}
}

// observeRequest counts one HTTP request. route is the ServeMux pattern
// (never the path, which may hold a national ID).
func (m *Metrics) observeRequest(route, method string, code int, d time.Duration) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodPatch:
	default:
		method = "other"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
