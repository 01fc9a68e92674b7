package issuer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

type cacheEnv struct {
	iss *issuertest.Issuer
	src *liveSource
	clk *clock
	reg *issuer.Registry
	ev  []issuer.VerifyEvent
}

func newCacheEnv(t *testing.T, size int) *cacheEnv {
	env := &cacheEnv{clk: newClock(t0)}
	env.iss = issuertest.New(t, issuertest.WithClock(func() time.Time { return t0 }))
	c, src := liveConfig(t, env.iss)
	c.Name = "main"
	env.src = src
	env.reg = newRegistry(t, issuer.Options{
		Now:            env.clk.now,
		TokenCacheSize: size,
		Hooks:          issuer.Hooks{Verified: func(e issuer.VerifyEvent) { env.ev = append(env.ev, e) }},
	}, c)
	return env
}

func (env *cacheEnv) verify(t *testing.T, tok string) (*tenantjwt.Principal, bool, error) {
	t.Helper()
	p, err := env.reg.Verify(context.Background(), tok)
	return p, env.ev[len(env.ev)-1].CacheHit, err
}

func TestTokenCacheHit(t *testing.T) {
	t.Parallel()
	env := newCacheEnv(t, 0)
	tok := env.iss.Mint(nil)
	p1, hit, err := env.verify(t, tok)
	if err != nil || hit {
		t.Fatalf("first Verify: hit=%v err=%v, want miss and success", hit, err)
	}
	p2, hit, err := env.verify(t, tok)
	if err != nil || !hit {
		t.Fatalf("second Verify: hit=%v err=%v, want hit", hit, err)
	}
	if p1 != p2 {
		t.Errorf("cache returned %p %+v after %p %+v, want the same immutable Principal", p2, p2.Identity(), p1, p1.Identity())
	}
	if got := env.src.lookups.Load(); got != 1 {
		t.Errorf("key lookups = %d, want 1", got)
	}
	if n, size := issuer.CacheLen(env.reg); len(env.ev) != 2 || n != 1 || size != issuer.DefaultTokenCacheSize {
		t.Errorf("%d events, %d cached of %d, want 2 events (1 hit, 1 miss), 1 cached, default size", len(env.ev), n, size)
	}
	if env.ev[1].Issuer != "main" {
		t.Errorf("event issuer = %q, want main", env.ev[1].Issuer)
	}
}

func TestTokenCacheExpiry(t *testing.T) {
	t.Parallel()
	env := newCacheEnv(t, 0)
	tok := env.iss.Mint(nil) // exp = t0 + 1h
	exp := t0.Add(time.Hour)
	tests := []struct {
		name    string
		at      time.Time
		wantHit bool
		wantErr error
	}{
		{"fresh", t0, false, nil},
		{"cached", t0.Add(time.Minute), true, nil},
		{"just before exp", exp.Add(-time.Nanosecond), true, nil},
		// At exp the entry is dropped; verification proper still
		// accepts the token within the leeway, without caching it.
		{"at exp", exp, false, nil},
		{"in leeway, not cached again", exp.Add(10 * time.Second), false, nil},
		{"beyond leeway", exp.Add(30 * time.Second), false, tenantjwt.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.clk.set(tt.at)
			_, hit, err := env.verify(t, tok)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if hit != tt.wantHit {
				t.Errorf("hit = %v, want %v", hit, tt.wantHit)
			}
		})
	}
}

func TestTokenCacheClockBeforeNotBefore(t *testing.T) {
	t.Parallel()
	env := newCacheEnv(t, 0)
	tok := env.iss.Mint(map[string]any{"nbf": t0.Unix()})
	if _, _, err := env.verify(t, tok); err != nil {
		t.Fatal(err)
	}
	env.clk.add(-time.Hour) // the clock went back
	if _, hit, err := env.verify(t, tok); hit || !errors.Is(err, tenantjwt.ErrNotYetValid) {
		t.Errorf("hit=%v err=%v, want a miss and ErrNotYetValid", hit, err)
	}
}

func TestTokenCacheEviction(t *testing.T) {
	t.Parallel()
	env := newCacheEnv(t, 2)
	toks := []string{env.iss.Mint(map[string]any{"n": 1}), env.iss.Mint(map[string]any{"n": 2}), env.iss.Mint(map[string]any{"n": 3})}
	for _, tok := range toks {
		if _, _, err := env.verify(t, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := issuer.CacheLen(env.reg); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
	if _, hit, _ := env.verify(t, toks[2]); !hit {
		t.Errorf("newest token: miss, want hit")
	}
	if _, hit, _ := env.verify(t, toks[0]); hit {
		t.Errorf("oldest token: hit, want evicted")
	}
}

func TestTokenCacheKeyRemoval(t *testing.T) {
	t.Parallel()
	env := newCacheEnv(t, 0)
	old := env.iss.KID()
	tok := env.iss.Mint(nil)
	if _, _, err := env.verify(t, tok); err != nil {
		t.Fatal(err)
	}
	// Rotation that keeps the old key published keeps the cache entry.
	env.iss.Rotate()
	env.src.reload(t)
	if _, hit, err := env.verify(t, tok); !hit || err != nil {
		t.Fatalf("after rotation: hit=%v err=%v, want hit", hit, err)
	}
	// The key leaves the JWKS and the source refreshes: the cached token
	// must stop verifying.
	env.iss.Retire(old)
	env.src.reload(t)
	if _, hit, err := env.verify(t, tok); hit || !errors.Is(err, tenantjwt.ErrKeyNotFound) {
		t.Errorf("after key removal: hit=%v err=%v, want miss and ErrKeyNotFound", hit, err)
	}
}

func TestTokenCacheIssuerRemoval(t *testing.T) {
	t.Parallel()
	env := newCacheEnv(t, 0)
	tok := env.iss.Mint(nil)
	if _, _, err := env.verify(t, tok); err != nil {
		t.Fatal(err)
	}
	if !env.reg.Remove("main") {
		t.Fatal("Remove(main) = false")
	}
	if _, hit, err := env.verify(t, tok); hit || !errors.Is(err, tenantjwt.ErrUnknownIssuer) {
		t.Errorf("after Remove: hit=%v err=%v, want miss and ErrUnknownIssuer", hit, err)
	}
	// Re-adding the same config does not revive old entries blindly: the
	// token is verified again (a miss) and then cached anew.
	c, _ := liveConfig(t, env.iss)
	c.Name = "main"
	if err := env.reg.Add(c); err != nil {
		t.Fatal(err)
	}
	if _, hit, err := env.verify(t, tok); hit || err != nil {
		t.Errorf("after re-Add: hit=%v err=%v, want miss and success", hit, err)
	}
}

func TestTokenCacheDisabled(t *testing.T) {
	t.Parallel()
	env := newCacheEnv(t, -1)
	tok := env.iss.Mint(nil)
	for i := range 3 {
		if _, hit, err := env.verify(t, tok); hit || err != nil {
			t.Fatalf("verify %d: hit=%v err=%v", i, hit, err)
		}
	}
	if got := env.src.lookups.Load(); got != 3 {
		t.Errorf("key lookups = %d, want 3", got)
	}
	if n, size := issuer.CacheLen(env.reg); n != 0 || size != 0 {
		t.Errorf("cache holds %d of %d, want no cache", n, size)
	}
}

func TestTokenCacheSkipsFailures(t *testing.T) {
	t.Parallel()
	env := newCacheEnv(t, 0)
	tok := env.iss.Mint(map[string]any{"exp": t0.Add(-time.Hour).Unix()})
	for range 2 {
		if _, _, err := env.verify(t, tok); !errors.Is(err, tenantjwt.ErrExpired) {
			t.Fatalf("err = %v, want ErrExpired", err)
		}
	}
	if n, _ := issuer.CacheLen(env.reg); n != 0 || env.ev[0].CacheHit || env.ev[1].CacheHit {
		t.Errorf("%d cached, events %+v, want nothing cached and no hit", n, env.ev)
	}
}

func TestConcurrentVerifyWithRegistryChanges(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t, issuertest.WithPath("/a"))
	b := issuertest.New(t, issuertest.WithPath("/b"))
	ca, _ := liveConfig(t, a)
	ca.Name = "a"
	cb, _ := liveConfig(t, b)
	cb.Name = "b"
	reg := newRegistry(t, issuer.Options{}, ca)
	tokA, tokB := a.Mint(nil), b.Mint(nil)

	const workers, rounds = 8, 200
	errc := make(chan error, workers)
	stop := make(chan struct{})
	for w := range workers {
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					errc <- nil
					return
				default:
				}
				if _, err := reg.Verify(context.Background(), tokA); err != nil {
					errc <- fmt.Errorf("worker %d: token A: %v", w, err)
					return
				}
				if _, err := reg.Verify(context.Background(), tokB); err != nil && !errors.Is(err, tenantjwt.ErrUnknownIssuer) {
					errc <- fmt.Errorf("worker %d: token B: %v", w, err)
					return
				}
			}
		}()
	}
	for i := range rounds {
		switch i % 3 {
		case 0:
			if err := reg.Add(cb); err != nil {
				t.Errorf("Add: %v", err)
			}
		case 1:
			if !reg.Remove("b") {
				t.Errorf("Remove(b) = false")
			}
		case 2:
			if err := reg.Replace([]issuer.Config{ca}); err != nil {
				t.Errorf("Replace: %v", err)
			}
		}
	}
	close(stop)
	for range workers {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	if got := len(reg.Issuers()); got != 1 {
		t.Errorf("%d issuers at the end, want 1", got)
	}
}

func TestRegistryAddConflicts(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	ca, _ := liveConfig(t, a)
	ca.Name = "a"
	reg := newRegistry(t, issuer.Options{}, ca)
	tests := []struct {
		name string
		mut  func(c *issuer.Config)
	}{
		{"same issuer", func(c *issuer.Config) { c.Name = "other" }},
		{"same name", func(c *issuer.Config) { c.Issuer = "https://other.example/" }},
		{"alias of existing issuer", func(c *issuer.Config) {
			c.Name, c.Aliases = "other", []string{c.Issuer}
			c.Issuer = "https://other.example/"
		}},
		{"invalid", func(c *issuer.Config) { c.Name, c.Issuer, c.Algorithms = "x", "https://x.example/", []string{"HS256"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ca
			tt.mut(&c)
			if err := reg.Add(c); err == nil {
				t.Errorf("Add: nil error")
			}
		})
	}
	if err := reg.Replace([]issuer.Config{ca, ca}); err == nil {
		t.Errorf("Replace with duplicates: nil error")
	}
	if got := len(reg.Issuers()); got != 1 {
		t.Errorf("%d issuers after failed changes, want 1", got)
	}
	if reg.Remove("nope") {
		t.Errorf("Remove(nope) = true")
	}
}

// TestTokenCacheFarFutureExp: an exp beyond int64 nanoseconds (year 2262)
// saturates instead of overflowing, so the token is cached and hit.
func TestTokenCacheFarFutureExp(t *testing.T) {
	t.Parallel()
	env := newCacheEnv(t, 0)
	tok := env.iss.Mint(map[string]any{"exp": time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()})
	if _, hit, err := env.verify(t, tok); err != nil || hit {
		t.Fatalf("first Verify: hit=%v err=%v", hit, err)
	}
	if _, hit, err := env.verify(t, tok); err != nil || !hit {
		t.Errorf("second Verify: hit=%v err=%v, want a hit", hit, err)
	}
}
