package jwks

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// Cache holds the remote key sets of many issuers: one set per URL, shared
// by every issuer that names the URL (Entra ID tenants share one JWKS), with
// one fetch in flight per URL at most.
//
// Each issuer holds its own Source and asks it only for its own keys, so a
// key is never served for an issuer whose configuration did not name its
// URL. A Cache is safe for concurrent use; Close stops its background
// fetches.
type Cache struct {
	opts Options
	// clients by netPolicy; nil where the configured client's transport
	// cannot enforce the policy.
	clients [3]*http.Client
	// base is the cache-wide fetch tuning (Options), shared by every
	// source whose RemoteOptions override nothing.
	base *tuning
	// userClient is Options.HTTPClient as given (nil: the cache's own).
	userClient *http.Client

	ctx    context.Context // parent of every fetch; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // running fetches

	mu       sync.Mutex // protects remotes, discover, closed, refs
	remotes  map[string]*remote
	discover map[string]*discovery
	closed   bool
	refs     map[Source]int // users counted by Remote and Discover (refs.go)
	// tunedClients are the clients of sources with their own timeout or
	// root CAs, by those settings (tuning.go).
	tunedClients map[string]*[3]*http.Client
}

// ErrClosed is returned by a closed Cache.
var ErrClosed = errors.New("jwks: cache closed")

// NewCache returns a Cache with opts (zero fields take their defaults).
func NewCache(opts Options) *Cache {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{
		opts:     opts.withDefaults(),
		ctx:      ctx,
		cancel:   cancel,
		remotes:  make(map[string]*remote),
		discover: make(map[string]*discovery),
	}
	ownDialer := opts.HTTPClient == nil || opts.HTTPClient.Transport == nil
	for _, p := range []netPolicy{anyAddress, publicOnly, publicOrLoopback} {
		c.clients[p] = clientFor(c.opts.HTTPClient, p, c.opts.Timeout, ownDialer)
	}
	c.userClient = opts.HTTPClient
	c.base = &tuning{
		minTTL: c.opts.MinTTL, maxTTL: c.opts.MaxTTL, maxStale: c.opts.MaxStale,
		timeout: c.opts.Timeout, cooldown: c.opts.Cooldown, clients: &c.clients,
	}
	return c
}

// RemoteOptions describe the issuer asking for a source.
type RemoteOptions struct {
	// Label names the issuer in logs and hooks.
	Label string
	// AllowInsecureHTTP permits plain http to a non-loopback host for the
	// URLs given to Remote and Discover. Tests only: keys fetched over
	// plain http can be replaced by anyone on the path. It never applies to
	// a jwks_uri found by discovery.
	AllowInsecureHTTP bool
	// AllowPrivateNetwork lets a jwks_uri found by Discover connect to
	// loopback, private, link-local and other non-public addresses. By
	// default such a URL may reach public addresses only (loopback too
	// when the issuer itself is on a loopback host), checked when
	// connecting, after DNS. URLs given to Remote are not restricted: the
	// configuration chose them.
	AllowPrivateNetwork bool
	// JWKSSameOrigin requires a jwks_uri found by Discover to have the
	// issuer's scheme, host and port.
	JWKSSameOrigin bool

	// The fields below tune the fetches of this source. A zero field
	// takes the Cache's Options. A source with any of them set is shared
	// only with callers naming the same URL with the same settings, so two
	// issuers with different settings for one URL get two sources.

	// MinTTL and MaxTTL clamp the Cache-Control max-age of the key set
	// (Options.MinTTL, Options.MaxTTL).
	MinTTL, MaxTTL time.Duration
	// MaxStale is Options.MaxStale for this source.
	MaxStale time.Duration
	// Timeout bounds one fetch of this source (Options.Timeout).
	Timeout time.Duration
	// Cooldown is Options.Cooldown for this source.
	Cooldown time.Duration
	// RootCAs, when not empty, is a PEM bundle of the root certificates
	// trusted for this source's https fetches (discovery document and
	// key set), instead of the system pool: for an IdP on a private CA.
	// Redirect, size and address rules are those of every fetch. It needs
	// Options.HTTPClient to be nil or to use an *http.Transport.
	RootCAs []byte
	// Background fetches the key set as soon as the source is made and
	// keeps it fresh with the Cache's timer whether or not it is used, so
	// the first request of a rarely used issuer finds keys. Failed fetches
	// are retried every Options.RetryInterval. Releasing the last user of
	// the source stops it.
	Background bool
}

// Remote returns the source of the key set at rawURL, shared with every
// other caller naming the same URL. rawURL must come from the
// configuration (never from a token or a fetched document: use Discover
// for those) and obey CheckURL. No request is made until the first lookup
// or Refresh. Each call counts one user of the source until ReleaseSource
// (refs.go); a source never released lives as long as the cache.
func (c *Cache) Remote(rawURL string, ro RemoteOptions) (Source, error) {
	u, err := CheckURL(rawURL, ro.AllowInsecureHTTP)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	t, err := c.tuningLocked(ro)
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	r, made, err := c.remoteLocked(u.String(), ro.Label, anyAddress, t)
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	c.countLocked(r)
	c.mu.Unlock()
	if made {
		r.begin()
	}
	return r, nil
}

// remote returns the shared source of url fetched under p, uncounted (for
// a discovery source's key set). Sources are shared per URL and policy,
// so that a set fetched under a lax policy is never served to an issuer
// that needs a strict one.
func (c *Cache) remote(url, label string, p netPolicy, t *tuning) (*remote, error) {
	c.mu.Lock()
	r, made, err := c.remoteLocked(url, label, p, t)
	c.mu.Unlock()
	if made {
		r.begin()
	}
	return r, err
}

// remoteLocked is remote with c.mu held; made reports a new source, whose
// begin the caller must call once c.mu is released.
func (c *Cache) remoteLocked(url, label string, p netPolicy, t *tuning) (r *remote, made bool, err error) {
	if c.closed {
		return nil, false, ErrClosed
	}
	key := remoteKey(url, p, t)
	r, ok := c.remotes[key]
	if !ok {
		r = &remote{c: c, url: url, label: label, policy: p, t: t}
		c.remotes[key] = r
	}
	return r, !ok, nil
}

// remoteKey is the map key of a remote source: its URL, address policy
// and, when it has any, its own fetch settings.
func remoteKey(url string, p netPolicy, t *tuning) string {
	if t.key == "" {
		return p.String() + " " + url
	}
	return p.String() + " " + url + "\x00" + t.key
}

// Close stops the cache: fetches in flight are cancelled and waited for, and
// later lookups of its sources fail. Close is idempotent.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	rs := make([]interface{ stop() }, 0, len(c.remotes)+len(c.discover))
	for _, r := range c.remotes {
		rs = append(rs, r)
	}
	for _, d := range c.discover {
		rs = append(rs, d)
	}
	c.mu.Unlock()
	// Cancel first: a fetch ending after this arms no timer (closing), and
	// the stops below clear the timers armed before.
	c.cancel()
	for _, r := range rs {
		r.stop()
	}
	c.wg.Wait()
	c.closeIdleConns()
	return nil
}

// closeIdleConns closes the idle keep-alive connections of the transports
// the cache made, so an IdP's server sees them end now, not at its idle
// timeout: a server shutting down gracefully waits for a connection that
// was dialled but never used (about 5 s in net/http). The caller's own
// transport (Options.HTTPClient) and http.DefaultTransport are left alone.
func (c *Cache) closeIdleConns() {
	var user *http.Transport
	if c.userClient != nil {
		user, _ = c.userClient.Transport.(*http.Transport)
	}
	c.mu.Lock()
	sets := []*[3]*http.Client{&c.clients}
	for _, cl := range c.tunedClients {
		sets = append(sets, cl)
	}
	c.mu.Unlock()
	for _, set := range sets {
		for _, cl := range set {
			if cl == nil {
				continue
			}
			if t, ok := cl.Transport.(*http.Transport); ok && t != user && t != http.DefaultTransport {
				t.CloseIdleConnections()
			}
		}
	}
}

// closing reports, without a lock, that Close has begun.
func (c *Cache) closing() bool { return c.ctx.Err() != nil }

func (c *Cache) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// track runs f on the calling goroutine as work of the cache, which Close
// waits for, unless the cache is closed.
func (c *Cache) track(f func()) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()
	f()
}

// goFetch runs f in a tracked goroutine unless the cache is closed.
func (c *Cache) goFetch(f func(ctx context.Context)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f(c.ctx)
	}()
	return true
}
