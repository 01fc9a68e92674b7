package jwks_test

import (
	"context"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

func TestReleaseSourceForgetsTheLastUse(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	c := newCache(t, jwks.Options{})
	ctx := context.Background()

	a, err := c.Remote(srv.URL, jwks.RemoteOptions{Label: "a"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Remote(srv.URL, jwks.RemoteOptions{Label: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("two users of one URL got two sources")
	}
	if _, err := a.Lookup(ctx, idp.KID()); err != nil {
		t.Fatal(err)
	}

	c.ReleaseSource(a)
	if r, _, n := c.Sources(); r != 1 || n != 1 {
		t.Fatalf("after one of two releases: %d remotes, %d counted; want 1 1", r, n)
	}
	// The remaining user keeps the key set: no new fetch.
	again, _ := c.Remote(srv.URL, jwks.RemoteOptions{Label: "c"})
	if again != b {
		t.Error("a source still in use was not shared")
	}
	if _, err := again.Lookup(ctx, idp.KID()); err != nil {
		t.Fatal(err)
	}
	if got := srv.requests.Load(); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}

	c.ReleaseSource(b)
	c.ReleaseSource(again)
	if r, d, n := c.Sources(); r != 0 || d != 0 || n != 0 {
		t.Fatalf("after the last release: %d remotes, %d discoveries, %d counted; want 0 0 0", r, d, n)
	}
	c.ReleaseSource(again) // once too often: nothing happens
	if r, _, n := c.Sources(); r != 0 || n != 0 {
		t.Fatalf("extra release changed the cache: %d remotes, %d counted", r, n)
	}

	// A holder of a forgotten source can still use it.
	if _, err := b.Lookup(ctx, idp.KID()); err != nil {
		t.Errorf("forgotten source: %v", err)
	}
	// A new user starts afresh.
	fresh, _ := c.Remote(srv.URL, jwks.RemoteOptions{Label: "d"})
	if fresh == b {
		t.Error("a forgotten source was handed out again")
	}
}

func TestReleaseUncountedIsNoop(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	c := newCache(t, jwks.Options{})
	other := newCache(t, jwks.Options{})
	remote(t, c, srv.URL) // one counted user, never released
	foreign := remote(t, other, srv.URL)
	c.ReleaseSource(foreign) // another cache's source
	c.ReleaseSource(jwks.NewStatic(nil))
	if r, _, _ := c.Sources(); r != 1 {
		t.Errorf("remotes = %d, want 1: a source nobody released lives as long as the cache", r)
	}
}

func TestReleaseDiscoveryTakesItsKeySet(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t, issuertest.WithPath("/tenant"))
	c := newCache(t, jwks.Options{})
	ctx := context.Background()
	src, err := c.Discover(idp.URL(), jwks.RemoteOptions{Label: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Lookup(ctx, idp.KID()); err != nil {
		t.Fatal(err)
	}
	if r, d, _ := c.Sources(); r != 1 || d != 1 {
		t.Fatalf("%d remotes, %d discoveries; want 1 1", r, d)
	}
	c.ReleaseSource(src)
	if r, d, n := c.Sources(); r != 0 || d != 0 || n != 0 {
		t.Errorf("after release: %d remotes, %d discoveries, %d counted; want 0 0 0", r, d, n)
	}
}
