package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/internal/realproc"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// TestServeSharedReplayStore: two serve instances with dpop_proofs.store
// on one real redis-server, as two replicas: a proof accepted by one is
// refused by the other. A reload that points one at an unreachable store
// swaps it: DPoP requests answer 503 there while bearer tokens pass; a
// reload back to the shared store refuses the old proof again.
func TestServeSharedReplayStore(t *testing.T) {
	addr, _ := realproc.Redis(t)
	t.Setenv("TJ_TEST_REDIS", addr)
	shared := "dpop_proofs:\n  store: redis://${TJ_TEST_REDIS}/0\n"

	a := issuertest.New(t)
	client, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	one := startServe(t, writeConfig(t, shared, a))
	two := startServe(t, writeConfig(t, shared, a))
	bound := a.Mint(map[string]any{"sub": "dee", "cnf": client.Confirmation()})
	send := func(ts *testServer, proof string) *http.Response {
		t.Helper()
		return ts.verify(t, fwd{uri: "/orders/7", headers: map[string]string{
			"X-Forwarded-Proto": "https", "Authorization": "DPoP " + bound, "DPoP": proof,
		}})
	}
	fresh := func() string { return client.Proof("GET", "https://api.example.com/orders/7", bound) }

	proof := fresh()
	if r := send(one, proof); r.StatusCode != 200 {
		t.Fatalf("replica one, fresh proof: %d", r.StatusCode)
	}
	if r := send(two, proof); r.StatusCode != 401 {
		t.Errorf("replica two, the proof replayed: %d, want 401", r.StatusCode)
	}
	if r := send(two, fresh()); r.StatusCode != 200 {
		t.Errorf("replica two, fresh proof: %d", r.StatusCode)
	}

	// An unreachable store: DPoP fails closed with 503, bearer unaffected.
	down := "dpop_proofs:\n  store: redis://" + freeAddr(t) + "/0\n"
	if err := os.WriteFile(two.config, []byte(mustRead(t, writeConfig(t, down, a))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := two.reload(); err != nil {
		t.Fatal(err)
	}
	if r := send(two, fresh()); r.StatusCode != 503 {
		t.Errorf("replica two, store unreachable: %d, want 503", r.StatusCode)
	}
	if r := two.verify(t, fwd{token: a.Mint(map[string]any{"sub": "bea"})}); r.StatusCode != 200 {
		t.Errorf("replica two, store unreachable, bearer token: %d, want 200", r.StatusCode)
	}
	if _, m := get(t, two.url+"/metrics"); !strings.Contains(m, `result="store_unavailable"`) {
		t.Errorf("/metrics counts no store_unavailable result:\n%s", m)
	}

	// Back on the shared store, which still remembers the proof.
	if err := os.WriteFile(two.config, []byte(mustRead(t, writeConfig(t, shared, a))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := two.reload(); err != nil {
		t.Fatal(err)
	}
	if r := send(two, proof); r.StatusCode != 401 {
		t.Errorf("replica two back on the shared store, the proof replayed: %d, want 401", r.StatusCode)
	}
	if r := send(two, fresh()); r.StatusCode != 200 {
		t.Errorf("replica two back on the shared store, fresh proof: %d", r.StatusCode)
	}
}
