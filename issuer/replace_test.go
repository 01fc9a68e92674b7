package issuer_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// TestReplaceKeepsUnchangedIssuers: Replace keeps an issuer whose config is
// unchanged, with its key set and its cached tokens; an issuer that
// changed starts afresh.
func TestReplaceKeepsUnchangedIssuers(t *testing.T) {
	t.Parallel()
	a, b := issuertest.New(t), issuertest.New(t)
	var hits atomic.Int64
	reg := newRegistry(t, issuer.Options{Hooks: issuer.Hooks{Verified: func(ev issuer.VerifyEvent) {
		if ev.CacheHit {
			hits.Add(1)
		}
	}}}, a.Config())
	tok := a.Mint(nil)
	verify := func() {
		t.Helper()
		if _, err := reg.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	verify()
	if err := reg.Replace([]issuer.Config{a.Config(), b.Config()}); err != nil {
		t.Fatal(err)
	}
	verify()
	if hits.Load() != 1 || a.JWKSRequests() != 1 {
		t.Fatalf("unchanged issuer: %d cache hits, %d JWKS fetches; want 1 and 1", hits.Load(), a.JWKSRequests())
	}
	changed := a.Config()
	changed.MaxLifetime = 2 * time.Hour
	if err := reg.Replace([]issuer.Config{changed, b.Config()}); err != nil {
		t.Fatal(err)
	}
	verify()
	if hits.Load() != 1 {
		t.Errorf("a changed issuer answered from the cache (%d hits)", hits.Load())
	}
}
