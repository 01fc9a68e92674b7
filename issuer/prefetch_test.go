package issuer_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// lazySource has no keys until Refresh succeeds, like a remote source
// before its first fetch.
type lazySource struct {
	inner     jwks.Source
	loaded    atomic.Bool
	fail      bool
	refreshes atomic.Int64
}

func (s *lazySource) Refresh(context.Context) error {
	s.refreshes.Add(1)
	if s.fail {
		return errors.New("test: fetch failed")
	}
	s.loaded.Store(true)
	return nil
}

func (s *lazySource) Current() *jwks.Set {
	if !s.loaded.Load() {
		return nil
	}
	return s.inner.Current()
}

func (s *lazySource) Lookup(ctx context.Context, kid string) (*jwks.Key, error) {
	if !s.loaded.Load() {
		return nil, tenantjwt.ErrKeysUnavailable
	}
	return s.inner.Lookup(ctx, kid)
}

func TestPrefetchAndReady(t *testing.T) {
	t.Parallel()
	good := issuertest.New(t, issuertest.WithPath("/good"))
	bad := issuertest.New(t, issuertest.WithPath("/bad"))
	lazy := issuertest.New(t, issuertest.WithPath("/lazy"))
	gs := &lazySource{inner: good.Source()}
	bs := &lazySource{inner: bad.Source(), fail: true}
	ls := &lazySource{inner: lazy.Source()}
	cg, cb, cl := good.LocalConfig(), bad.LocalConfig(), lazy.LocalConfig()
	cg.Name, cg.Keys, cg.Prefetch = "good", gs, true
	cb.Name, cb.Keys, cb.Prefetch = "bad", bs, true
	cl.Name, cl.Keys = "lazy", ls // not prefetched

	reg := newRegistry(t, issuer.Options{}, cg, cl)
	if reg.Ready() {
		t.Errorf("Ready before Prefetch = true")
	}
	if err := reg.Prefetch(context.Background()); err != nil {
		t.Fatalf("Prefetch: %v", err)
	}
	if !reg.Ready() {
		t.Errorf("Ready after Prefetch = false")
	}
	if n := ls.refreshes.Load(); n != 0 {
		t.Errorf("issuer without prefetch refreshed %d times", n)
	}
	if _, err := reg.Verify(context.Background(), lazy.Mint(nil)); !errors.Is(err, tenantjwt.ErrKeysUnavailable) || errors.Is(err, tenantjwt.ErrInvalidToken) {
		t.Errorf("Verify with keys never fetched: err = %v, want ErrKeysUnavailable only", err)
	}

	if err := reg.Add(cb); err != nil {
		t.Fatal(err)
	}
	err := reg.Prefetch(context.Background())
	if err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("Prefetch with a failing issuer: err = %v, want one naming it", err)
	}
	if reg.Ready() {
		t.Errorf("Ready with a failing prefetch issuer = true")
	}
}
