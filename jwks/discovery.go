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

	mu          sync.Mutex // protects the fields below
	inner       Source
	flight      *flight
	lastFailure time.Time
	resolvedAt  time.Time   // when inner was resolved
	stale       bool        // Rediscover asked for the metadata again
	timer       *time.Timer // background: the next attempt after a failure
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
	d.mu.Lock()
	in := d.inner
	d.mu.Unlock()
	if in == nil {
		return nil
	}
	return in.Current()
}

// Usable implements Expiring for the discovered key set.
func (d *discovery) Usable() (*Set, int64) {
	d.mu.Lock()
	in := d.inner
	d.mu.Unlock()
	if ex, ok := in.(Expiring); ok {
		return ex.Usable()
	}
	return nil, 0
}

func (d *discovery) Lookup(ctx context.Context, kid string) (*Key, error) {
	in, err := d.resolve(ctx)
	if err != nil {
		return nil, err
	}
	return in.Lookup(ctx, kid)
}

// Refresh resolves the metadata and fetches the key set.
func (d *discovery) Refresh(ctx context.Context) error {
	in, err := d.resolve(ctx)
	if err != nil {
		return err
	}
	if r, ok := in.(interface{ Refresh(context.Context) error }); ok {
		return r.Refresh(ctx)
	}
	return nil
}

func (d *discovery) resolve(ctx context.Context) (Source, error) {
	d.mu.Lock()
	if d.inner != nil {
		in := d.inner
		d.refreshMetadataLocked()
		d.mu.Unlock()
		return in, nil
	}
	f := d.flight
	if f == nil {
		if !d.lastFailure.IsZero() && d.c.opts.Now().Before(d.lastFailure.Add(d.c.opts.RetryInterval)) {
			d.mu.Unlock()
			return nil, fmt.Errorf("jwks: discovery of %.128q failed recently: %w", d.issuer, tenantjwt.ErrKeysUnavailable)
		}
		f = &flight{done: make(chan struct{})}
		d.flight = f
		if !d.c.goFetch(func(ctx context.Context) { d.fetch(ctx, f) }) {
			d.flight = nil
			d.mu.Unlock()
			return nil, ErrClosed
		}
	}
	d.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("jwks: discovery of %.128q: %w: %w", d.issuer, ctx.Err(), tenantjwt.ErrKeysUnavailable)
	}
	if f.err != nil {
		return nil, fmt.Errorf("%w: %w", f.err, tenantjwt.ErrKeysUnavailable)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inner, nil
}

// refreshMetadataLocked starts a background re-discovery when the metadata
// is older than MetadataTTL or Rediscover asked for it, so a jwks_uri the
// IdP moved is picked up; lookups go on with the key set in use meanwhile.
// d.mu must be held.
func (d *discovery) refreshMetadataLocked() {
	now := d.c.opts.Now()
	due := d.stale || (d.c.opts.MetadataTTL > 0 && !now.Before(d.resolvedAt.Add(d.c.opts.MetadataTTL)))
	if !due || d.flight != nil || (!d.lastFailure.IsZero() && now.Before(d.lastFailure.Add(d.c.opts.RetryInterval))) {
		return
	}
	f := &flight{done: make(chan struct{})}
	d.flight = f
	if !d.c.goFetch(func(ctx context.Context) { d.fetch(ctx, f) }) {
		d.flight = nil
	}
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
		d.mu.Lock()
		if d.inner != nil {
			d.stale = true
		}
		d.mu.Unlock()
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
	var src Source
	if err == nil {
		src, err = d.use(body)
	}
	d.mu.Lock()
	if err == nil {
		if d.inner != nil && d.inner != src {
			d.c.opts.Logger.Info("jwks: discovery names a new jwks_uri", "issuer", d.ro.Label, "url", u)
		}
		d.inner, d.resolvedAt, d.stale = src, d.c.opts.Now(), false
	} else {
		// A failed re-discovery keeps the jwks_uri already in use.
		d.lastFailure = d.c.opts.Now()
	}
	f.err = err
	d.flight = nil
	d.mu.Unlock()
	// Report before waking the waiters, as remote.fetch does.
	if err != nil {
		d.c.opts.Logger.Warn("jwks: discovery failed", "issuer", d.ro.Label, "url", u, "error", err.Error())
	}
	if h := d.c.opts.Hooks.FetchDone; h != nil {
		h(FetchEvent{URL: u, Label: d.ro.Label, Discovery: true, Status: status, Duration: d.c.opts.Now().Sub(start), Err: err})
	}
	close(f.done)
}

// use checks a metadata document and returns the source of its jwks_uri.
func (d *discovery) use(body []byte) (Source, error) {
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
