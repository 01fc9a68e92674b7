package main

import (
	"net/http"
	"os"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// TestServeReloadKeepsReplayState: a reload that changes the replay
// cache's size and the proofs' max_age keeps the proofs seen before. serve
// used to make a new, empty cache whenever the size changed.
func TestServeReloadKeepsReplayState(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	ts := startServe(t, writeConfig(t, "", a))
	client, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	bound := a.Mint(map[string]any{"sub": "dee", "cnf": client.Confirmation()})
	send := func(proof string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.url+"/verify", nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "api.example.com")
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Uri", "/orders/7")
		req.Header.Set("Authorization", "DPoP "+bound)
		req.Header.Set("DPoP", proof)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	proof := client.Proof("GET", "https://api.example.com/orders/7", bound)
	if got := send(proof); got != 200 {
		t.Fatalf("fresh proof: %d", got)
	}
	for _, section := range []string{
		"dpop_proofs:\n  replay_cache_size: 5000\n  max_age: 2m\n",
		"dpop_proofs:\n  replay_cache_size: 100\n  replay_per_key: 3\n  max_age: 30s\n",
	} {
		if err := os.WriteFile(ts.config, []byte(mustRead(t, writeConfig(t, section, a))), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := ts.reload(); err != nil {
			t.Fatal(err)
		}
		if got := send(proof); got != 401 {
			t.Errorf("replay after a reload with %q: %d, want 401", section, got)
		}
	}
}
