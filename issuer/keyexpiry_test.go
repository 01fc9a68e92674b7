package issuer_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// keyExpiryRig is an issuer over real HTTP with two published keys (A,
// then the current B), a registry with the verified-token cache on, and one
// injected clock for the issuer, the registry and its key cache.
type keyExpiryRig struct {
	clk         *clock
	idp         *issuertest.Issuer
	reg         *issuer.Registry
	kidA        string
	tokA, tokA2 string // signed by A; tokA is verified (cached) first, tokA2 only later
	tokB        string
}

const testMaxStale = time.Hour

func newKeyExpiryRig(t *testing.T) *keyExpiryRig {
	t.Helper()
	k := &keyExpiryRig{clk: newClock(time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC))}
	k.idp = issuertest.New(t, issuertest.WithClock(k.clk.now))
	exp := k.clk.now().Add(48 * time.Hour).Unix() // outlives every step
	k.kidA = k.idp.KID()
	k.tokA = k.idp.Mint(map[string]any{"exp": exp, "jti": "a1"})
	k.tokA2 = k.idp.Mint(map[string]any{"exp": exp, "jti": "a2"})
	k.idp.Rotate()
	k.tokB = k.idp.Mint(map[string]any{"exp": exp, "jti": "b1"})
	opts := issuer.Options{Now: k.clk.now, KeysOptions: jwks.Options{MaxStale: testMaxStale}}
	hits := countHits(&opts)
	k.reg = newRegistry(t, opts, k.idp.Config())
	k.accept(t, "token of A, first seen", k.tokA)
	k.accept(t, "token of A again (cached)", k.tokA)
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d cache hits, want one", n)
	}
	return k
}

func (k *keyExpiryRig) accept(t *testing.T, what, tok string) {
	t.Helper()
	if _, err := k.reg.Verify(t.Context(), tok); err != nil {
		t.Errorf("%s: %v, want accepted", what, err)
	}
}

func (k *keyExpiryRig) refuse(t *testing.T, what, tok string, want error) {
	t.Helper()
	if _, err := k.reg.Verify(t.Context(), tok); !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

// TestKeyRemovalTakesEffectAtTTL: the IdP deletes key A. Before the key
// set's TTL the cached token of A may still pass; at the first check after
// the TTL, cached and uncached tokens of A are refused, because the
// expired set is never used as if fresh: the check waits for the refresh.
func TestKeyRemovalTakesEffectAtTTL(t *testing.T) {
	t.Parallel()
	k := newKeyExpiryRig(t)
	fetches := k.idp.JWKSRequests()
	if !k.idp.Retire(k.kidA) {
		t.Fatal("key A was not published")
	}
	k.clk.add(jwks.DefaultTTL - time.Second)
	k.accept(t, "cached token of A within the TTL", k.tokA)
	if n := k.idp.JWKSRequests() - fetches; n != 0 {
		t.Errorf("%d key fetches for a cache hit", n)
	}

	k.clk.add(time.Second) // the TTL has passed
	k.refuse(t, "cached token of the deleted key A, first check after the TTL", k.tokA, tenantjwt.ErrKeyNotFound)
	k.refuse(t, "uncached token of the deleted key A", k.tokA2, tenantjwt.ErrKeyNotFound)
	k.accept(t, "token of the kept key B", k.tokB)
	if n := k.idp.JWKSRequests() - fetches; n < 1 || n > 2 {
		t.Errorf("%d key fetches, want the refresh (and at most one unknown-kid refetch)", n)
	}
}

// TestKeyOutageServesLastKeysUpToMaxStale: the IdP is down when the TTL
// passes. The refresh fails, so the last keys keep serving (stale-if-error)
// for cached and uncached tokens, until max_stale; then 503.
func TestKeyOutageServesLastKeysUpToMaxStale(t *testing.T) {
	t.Parallel()
	k := newKeyExpiryRig(t)
	k.idp.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	fetches := k.idp.JWKSRequests()
	k.clk.add(jwks.DefaultTTL + time.Second)
	k.accept(t, "cached token of A while the IdP is down", k.tokA)
	k.accept(t, "uncached token of A while the IdP is down", k.tokA2)
	k.accept(t, "token of B while the IdP is down", k.tokB)
	if n := k.idp.JWKSRequests() - fetches; n != 1 {
		t.Errorf("%d key fetches, want 1 (the failed refresh; retries wait RetryInterval)", n)
	}
	k.clk.add(testMaxStale - 2*time.Second)
	k.accept(t, "cached token of A just within max_stale", k.tokA)
	k.clk.add(2 * time.Second)
	k.refuse(t, "cached token of A beyond max_stale", k.tokA, tenantjwt.ErrKeysUnavailable)
	k.refuse(t, "token of B beyond max_stale", k.tokB, tenantjwt.ErrKeysUnavailable)
}

// TestUnknownKidDuringOutageIsUnavailable: a set is cached, a token names
// a kid it lacks (a rotation), and the refetch fails: 503, not 401.
func TestUnknownKidDuringOutageIsUnavailable(t *testing.T) {
	t.Parallel()
	k := newKeyExpiryRig(t)
	k.idp.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	k.idp.Rotate()
	tokC := k.idp.Mint(nil)
	for i := range 3 { // the refetch, then answers within the cooldown
		_, err := k.reg.Verify(t.Context(), tokC)
		if !errors.Is(err, tenantjwt.ErrKeysUnavailable) || errors.Is(err, tenantjwt.ErrInvalidToken) {
			t.Errorf("attempt %d: err = %v, want ErrKeysUnavailable and not ErrInvalidToken", i, err)
		}
	}
	k.accept(t, "token of the cached key A", k.tokA2)
}
