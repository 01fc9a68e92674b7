package issuer

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// Registry is the set of trusted issuers and the verification pipeline.
//
// It is safe for concurrent use. Verify never locks to find an issuer: the
// index is sharded into immutable maps behind atomic pointers (see
// index.go), so Add, Remove, Update and Replace never block verifications
// and a SaaS can onboard a tenant without a restart. Adding, removing or
// updating one issuer copies one shard, not the registry, so it costs
// about the same at 100 000 issuers as at 10. Writers are serialised among
// themselves.
type Registry struct {
	opts   Options
	keys   KeySources
	owned  bool // the registry made keys and closes it
	cache  *tokenCache
	proofs *dpop.Checker
	res    *resolver // nil without Options.Resolver

	snap atomic.Pointer[snapshot]

	mu     sync.Mutex // serialises Add, Remove, Update, Replace and Close
	closed bool
	seq    uint64 // configuration order of the next entry
}

// New builds a registry trusting issuers. Every Config is validated; the
// first error names the entry and field. No key is fetched here: keys are
// fetched on first use, or by Prefetch.
func New(opts Options, issuers ...Config) (*Registry, error) {
	opts = opts.withDefaults()
	proofs, err := dpop.NewChecker(opts.DPoP, opts.Leeway, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	r := &Registry{opts: opts, keys: opts.Keys, proofs: proofs}
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
			for _, b := range entries[:i] {
				r.releaseSource(b)
			}
			r.closeKeys()
			return nil, fmt.Errorf("issuer[%d] (%s): %w", i, e.name, err)
		}
	}
	r.number(entries)
	if opts.Resolver.Resolve != nil {
		r.res = newResolver(r, opts.Resolver)
	}
	r.snap.Store(newSnapshot(entries))
	return r, nil
}

// number gives entries their configuration order. r.mu must be held, or r
// not yet shared.
func (r *Registry) number(entries []*entry) {
	for _, e := range entries {
		e.seq = r.seq
		r.seq++
	}
}

// errClosed is returned by writers after Close.
var errClosed = errors.New("issuer: registry is closed")

// Add trusts one more issuer. It fails when c is invalid or conflicts with
// a trusted issuer (same issuer string, alias or name). Its cost does not
// grow with the number of issuers. An issuer the Resolver had resolved
// under one of c's issuer strings is dropped in favour of c.
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
	if err := cur.conflict(e, nil, "issuer"); err != nil {
		return err
	}
	if err := r.buildSource(e); err != nil {
		return fmt.Errorf("issuer (%s): %w", e.name, err)
	}
	r.number([]*entry{e})
	cur.swap(nil, e)
	for _, sp := range e.spellings() {
		r.res.forget(sp)
	}
	r.opts.Logger.Info("issuer added", "issuer", e.name)
	return nil
}

// Remove stops trusting the issuer with the given name or issuer string
// and reports whether there was one. Its cached tokens stop verifying at
// once, and its key source is released (see KeySources). With a
// Resolver, Remove(iss) also drops what was resolved for iss, positive or
// negative, so the next token of iss asks the Resolver again: call it
// after changing a tenant in the application's own store.
func (r *Registry) Remove(issuerOrName string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	resolved := r.res.forget(issuerOrName)
	cur := r.snap.Load()
	gone, ok := cur.find(issuerOrName)
	if !ok {
		return resolved
	}
	cur.swap(gone, nil)
	r.retire(gone)
	r.opts.Logger.Info("issuer removed", "issuer", gone.name)
	return true
}

// Update changes one trusted issuer without touching the others, for
// example to add a tenant to a template's allowlist:
//
//	reg.Update("entra", func(c *issuer.Config) error {
//		c.Tenants = append(c.Tenants, tid)
//		return nil
//	})
//
// issuerOrName selects the issuer as Remove does. fn edits a copy of its
// Config (slices included); when fn returns an error, or the result is
// invalid or conflicts with another issuer, nothing changes. Otherwise
// the new entry takes the old one's place atomically: verifications see
// the old config or the new one, never neither. The key source is kept
// when the key source settings did not change. Tokens cached under the
// old config are verified again.
func (r *Registry) Update(issuerOrName string, fn func(*Config) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	cur := r.snap.Load()
	old, ok := cur.find(issuerOrName)
	if !ok {
		return fmt.Errorf("issuer: %.128q is not trusted: %w", issuerOrName, tenantjwt.ErrUnknownIssuer)
	}
	c := old.config()
	if err := fn(&c); err != nil {
		return fmt.Errorf("issuer (%s): update: %w", old.name, err)
	}
	e, err := compile(c)
	if err != nil {
		return fmt.Errorf("issuer (%s): %w", c.label(), err)
	}
	if err := cur.conflict(e, old, "issuer"); err != nil {
		return err
	}
	// Acquire before releasing, so a shared key set is never dropped.
	if err := r.buildSource(e); err != nil {
		return fmt.Errorf("issuer (%s): %w", e.name, err)
	}
	e.seq = old.seq
	cur.swap(old, e)
	r.retire(old)
	for _, sp := range e.spellings() {
		r.res.forget(sp)
	}
	r.opts.Logger.Info("issuer updated", "issuer", e.name)
	return nil
}

// retire marks an entry that left the index: its cached tokens stop
// verifying, and its key source is released.
func (r *Registry) retire(e *entry) {
	e.gone.Store(true)
	r.releaseSource(e)
}

// Replace swaps the whole set of issuers atomically: verifications see
// either the old set or the new one. On error nothing changes. An issuer
// whose configuration is unchanged (same name, equal Config) is kept as
// it is, with its key source and its cached tokens; tokens cached under
// an issuer that changed or left are verified again. Replace costs time
// in proportion to the new set; to change a few issuers of a large set,
// use Add, Remove and Update.
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
	kept := make(map[*entry]bool)
	var fresh []*entry
	for i, e := range entries {
		if old, ok := r.snap.Load().names.get(e.name); ok && !old.gone.Load() && old.until.Load() == 0 && reflect.DeepEqual(old.cfg, e.cfg) {
			entries[i], kept[old] = old, true // keeps its place in the order (seq)
			continue
		}
		if err := r.buildSource(e); err != nil {
			for _, b := range fresh {
				r.releaseSource(b)
			}
			return fmt.Errorf("issuer[%d] (%s): %w", i, e.name, err)
		}
		fresh = append(fresh, e)
	}
	r.number(fresh)
	old := r.snap.Swap(newSnapshot(entries))
	old.names.each(func(e *entry) {
		if !kept[e] {
			r.retire(e)
		}
	})
	r.opts.Logger.Info("issuers replaced", "count", len(entries), "unchanged", len(kept))
	return nil
}

// Issuers returns the configurations in force, in order. The slices in the
// returned values are copies.
func (r *Registry) Issuers() []Config {
	entries := r.snap.Load().entries()
	out := make([]Config, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.config())
	}
	return out
}

// config returns a copy of e's Config with its own slices.
func (e *entry) config() Config {
	c := e.cfg
	c.Audiences = append([]string(nil), c.Audiences...)
	c.Algorithms = append([]string(nil), c.Algorithms...)
	c.Tenants = append([]string(nil), c.Tenants...)
	c.Aliases = append([]string(nil), c.Aliases...)
	return c
}

// Prefetch fetches the keys of every issuer marked prefetch, at most
// Options.PrefetchConcurrency at a time, and returns the errors joined.
// Verification still works for issuers whose prefetch failed: their keys
// are fetched on first use. When ctx ends, the issuers not yet started
// are skipped and reported with ctx's error.
func (r *Registry) Prefetch(ctx context.Context) error {
	var todo []*entry
	for _, e := range r.snap.Load().entries() {
		if _, ok := e.src.(jwks.Refresher); ok && e.cfg.Prefetch {
			todo = append(todo, e)
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan *entry)
	)
	for range min(r.opts.PrefetchConcurrency, len(todo)) {
		wg.Go(func() {
			for e := range next {
				if err := e.src.(jwks.Refresher).Refresh(ctx); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("issuer: %s: prefetch: %w", e.name, err))
					mu.Unlock()
				}
			}
		})
	}
	for i, e := range todo {
		select {
		case next <- e:
			continue
		case <-ctx.Done():
		}
		mu.Lock()
		errs = append(errs, fmt.Errorf("issuer: prefetch: %d issuers not started: %w", len(todo)-i, ctx.Err()))
		mu.Unlock()
		break
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// Ready reports whether every issuer marked prefetch has usable keys now.
// It does no I/O.
func (r *Registry) Ready() bool {
	ready := true
	r.snap.Load().names.each(func(e *entry) {
		if ready && e.cfg.Prefetch && e.src.Current() == nil {
			ready = false
		}
	})
	return ready
}

// Close releases the registry's key sources (see KeySources), and
// closes its key cache when the registry owns it, which stops its
// background work. Verify keeps working on keys
// already held, but nothing is fetched any more.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.snap.Load().names.each(r.releaseSource)
	r.res.close()
	return r.closeKeys()
}
