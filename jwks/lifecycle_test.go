package jwks_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// TestExpiredSetWaitsForRefresh: past the TTL, a lookup of a key the IdP
// deleted waits for the refresh and is refused; with the IdP down instead,
// the refresh fails and the last keys are served (stale-if-error).
func TestExpiredSetWaitsForRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("healthy IdP deleted the key", func(t *testing.T) {
		idp := issuertest.New(t)
		kidA := idp.KID()
		kidB := idp.Rotate()
		srv := newJWKSServer(t, idp.JWKS())
		clk := newClock()
		src := remote(t, newCache(t, jwks.Options{Now: clk.now}), srv.URL)
		if _, err := src.Lookup(ctx, kidA); err != nil {
			t.Fatal(err)
		}
		idp.Retire(kidA)
		srv.set(200, idp.JWKS(), nil)
		clk.add(jwks.DefaultTTL)
		if k, err := src.Lookup(ctx, kidA); !errors.Is(err, tenantjwt.ErrKeyNotFound) {
			t.Errorf("deleted kid at the first lookup after the TTL: key %v, err %v; want ErrKeyNotFound", k, err)
		}
		if got := srv.requests.Load(); got != 2 {
			t.Errorf("requests = %d, want 2 (the lookup waited for one refresh)", got)
		}
		if _, err := src.Lookup(ctx, kidB); err != nil {
			t.Errorf("kept kid: %v", err)
		}
	})
	t.Run("IdP down", func(t *testing.T) {
		idp := issuertest.New(t)
		srv := newJWKSServer(t, idp.JWKS())
		clk := newClock()
		src := remote(t, newCache(t, jwks.Options{Now: clk.now}), srv.URL)
		good, err := src.Lookup(ctx, idp.KID())
		if err != nil {
			t.Fatal(err)
		}
		srv.set(http.StatusBadGateway, nil, nil)
		clk.add(jwks.DefaultTTL)
		for range 10 {
			if k, err := src.Lookup(ctx, idp.KID()); err != nil || k != good {
				t.Fatalf("after a failed refresh: key %v, err %v; want the last good key", k, err)
			}
		}
		if got := srv.requests.Load(); got != 2 {
			t.Errorf("requests = %d, want 2 (one failed refresh, retries after RetryInterval)", got)
		}
		clk.add(jwks.DefaultRetryInterval)
		src.Lookup(ctx, idp.KID()) // starts a retry in the background
		ex := src.(jwks.Expiring)
		if set, until := ex.Usable(); set == nil || until <= clk.now().UnixNano() {
			t.Errorf("Usable during stale-if-error = %v, %d; want the last set, usable until max_stale", set, until)
		}
	})
}

// TestUsableFollowsTheTTL: Usable, the cache-hit check, says "until the
// expiry" for a fresh set, so a consumer never uses an expired set as
// fresh.
func TestUsableFollowsTheTTL(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	clk := newClock()
	src := remote(t, newCache(t, jwks.Options{Now: clk.now}), srv.URL)
	ex, ok := src.(jwks.Expiring)
	if !ok {
		t.Fatal("a remote source does not implement Expiring")
	}
	if set, until := ex.Usable(); set != nil || until != 0 {
		t.Errorf("before any fetch: %v %d", set, until)
	}
	start := clk.now()
	if _, err := src.Lookup(context.Background(), idp.KID()); err != nil {
		t.Fatal(err)
	}
	set, until := ex.Usable()
	if set != src.Current() || until != start.Add(jwks.DefaultTTL).UnixNano() {
		t.Errorf("Usable = %p until %s; want the current set %p until %s", set, time.Unix(0, until), src.Current(), start.Add(jwks.DefaultTTL))
	}
}

// TestUnknownKidRefetchFailureIsUnavailable: a set is cached, a kid it
// lacks arrives, and the refetch fails: that is an outage (503), not a bad
// token, also for lookups within the cooldown that follows.
func TestUnknownKidRefetchFailureIsUnavailable(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	clk := newClock()
	src := remote(t, newCache(t, jwks.Options{Now: clk.now}), srv.URL)
	ctx := context.Background()
	if _, err := src.Lookup(ctx, idp.KID()); err != nil {
		t.Fatal(err)
	}
	srv.set(http.StatusServiceUnavailable, nil, nil)
	for i := range 3 {
		_, err := src.Lookup(ctx, "rotated-kid")
		if !errors.Is(err, tenantjwt.ErrKeysUnavailable) || errors.Is(err, tenantjwt.ErrKeyNotFound) {
			t.Errorf("lookup %d: err = %v, want ErrKeysUnavailable only", i, err)
		}
	}
	if _, err := src.Lookup(ctx, idp.KID()); err != nil {
		t.Errorf("cached kid during the outage: %v", err)
	}
	// Once the IdP answers again, an unknown kid is a bad token.
	srv.set(200, idp.JWKS(), nil)
	clk.add(jwks.DefaultCooldown)
	if _, err := src.Lookup(ctx, "never-published"); !errors.Is(err, tenantjwt.ErrKeyNotFound) {
		t.Errorf("unknown kid with the IdP healthy: err = %v, want ErrKeyNotFound", err)
	}
}

// TestBackgroundRefreshAhead: a used set is refreshed before it expires
// by a goroutine the Cache owns, with no lookup asking for it; Close stops
// it. This test runs on the real clock with a tiny TTL and waits for the
// fetch events, not for time.
func TestBackgroundRefreshAhead(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	fetched := make(chan jwks.FetchEvent, 16)
	c := jwks.NewCache(jwks.Options{MinTTL: 200 * time.Millisecond, MaxTTL: 200 * time.Millisecond,
		Hooks: jwks.Hooks{FetchDone: func(ev jwks.FetchEvent) { fetched <- ev }}})
	src := remote(t, c, srv.URL)
	if _, err := src.Lookup(context.Background(), idp.KID()); err != nil {
		t.Fatal(err)
	}
	<-fetched
	select {
	case ev := <-fetched:
		if ev.Err != nil {
			t.Fatalf("background refresh: %v", ev.Err)
		}
	case <-time.After(30 * time.Second): // a guard against a hang, not a timing assertion
		t.Fatal("no background refresh of a used key set")
	}
	if got := srv.requests.Load(); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
	if err := c.Close(); err != nil { // waits for the cache's goroutines
		t.Fatal(err)
	}
	n := srv.requests.Load()
	if _, err := src.Lookup(context.Background(), "x"); err == nil {
		t.Error("lookup of an unknown kid after Close succeeded")
	}
	if got := srv.requests.Load(); got != n {
		t.Errorf("a closed cache fetched (%d requests, was %d)", got, n)
	}
}
