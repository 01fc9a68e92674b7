package jwks

import "fmt"

// Reference counting of the sources a Cache hands to registries.
//
// A registry that onboards and offboards tenants all day must not leave a
// key set behind for every issuer it ever trusted. Remote and Discover
// therefore count their callers, and ReleaseSource drops one count; the
// last one makes the cache forget the source, so its key set is freed as
// soon as nobody holds the Source any more. A source's background refresh
// rides on its use, so forgetting it is all the closing it needs. A caller
// that still holds a forgotten source can keep using it; it is just no
// longer shared with later callers naming the same URL. A caller that
// never releases keeps the source for the cache's lifetime.

// countLocked adds one user of src. c.mu must be held.
func (c *Cache) countLocked(src Source) {
	if c.refs == nil {
		c.refs = make(map[Source]int)
	}
	c.refs[src]++
}

// ReleaseSource drops one user of a source got from Remote or Discover.
// When the last user is gone the cache forgets the source; a discovery
// source also takes the key set it resolved with it, unless Remote counts
// users of that set too. Releasing a source the cache does not count
// (another cache's, or released once too often) does nothing. Safe for
// concurrent use.
func (c *Cache) ReleaseSource(src Source) {
	var inner Source
	if d, ok := src.(*discovery); ok {
		if cur := d.cur.Load(); cur != nil {
			inner = cur.r
		}
	}
	var stop []interface{ stop() }
	c.mu.Lock()
	defer func() {
		c.mu.Unlock()
		// Timers of background sources stop outside c.mu: no source's
		// lock is taken under the cache's.
		for _, s := range stop {
			s.stop()
		}
	}()
	n, ok := c.refs[src]
	if !ok {
		return
	}
	if n > 1 {
		c.refs[src] = n - 1
		return
	}
	delete(c.refs, src)
	switch s := src.(type) {
	case *remote:
		if c.forgetRemoteLocked(s) {
			stop = append(stop, s)
		}
	case *discovery:
		if key := discoverKey(s.issuer, s.ro, s.t); c.discover[key] == s {
			delete(c.discover, key)
			stop = append(stop, s)
		}
		if r, ok := inner.(*remote); ok && c.refs[r] == 0 && c.forgetRemoteLocked(r) {
			stop = append(stop, r)
		}
	}
}

// forgetRemoteLocked drops r from the shared map if it is the one there,
// and reports whether it was. A background source stops refreshing.
func (c *Cache) forgetRemoteLocked(r *remote) bool {
	if key := remoteKey(r.url, r.policy, r.t); c.remotes[key] == r {
		delete(c.remotes, key)
		r.retired.Store(true)
		return true
	}
	return false
}

// discoverKey is the map key of a discovery source: the same issuer with
// other fetch settings is another source.
func discoverKey(issuer string, ro RemoteOptions, t *tuning) string {
	return fmt.Sprintf("%s\x00%v %v %v %s", issuer, ro.AllowInsecureHTTP, ro.AllowPrivateNetwork, ro.JWKSSameOrigin, t.key)
}
