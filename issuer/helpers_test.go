package issuer_test

import (
	"context"
	"crypto"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// liveSource serves the key set most recently loaded from a fake issuer,
// standing in for a remote source whose refreshes the test controls.
// Unchanged keys keep their pointers across reloads, as jwks promises.
type liveSource struct {
	iss     *issuertest.Issuer
	set     atomic.Pointer[jwks.Set]
	lookups atomic.Int64
}

func newLiveSource(t *testing.T, iss *issuertest.Issuer) *liveSource {
	s := &liveSource{iss: iss}
	s.reload(t)
	return s
}

// reload takes the issuer's currently published keys, keeping the old
// *Key for every key that did not change.
func (s *liveSource) reload(t *testing.T) {
	t.Helper()
	set, _, err := jwks.Parse(s.iss.JWKS(), jwks.ParseOptions{})
	if err != nil {
		s.set.Store(nil)
		return
	}
	old := s.set.Load()
	keys := set.Keys()
	for i, k := range keys {
		if old == nil {
			break
		}
		if ok, found := old.Lookup(k.ID); found && ok.Algorithm == k.Algorithm {
			if eq, _ := ok.Public.(interface{ Equal(crypto.PublicKey) bool }); eq != nil && eq.Equal(k.Public) {
				keys[i] = ok
			}
		}
	}
	s.set.Store(jwks.NewSet(keys...))
}

func (s *liveSource) Lookup(_ context.Context, kid string) (*jwks.Key, error) {
	s.lookups.Add(1)
	set := s.set.Load()
	if set == nil {
		return nil, fmt.Errorf("test: no keys: %w", tenantjwt.ErrKeysUnavailable)
	}
	if k, ok := set.Lookup(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("test: kid %q: %w", kid, tenantjwt.ErrKeyNotFound)
}

func (s *liveSource) Current() *jwks.Set { return s.set.Load() }

// clock is a settable test clock.
type clock struct{ t atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) now() time.Time   { return time.Unix(0, c.t.Load()) }
func (c *clock) set(t time.Time)  { c.t.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) {
	c.t.Add(int64(d))
}

// t0 is the tests' reference time.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// liveConfig trusts iss through a liveSource.
func liveConfig(t *testing.T, iss *issuertest.Issuer) (issuer.Config, *liveSource) {
	src := newLiveSource(t, iss)
	c := iss.Config()
	c.JWKSURI = ""
	c.Keys = src
	return c, src
}

func newRegistry(t *testing.T, opts issuer.Options, cs ...issuer.Config) *issuer.Registry {
	t.Helper()
	r, err := issuer.New(opts, cs...)
	if err != nil {
		t.Fatalf("issuer.New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// countHits sets opts' Verified hook to count the verifications the
// verified-token cache answered, and returns the count.
func countHits(opts *issuer.Options) *atomic.Int64 {
	var n atomic.Int64
	opts.Hooks.Verified = func(ev issuer.VerifyEvent) {
		if ev.CacheHit {
			n.Add(1)
		}
	}
	return &n
}
