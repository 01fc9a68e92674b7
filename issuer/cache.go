package issuer

import (
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// tokenCache remembers successful verifications (DESIGN invariant 9). It
// is keyed by the whole token string, so a hit means the very same bytes
// verified before. An entry is only trusted while everything the original
// verification relied on still holds; see get.
type tokenCache struct {
	lru          *lru.Cache[string, *cached]
	hits, misses atomic.Uint64
	size         int
}

// cached is one verified token.
type cached struct {
	p   *tenantjwt.Principal
	e   *entry    // the issuer entry that verified it
	key *jwks.Key // the key that verified the signature
	kid string
	cnf confirmation // re-checked against each request's presentation
	// Validity window in Unix nanoseconds. notBefore already includes the
	// leeway; expires is exp itself, with no leeway, so an entry never
	// outlives its token.
	notBefore, expires int64
}

func newTokenCache(size int) *tokenCache {
	c, err := lru.New[string, *cached](size)
	if err != nil {
		return nil // size > 0 is checked by the caller; fail open to "no cache"
	}
	return &tokenCache{lru: c, size: size}
}

// get returns the cached principal for raw if the entry is still valid:
// its issuer entry is still in force (not removed, updated, replaced or
// evicted), its key is still published by the issuer's current key set
// (same pointer), and now lies in its validity window. A stale entry is
// dropped, so the caller verifies afresh.
func (c *tokenCache) get(raw string, now time.Time) (*cached, bool) {
	v, ok := c.lru.Get(raw)
	if !ok {
		c.misses.Add(1)
		return nil, false
	}
	t := now.UnixNano()
	if v.e.gone.Load() || v.e.expired(t) || t >= v.expires || t < v.notBefore || !stillPublished(v) {
		c.lru.Remove(raw)
		c.misses.Add(1)
		return nil, false
	}
	c.hits.Add(1)
	return v, true
}

// stillPublished reports whether the issuer's current key set still maps
// the kid to the very key that verified the token.
func stillPublished(v *cached) bool {
	set := v.e.src.Current()
	if set == nil {
		return false
	}
	k, ok := set.Lookup(v.kid)
	return ok && k == v.key
}

// expired reports whether a resolved entry is past its TTL at t (Unix
// nanoseconds): its tokens wait for the Resolver's answer again.
func (e *entry) expired(t int64) bool {
	u := e.until.Load()
	return u != 0 && t >= u
}

// put remembers a verification.
func (c *tokenCache) put(raw string, v *cached) { c.lru.Add(raw, v) }

func (c *tokenCache) stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Len: c.lru.Len(), Size: c.size}
}
