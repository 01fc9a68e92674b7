package jwks

import (
	"context"
	"errors"
	"sync"
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

	ctx    context.Context // parent of every fetch; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // running fetches

	mu       sync.Mutex // protects remotes, discover, closed, refs
	remotes  map[string]*remote
	discover map[string]*discovery
	closed   bool
	refs     map[Source]int // users counted by RemoteSource and DiscoverSource (refs.go)
}

// ErrClosed is returned by a closed Cache.
var ErrClosed = errors.New("jwks: cache closed")

// NewCache returns a Cache with opts (zero fields take their defaults).
func NewCache(opts Options) *Cache {
	ctx, cancel := context.WithCancel(context.Background())
	return &Cache{
		opts:     opts.withDefaults(),
		ctx:      ctx,
		cancel:   cancel,
		remotes:  make(map[string]*remote),
		discover: make(map[string]*discovery),
	}
}

// RemoteOptions describe the issuer asking for a source.
type RemoteOptions struct {
	// Label names the issuer in logs and hooks.
	Label string
	// AllowInsecureHTTP permits plain http to a non-loopback host. Tests
	// only: keys fetched over plain http can be replaced by anyone on the
	// path.
	AllowInsecureHTTP bool
}

// Remote returns the source of the key set at rawURL, shared with every
// other caller naming the same URL. The URL must be https (http only for
// loopback hosts, or with AllowInsecureHTTP), without user info or
// fragment. No request is made until the first lookup or Refresh.
func (c *Cache) Remote(rawURL string, ro RemoteOptions) (Source, error) {
	u, err := checkURL(rawURL, ro.AllowInsecureHTTP)
	if err != nil {
		return nil, err
	}
	key := u.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	r, ok := c.remotes[key]
	if !ok {
		r = &remote{c: c, url: key, label: ro.Label}
		c.remotes[key] = r
	}
	return r, nil
}

// Close stops the cache: fetches in flight are cancelled and waited for, and
// later lookups of its sources fail. Close is idempotent.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	return nil
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
