package issuer_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// tenantDB stands in for the application's own table of tenants: the
// allowlist the resolver consults. It counts the lookups.
type tenantDB struct {
	mu    sync.Mutex
	rows  map[string]issuer.Config // by iss
	err   error
	calls atomic.Int64
	// gate, when set, is received from before answering.
	gate chan struct{}
}

func newTenantDB() *tenantDB { return &tenantDB{rows: map[string]issuer.Config{}} }

func (db *tenantDB) put(iss string, c issuer.Config) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.rows[iss] = c
}

func (db *tenantDB) del(iss string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	delete(db.rows, iss)
}

func (db *tenantDB) resolve(ctx context.Context, iss string) (*issuer.Config, error) {
	db.calls.Add(1)
	if db.gate != nil {
		select {
		case <-db.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.err != nil {
		return nil, db.err
	}
	c, ok := db.rows[iss]
	if !ok {
		return nil, nil
	}
	return &c, nil
}

type resolverEnv struct {
	clk  *clock
	db   *tenantDB
	keys *countingKeys
	reg  *issuer.Registry
	hits atomic.Int64
}

func newResolverEnv(t *testing.T, r issuer.Resolver, static ...issuer.Config) *resolverEnv {
	env := &resolverEnv{clk: newClock(t0), db: newTenantDB()}
	env.keys = newCountingKeys(t, env.clk.now)
	if r.Resolve == nil {
		r.Resolve = env.db.resolve
	}
	env.reg = newRegistry(t, issuer.Options{
		Now:      env.clk.now,
		Keys:     env.keys,
		Resolver: r,
		Hooks: issuer.Hooks{Verified: func(ev issuer.VerifyEvent) {
			if ev.CacheHit {
				env.hits.Add(1)
			}
		}},
	}, static...)
	return env
}

func (env *resolverEnv) verify(tok string) (*tenantjwt.Principal, error) {
	return env.reg.Verify(context.Background(), tok)
}

func newIdP(t *testing.T, opts ...issuertest.Option) *issuertest.Issuer {
	return issuertest.New(t, append([]issuertest.Option{issuertest.WithClock(func() time.Time { return t0 })}, opts...)...)
}

func TestResolverUnknownIssuerFetchesNothing(t *testing.T) {
	t.Parallel()
	env := newResolverEnv(t, issuer.Resolver{NegativeTTL: time.Minute})
	stranger := newIdP(t) // a real, reachable IdP nobody onboarded
	tok := stranger.Mint(nil)

	for range 3 {
		if _, err := env.verify(tok); !errors.Is(err, tenantjwt.ErrUnknownIssuer) {
			t.Fatalf("err = %v, want ErrUnknownIssuer", err)
		}
	}
	if got := env.db.calls.Load(); got != 1 {
		t.Errorf("resolver calls = %d, want 1 (the answer is cached)", got)
	}
	env.clk.add(time.Minute)
	if _, err := env.verify(tok); !errors.Is(err, tenantjwt.ErrUnknownIssuer) {
		t.Fatalf("after NegativeTTL: %v", err)
	}
	if got := env.db.calls.Load(); got != 2 {
		t.Errorf("resolver calls after NegativeTTL = %d, want 2", got)
	}
	if j, d := stranger.JWKSRequests(), stranger.DiscoveryRequests(); j != 0 || d != 0 {
		t.Errorf("unknown issuer caused %d JWKS and %d discovery requests, want 0", j, d)
	}
	if acq, _, _ := env.keys.counts(t); acq != 0 {
		t.Errorf("key sources acquired for an unknown issuer: %d", acq)
	}
	// An oversized iss never reaches the resolver.
	long := stranger.Mint(map[string]any{"iss": "https://x.example.com/" + strings.Repeat("a", issuer.MaxResolveIssuerBytes)})
	if _, err := env.verify(long); !errors.Is(err, tenantjwt.ErrUnknownIssuer) {
		t.Errorf("oversized iss: %v", err)
	}
	if got := env.db.calls.Load(); got != 2 {
		t.Errorf("resolver called for an oversized iss")
	}
}

func TestResolverOnboardsFromTheDatabase(t *testing.T) {
	t.Parallel()
	env := newResolverEnv(t, issuer.Resolver{TTL: 10 * time.Minute})
	idp := newIdP(t)
	c := idp.Config()
	c.Name = "acme"
	c.Tenant = "acme"
	tok := idp.Mint(nil)

	// Not onboarded yet.
	if _, err := env.verify(tok); !errors.Is(err, tenantjwt.ErrUnknownIssuer) {
		t.Fatalf("before onboarding: %v", err)
	}
	// Onboarded: the negative answer is still cached until Remove(iss).
	env.db.put(idp.URL(), c)
	if _, err := env.verify(tok); !errors.Is(err, tenantjwt.ErrUnknownIssuer) {
		t.Fatalf("cached negative answer not used: %v", err)
	}
	if env.reg.Remove(idp.URL()) {
		t.Error("Remove of a negative answer reported an issuer")
	}
	p, err := env.verify(tok)
	if err != nil {
		t.Fatalf("after onboarding: %v", err)
	}
	if p.Issuer() != "acme" || p.Tenant() != "acme" {
		t.Errorf("principal: issuer %q tenant %q", p.Issuer(), p.Tenant())
	}
	if _, err := env.verify(tok); err != nil || env.hits.Load() != 1 {
		t.Fatalf("second verify: err %v, cache hits %d", err, env.hits.Load())
	}
	if calls, fetches := env.db.calls.Load(), idp.JWKSRequests(); calls != 2 || fetches != 1 {
		t.Errorf("resolver calls %d, JWKS fetches %d; want 2 and 1", calls, fetches)
	}

	// After TTL the database is asked again; the same answer keeps the
	// entry, its keys and its cached tokens.
	env.clk.add(10 * time.Minute)
	if _, err := env.verify(tok); err != nil {
		t.Fatal(err)
	}
	if calls, fetches := env.db.calls.Load(), idp.JWKSRequests(); calls != 3 || fetches != 1 {
		t.Errorf("after TTL: resolver calls %d, JWKS fetches %d; want 3 and 1", calls, fetches)
	}
	if _, err := env.verify(tok); err != nil || env.hits.Load() != 2 {
		t.Errorf("cached token after an unchanged answer: err %v, hits %d, want 2", err, env.hits.Load())
	}

	// Offboarded: after TTL the token stops verifying, the cached one too.
	env.db.del(idp.URL())
	env.clk.add(10 * time.Minute)
	if _, err := env.verify(tok); !errors.Is(err, tenantjwt.ErrUnknownIssuer) {
		t.Errorf("after offboarding: %v", err)
	}
	if acq, rel, held := env.keys.counts(t); acq != 1 || rel != 1 || held != 0 {
		t.Errorf("key sources: acquired %d released %d held %d; want 1 1 0", acq, rel, held)
	}
}

func TestResolverSingleFlight(t *testing.T) {
	t.Parallel()
	env := newResolverEnv(t, issuer.Resolver{})
	idp := newIdP(t)
	env.db.put(idp.URL(), idp.Config())
	env.db.gate = make(chan struct{})
	tok := idp.Mint(nil)

	const n = 50
	var started, wg sync.WaitGroup
	started.Add(n)
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			_, err := env.verify(tok)
			errs <- err
		}()
	}
	started.Wait()
	close(env.db.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Late goroutines find the answer in the LRU; none asks again.
	if got := env.db.calls.Load(); got != 1 {
		t.Errorf("resolver calls = %d, want 1", got)
	}
	if got := idp.JWKSRequests(); got != 1 {
		t.Errorf("JWKS fetches = %d, want 1", got)
	}
}

func TestResolverBoundedConcurrency(t *testing.T) {
	t.Parallel()
	const limit, n = 2, 8
	var inFlight, peak atomic.Int64
	entered := make(chan struct{}, n)
	release := make(chan struct{})
	env := newResolverEnv(t, issuer.Resolver{MaxConcurrent: limit, Timeout: time.Minute, NegativeTTL: -1,
		Resolve: func(ctx context.Context, iss string) (*issuer.Config, error) {
			cur := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				p := peak.Load()
				if cur <= p || peak.CompareAndSwap(p, cur) {
					break
				}
			}
			entered <- struct{}{}
			<-release
			return nil, nil
		}})
	idp := newIdP(t)
	var wg sync.WaitGroup
	for i := range n {
		tok := idp.Mint(map[string]any{"iss": idp.TenantURL("") + "/t" + string(rune('a'+i))})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := env.verify(tok); !errors.Is(err, tenantjwt.ErrUnknownIssuer) {
				t.Errorf("err = %v, want ErrUnknownIssuer", err)
			}
		}()
	}
	<-entered
	<-entered // the limit is reached
	close(release)
	wg.Wait()
	if got := peak.Load(); got > limit {
		t.Errorf("%d Resolve calls at once, limit %d", got, limit)
	}
	if got := len(entered); got != n-limit {
		t.Errorf("%d more calls after release, want %d", got, n-limit)
	}
}

func TestResolverFailuresFailClosed(t *testing.T) {
	t.Parallel()
	idp := newIdP(t)
	tok := idp.Mint(nil)
	other := newIdP(t)

	t.Run("error is 503 and not cached", func(t *testing.T) {
		env := newResolverEnv(t, issuer.Resolver{})
		env.db.err = errors.New("database is down")
		for range 2 {
			if _, err := env.verify(tok); !errors.Is(err, tenantjwt.ErrKeysUnavailable) || errors.Is(err, tenantjwt.ErrInvalidToken) {
				t.Errorf("err = %v, want ErrKeysUnavailable only", err)
			}
		}
		if got := env.db.calls.Load(); got != 2 {
			t.Errorf("resolver calls = %d, want 2", got)
		}
	})
	t.Run("panic", func(t *testing.T) {
		env := newResolverEnv(t, issuer.Resolver{Resolve: func(context.Context, string) (*issuer.Config, error) {
			panic("bug in the tenant lookup")
		}})
		if _, err := env.verify(tok); !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
			t.Errorf("err = %v, want ErrKeysUnavailable", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		env := newResolverEnv(t, issuer.Resolver{Timeout: 20 * time.Millisecond})
		env.db.gate = make(chan struct{}) // never opens
		if _, err := env.verify(tok); !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
			t.Errorf("err = %v, want ErrKeysUnavailable", err)
		}
	})
	t.Run("caller gives up", func(t *testing.T) {
		env := newResolverEnv(t, issuer.Resolver{})
		env.db.gate = make(chan struct{})
		defer close(env.db.gate)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := env.reg.Verify(ctx, tok); !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
			t.Errorf("err = %v, want ErrKeysUnavailable", err)
		}
	})
	bad := []struct {
		name string
		cfg  issuer.Config
	}{
		{"config for another issuer", other.Config()},
		{"invalid config", issuer.Config{Issuer: idp.URL(), JWKSURI: "ftp://keys.example.com/"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			env := newResolverEnv(t, issuer.Resolver{})
			env.db.put(idp.URL(), tc.cfg)
			if _, err := env.verify(tok); !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
				t.Errorf("err = %v, want ErrKeysUnavailable", err)
			}
			if idp.JWKSRequests()+other.JWKSRequests() != 0 {
				t.Error("keys fetched for a config that was refused")
			}
		})
	}
	t.Run("name of a static issuer", func(t *testing.T) {
		static := other.StaticConfig()
		static.Name = "taken"
		env := newResolverEnv(t, issuer.Resolver{}, static)
		c := idp.Config()
		c.Name = "taken"
		env.db.put(idp.URL(), c)
		if _, err := env.verify(tok); !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
			t.Errorf("err = %v, want ErrKeysUnavailable", err)
		}
	})
}

func TestResolverLRUEvictsWithKeySource(t *testing.T) {
	t.Parallel()
	env := newResolverEnv(t, issuer.Resolver{Size: 1})
	a, b := newIdP(t), newIdP(t)
	env.db.put(a.URL(), a.Config())
	env.db.put(b.URL(), b.Config())
	ta, tb := a.Mint(nil), b.Mint(nil)
	if _, err := env.verify(ta); err != nil {
		t.Fatal(err)
	}
	if _, err := env.verify(tb); err != nil { // evicts a
		t.Fatal(err)
	}
	if acq, rel, held := env.keys.counts(t); acq != 2 || rel != 1 || held != 1 {
		t.Errorf("key sources: acquired %d released %d held %d; want 2 1 1", acq, rel, held)
	}
	// a's cached token is void; a resolves again.
	if _, err := env.verify(ta); err != nil {
		t.Fatal(err)
	}
	if env.hits.Load() != 0 {
		t.Error("the cached token of an evicted issuer was used")
	}
	if got := env.db.calls.Load(); got != 3 {
		t.Errorf("resolver calls = %d, want 3", got)
	}
	// Remove forgets a resolved issuer, with its key source.
	if !env.reg.Remove(a.URL()) {
		t.Error("Remove of a resolved issuer = false")
	}
	if acq, rel, held := env.keys.counts(t); acq != 3 || rel != 3 || held != 0 {
		t.Errorf("after Remove: acquired %d released %d held %d; want 3 3 0", acq, rel, held)
	}
}

func TestResolverEvictsIdleIssuers(t *testing.T) {
	t.Parallel()
	env := newResolverEnv(t, issuer.Resolver{TTL: time.Minute})
	a, b, c := newIdP(t), newIdP(t), newIdP(t)
	for _, idp := range []*issuertest.Issuer{a, b, c} {
		env.db.put(idp.URL(), idp.Config())
	}
	for _, idp := range []*issuertest.Issuer{a, b} {
		if _, err := env.verify(idp.Mint(nil)); err != nil {
			t.Fatal(err)
		}
	}
	// b stays in use (re-resolved after each TTL); a sees no token.
	env.clk.add(90 * time.Second)
	if _, err := env.verify(b.Mint(nil)); err != nil {
		t.Fatal(err)
	}
	env.clk.add(40 * time.Second) // a: answer expired 70 s ago, idle > TTL
	if _, err := env.verify(c.Mint(nil)); err != nil {
		t.Fatal(err)
	}
	if acq, rel, held := env.keys.counts(t); acq != 3 || rel != 1 || held != 2 {
		t.Errorf("key sources: acquired %d released %d held %d; want 3 1 2 (a evicted)", acq, rel, held)
	}
}

func TestResolverTemplateAndStaticPrecedence(t *testing.T) {
	t.Parallel()
	entra := newIdP(t, issuertest.WithPath("/{tenant}/v2.0"))
	env := newResolverEnv(t, issuer.Resolver{})
	tpl := entra.Config()
	tpl.Name = "entra"
	tpl.TenantClaim = "tid"
	tpl.Tenants = []string{"t1"}
	env.db.put(entra.TenantURL("t1"), tpl)
	tok := entra.Mint(map[string]any{"iss": entra.TenantURL("t1"), "tid": "t1"})
	p, err := env.verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Tenant() != "t1" || p.Issuer() != "entra" {
		t.Errorf("principal: tenant %q issuer %q", p.Tenant(), p.Issuer())
	}
	// SelectTenant finds the resolved issuer.
	if _, err := env.reg.SelectTenant(context.Background(), p, "t1"); err != nil {
		t.Errorf("SelectTenant on a resolved issuer: %v", err)
	}

	// A static issuer added for the same iss wins, and the resolver is
	// not asked about it again.
	static := entra.StaticConfig()
	static.Issuer = entra.TenantURL("t1")
	static.Name = "static"
	if err := env.reg.Add(static); err != nil {
		t.Fatal(err)
	}
	calls := env.db.calls.Load()
	p, err = env.verify(tok)
	if err != nil || p.Issuer() != "static" {
		t.Errorf("after Add: issuer %v err %v, want static", p, err)
	}
	if env.db.calls.Load() != calls {
		t.Error("resolver asked about a static issuer")
	}
}
