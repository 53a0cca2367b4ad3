package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cippbot/cippbot/bot"
)

// metrics holds cippbot's Prometheus series in its own registry (no
// package globals) and satisfies bot.Metrics.
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	approvalWait prometheus.Histogram
	audit        *prometheus.CounterVec
	graph        *prometheus.HistogramVec
	throttled    *prometheus.CounterVec
}

var _ bot.Metrics = (*metrics)(nil)

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cippbot_requests_total", Help: "Requests handled, by platform, action and outcome.",
		}, []string{"platform", "action", "outcome"}),
		approvalWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "cippbot_approval_wait_seconds", Help: "Time from a request to its approval, denial or expiry.",
			Buckets: []float64{10, 30, 60, 120, 300, 600, 900, 1800, 3600},
		}),
		audit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cippbot_audit_records_total", Help: "Audit records written, by kind.",
		}, []string{"kind"}),
		graph: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cippbot_graph_request_duration_seconds", Help: "Microsoft Graph HTTP exchanges, by tenant and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"tenant", "status"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cippbot_graph_throttled_total", Help: "Microsoft Graph answers 429, 503 or 504, by tenant.",
		}, []string{"tenant"}),
	}
	m.reg.MustRegister(m.requests, m.approvalWait, m.audit, m.graph, m.throttled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Request implements bot.Metrics.
func (m *metrics) Request(platform, action, outcome string) {
	m.requests.WithLabelValues(platform, action, outcome).Inc()
}

// ApprovalWait implements bot.Metrics.
func (m *metrics) ApprovalWait(d time.Duration) { m.approvalWait.Observe(d.Seconds()) }

// AuditRecord implements bot.Metrics.
func (m *metrics) AuditRecord(kind string) { m.audit.WithLabelValues(kind).Inc() }

// graphExchange records one Graph HTTP exchange; it is the m365 observer.
func (m *metrics) graphExchange(tenantID string, status int, d time.Duration) {
	m.graph.WithLabelValues(tenantID, strconv.Itoa(status)).Observe(d.Seconds())
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout {
		m.throttled.WithLabelValues(tenantID).Inc()
	}
}

// handler serves the registry in Prometheus's text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
