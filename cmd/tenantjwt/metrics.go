package main

import (
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// metrics are the serve command's Prometheus series, on a registry of its
// own. Issuer labels are config names, so their number is bounded by the
// config, never by tokens: one series per issuer and result for
// tenantjwt_verifications_total, one per issuer for the key series. For
// very large registries --metrics-issuer-label=false folds them into
// issuer="".
type metrics struct {
	reg           *prometheus.Registry
	issuerLabel   bool
	verifications *prometheus.CounterVec
	fetches       *prometheus.CounterVec
	fetchSeconds  *prometheus.HistogramVec
	staleServed   *prometheus.CounterVec
	cacheHits     prometheus.Counter
	cacheMisses   prometheus.Counter
	responses     *prometheus.CounterVec
	checkSeconds  *prometheus.HistogramVec
	reloadOK      prometheus.Gauge
	reloadTime    prometheus.Gauge
	suppressedLog *prometheus.CounterVec

	// byCode and byMode hold the series of checked once used, so a check
	// does not format and hash label values: byCode is indexed by status
	// (100–599), byMode by the index in checkModes.
	byCode [500]atomic.Pointer[prometheus.Counter]
	byMode [len(checkModes)]atomic.Pointer[prometheus.Observer]
	// byResult holds the tenantjwt_verifications_total series once
	// used, by verifyKey, so a verification does not hash its label
	// values through the vector. Bounded like the series themselves:
	// issuer labels of the config times rejection causes.
	byResult sync.Map
}

// verifyKey names one tenantjwt_verifications_total series.
type verifyKey struct{ issuer, result string }

// checkModes are the values of the mode label of
// tenantjwt_check_duration_seconds.
var checkModes = [...]string{"forward_auth", "ext_authz_http", "ext_authz_grpc"}

func newMetrics(issuerLabel bool) *metrics {
	m := &metrics{
		reg:         prometheus.NewRegistry(),
		issuerLabel: issuerLabel,
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
		staleServed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantjwt_jwks_stale_served_total",
			Help: "Key lookups answered from a key set past its expiry because refreshing it failed (stale-if-error).",
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
		checkSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tenantjwt_check_duration_seconds",
			Help:    "Time to answer one check, by mode (forward_auth, ext_authz_http, ext_authz_grpc).",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"mode"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenantjwt_config_reload_success",
			Help: "1 when the last load of the config file succeeded, 0 when it failed (the previous config keeps serving).",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenantjwt_config_reload_timestamp_seconds",
			Help: "Unix time of the last load attempt of the config file.",
		}),
		suppressedLog: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantjwt_log_records_suppressed_total",
			Help: "Refusal log records held back by rate limiting, by reason.",
		}, []string{"reason"}),
	}
	bv := readBuildVersion()
	revision := bv.Revision
	if bv.Modified {
		revision += "+dirty"
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "tenantjwt_build_info",
		Help:        "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{"version": bv.Version, "revision": revision, "goversion": bv.GoVersion},
	})
	buildInfo.Set(1)
	m.reg.MustRegister(m.verifications, m.fetches, m.fetchSeconds, m.staleServed, m.cacheHits, m.cacheMisses,
		m.responses, m.checkSeconds, m.reloadOK, m.reloadTime, m.suppressedLog, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// issuer returns the issuer label value.
func (m *metrics) issuer(name string) string {
	if !m.issuerLabel {
		return ""
	}
	return name
}

// verified is the registry hook.
func (m *metrics) verified(ev issuer.VerifyEvent) {
	k := verifyKey{m.issuer(ev.Issuer), tenantjwt.CauseName(ev.Err)}
	c, ok := m.byResult.Load(k)
	if !ok {
		// Racing first uses store the same series.
		c, _ = m.byResult.LoadOrStore(k, m.verifications.WithLabelValues(k.issuer, k.result))
	}
	c.(prometheus.Counter).Inc()
	switch {
	case ev.CacheHit:
		m.cacheHits.Inc()
	case ev.Issuer != "":
		m.cacheMisses.Inc()
	}
}

// fetched counts a key cache fetch.
func (m *metrics) fetched(ev jwks.FetchEvent) {
	outcome := "ok"
	if ev.Err != nil {
		outcome = "error"
	}
	m.fetches.WithLabelValues(m.issuer(ev.Label), outcome).Inc()
	m.fetchSeconds.WithLabelValues(m.issuer(ev.Label)).Observe(ev.Duration.Seconds())
}

// servedStale is the key cache's ServedStale hook.
func (m *metrics) servedStale(_, label string, _ time.Duration) {
	m.staleServed.WithLabelValues(m.issuer(label)).Inc()
}

// checked records one answered check.
func (m *metrics) checked(mode string, status int, took time.Duration) {
	if i := status - 100; i >= 0 && i < len(m.byCode) {
		c := m.byCode[i].Load()
		if c == nil {
			// Racing first uses store the same series.
			c = new(prometheus.Counter)
			*c = m.responses.WithLabelValues(strconv.Itoa(status))
			m.byCode[i].Store(c)
		}
		(*c).Inc()
	} else {
		m.responses.WithLabelValues(strconv.Itoa(status)).Inc()
	}
	if i := slices.Index(checkModes[:], mode); i >= 0 {
		o := m.byMode[i].Load()
		if o == nil {
			o = new(prometheus.Observer)
			*o = m.checkSeconds.WithLabelValues(mode)
			m.byMode[i].Store(o)
		}
		(*o).Observe(took.Seconds())
	} else {
		m.checkSeconds.WithLabelValues(mode).Observe(took.Seconds())
	}
}

// reloaded records a load of the config file.
func (m *metrics) reloaded(ok bool, at time.Time) {
	v := 0.0
	if ok {
		v = 1
	}
	m.reloadOK.Set(v)
	m.reloadTime.Set(float64(at.UnixNano()) / 1e9)
}

// suppressed counts a refusal record held back by the log limiter.
func (m *metrics) suppressed(reason string) { m.suppressedLog.WithLabelValues(reason).Inc() }

// watchKeys registers the per-issuer key series, computed at scrape time
// from the server's current registry and fetch log.
func (m *metrics) watchKeys(s *server) {
	m.reg.MustRegister(&keyCollector{s: s, m: m})
}

var (
	readyDesc = prometheus.NewDesc("tenantjwt_issuer_keys_ready",
		"1 when the issuer holds usable keys now, else 0.", []string{"issuer"}, nil)
	keysDesc = prometheus.NewDesc("tenantjwt_issuer_keys",
		"Usable keys the issuer holds now.", []string{"issuer"}, nil)
	ageDesc = prometheus.NewDesc("tenantjwt_jwks_age_seconds",
		"Seconds since the issuer's key set was last fetched successfully.", []string{"issuer"}, nil)
)

// keyCollector reads key state at scrape time: no bookkeeping on the
// verification path.
type keyCollector struct {
	s *server
	m *metrics
}

func (c *keyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- readyDesc
	ch <- keysDesc
	ch <- ageDesc
}

func (c *keyCollector) Collect(ch chan<- prometheus.Metric) {
	if !c.m.issuerLabel {
		return // per-issuer series only: nothing to fold them into
	}
	st := c.s.cur.Load()
	if st == nil {
		return
	}
	ages := c.s.fetches.ages(time.Now())
	for _, k := range st.reg.KeyStates() {
		ready := 0.0
		if k.Keys > 0 {
			ready = 1
		}
		ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, ready, k.Name)
		ch <- prometheus.MustNewConstMetric(keysDesc, prometheus.GaugeValue, float64(k.Keys), k.Name)
		if age, ok := ages[k.Name]; ok {
			ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, age.Seconds(), k.Name)
		}
	}
}
