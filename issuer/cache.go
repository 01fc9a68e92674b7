package issuer

import (
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
	lru *lru.Cache[string, *cached]
}

// cached is one verified token.
type cached struct {
	p   *tenantjwt.Principal
	e   *entry    // the issuer entry that verified it
	key *jwks.Key // the key that verified the signature
	kid string
	// exp is the key source when its set expires; set is the generation of
	// that source's set known to hold key (nil: look key up on each hit).
	exp jwks.Expiring
	set *jwks.Set
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
	return &tokenCache{lru: c}
}

// get returns the cached principal for raw if the entry is still valid:
// its issuer entry is still in force (not removed, updated, replaced or
// evicted), now lies in its validity window, and its key is still
// published by a key set that may be used now (same pointer). A stale
// entry is dropped, so the caller verifies afresh: once the issuer's key
// set has expired, the token is checked again against the refreshed set,
// exactly as a token never seen.
func (c *tokenCache) get(raw string, now time.Time) (*cached, bool) {
	v, ok := c.lru.Get(raw)
	if !ok {
		return nil, false
	}
	t := now.UnixNano()
	if v.e.gone.Load() || v.e.expired(t) || t >= v.expires || t < v.notBefore || !keyUsable(v, t) {
		c.lru.Remove(raw)
		return nil, false
	}
	return v, true
}

// keyUsable reports whether the key that verified v may still be trusted
// at t without a lookup. For an expiring source that is one atomic load
// and two comparisons while the set is the one the entry saw.
func keyUsable(v *cached, t int64) bool {
	if v.exp == nil {
		return stillPublished(v)
	}
	set, until := v.exp.Usable()
	if set == nil || t >= until {
		return false // expired: verify afresh, which waits for the refresh
	}
	if set == v.set {
		return true
	}
	k, ok := set.Lookup(v.kid)
	return ok && k == v.key
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

// put remembers a verification at now, with the validity window of its
// registered claims reg, and with the generation of the key set that holds
// its key when the source's set expires. A token already past exp at now
// (accepted within the leeway) is not remembered.
func (c *tokenCache) put(raw string, v *cached, reg registered, leeway time.Duration, now time.Time) {
	v.expires = reg.exp.Nanos()
	if now.UnixNano() >= v.expires {
		return
	}
	if reg.nbf.Set {
		v.notBefore = reg.nbf.Nanos() - int64(leeway)
	}
	if reg.iat.Set && reg.iat.Nanos()-int64(leeway) > v.notBefore {
		v.notBefore = reg.iat.Nanos() - int64(leeway)
	}
	if ex, ok := v.e.src.(jwks.Expiring); ok {
		v.exp = ex
		if set, _ := ex.Usable(); set != nil {
			if k, ok := set.Lookup(v.kid); ok && k == v.key {
				v.set = set
			}
		}
	}
	c.lru.Add(raw, v)
}
