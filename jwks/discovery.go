package jwks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantjwt/tenantjwt"
)

// Discover returns a Source for the keys of issuer found through its
// metadata: on first need it fetches issuer + "/.well-known/openid-configuration"
// (OpenID Connect Discovery), falling back to the RFC 8414
// "/.well-known/oauth-authorization-server" document on 404. The metadata's
// issuer must equal the configured issuer byte for byte (SECURITY-CASES 33).
// Its jwks_uri came from the network, not from the configuration, so it is
// held to more than CheckURL (SSRF):
//
//   - https only; http only when the configured issuer is itself on a
//     loopback host (AllowInsecureHTTP does not extend to it);
//   - with JWKSSameOrigin, the issuer's scheme, host and port;
//   - its fetches connect to public addresses only (plus loopback when the
//     issuer is on a loopback host), checked in the dialer after DNS, unless
//     AllowPrivateNetwork.
//
// Then the source behaves as a Remote of the jwks_uri. A failed discovery
// is retried no more often than RetryInterval. No request is made until
// the first lookup or Refresh.
func (c *Cache) Discover(issuer string, ro RemoteOptions) (Source, error) {
	iu, err := CheckURL(issuer, ro.AllowInsecureHTTP)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	t, err := c.tuningLocked(ro)
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	key := discoverKey(issuer, ro, t)
	d, ok := c.discover[key]
	if !ok {
		d = &discovery{c: c, issuer: issuer, issuerURL: iu, ro: ro, t: t}
		c.discover[key] = d
	}
	c.countLocked(d)
	c.mu.Unlock()
	if !ok {
		d.begin()
	}
	return d, nil
}

// discovery resolves an issuer's jwks_uri once, then delegates.
type discovery struct {
	c         *Cache
	issuer    string
	issuerURL *url.URL
	ro        RemoteOptions
	t         *tuning // fetch settings, immutable

	retired atomic.Bool // forgotten by the cache (refs.go)

	// Read lock-free on every lookup; written by fetch.
	cur      atomic.Pointer[resolved] // the key set's source, nil until resolved
	stale    atomic.Bool              // Rediscover asked for the metadata again
	flying   atomic.Bool              // flight != nil
	failedAt atomic.Int64             // Unix ns of the last failed discovery, 0: none

	mu     sync.Mutex  // protects the fields below
	flight *flight     // the discovery in progress, or nil
	timer  *time.Timer // background: the next attempt after a failure
}

// resolved is one immutable outcome of discovery: the source of the
// jwks_uri it named (always a remote), and when.
type resolved struct {
	r  *remote
	at time.Time
}

// begin resolves a new background source (RemoteOptions.Background) and
// fetches its key set, in the background, retrying a failed discovery
// every RetryInterval until it succeeds; the key set's source then keeps
// itself fresh. The cache's lock must not be held.
func (d *discovery) begin() {
	if !d.t.background || d.retired.Load() {
		return
	}
	d.c.goFetch(func(ctx context.Context) {
		if _, err := d.resolve(ctx); err == nil || d.retired.Load() || d.c.isClosed() {
			return
		}
		d.mu.Lock()
		if d.timer != nil {
			d.timer.Stop()
		}
		d.timer = time.AfterFunc(d.c.opts.RetryInterval, d.begin)
		d.mu.Unlock()
	})
}

// stop cancels the retry timer of a background discovery.
func (d *discovery) stop() {
	d.retired.Store(true)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

func (d *discovery) Current() *Set {
	if cur := d.cur.Load(); cur != nil {
		return cur.r.Current()
	}
	return nil
}

// Usable implements Expiring for the discovered key set, lock-free.
func (d *discovery) Usable() (*Set, int64) {
	if cur := d.cur.Load(); cur != nil {
		return cur.r.Usable()
	}
	return nil, 0
}

// Lookup looks kid up in the discovered key set. Once resolved, it reads
// the clock once and takes no lock (see remote.Lookup).
func (d *discovery) Lookup(ctx context.Context, kid string) (*Key, error) {
	if cur := d.cur.Load(); cur != nil {
		now := d.c.opts.Now()
		d.refreshMetadata(cur, now)
		return cur.r.lookupAt(ctx, kid, now)
	}
	r, err := d.resolve(ctx)
	if err != nil {
		return nil, err
	}
	return r.Lookup(ctx, kid)
}

// Refresh resolves the metadata and fetches the key set.
func (d *discovery) Refresh(ctx context.Context) error {
	r, err := d.resolve(ctx)
	if err != nil {
		return err
	}
	return r.Refresh(ctx)
}

// resolve returns the source of the discovered key set, discovering it
// first if need be. Once resolved it is one atomic load (and a background
// re-discovery when the metadata is due).
func (d *discovery) resolve(ctx context.Context) (*remote, error) {
	if cur := d.cur.Load(); cur != nil {
		d.refreshMetadata(cur, d.c.opts.Now())
		return cur.r, nil
	}
	d.mu.Lock()
	if cur := d.cur.Load(); cur != nil { // resolved meanwhile
		d.mu.Unlock()
		return cur.r, nil
	}
	f, isNew := d.flight, false
	if f == nil {
		if !d.retryDue(d.c.opts.Now()) {
			d.mu.Unlock()
			return nil, fmt.Errorf("jwks: discovery of %.128q failed recently: %w", d.issuer, tenantjwt.ErrKeysUnavailable)
		}
		f, isNew = d.startLocked(), true
	}
	d.mu.Unlock()
	d.launch(f, isNew)
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("jwks: discovery of %.128q: %w: %w", d.issuer, ctx.Err(), tenantjwt.ErrKeysUnavailable)
	}
	if f.err != nil {
		return nil, fmt.Errorf("%w: %w", f.err, tenantjwt.ErrKeysUnavailable)
	}
	cur := d.cur.Load()
	if cur == nil {
		return nil, fmt.Errorf("jwks: discovery of %.128q: no key set: %w", d.issuer, tenantjwt.ErrKeysUnavailable)
	}
	return cur.r, nil
}

// retryDue reports whether RetryInterval has passed since the last failed
// discovery, or none failed.
func (d *discovery) retryDue(now time.Time) bool {
	ns := d.failedAt.Load()
	return ns == 0 || !now.Before(time.Unix(0, ns).Add(d.c.opts.RetryInterval))
}

// refreshMetadata starts a background re-discovery when the metadata cur
// is older than MetadataTTL or Rediscover asked for it, so a jwks_uri the
// IdP moved is picked up; lookups go on with the key set in use meanwhile.
// It never waits for d.mu: when the lock is busy, a later lookup starts
// the re-discovery.
func (d *discovery) refreshMetadata(cur *resolved, now time.Time) {
	ttl := d.c.opts.MetadataTTL
	due := d.stale.Load() || (ttl > 0 && !now.Before(cur.at.Add(ttl)))
	if !due || d.flying.Load() || !d.retryDue(now) || !d.mu.TryLock() {
		return
	}
	var f *flight
	if d.flight == nil {
		f = d.startLocked()
	}
	d.mu.Unlock()
	d.launch(f, f != nil)
}

// startLocked registers a new discovery, for the caller to launch once
// d.mu is released. d.mu must be held and d.flight nil.
func (d *discovery) startLocked() *flight {
	f := &flight{done: make(chan struct{})}
	d.flight = f
	d.flying.Store(true)
	return f
}

// launch runs the discovery f registered by startLocked, when isNew, in a
// goroutine of the cache; a closed cache ends it at once with ErrClosed.
// d.mu must not be held.
func (d *discovery) launch(f *flight, isNew bool) {
	if !isNew || d.c.goFetch(func(ctx context.Context) { d.fetch(ctx, f) }) {
		return
	}
	d.mu.Lock()
	if d.flight == f {
		d.flight = nil
		d.flying.Store(false)
	}
	d.mu.Unlock()
	f.err = ErrClosed
	close(f.done)
}

// Rediscover marks the metadata of every discovery source as due: each
// fetches its issuer's metadata again, in the background, on its next use
// (a lookup or Refresh), and moves to a changed jwks_uri. `tenantjwt
// serve` calls it on reload.
func (c *Cache) Rediscover() {
	c.mu.Lock()
	ds := make([]*discovery, 0, len(c.discover))
	for _, d := range c.discover {
		ds = append(ds, d)
	}
	c.mu.Unlock()
	for _, d := range ds {
		if d.cur.Load() != nil {
			d.stale.Store(true)
		}
	}
}

// metadata is the part of an OpenID Provider / RFC 8414 document we read.
type metadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

func (d *discovery) fetch(ctx context.Context, f *flight) {
	start := d.c.opts.Now()
	base := strings.TrimSuffix(d.issuer, "/")
	u := base + "/.well-known/openid-configuration"
	body, status, _, err := d.c.get(ctx, u, anyAddress, d.t)
	if status == http.StatusNotFound {
		u = rfc8414URL(d.issuer)
		body, status, _, err = d.c.get(ctx, u, anyAddress, d.t)
	}
	var src *remote
	if err == nil {
		src, err = d.use(body)
	}
	now := d.c.opts.Now()
	moved := false
	d.mu.Lock()
	if err == nil {
		old := d.cur.Load()
		moved = old != nil && old.r != src
		d.cur.Store(&resolved{r: src, at: now})
		d.stale.Store(false)
	} else {
		// A failed re-discovery keeps the jwks_uri already in use.
		d.failedAt.Store(now.UnixNano())
	}
	f.err = err
	d.flight = nil
	d.flying.Store(false)
	d.mu.Unlock()
	// Report before waking the waiters, as remote.fetch does.
	if moved {
		d.c.opts.Logger.Info("jwks: discovery names a new jwks_uri", "issuer", d.ro.Label, "url", u)
	}
	if err != nil {
		d.c.opts.Logger.Warn("jwks: discovery failed", "issuer", d.ro.Label, "url", u, "error", err.Error())
	}
	if h := d.c.opts.Hooks.FetchDone; h != nil {
		h(FetchEvent{URL: u, Label: d.ro.Label, Discovery: true, Status: status, Duration: now.Sub(start), Err: err})
	}
	close(f.done)
}

// use checks a metadata document and returns the source of its jwks_uri.
func (d *discovery) use(body []byte) (*remote, error) {
	var m metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("jwks: discovery of %.128q: invalid JSON: %w", d.issuer, err)
	}
	if m.Issuer != d.issuer {
		return nil, fmt.Errorf("jwks: discovery metadata names issuer %.128q, configured %.128q", m.Issuer, d.issuer)
	}
	if m.JWKSURI == "" {
		return nil, fmt.Errorf("jwks: discovery of %.128q: no jwks_uri", d.issuer)
	}
	loopbackIssuer := IsLoopbackHost(d.issuerURL.Hostname())
	// http only to a loopback host, and only for a loopback issuer.
	u, err := CheckURL(m.JWKSURI, false)
	if err == nil && u.Scheme == "http" && !loopbackIssuer {
		err = fmt.Errorf("jwks: URL %.128q: plain http refused for an issuer that is not on a loopback host", m.JWKSURI)
	}
	if err != nil {
		return nil, fmt.Errorf("jwks: discovery of %.128q: jwks_uri: %w", d.issuer, err)
	}
	if d.ro.JWKSSameOrigin && !sameOrigin(d.issuerURL, u) {
		return nil, fmt.Errorf("jwks: discovery of %.128q: jwks_uri %.128q is not on the issuer's origin (jwks_same_origin)", d.issuer, m.JWKSURI)
	}
	p := publicOnly
	switch {
	case d.ro.AllowPrivateNetwork:
		p = anyAddress
	case loopbackIssuer:
		p = publicOrLoopback
	}
	if !p.allowedHost(u.Hostname()) {
		return nil, fmt.Errorf("jwks: discovery of %.128q: jwks_uri %.128q: %w (allow_private_network)", d.issuer, m.JWKSURI, ErrAddressRefused)
	}
	return d.c.remote(u.String(), d.ro.Label, p, d.t)
}

// rfc8414URL inserts the well-known segment between host and path, as
// RFC 8414 §3.1 says: https://h/p → https://h/.well-known/oauth-authorization-server/p.
func rfc8414URL(issuer string) string {
	scheme, rest, _ := strings.Cut(issuer, "://")
	host, path, _ := strings.Cut(rest, "/")
	path = strings.TrimSuffix(path, "/")
	u := scheme + "://" + host + "/.well-known/oauth-authorization-server"
	if path != "" {
		u += "/" + path
	}
	return u
}
