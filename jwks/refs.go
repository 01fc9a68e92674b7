package jwks

import "fmt"

// Reference counting of the sources a Cache hands to registries.
//
// A registry that onboards and offboards tenants all day must not leave a
// key set behind for every issuer it ever trusted. RemoteSource and
// DiscoverSource therefore count their callers, and ReleaseSource drops one
// count; the last one makes the cache forget the source, so its key set is
// freed as soon as nobody holds the Source any more. A source has no
// background work of its own (refreshes ride on lookups), so forgetting it
// is all the closing it needs. A caller that still holds a forgotten
// source can keep using it; it is just no longer shared with later
// callers naming the same URL.
//
// Remote and Discover count nothing: their sources live as long as the
// cache, as before.

// RemoteSource is Remote in the shape of issuer.KeySources. Each call
// counts one user of the returned source until ReleaseSource.
func (c *Cache) RemoteSource(rawURL, label string, allowInsecureHTTP bool) (Source, error) {
	src, err := c.Remote(rawURL, RemoteOptions{Label: label, AllowInsecureHTTP: allowInsecureHTTP})
	if err != nil {
		return nil, err
	}
	r := src.(*remote)
	c.mu.Lock()
	defer c.mu.Unlock()
	// A release may have forgotten r between Remote and here: take the
	// source now in the map, or put r back, so that every counted source
	// is the shared one.
	if cur, ok := c.remotes[r.url]; ok {
		r = cur
	} else {
		c.remotes[r.url] = r
	}
	c.countLocked(r)
	return r, nil
}

// DiscoverSource is Discover in the shape of issuer.KeySources. Each call
// counts one user of the returned source until ReleaseSource.
func (c *Cache) DiscoverSource(issuer, label string, allowInsecureHTTP bool) (Source, error) {
	src, err := c.Discover(issuer, RemoteOptions{Label: label, AllowInsecureHTTP: allowInsecureHTTP})
	if err != nil {
		return nil, err
	}
	d := src.(*discovery)
	key := discoverKey(d.issuer, d.ro.AllowInsecureHTTP)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.discover[key]; ok {
		d = cur
	} else {
		c.discover[key] = d
	}
	c.countLocked(d)
	return d, nil
}

// countLocked adds one user of src. c.mu must be held.
func (c *Cache) countLocked(src Source) {
	if c.refs == nil {
		c.refs = make(map[Source]int)
	}
	c.refs[src]++
}

// ReleaseSource drops one user of a source got from RemoteSource or
// DiscoverSource. When the last user is gone the cache forgets the
// source; a discovery source also takes the key set it resolved with it,
// unless RemoteSource counts users of that set too. Releasing a source
// the cache does not count (from Remote, Discover, another cache, or
// released once too often) does nothing. Safe for concurrent use.
func (c *Cache) ReleaseSource(src Source) {
	var inner Source
	if d, ok := src.(*discovery); ok {
		// resolve holds d.mu while it starts a fetch, which takes c.mu;
		// so read d.inner before taking c.mu, never inside it.
		d.mu.Lock()
		inner = d.inner
		d.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
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
		c.forgetRemoteLocked(s)
	case *discovery:
		if key := discoverKey(s.issuer, s.ro.AllowInsecureHTTP); c.discover[key] == s {
			delete(c.discover, key)
		}
		if r, ok := inner.(*remote); ok && c.refs[r] == 0 {
			c.forgetRemoteLocked(r)
		}
	}
}

// forgetRemoteLocked drops r from the shared map if it is the one there.
func (c *Cache) forgetRemoteLocked(r *remote) {
	if c.remotes[r.url] == r {
		delete(c.remotes, r.url)
	}
}

// discoverKey is the map key of a discovery source: the same issuer
// fetched with and without the insecure-http exception are two sources.
func discoverKey(issuer string, allowInsecureHTTP bool) string {
	return issuer + "\x00" + fmt.Sprint(allowInsecureHTTP)
}
