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
//   - fresh: lookups answer from the set with no I/O. From RefreshAhead
//     before expiry (a fifth of the TTL by default) a refresh runs in the
//     background: a timer owned by the Cache starts it when the set has
//     been used since the last fetch, and so does any lookup;
//   - expired: the set is never used as if fresh. A lookup waits for the
//     refresh (the one in flight, or one it starts), bounded by the fetch
//     Timeout and its own context. Only when that refresh fails are the
//     last keys served (stale-if-error, never stale-while-revalidate);
//     from then on lookups answer from them at once while retries run in
//     the background at most every RetryInterval;
//   - beyond MaxStale: the set is dropped and lookups fail closed.
//
// A lookup of an unknown kid refetches at most once per Cooldown; if that
// refetch fails, the answer is ErrKeysUnavailable, not ErrKeyNotFound. A bad
// response never replaces the set. Only one fetch is in flight at a time;
// callers wait for it only as long as their own context allows.
type remote struct {
	c      *Cache
	url    string
	label  string
	policy netPolicy
	t      *tuning // fetch settings, immutable

	// retired is set when the cache forgot the source (refs.go): a
	// background source stops refreshing on its own.
	retired atomic.Bool

	state  atomic.Pointer[keyState] // the set in force, read lock-free
	used   atomic.Bool              // looked up since the last scheduled refresh
	flying atomic.Bool              // flight != nil, for the lock-free refresh-ahead check

	mu          sync.Mutex  // protects the fields below
	lastFailure time.Time   // of the last failed fetch
	lastUnknown time.Time   // last refetch caused by an unknown kid
	flight      *flight     // the fetch in progress, or nil
	timer       *time.Timer // the next background refresh, or nil
}

// keyState is one immutable view of a fetched set; a failed refresh
// publishes a copy with failedAt set.
type keyState struct {
	set       *Set
	fetchedAt time.Time
	expires   time.Time // fetchedAt + TTL
	refreshAt time.Time // expires - RefreshAhead
	dropAt    time.Time // expires + MaxStale
	// failedAt is when the last refresh of this set failed (zero: none).
	// A failure at or after expires means the IdP was asked after the TTL
	// and did not answer: stale-if-error applies.
	failedAt time.Time
	// usableUntil (Unix ns) bounds use of the set without a lookup: expires,
	// or dropAt once stale-if-error applies.
	usableUntil int64
}

// staleIfError reports whether a refresh failed after the set expired.
func (s *keyState) staleIfError() bool {
	return !s.failedAt.IsZero() && !s.failedAt.Before(s.expires)
}

// flight is one fetch in progress; done is closed when it ends.
type flight struct {
	done chan struct{}
	err  error
}

// Current returns the set last fetched, possibly expired, or nil when there
// is none or it is stale beyond MaxStale. It does no I/O.
func (r *remote) Current() *Set {
	st := r.state.Load()
	if st == nil || r.c.opts.Now().After(st.dropAt) {
		return nil
	}
	return st.set
}

// Usable implements Expiring: one atomic load.
func (r *remote) Usable() (*Set, int64) {
	st := r.state.Load()
	if st == nil {
		return nil, 0
	}
	r.markUsed()
	return st.set, st.usableUntil
}

// markUsed records a use for the background refresh; after the first use
// per TTL it is a single atomic load.
func (r *remote) markUsed() {
	if !r.used.Load() {
		r.used.Store(true)
	}
}

// Refresh fetches the set now (joining a fetch in flight), for prefetching
// at start. It returns the fetch's error, or ctx's.
func (r *remote) Refresh(ctx context.Context) error {
	r.mu.Lock()
	f, isNew := r.startLocked()
	r.mu.Unlock()
	r.launch(f, isNew)
	_, err := r.wait(ctx, f)
	return err
}

// Lookup returns the key for kid.
//
// A known kid of a fresh set is answered from one atomic load, without
// r.mu: only the slow paths (a fetch to start or wait for, an unknown kid,
// an expired set) lock, and they decide under the lock and fetch, log and
// wait outside it.
func (r *remote) Lookup(ctx context.Context, kid string) (*Key, error) {
	return r.lookupAt(ctx, kid, r.c.opts.Now())
}

// lookupAt is Lookup at now, read from the clock by the caller.
func (r *remote) lookupAt(ctx context.Context, kid string, now time.Time) (*Key, error) {
	r.markUsed()
	if st := r.state.Load(); st != nil && now.Before(st.expires) {
		if k, ok := st.set.Lookup(kid); ok {
			if !now.Before(st.refreshAt) {
				r.refreshAhead(st, now)
			}
			return k, nil
		}
	}
	return r.lookupSlow(ctx, kid, now)
}

// refreshAhead starts a background refresh of the fresh set st, due since
// its refreshAt, unless one is in flight or a failed one is too recent.
// It never waits for r.mu: when the lock is busy, a later lookup (or the
// timer) starts the refresh.
func (r *remote) refreshAhead(st *keyState, now time.Time) {
	if r.flying.Load() || (!st.failedAt.IsZero() && now.Before(st.failedAt.Add(r.c.opts.RetryInterval))) {
		return
	}
	if !r.mu.TryLock() {
		return
	}
	var f *flight
	isNew := false
	if r.flight == nil && r.retryDueLocked(now) {
		f, isNew = r.startLocked()
	}
	r.mu.Unlock()
	r.launch(f, isNew)
}

// lookupSlow is Lookup when the set is missing, expired, due for refresh
// with a fetch to start, or lacks kid.
func (r *remote) lookupSlow(ctx context.Context, kid string, now time.Time) (*Key, error) {
	r.mu.Lock()
	st := r.state.Load()
	dropped := st != nil && now.After(st.dropAt)
	if dropped {
		// Stale beyond what we accept: fail closed from now on.
		r.state.Store(nil)
		st = nil
	}
	var f, started *flight // the fetch to wait for; the one to launch
	start := func() *flight {
		g, isNew := r.startLocked()
		if isNew {
			started = g
		}
		return g
	}
	what := slowFetch
	switch {
	case st == nil:
		if r.flight != nil || r.retryDueLocked(now) {
			f = start()
		} else {
			what = slowUnavailable
		}
	case now.Before(st.expires):
		what = slowFresh
		if !now.Before(st.refreshAt) && r.flight == nil && r.retryDueLocked(now) {
			start() // ahead of expiry, in the background
		}
		if _, ok := st.set.Lookup(kid); ok {
			break // a fetch installed kid meanwhile
		}
		// Unknown kid: perhaps the IdP rotated. Refetch at most once per
		// cooldown, so random kids cannot turn into a request flood.
		switch {
		case r.flight != nil:
			f = r.flight
		case r.lastUnknown.IsZero() || !now.Before(r.lastUnknown.Add(r.t.cooldown)):
			r.lastUnknown = now
			f = start()
		}
	case st.staleIfError():
		// The IdP failed after the TTL: serve the last keys, retry in the
		// background.
		what = slowStale
		if r.flight == nil && r.retryDueLocked(now) {
			start()
		}
	default:
		// Expired and nobody has asked the IdP since: wait for the answer.
		what = slowExpired
		f = start()
	}
	r.mu.Unlock()

	if dropped {
		r.c.opts.Logger.Warn("jwks: key set dropped, stale beyond max_stale", slog.String("url", r.url), slog.String("issuer", r.label))
	}
	r.launch(started, started != nil)

	switch what {
	case slowUnavailable:
		return nil, fmt.Errorf("jwks: %s: no keys (last fetch failed, retrying after %s): %w", r.url, r.c.opts.RetryInterval, tenantjwt.ErrKeysUnavailable)
	case slowStale:
		return r.serveStale(st, kid, now)
	case slowExpired:
		ok, err := r.wait(ctx, f)
		if !ok {
			return nil, err // our own context ended first
		}
		if err != nil {
			// The refresh failed: stale-if-error.
			return r.serveStale(r.stateOr(st), kid, r.c.opts.Now())
		}
		return r.lookupIn(r.state.Load(), kid)
	case slowFresh:
		if f == nil {
			if k, ok := st.set.Lookup(kid); ok {
				return k, nil
			}
			if !st.failedAt.IsZero() {
				// The last refresh failed: the kid may be a key we could not
				// fetch. That is an outage (503), not a bad token.
				return nil, fmt.Errorf("jwks: %s: kid %.64q unknown and the last refresh failed: %w", r.url, kid, tenantjwt.ErrKeysUnavailable)
			}
			return nil, fmt.Errorf("jwks: %s: kid %.64q not in the key set: %w", r.url, kid, tenantjwt.ErrKeyNotFound)
		}
	}
	if _, err := r.wait(ctx, f); err != nil {
		return nil, err // wraps ErrKeysUnavailable
	}
	return r.lookupIn(r.state.Load(), kid)
}

// What lookupSlow does once it has decided under r.mu.
const (
	slowFetch       = iota // wait for the fetch f, then look up
	slowUnavailable        // no keys, and a retry is not due
	slowFresh              // answer from the fresh set, or wait for f
	slowStale              // serve the expired set (stale-if-error)
	slowExpired            // wait for the refresh, stale-if-error on failure
)

// retryDueLocked reports whether RetryInterval has passed since the last
// failed fetch (or none failed). r.mu must be held.
func (r *remote) retryDueLocked(now time.Time) bool {
	return !now.Before(r.lastFailure.Add(r.c.opts.RetryInterval))
}

// serveStale answers from an expired set after a failed refresh.
func (r *remote) serveStale(st *keyState, kid string, now time.Time) (*Key, error) {
	if st == nil || now.After(st.dropAt) {
		return nil, fmt.Errorf("jwks: %s: no keys: %w", r.url, tenantjwt.ErrKeysUnavailable)
	}
	k, ok := st.set.Lookup(kid)
	if !ok {
		return nil, fmt.Errorf("jwks: %s: kid %.64q unknown while the key set cannot be refreshed: %w", r.url, kid, tenantjwt.ErrKeysUnavailable)
	}
	if h := r.c.opts.Hooks.ServedStale; h != nil && now.After(st.expires) {
		h(r.url, r.label, now.Sub(st.expires))
	}
	return k, nil
}

// stateOr returns the state in force, or old when there is none.
func (r *remote) stateOr(old *keyState) *keyState {
	if st := r.state.Load(); st != nil {
		return st
	}
	return old
}

func (r *remote) lookupIn(st *keyState, kid string) (*Key, error) {
	if st == nil {
		return nil, fmt.Errorf("jwks: %s: no keys: %w", r.url, tenantjwt.ErrKeysUnavailable)
	}
	if k, ok := st.set.Lookup(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("jwks: %s: kid %.64q not in the key set: %w", r.url, kid, tenantjwt.ErrKeyNotFound)
}

// wait waits for f or ctx, whichever ends first. ended reports that f
// ended; err is f's error, or ctx's, wrapped with ErrKeysUnavailable.
func (r *remote) wait(ctx context.Context, f *flight) (ended bool, err error) {
	select {
	case <-f.done:
		if f.err != nil {
			return true, fmt.Errorf("%w: %w", f.err, tenantjwt.ErrKeysUnavailable)
		}
		return true, nil
	case <-ctx.Done():
		return false, fmt.Errorf("jwks: %s: waiting for keys: %w: %w", r.url, ctx.Err(), tenantjwt.ErrKeysUnavailable)
	}
}

// startLocked returns the fetch in flight, or registers a new one when
// there is none; isNew asks the caller to launch it once r.mu is released.
// r.mu must be held.
func (r *remote) startLocked() (f *flight, isNew bool) {
	if r.flight != nil {
		return r.flight, false
	}
	f = &flight{done: make(chan struct{})}
	r.flight = f
	r.flying.Store(true)
	return f, true
}

// launch runs the fetch f registered by startLocked, when isNew, in a
// goroutine of the cache; a closed cache ends it at once with ErrClosed.
// r.mu must not be held.
func (r *remote) launch(f *flight, isNew bool) {
	if !isNew || r.c.goFetch(func(ctx context.Context) { r.fetch(ctx, f) }) {
		return
	}
	r.mu.Lock()
	if r.flight == f {
		r.flight = nil
		r.flying.Store(false)
	}
	r.mu.Unlock()
	f.err = ErrClosed
	close(f.done)
}

// fetch runs one fetch and installs its result.
func (r *remote) fetch(ctx context.Context, f *flight) {
	start := r.c.opts.Now()
	body, status, maxAge, err := r.c.get(ctx, r.url, r.policy, r.t)
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
	cur := r.state.Load()
	if err == nil {
		ttl := r.t.ttl(maxAge)
		ahead := r.c.opts.RefreshAhead
		if ahead <= 0 || ahead >= ttl {
			ahead = ttl / 5
		}
		st := &keyState{set: keepPointers(cur, set), fetchedAt: now, expires: now.Add(ttl)}
		st.refreshAt = st.expires.Add(-ahead)
		st.dropAt = st.expires.Add(r.t.maxStale)
		st.usableUntil = st.expires.UnixNano()
		r.state.Store(st)
		r.lastFailure = time.Time{}
		r.scheduleLocked(st.refreshAt.Sub(now))
	} else {
		// A bad response never replaces good keys; it is remembered, so
		// that an expired set is served only after a failed refresh.
		r.lastFailure = now
		if cur != nil {
			st := *cur
			st.failedAt = now
			if st.staleIfError() {
				st.usableUntil = st.dropAt.UnixNano()
			}
			r.state.Store(&st)
			r.scheduleLocked(r.c.opts.RetryInterval)
		} else if r.t.background && !r.retired.Load() {
			r.scheduleLocked(r.c.opts.RetryInterval) // until keys arrive
		}
	}
	f.err = err
	r.flight = nil
	r.flying.Store(false)
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

// scheduleLocked arms the background refresh d from now (real time, as
// measured by the configured clock when the set was installed). r.mu must
// be held.
func (r *remote) scheduleLocked(d time.Duration) {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if r.c.closing() { // lock-free: no cache lock under r.mu
		return
	}
	r.timer = time.AfterFunc(max(d, 0), r.onTimer)
}

// onTimer runs the scheduled refresh, as a goroutine of the Cache, when the
// set was used since the last one: a source nobody asks for lapses, and
// its next lookup fetches. A background source (RemoteOptions.Background)
// refreshes whether used or not, and retries until it has keys, until
// the cache forgets it.
func (r *remote) onTimer() {
	r.c.track(func() {
		r.mu.Lock()
		r.timer = nil
		used := r.used.Swap(false)
		var f *flight
		isNew := false
		if bg := r.t.background && !r.retired.Load(); r.flight == nil && (bg || (used && r.state.Load() != nil)) {
			f, isNew = r.startLocked()
		}
		r.mu.Unlock()
		r.launch(f, isNew)
	})
}

// begin starts the first fetch of a new background source. The cache's
// lock must not be held.
func (r *remote) begin() {
	if !r.t.background {
		return
	}
	r.mu.Lock()
	f, isNew := r.startLocked()
	r.mu.Unlock()
	r.launch(f, isNew)
}

// stop cancels the scheduled refresh.
func (r *remote) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}

// keepPointers returns next with every key unchanged since old replaced by
// old's *Key, so consumers comparing pointers (the verified-token cache)
// see that the key is still published.
func keepPointers(old *keyState, next *Set) *Set {
	if old == nil {
		return next
	}
	keys := next.Keys()
	changed := false
	for i, k := range keys {
		o, ok := old.set.Lookup(k.ID)
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
