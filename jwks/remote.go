package jwks

import (
	"context"
	"crypto"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantjwt/tenantjwt"
)

// remote is the key set at one URL. Its lifecycle:
//
//   - never fetched: the first lookup (or Refresh) starts a fetch; until one
//     succeeds, lookups fail closed with ErrKeysUnavailable;
//   - fresh: lookups answer from the set with no I/O; from RefreshAhead
//     before expiry, a lookup also starts one background refresh;
//   - expired but within MaxStale: lookups still answer from the last good
//     set (and report ServedStale) while refreshes are retried at most every
//     RetryInterval;
//   - beyond MaxStale: the set is dropped and lookups fail closed.
//
// A lookup of an unknown kid refetches at most once per Cooldown. A bad
// response never replaces the set. Only one fetch is in flight at a time;
// callers wait for it only as long as their own context allows.
type remote struct {
	c     *Cache
	url   string
	label string

	cur atomic.Pointer[Set] // the set in force, read lock-free

	mu          sync.Mutex // protects the fields below
	fetchedAt   time.Time  // of the set in cur
	expires     time.Time  // fetchedAt + TTL
	lastFailure time.Time  // of the last failed fetch
	lastUnknown time.Time  // last refetch caused by an unknown kid
	flight      *flight    // the fetch in progress, or nil
}

// flight is one fetch in progress; done is closed when it ends.
type flight struct {
	done chan struct{}
	err  error
}

// Current returns the set in force, or nil when there is none or it is
// stale beyond MaxStale.
func (r *remote) Current() *Set {
	set := r.cur.Load()
	if set == nil {
		return nil
	}
	r.mu.Lock()
	tooOld := r.c.opts.Now().After(r.expires.Add(r.c.opts.MaxStale))
	r.mu.Unlock()
	if tooOld {
		return nil
	}
	return set
}

// Refresh fetches the set now (joining a fetch in flight), for prefetching
// at start. It returns the fetch's error, or ctx's.
func (r *remote) Refresh(ctx context.Context) error {
	r.mu.Lock()
	f := r.startLocked()
	r.mu.Unlock()
	return r.wait(ctx, f)
}

// Lookup returns the key for kid.
func (r *remote) Lookup(ctx context.Context, kid string) (*Key, error) {
	now := r.c.opts.Now()
	r.mu.Lock()
	set := r.cur.Load()
	if set != nil && now.After(r.expires.Add(r.c.opts.MaxStale)) {
		// Stale beyond what we accept: fail closed from now on.
		r.c.opts.Logger.Warn("jwks: key set dropped, stale beyond max_stale", slog.String("url", r.url), slog.String("issuer", r.label))
		r.cur.Store(nil)
		set = nil
	}
	if set == nil {
		var f *flight
		if r.flight != nil || !now.Before(r.lastFailure.Add(r.c.opts.RetryInterval)) || r.lastFailure.IsZero() {
			f = r.startLocked()
		}
		r.mu.Unlock()
		if f == nil {
			return nil, fmt.Errorf("jwks: %s: no keys (last fetch failed, retrying after %s): %w", r.url, r.c.opts.RetryInterval, tenantjwt.ErrKeysUnavailable)
		}
		if err := r.wait(ctx, f); err != nil {
			return nil, err
		}
		return r.lookupIn(r.cur.Load(), kid)
	}
	// A set is in force. Refresh ahead of expiry, in the background.
	ahead := r.c.opts.RefreshAhead
	if ahead <= 0 {
		ahead = r.expires.Sub(r.fetchedAt) / 5
	}
	if !now.Before(r.expires.Add(-ahead)) && r.flight == nil && !now.Before(r.lastFailure.Add(r.c.opts.RetryInterval)) {
		r.startLocked()
	}
	stale := now.After(r.expires)
	age := now.Sub(r.expires)
	if k, ok := set.Lookup(kid); ok {
		r.mu.Unlock()
		if stale && r.c.opts.Hooks.ServedStale != nil {
			r.c.opts.Hooks.ServedStale(r.url, r.label, age)
		}
		return k, nil
	}
	// Unknown kid: perhaps the IdP rotated. Refetch at most once per
	// cooldown, so random kids cannot turn into a request flood.
	var f *flight
	switch {
	case r.flight != nil:
		f = r.flight
	case r.lastUnknown.IsZero() || !now.Before(r.lastUnknown.Add(r.c.opts.Cooldown)):
		r.lastUnknown = now
		f = r.startLocked()
	}
	r.mu.Unlock()
	if f == nil {
		return nil, fmt.Errorf("jwks: %s: kid %.64q not in the key set: %w", r.url, kid, tenantjwt.ErrKeyNotFound)
	}
	if err := r.wait(ctx, f); err != nil && r.cur.Load() == nil {
		return nil, err
	}
	return r.lookupIn(r.cur.Load(), kid)
}

func (r *remote) lookupIn(set *Set, kid string) (*Key, error) {
	if set == nil {
		return nil, fmt.Errorf("jwks: %s: no keys: %w", r.url, tenantjwt.ErrKeysUnavailable)
	}
	if k, ok := set.Lookup(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("jwks: %s: kid %.64q not in the key set: %w", r.url, kid, tenantjwt.ErrKeyNotFound)
}

// wait waits for f or ctx, whichever ends first.
func (r *remote) wait(ctx context.Context, f *flight) error {
	select {
	case <-f.done:
		if f.err != nil {
			return fmt.Errorf("%w: %w", f.err, tenantjwt.ErrKeysUnavailable)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jwks: %s: waiting for keys: %w: %w", r.url, ctx.Err(), tenantjwt.ErrKeysUnavailable)
	}
}

// startLocked returns the fetch in flight, starting one if there is none.
// r.mu must be held.
func (r *remote) startLocked() *flight {
	if r.flight != nil {
		return r.flight
	}
	f := &flight{done: make(chan struct{})}
	r.flight = f
	if !r.c.goFetch(func(ctx context.Context) { r.fetch(ctx, f) }) {
		f.err = ErrClosed
		r.flight = nil
		close(f.done)
	}
	return f
}

// fetch runs one fetch and installs its result.
func (r *remote) fetch(ctx context.Context, f *flight) {
	start := r.c.opts.Now()
	body, status, maxAge, err := r.c.get(ctx, r.url)
	var set *Set
	if err == nil {
		var dropped []Dropped
		set, dropped, err = Parse(body, ParseOptions{MaxKeys: r.c.opts.MaxKeys})
		for _, d := range dropped {
			r.c.opts.Logger.Warn("jwks: key dropped", slog.String("url", r.url), slog.String("issuer", r.label), slog.String("reason", d.String()))
		}
		if err != nil {
			err = fmt.Errorf("jwks: %s: %w", r.url, err)
		}
	}
	now := r.c.opts.Now()
	r.mu.Lock()
	if err == nil {
		set = keepPointers(r.cur.Load(), set)
		r.cur.Store(set)
		r.fetchedAt = now
		r.expires = now.Add(r.c.ttl(maxAge))
		r.lastFailure = time.Time{}
	} else {
		// A bad response never replaces good keys.
		r.lastFailure = now
	}
	f.err = err
	r.flight = nil
	r.mu.Unlock()

	// Log and report before waking the waiters, so that whoever sees the
	// outcome of a fetch can also see its event.
	if err != nil {
		r.c.opts.Logger.Warn("jwks: fetch failed", slog.String("url", r.url), slog.String("issuer", r.label), slog.String("error", err.Error()))
	}
	if h := r.c.opts.Hooks.FetchDone; h != nil {
		ev := FetchEvent{URL: r.url, Label: r.label, Status: status, Duration: now.Sub(start), Err: err}
		if set != nil && err == nil {
			ev.Keys = set.Len()
		}
		h(ev)
	}
	close(f.done)
}

// keepPointers returns next with every key unchanged since old replaced by
// old's *Key, so consumers comparing pointers (the verified-token cache)
// see that the key is still published.
func keepPointers(old, next *Set) *Set {
	if old == nil {
		return next
	}
	keys := next.Keys()
	changed := false
	for i, k := range keys {
		o, ok := old.Lookup(k.ID)
		if !ok || o.ID != k.ID || o.Algorithm != k.Algorithm || o.Issuer != k.Issuer {
			continue
		}
		if eq, ok := o.Public.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(k.Public) {
			keys[i] = o
			changed = true
		}
	}
	if !changed {
		return next
	}
	return NewSet(keys...)
}
