package jwks_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// TestPerSourceTuning shows that each fetch setting of RemoteOptions
// changes what its source does, against the same scenario run with the
// Cache's defaults.
func TestPerSourceTuning(t *testing.T) {
	t.Parallel()
	type outcome struct {
		requests int64
		err      error
	}
	type scenario func(t *testing.T, srv *jwksServer, clk *clock, src jwks.Source, kid string) outcome
	// ttlAfter: the set is served with max-age, then the clock moves on and
	// a lookup of a known kid runs; expired means it fetched again.
	ttlAfter := func(maxAge string, later time.Duration) scenario {
		return func(t *testing.T, srv *jwksServer, clk *clock, src jwks.Source, kid string) outcome {
			srv.set(200, srv.body, http.Header{"Cache-Control": {maxAge}})
			ctx := context.Background()
			if _, err := src.Lookup(ctx, kid); err != nil {
				t.Fatal(err)
			}
			clk.add(later)
			_, err := src.Lookup(ctx, kid)
			return outcome{srv.requests.Load(), err}
		}
	}
	tests := []struct {
		name     string
		ro       jwks.RemoteOptions
		run      scenario
		def, got outcome // with the cache's defaults, with ro
	}{
		{"ttl.min below the cache's", jwks.RemoteOptions{MinTTL: time.Minute}, ttlAfter("max-age=60", 2*time.Minute),
			outcome{1, nil}, outcome{2, nil}},
		{"ttl.max below the cache's", jwks.RemoteOptions{MaxTTL: 10 * time.Minute}, ttlAfter("max-age=86400", 11*time.Minute),
			outcome{1, nil}, outcome{2, nil}},
		{"max_stale shorter than the cache's", jwks.RemoteOptions{MaxStale: time.Minute},
			func(t *testing.T, srv *jwksServer, clk *clock, src jwks.Source, kid string) outcome {
				ctx := context.Background()
				if _, err := src.Lookup(ctx, kid); err != nil {
					t.Fatal(err)
				}
				srv.set(http.StatusInternalServerError, []byte("down"), nil)
				clk.add(jwks.DefaultTTL + 2*time.Minute)
				_, err := src.Lookup(ctx, kid)
				return outcome{srv.requests.Load(), err}
			},
			outcome{2, nil}, outcome{2, tenantjwt.ErrKeysUnavailable}},
		{"cooldown longer than the cache's", jwks.RemoteOptions{Cooldown: time.Minute},
			func(t *testing.T, srv *jwksServer, clk *clock, src jwks.Source, kid string) outcome {
				ctx := context.Background()
				if _, err := src.Lookup(ctx, kid); err != nil {
					t.Fatal(err)
				}
				src.Lookup(ctx, "unknown-1") // refetches: the first unknown kid
				clk.add(45 * time.Second)
				_, err := src.Lookup(ctx, "unknown-2")
				return outcome{srv.requests.Load(), err}
			},
			outcome{3, tenantjwt.ErrKeyNotFound}, outcome{2, tenantjwt.ErrKeyNotFound}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				ro   jwks.RemoteOptions
				want outcome
			}{{jwks.RemoteOptions{}, tt.def}, {tt.ro, tt.got}} {
				idp := issuertest.New(t)
				srv := newJWKSServer(t, idp.JWKS())
				clk := newClock()
				cache := newCache(t, jwks.Options{Now: clk.now, Cooldown: 30 * time.Second})
				c.ro.Label = "tuned"
				src, err := cache.Remote(srv.URL, c.ro)
				if err != nil {
					t.Fatal(err)
				}
				got := tt.run(t, srv, clk, src, idp.KID())
				if got.requests != c.want.requests || !errors.Is(got.err, c.want.err) || (c.want.err == nil) != (got.err == nil) {
					t.Errorf("with %+v: requests %d, err %v; want %d, %v", c.ro, got.requests, got.err, c.want.requests, c.want.err)
				}
			}
		})
	}
}

// TestPerSourceTimeout: a source's own timeout ends a hanging fetch that
// the cache's (one hour) would have waited for.
func TestPerSourceTimeout(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	cache := newCache(t, jwks.Options{Timeout: time.Hour})
	src, err := cache.Remote(srv.URL, jwks.RemoteOptions{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = refresh(t, src)
	if !errors.Is(err, tenantjwt.ErrKeysUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// TestTunedSourcesAreSharedBySettings: one source per URL and settings.
func TestTunedSourcesAreSharedBySettings(t *testing.T) {
	t.Parallel()
	cache := newCache(t, jwks.Options{})
	const u = "https://idp.example.com/jwks"
	get := func(ro jwks.RemoteOptions) jwks.Source {
		t.Helper()
		src, err := cache.Remote(u, ro)
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	plain, plain2 := get(jwks.RemoteOptions{Label: "a"}), get(jwks.RemoteOptions{Label: "b"})
	short, short2 := get(jwks.RemoteOptions{MaxTTL: time.Hour}), get(jwks.RemoteOptions{MaxTTL: time.Hour})
	other := get(jwks.RemoteOptions{MaxTTL: 2 * time.Hour})
	if plain != plain2 {
		t.Error("untuned callers of one URL got two sources")
	}
	if short != short2 {
		t.Error("callers with the same settings got two sources")
	}
	if short == plain || short == other {
		t.Error("callers with different settings share a source")
	}
	d1, err := cache.Discover("https://idp.example.com", jwks.RemoteOptions{Cooldown: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := cache.Discover("https://idp.example.com", jwks.RemoteOptions{})
	if d1 == d2 {
		t.Error("discovery with and without settings share a source")
	}
	if _, err := cache.Remote(u, jwks.RemoteOptions{MinTTL: time.Hour, MaxTTL: time.Minute}); err == nil {
		t.Error("MinTTL above MaxTTL accepted")
	}
	if _, err := cache.Remote(u, jwks.RemoteOptions{RootCAs: []byte("not PEM")}); err == nil {
		t.Error("RootCAs without a certificate accepted")
	}
}

// TestBackgroundSource: a background source fetches when it is made,
// retries a failed first fetch and refreshes ahead of expiry, all without
// a lookup.
func TestBackgroundSource(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	srv.set(http.StatusServiceUnavailable, nil, nil)
	events := make(chan jwks.FetchEvent, 16)
	// TTL 5m with a refresh 5m−20ms ahead: the timer fires at once.
	cache := newCache(t, jwks.Options{MinTTL: 5 * time.Minute, MaxTTL: 5 * time.Minute, RefreshAhead: 5*time.Minute - 20*time.Millisecond,
		RetryInterval: 10 * time.Millisecond, Hooks: jwks.Hooks{FetchDone: func(ev jwks.FetchEvent) {
			select {
			case events <- ev:
			default: // later refreshes, once the test has what it needs
			}
		}}})

	lazy, err := cache.Remote(srv.URL+"/lazy", jwks.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := cache.Remote(srv.URL, jwks.RemoteOptions{Background: true})
	if err != nil {
		t.Fatal(err)
	}
	wait := func() jwks.FetchEvent {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no background fetch")
			return jwks.FetchEvent{}
		}
	}
	if ev := wait(); ev.Err == nil || ev.URL != srv.URL {
		t.Fatalf("first fetch: %+v, want the failing one of the background source", ev)
	}
	srv.set(200, idp.JWKS(), nil)
	if ev := wait(); ev.Err != nil {
		t.Fatalf("retry: %v", ev.Err)
	}
	if src.Current() == nil {
		t.Fatal("background source has no keys after its fetch")
	}
	if ev := wait(); ev.Err != nil || ev.URL != srv.URL {
		t.Fatalf("refresh ahead without use: %+v", ev)
	}
	if lazy.Current() != nil {
		t.Error("a source without Background fetched without a lookup")
	}
	// Releasing the last user stops it: no fetch after the release's own
	// in-flight one, and the source is forgotten.
	cache.ReleaseSource(src)
	if r, _, _ := cache.Sources(); r != 1 {
		t.Errorf("remotes after release = %d, want 1 (the lazy one)", r)
	}
}

// TestRootCAs: an IdP whose certificate a private CA signed is refused
// with the system roots and accepted with that CA as the source's roots;
// another CA's bundle does not do.
func TestRootCAs(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv, caPEM, err := issuertest.NewPrivateCATLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(idp.JWKS()) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	other, otherPEM, err := issuertest.NewPrivateCATLSServer(http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	cache := newCache(t, jwks.Options{})
	for _, tt := range []struct {
		name  string
		roots []byte
		ok    bool
	}{{"system roots", nil, false}, {"another CA", otherPEM, false}, {"the IdP's CA", caPEM, true}} {
		t.Run(tt.name, func(t *testing.T) {
			src, err := cache.Remote(srv.URL, jwks.RemoteOptions{RootCAs: tt.roots})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Lookup(context.Background(), idp.KID())
			var unknown x509.UnknownAuthorityError
			switch {
			case tt.ok && err != nil:
				t.Errorf("lookup: %v", err)
			case !tt.ok && !errors.As(err, &unknown):
				t.Errorf("lookup: err = %v, want an unknown authority", err)
			}
		})
	}
}

// TestRootCAsDiscovery: the roots apply to the discovery document and to
// the key set it names.
func TestRootCAsDiscovery(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	var baseURL atomic.Value // the server's URL, known once it runs
	srv, caPEM, err := issuertest.NewPrivateCATLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			base := baseURL.Load().(string)
			w.Write([]byte(`{"issuer":"` + base + `","jwks_uri":"` + base + `/jwks"}`))
			return
		}
		w.Write(idp.JWKS())
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	baseURL.Store(srv.URL)
	cache := newCache(t, jwks.Options{})
	for _, roots := range [][]byte{nil, caPEM} {
		src, err := cache.Discover(srv.URL, jwks.RemoteOptions{RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Lookup(context.Background(), idp.KID())
		var unknown x509.UnknownAuthorityError
		if roots == nil && !errors.As(err, &unknown) {
			t.Errorf("without roots: err = %v, want an unknown authority", err)
		}
		if roots != nil && err != nil {
			t.Errorf("with the IdP's CA: %v", err)
		}
	}
}
