package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// metrics are the serve command's Prometheus series, on a registry of its
// own. Issuer labels are config names, so their number is bounded by the
// config, never by tokens.
type metrics struct {
	reg           *prometheus.Registry
	verifications *prometheus.CounterVec
	fetches       *prometheus.CounterVec
	fetchSeconds  *prometheus.HistogramVec
	cacheHits     prometheus.Counter
	cacheMisses   prometheus.Counter
	responses     *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantjwt_verifications_total",
			Help: "Token verifications by issuer and result (ok or the rejection cause).",
		}, []string{"issuer", "result"}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantjwt_jwks_fetches_total",
			Help: "JWKS and discovery fetches by issuer and outcome.",
		}, []string{"issuer", "outcome"}),
		fetchSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tenantjwt_jwks_fetch_duration_seconds",
			Help:    "Duration of JWKS and discovery fetches.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"issuer"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tenantjwt_token_cache_hits_total",
			Help: "Verifications answered by the verified-token cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tenantjwt_token_cache_misses_total",
			Help: "Verifications of trusted issuers that needed a signature check.",
		}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantjwt_forward_auth_responses_total",
			Help: "Responses of /verify by status code.",
		}, []string{"code"}),
	}
	m.reg.MustRegister(m.verifications, m.fetches, m.fetchSeconds, m.cacheHits, m.cacheMisses, m.responses,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// verified is the registry hook.
func (m *metrics) verified(ev issuer.VerifyEvent) {
	m.verifications.WithLabelValues(ev.Issuer, result(ev.Err)).Inc()
	switch {
	case ev.CacheHit:
		m.cacheHits.Inc()
	case ev.Issuer != "":
		m.cacheMisses.Inc()
	}
}

// fetched is the key cache hook.
func (m *metrics) fetched(ev jwks.FetchEvent) {
	outcome := "ok"
	if ev.Err != nil {
		outcome = "error"
	}
	m.fetches.WithLabelValues(ev.Label, outcome).Inc()
	m.fetchSeconds.WithLabelValues(ev.Label).Observe(ev.Duration.Seconds())
}

// result names the cause of a rejection with the library's fixed, small
// vocabulary (tenantjwt.CauseName).
func result(err error) string { return tenantjwt.CauseName(err) }
