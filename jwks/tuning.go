package jwks

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// tuning is the resolved fetch settings of one source: the Cache's
// Options, with the fields a RemoteOptions sets overriding them.
type tuning struct {
	minTTL, maxTTL time.Duration
	maxStale       time.Duration
	timeout        time.Duration
	cooldown       time.Duration
	background     bool
	// clients by netPolicy, for sources with their own timeout or roots;
	// the cache's otherwise.
	clients *[3]*http.Client
	// key is "" for the cache's defaults, else what tells these settings
	// apart in the sharing key of a source.
	key string
}

// tuned reports whether ro overrides any fetch setting of the cache.
func (ro RemoteOptions) tuned() bool {
	return ro.MinTTL != 0 || ro.MaxTTL != 0 || ro.MaxStale != 0 || ro.Timeout != 0 ||
		ro.Cooldown != 0 || len(ro.RootCAs) > 0 || ro.Background
}

// checkTuning refuses settings that make no sense. A zero field takes the
// cache's value.
func (ro RemoteOptions) checkTuning() error {
	switch {
	case ro.MinTTL < 0 || ro.MaxTTL < 0 || ro.MaxStale < 0 || ro.Timeout < 0 || ro.Cooldown < 0:
		return errors.New("jwks: negative MinTTL, MaxTTL, MaxStale, Timeout or Cooldown")
	case ro.MinTTL > 0 && ro.MaxTTL > 0 && ro.MinTTL > ro.MaxTTL:
		return fmt.Errorf("jwks: MinTTL %s above MaxTTL %s", ro.MinTTL, ro.MaxTTL)
	}
	return nil
}

// tuningLocked resolves ro's fetch settings against the cache's; sources
// with the same settings share one set of clients. c.mu must be held.
func (c *Cache) tuningLocked(ro RemoteOptions) (*tuning, error) {
	if !ro.tuned() {
		return c.base, nil
	}
	if err := ro.checkTuning(); err != nil {
		return nil, err
	}
	t := *c.base
	pick := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	t.minTTL = pick(ro.MinTTL, t.minTTL)
	t.maxTTL = max(pick(ro.MaxTTL, t.maxTTL), t.minTTL)
	t.maxStale = pick(ro.MaxStale, t.maxStale)
	t.timeout = pick(ro.Timeout, t.timeout)
	t.cooldown = pick(ro.Cooldown, t.cooldown)
	t.background = ro.Background
	var roots [32]byte
	if len(ro.RootCAs) > 0 {
		roots = sha256.Sum256(ro.RootCAs)
	}
	t.key = fmt.Sprintf("ttl=%s-%s stale=%s timeout=%s cooldown=%s bg=%t roots=%x",
		t.minTTL, t.maxTTL, t.maxStale, t.timeout, t.cooldown, t.background, roots)
	if ro.Timeout == 0 && len(ro.RootCAs) == 0 {
		return &t, nil
	}
	ckey := fmt.Sprintf("%s %x", t.timeout, roots)
	if cl, ok := c.tunedClients[ckey]; ok {
		t.clients = cl
		return &t, nil
	}
	cl, err := c.newClients(t.timeout, ro.RootCAs)
	if err != nil {
		return nil, err
	}
	if c.tunedClients == nil {
		c.tunedClients = make(map[string]*[3]*http.Client)
	}
	c.tunedClients[ckey] = cl
	t.clients = cl
	return &t, nil
}

// newClients builds the clients of sources with their own fetch timeout
// or root CAs, from the configured HTTPClient as the cache's own clients
// are (same redirect policy and address checks). With rootsPEM, the
// certificates in it are the only roots trusted: the system pool is not
// consulted for those sources.
func (c *Cache) newClients(timeout time.Duration, rootsPEM []byte) (*[3]*http.Client, error) {
	base := c.userClient
	if base != nil {
		cp := *base
		cp.Timeout = timeout // this source's bound, not the cache's
		base = &cp
	}
	hc := httpClient(base, timeout)
	ownDialer := base == nil || base.Transport == nil
	if len(rootsPEM) > 0 {
		pool, err := RootCAs(rootsPEM)
		if err != nil {
			return nil, err
		}
		var t *http.Transport
		switch bt := hc.Transport.(type) {
		case nil:
			t = http.DefaultTransport.(*http.Transport).Clone()
		case *http.Transport:
			t = bt.Clone()
		default:
			return nil, errors.New("jwks: root CAs need the HTTPClient's transport to be an *http.Transport")
		}
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		} else {
			t.TLSClientConfig = t.TLSClientConfig.Clone()
		}
		t.TLSClientConfig.RootCAs = pool
		hc.Transport = t
	}
	var cl [3]*http.Client
	for _, p := range []netPolicy{anyAddress, publicOnly, publicOrLoopback} {
		cl[p] = clientFor(hc, p, timeout, ownDialer)
	}
	return &cl, nil
}

// ttl clamps a response's max-age into [minTTL, maxTTL].
func (t *tuning) ttl(maxAge time.Duration) time.Duration {
	if maxAge < 0 {
		maxAge = DefaultTTL
	}
	return min(max(maxAge, t.minTTL), t.maxTTL)
}

// RootCAs parses a PEM bundle of root certificates (RemoteOptions.RootCAs).
// It fails when the bundle holds no certificate.
func RootCAs(pemBytes []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, errors.New("jwks: root CAs: no PEM certificate found")
	}
	return pool, nil
}
