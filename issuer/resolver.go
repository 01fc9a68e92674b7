package issuer

import (
	"context"
	"fmt"
	"reflect"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// Resolver lets a registry trust issuers it was not given, by asking the
// application: a SaaS whose customers bring their own IdP keeps the
// tenants in its own database and looks an issuer up there on its first
// token, instead of loading every tenant at start.
//
// # The resolver is the trust decision
//
// Whatever Resolve returns is trusted exactly as if it had been passed to
// Add. Resolve is called with the iss of a token nobody has verified yet,
// chosen by whoever sent the request. It MUST answer from the
// application's own allowlist (a row written when the tenant was
// onboarded) and return nil for anything else. It MUST NOT derive a
// Config from iss itself: never treat iss as a URL to fetch keys or
// metadata from, and never build a jwks_uri or discovery issuer out of
// it, or any attacker can mint tokens the registry will accept. It should
// refuse malformed or oversized iss values cheaply, before any query.
//
// # Behaviour
//
// Static issuers (New, Add, Replace) are looked up first and always win.
// For any other iss, in order:
//
//   - a resolved issuer still within TTL answers at once;
//   - an iss Resolve declined within NegativeTTL is refused at once
//     (tenantjwt.ErrUnknownIssuer), with no call;
//   - otherwise Resolve is called: once per iss however many requests
//     wait for it (single flight), at most MaxConcurrent calls at a time,
//     each bounded by Timeout.
//
// A nil Config is remembered as "not trusted" for NegativeTTL, and the
// token is refused with tenantjwt.ErrUnknownIssuer. An error from Resolve
// (a database outage), a timeout, or a Config that is invalid or does not
// select iss fails closed with tenantjwt.ErrKeysUnavailable (HTTP 503, the
// token may be good) and is not remembered. An iss longer than 1,024
// bytes is refused without a call. Nothing is fetched for
// an iss unless Resolve returned a Config for it: an unknown issuer costs
// at most one Resolve call per NegativeTTL and never a key fetch.
//
// Resolved issuers live in an LRU of Size entries. An issuer is evicted
// when it is the least recently used of a full LRU, or when it has been
// idle (no token re-resolved it) for a TTL after its answer expired;
// eviction releases its key source and voids its cached tokens, and its
// next token resolves again. After TTL the next
// token of the issuer asks Resolve again; an unchanged answer keeps the
// entry, its key set and its cached tokens, and a changed or nil one takes
// effect at once. Registry.Remove(iss) forgets both kinds of answer for
// iss at once, for use right after a tenant changes in the database.
//
// Times come from Options.Now, except Timeout, which bounds the call with
// a context deadline. Lookups of resolved issuers take one short mutex
// (the LRU's); static issuers are found without locks.
type Resolver struct {
	// Resolve returns the Config of the issuer whose tokens carry iss, or
	// nil when iss is not trusted. The Config must select iss: its Issuer
	// or one of its Aliases equals iss, or its {tenant} template matches
	// it. ctx carries the first waiting request's values and the Timeout
	// deadline. When nil, nothing is resolved.
	Resolve func(ctx context.Context, iss string) (*Config, error)
	// Timeout bounds one Resolve call, the wait for a free slot
	// included. Default 2s.
	Timeout time.Duration
	// MaxConcurrent bounds the Resolve calls in progress. Default 4.
	MaxConcurrent int
	// Size is the number of resolved issuers kept. Default 10 000.
	Size int
	// TTL is how long a resolved Config is used before Resolve is asked
	// again. Default 5 minutes.
	TTL time.Duration
	// NegativeTTL is how long a nil answer is remembered; a negative value
	// remembers nothing. Default 30 seconds.
	NegativeTTL time.Duration
	// NegativeSize bounds the remembered nil answers (an LRU, so a flood of
	// made-up iss values cannot grow memory). Default 10 000.
	NegativeSize int
}

// maxResolveIssuerBytes is the longest iss handed to Resolver.Resolve.
const maxResolveIssuerBytes = 1024

func (o Resolver) withDefaults() Resolver {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 4
	}
	if o.Size <= 0 {
		o.Size = 10000
	}
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.NegativeTTL == 0 {
		o.NegativeTTL = 30 * time.Second
	}
	if o.NegativeSize <= 0 {
		o.NegativeSize = 10000
	}
	return o
}

// resolver is the registry's side of a Resolver.
type resolver struct {
	r    *Registry
	o    Resolver
	sem  chan struct{} // a slot per Resolve call in progress
	sf   singleflight.Group
	pos  *lru.Cache[string, *resolved] // by iss
	negs *lru.Cache[string, int64]     // iss → Unix nanos the answer expires
}

// resolved is one positive answer.
type resolved struct {
	e     *entry
	bound string // the template's tenant in iss
}

func newResolver(r *Registry, o Resolver) *resolver {
	o = o.withDefaults()
	res := &resolver{r: r, o: o, sem: make(chan struct{}, o.MaxConcurrent)}
	// Eviction runs outside the LRU's lock; retire is idempotent.
	res.pos, _ = lru.NewWithEvict(o.Size, func(_ string, v *resolved) { r.retire(v.e) })
	res.negs, _ = lru.New[string, int64](o.NegativeSize)
	return res
}

// lookup finds the entry for an iss that is not a static issuer: the
// registry's Resolver is asked when there is one.
func (r *Registry) lookup(ctx context.Context, snap *snapshot, iss string) (*entry, string, error) {
	if e, bound, ok := snap.lookup(iss); ok {
		return e, bound, nil
	}
	if r.res == nil {
		return nil, "", errUnknownIssuer(iss)
	}
	return r.res.lookup(ctx, iss)
}

func errUnknownIssuer(iss string) error {
	return fmt.Errorf("issuer: iss %.64q is not trusted: %w", iss, tenantjwt.ErrUnknownIssuer)
}

func (res *resolver) lookup(ctx context.Context, iss string) (*entry, string, error) {
	if v, ok := res.answered(iss); ok {
		if v == nil {
			return nil, "", errUnknownIssuer(iss)
		}
		return v.e, v.bound, nil
	}
	if len(iss) > maxResolveIssuerBytes {
		return nil, "", errUnknownIssuer(iss)
	}
	ch := res.sf.DoChan(iss, func() (any, error) {
		// A flight that ended between this request's look at the
		// answers and joining the group has answered already: Resolve
		// is asked once per iss and TTL, never again for a late joiner.
		if v, ok := res.answered(iss); ok {
			if v == nil {
				return nil, errUnknownIssuer(iss)
			}
			return v, nil
		}
		// The call outlives the request that started it: others wait
		// for it too. It keeps the request's values, not its deadline.
		return res.resolve(context.WithoutCancel(ctx), iss)
	})
	select {
	case out := <-ch:
		if out.Err != nil {
			return nil, "", out.Err
		}
		v := out.Val.(*resolved)
		return v.e, v.bound, nil
	case <-ctx.Done():
		return nil, "", fmt.Errorf("issuer: resolving iss %.64q: %w: %w", iss, ctx.Err(), tenantjwt.ErrKeysUnavailable)
	}
}

// answered returns the answer the resolver holds for iss and still
// trusts: ok with v for a positive one, ok with a nil v for a negative
// one; ok is false when Resolve must be asked.
func (res *resolver) answered(iss string) (v *resolved, ok bool) {
	now := res.r.opts.Now().UnixNano()
	if v, ok := res.pos.Get(iss); ok && now < v.e.until.Load() {
		return v, true
	}
	if exp, ok := res.negs.Get(iss); ok && now < exp {
		return nil, true
	}
	return nil, false
}

// resolve asks Resolve about iss and installs the answer.
func (res *resolver) resolve(ctx context.Context, iss string) (*resolved, error) {
	ctx, cancel := context.WithTimeout(ctx, res.o.Timeout)
	defer cancel()
	select {
	case res.sem <- struct{}{}:
		defer func() { <-res.sem }()
	case <-ctx.Done():
		return nil, fmt.Errorf("issuer: resolving iss %.64q: no free slot: %w: %w", iss, ctx.Err(), tenantjwt.ErrKeysUnavailable)
	}
	c, err := res.call(ctx, iss)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // an answer after the deadline is not used
	}
	if err != nil {
		res.r.opts.Logger.Warn("issuer: resolver failed", "iss", truncate(iss), "error", err.Error())
		return nil, fmt.Errorf("issuer: resolving iss %.64q: %w: %w", iss, err, tenantjwt.ErrKeysUnavailable)
	}
	if c == nil {
		res.decline(iss)
		return nil, errUnknownIssuer(iss)
	}
	v, err := res.install(iss, *c)
	if err != nil {
		res.r.opts.Logger.Error("issuer: resolver returned an unusable config", "iss", truncate(iss), "error", err.Error())
		return nil, fmt.Errorf("issuer: resolving iss %.64q: %w: %w", iss, err, tenantjwt.ErrKeysUnavailable)
	}
	return v, nil
}

// call runs Resolve, turning a panic into an error: a bug in one
// tenant's lookup must not take the process down (singleflight would
// re-raise it on a goroutine of its own).
func (res *resolver) call(ctx context.Context, iss string) (c *Config, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, fmt.Errorf("resolver panicked: %v", p)
		}
	}()
	return res.o.Resolve(ctx, iss)
}

// decline remembers a nil answer, and drops a positive one for iss.
func (res *resolver) decline(iss string) {
	res.r.mu.Lock()
	defer res.r.mu.Unlock()
	res.pos.Remove(iss)
	if res.o.NegativeTTL > 0 {
		res.negs.Add(iss, res.r.opts.Now().Add(res.o.NegativeTTL).UnixNano())
	}
}

// install validates c for iss and puts it in the LRU. An unchanged answer
// keeps the entry it had, with its key set and cached tokens.
func (res *resolver) install(iss string, c Config) (*resolved, error) {
	e, err := compile(c)
	if err != nil {
		return nil, fmt.Errorf("issuer (%s): %w", c.label(), err)
	}
	bound, ok := e.selects(iss)
	if !ok {
		return nil, fmt.Errorf("issuer (%s): config does not select iss", e.name)
	}
	r := res.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errClosed
	}
	until := r.opts.Now().Add(res.o.TTL).UnixNano()
	if old, ok := res.pos.Peek(iss); ok && sameConfig(old.e.cfg, e.cfg) {
		old.e.until.Store(until)
		res.pos.Get(iss) // mark as recently used
		return old, nil
	}
	if o, ok := r.snap.Load().names.get(e.name); ok {
		return nil, fmt.Errorf("issuer (%s): name: already used by %s", e.name, o.cfg.Issuer)
	}
	if err := r.buildSource(e); err != nil {
		return nil, fmt.Errorf("issuer (%s): %w", e.name, err)
	}
	e.until.Store(until)
	v := &resolved{e: e, bound: bound}
	res.pos.Remove(iss) // retires an entry resolved before, if any
	res.pos.Add(iss, v)
	res.negs.Remove(iss)
	res.evictIdle()
	return v, nil
}

// evictIdle drops resolved issuers nobody has verified a token of for a
// whole TTL after their answer expired: a token of an issuer in use
// re-resolves it within a TTL, so such an entry only holds memory and a
// key set. The LRU keeps the least recently used first, so the sweep
// stops at the first entry still in use. r.mu must be held.
func (res *resolver) evictIdle() {
	idle := res.r.opts.Now().Add(-res.o.TTL).UnixNano()
	for {
		k, v, ok := res.pos.GetOldest()
		if !ok || v.e.until.Load() > idle {
			return
		}
		res.pos.Remove(k)
	}
}

// selects reports whether e is the issuer of iss, and the template's
// tenant in it.
func (e *entry) selects(iss string) (bound string, ok bool) {
	if e.tpl != nil {
		if t, ok := e.tpl.match(iss); ok {
			return t, true
		}
	} else if e.cfg.Issuer == iss {
		return "", true
	}
	for _, a := range e.cfg.Aliases {
		if a == iss {
			return "", true
		}
	}
	return "", false
}

// forget drops both kinds of answer for iss and reports whether there was
// a positive one. r.mu must be held. A nil resolver forgets nothing.
func (res *resolver) forget(iss string) bool {
	if res == nil {
		return false
	}
	res.negs.Remove(iss)
	return res.pos.Remove(iss)
}

// named returns the entry that verified p, if it is still trusted.
func (r *Registry) named(p *tenantjwt.Principal) (*entry, bool) {
	if e, ok := r.snap.Load().names.get(p.Issuer()); ok {
		return e, true
	}
	return r.res.named(p.IssuerURL(), p.Issuer())
}

// named returns the resolved entry of iss if it is called name.
func (res *resolver) named(iss, name string) (*entry, bool) {
	if res == nil {
		return nil, false
	}
	v, ok := res.pos.Peek(iss)
	if !ok || v.e.name != name {
		return nil, false
	}
	return v.e, true
}

// close releases the key sources of the resolved issuers; they keep
// verifying with the keys they hold, as static issuers do after Close.
// r.mu must be held.
func (res *resolver) close() {
	if res == nil {
		return
	}
	for _, v := range res.pos.Values() {
		res.r.releaseSource(v.e)
	}
}

// sameConfig reports whether two configs are equal, comparing in-code key
// sources by identity.
func sameConfig(a, b Config) bool {
	ka, kb := a.Keys, b.Keys
	a.Keys, b.Keys = nil, nil
	if !reflect.DeepEqual(a, b) {
		return false
	}
	return sameSource(ka, kb)
}

func sameSource(a, b jwks.Source) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}

// truncate bounds an untrusted string for a log line.
func truncate(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}
