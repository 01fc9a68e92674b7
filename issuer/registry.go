package issuer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/tenantjwt/tenantjwt/jwks"
)

// Registry is the set of trusted issuers and the verification pipeline.
//
// It is safe for concurrent use. Verify reads an immutable snapshot of the
// issuers through an atomic pointer, so Add, Remove and Replace never block
// verifications: a SaaS can onboard a tenant without a restart. Writers are
// serialised among themselves.
type Registry struct {
	opts  Options
	keys  KeySources
	owned bool // the registry made keys and closes it
	cache *tokenCache
	dpop  dpopChecker

	snap atomic.Pointer[snapshot]

	mu     sync.Mutex // serialises Add, Remove, Replace and Close
	closed bool
}

// snapshot is an immutable view of the issuers.
type snapshot struct {
	entries   []*entry          // in configuration order
	exact     map[string]*entry // by issuer and alias
	templates []*entry
	byName    map[string]*entry
}

func newSnapshot(entries []*entry) *snapshot {
	s := &snapshot{
		entries: entries,
		exact:   make(map[string]*entry, len(entries)),
		byName:  make(map[string]*entry, len(entries)),
	}
	for _, e := range entries {
		s.byName[e.name] = e
		if e.tpl != nil {
			s.templates = append(s.templates, e)
		} else {
			s.exact[e.cfg.Issuer] = e
		}
		for _, a := range e.cfg.Aliases {
			s.exact[a] = e
		}
	}
	return s
}

// lookup finds the entry for an unverified iss: exact map first, then
// templates. bound is the template's tenant.
func (s *snapshot) lookup(iss string) (e *entry, bound string, ok bool) {
	if e, ok := s.exact[iss]; ok {
		return e, "", true
	}
	for _, e := range s.templates {
		if t, ok := e.tpl.match(iss); ok {
			return e, t, true
		}
	}
	return nil, "", false
}

// New builds a registry trusting issuers. Every Config is validated; the
// first error names the entry and field. No key is fetched here: keys are
// fetched on first use, or by Prefetch.
func New(opts Options, issuers ...Config) (*Registry, error) {
	opts = opts.withDefaults()
	dpop, err := newDPoPChecker(opts.DPoP, opts.Now)
	if err != nil {
		return nil, err
	}
	r := &Registry{opts: opts, keys: opts.Keys, dpop: dpop}
	if r.keys == nil {
		r.keys, r.owned = newOwnedKeys(opts)
	}
	if opts.TokenCacheSize > 0 {
		r.cache = newTokenCache(opts.TokenCacheSize)
	}
	entries, err := validateAll(issuers)
	if err != nil {
		r.closeKeys()
		return nil, err
	}
	for i, e := range entries {
		if err := r.buildSource(e); err != nil {
			r.closeKeys()
			return nil, fmt.Errorf("issuer[%d] (%s): %w", i, e.name, err)
		}
	}
	r.snap.Store(newSnapshot(entries))
	return r, nil
}

// errClosed is returned by writers after Close.
var errClosed = errors.New("issuer: registry is closed")

// Add trusts one more issuer. It fails when c is invalid or conflicts with
// a trusted issuer (same issuer string, alias or name).
func (r *Registry) Add(c Config) error {
	e, err := compile(c)
	if err != nil {
		return fmt.Errorf("issuer (%s): %w", c.label(), err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	cur := r.snap.Load()
	if err := checkConflicts([]*entry{e}, cur.entries, func(int) string { return "issuer" }); err != nil {
		return err
	}
	if err := r.buildSource(e); err != nil {
		return fmt.Errorf("issuer (%s): %w", e.name, err)
	}
	entries := append(append(make([]*entry, 0, len(cur.entries)+1), cur.entries...), e)
	r.snap.Store(newSnapshot(entries))
	r.opts.Logger.Info("issuer added", "issuer", e.name)
	return nil
}

// Remove stops trusting the issuer with the given name or issuer string
// and reports whether there was one. Its cached tokens stop verifying at
// once.
func (r *Registry) Remove(issuerOrName string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.snap.Load()
	var gone *entry
	entries := make([]*entry, 0, len(cur.entries))
	for _, e := range cur.entries {
		if gone == nil && (e.name == issuerOrName || e.cfg.Issuer == issuerOrName) {
			gone = e
			continue
		}
		entries = append(entries, e)
	}
	if gone == nil {
		return false
	}
	r.snap.Store(newSnapshot(entries))
	r.releaseSource(gone)
	r.opts.Logger.Info("issuer removed", "issuer", gone.name)
	return true
}

// Replace swaps the whole set of issuers atomically: verifications see
// either the old set or the new one. On error nothing changes. Tokens
// cached under the old set are verified again.
func (r *Registry) Replace(cs []Config) error {
	entries, err := validateAll(cs)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	for i, e := range entries {
		if err := r.buildSource(e); err != nil {
			for _, b := range entries[:i] {
				r.releaseSource(b)
			}
			return fmt.Errorf("issuer[%d] (%s): %w", i, e.name, err)
		}
	}
	old := r.snap.Swap(newSnapshot(entries))
	for _, e := range old.entries {
		r.releaseSource(e)
	}
	r.opts.Logger.Info("issuers replaced", "count", len(entries))
	return nil
}

// Issuers returns the configurations in force, in order. The slices in the
// returned values are copies.
func (r *Registry) Issuers() []Config {
	s := r.snap.Load()
	out := make([]Config, 0, len(s.entries))
	for _, e := range s.entries {
		c := e.cfg
		c.Audiences = append([]string(nil), c.Audiences...)
		c.Algorithms = append([]string(nil), c.Algorithms...)
		c.Tenants = append([]string(nil), c.Tenants...)
		c.Aliases = append([]string(nil), c.Aliases...)
		out = append(out, c)
	}
	return out
}

// Prefetch fetches the keys of every issuer marked prefetch, concurrently,
// and returns the errors joined. Verification still works for issuers
// whose prefetch failed: their keys are fetched on first use.
func (r *Registry) Prefetch(ctx context.Context) error {
	var g errgroup.Group
	var mu sync.Mutex
	var errs []error
	for _, e := range r.snap.Load().entries {
		ref, ok := e.src.(jwks.Refresher)
		if !e.cfg.Prefetch || !ok {
			continue
		}
		g.Go(func() error {
			if err := ref.Refresh(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("issuer: %s: prefetch: %w", e.name, err))
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	return errors.Join(errs...)
}

// Ready reports whether every issuer marked prefetch has usable keys now.
// It does no I/O.
func (r *Registry) Ready() bool {
	for _, e := range r.snap.Load().entries {
		if e.cfg.Prefetch && e.src.Current() == nil {
			return false
		}
	}
	return true
}

// CacheStats reports the verified-token cache's counters.
type CacheStats struct {
	Hits, Misses uint64
	Len, Size    int
}

// CacheStats returns the cache counters (zero when the cache is disabled).
func (r *Registry) CacheStats() CacheStats {
	if r.cache == nil {
		return CacheStats{}
	}
	return r.cache.stats()
}

// Close releases the registry's key sources and stops their background
// work when the registry owns its key cache. Verify keeps working on keys
// already held, but nothing is fetched any more.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return r.closeKeys()
}
