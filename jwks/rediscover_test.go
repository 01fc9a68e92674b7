package jwks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// movingIdP serves discovery metadata whose jwks_uri can be moved between
// two key sets.
type movingIdP struct {
	srv      *httptest.Server
	mu       sync.Mutex
	jwksPath string
}

func newMovingIdP(t *testing.T, a, b *issuertest.Issuer) *movingIdP {
	m := &movingIdP{jwksPath: "/a.json"}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			m.mu.Lock()
			p := m.jwksPath
			m.mu.Unlock()
			json.NewEncoder(w).Encode(map[string]string{"issuer": m.srv.URL, "jwks_uri": m.srv.URL + p})
		case "/a.json":
			w.Write(a.JWKS())
		case "/b.json":
			w.Write(b.JWKS())
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *movingIdP) move(p string) { m.mu.Lock(); m.jwksPath = p; m.mu.Unlock() }

// TestDiscoveryMetadataIsRefreshed: a jwks_uri the IdP moves is picked up
// after MetadataTTL, or at once after Rediscover; meanwhile lookups go on
// with the key set in use, and a failed re-discovery keeps it.
func TestDiscoveryMetadataIsRefreshed(t *testing.T) {
	t.Parallel()
	a, b := issuertest.New(t), issuertest.New(t)
	idp := newMovingIdP(t, a, b)
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	discovered := make(chan error, 10)
	c := newCache(t, jwks.Options{Now: clock, MetadataTTL: time.Hour, Hooks: jwks.Hooks{FetchDone: func(ev jwks.FetchEvent) {
		if ev.Discovery {
			discovered <- ev.Err
		}
	}}})
	src, err := c.Discover(idp.srv.URL, jwks.RemoteOptions{Label: "moving", AllowInsecureHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := src.Lookup(ctx, a.KID()); err != nil {
		t.Fatalf("first lookup: %v", err)
	}
	<-discovered
	idp.move("/b.json")
	if _, err := src.Lookup(ctx, b.KID()); err == nil {
		t.Fatal("the moved key set was used before the metadata was due")
	}
	advance(time.Hour)
	if _, err := src.Lookup(ctx, a.KID()); err != nil {
		t.Fatalf("lookups go on while the metadata is fetched again: %v", err)
	}
	if err := <-discovered; err != nil {
		t.Fatalf("re-discovery: %v", err)
	}
	if _, err := src.Lookup(ctx, b.KID()); err != nil {
		t.Fatalf("after the metadata TTL: %v", err)
	}

	idp.move("/a.json")
	c.Rediscover()
	src.Lookup(ctx, b.KID()) // starts the re-discovery
	if err := <-discovered; err != nil {
		t.Fatalf("re-discovery after Rediscover: %v", err)
	}
	if _, err := src.Lookup(ctx, a.KID()); err != nil {
		t.Fatalf("after Rediscover: %v", err)
	}
}
