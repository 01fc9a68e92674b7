package issuer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// TestReplayShareIsolatesClients: one client key cannot fill the replay
// cache and lock out the others. With a cache of 50 proofs a key's share
// is 2 (a twenty-fifth): the third proof of client A is refused, client B
// is unaffected. It used to be one pool: A took all 50 places.
func TestReplayShareIsolatesClients(t *testing.T) {
	t.Parallel()
	d := newDPoPEnv(t, issuer.Options{DPoP: dpop.Options{ReplayCacheSize: 50}}, nil)
	b, err := issuertest.NewDPoPClient("ES256", d.clk.now)
	if err != nil {
		t.Fatal(err)
	}
	tokA, tokB := d.bound(), d.iss.Mint(map[string]any{"cnf": b.Confirmation()})
	for i := range 3 {
		_, err := d.reg.VerifyPresented(context.Background(), tokA, dpopPresentation(d.client.Proof("GET", resource, tokA)))
		if i < 2 && err != nil || i == 2 && !errors.Is(err, tenantjwt.ErrDPoPProof) {
			t.Fatalf("client A proof %d: %v", i, err)
		}
	}
	for i := range 2 {
		if _, err := d.reg.VerifyPresented(context.Background(), tokB, dpopPresentation(b.Proof("GET", resource, tokB))); err != nil {
			t.Fatalf("client B proof %d refused after A used up its share: %v", i, err)
		}
	}
	// Once A's proofs expire (max_age plus leeway, on the injected clock),
	// A gets its share back.
	d.clk.add(dpop.DefaultMaxAge + issuer.DefaultLeeway + time.Second)
	if _, err := d.reg.VerifyPresented(context.Background(), tokA, dpopPresentation(d.client.Proof("GET", resource, tokA))); err != nil {
		t.Fatalf("client A after its proofs expired: %v", err)
	}
}

// TestReplayCacheConfigureKeepsState: a shared cache reconfigured in
// place (smaller size, smaller share) and a new registry with another
// max_age still refuse a proof seen before, and entries expire by the
// injected clock, not the wall clock.
func TestReplayCacheConfigureKeepsState(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	replay := dpop.NewReplayCache(dpop.ReplayOptions{Size: 100, Now: clk.now})
	d := newDPoPEnv(t, issuer.Options{DPoP: dpop.Options{Replay: replay}}, nil)
	tok := d.bound()
	proof := d.client.Proof("GET", resource, tok)
	if _, err := d.reg.VerifyPresented(context.Background(), tok, dpopPresentation(proof)); err != nil {
		t.Fatal(err)
	}
	replay.Configure(10, 1)
	reg2 := newRegistry(t, issuer.Options{Now: clk.now, DPoP: dpop.Options{Replay: replay, MaxAge: 5 * time.Minute}}, d.iss.LocalConfig())
	if _, err := reg2.VerifyPresented(context.Background(), tok, dpopPresentation(proof)); !errors.Is(err, tenantjwt.ErrDPoPProof) {
		t.Fatalf("replay after reconfiguring: %v", err)
	}
	if n := replay.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1", n)
	}
	clk.add(dpop.DefaultMaxAge + issuer.DefaultLeeway)
	if n := replay.Len(); n != 0 {
		t.Fatalf("Len after expiry on the injected clock = %d, want 0", n)
	}
}

// failingStore is a ReplayStore that is down.
type failingStore struct{ calls int }

func (s *failingStore) SetIfAbsent(context.Context, string, string, time.Duration) (bool, error) {
	s.calls++
	return false, errors.New("store unavailable")
}

// TestReplayStoreFailsClosed: a store that cannot answer refuses the
// proof, and a store sees (jkt, jti) with the proof's remaining lifetime.
func TestReplayStoreFailsClosed(t *testing.T) {
	t.Parallel()
	store := &failingStore{}
	d := newDPoPEnv(t, issuer.Options{DPoP: dpop.Options{Replay: store}}, nil)
	tok := d.bound()
	if _, err := d.reg.VerifyPresented(context.Background(), tok, dpopPresentation(d.client.Proof("GET", resource, tok))); !errors.Is(err, tenantjwt.ErrDPoPProof) || store.calls != 1 {
		t.Fatalf("store down: err %v after %d calls; want ErrDPoPProof after 1", err, store.calls)
	}
}
