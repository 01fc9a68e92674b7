package dpop_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// TestCheckerWithoutRegistry: a Checker used on its own accepts a good
// proof once, and refuses a replay, a proof for another method, URL or
// token, one too old on the injected clock, one whose key is not the
// token's, and an algorithm outside its allowlist. The registry's own
// path is covered by issuer.TestDPoPProofChecks.
func TestCheckerWithoutRegistry(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c, err := dpop.NewChecker(dpop.Options{Algorithms: []string{"ES256"}}, 5*time.Second, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Algorithms(); !slices.Equal(got, []string{"ES256"}) {
		t.Fatalf("Algorithms = %v", got)
	}
	client, err := issuertest.NewDPoPClient("ES256", clk.now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := issuertest.NewDPoPClient("ES256", clk.now)
	if err != nil {
		t.Fatal(err)
	}
	const url = "https://api.example.com/r"
	req := dpop.Request{Token: "token-a", Method: "GET", URL: url}
	ctx := context.Background()
	check := func(proof string, r dpop.Request) error {
		return c.Check(ctx, proof, client.Thumbprint(), r, clk.now())
	}

	good := client.Proof("GET", url, "token-a")
	if err := check(good, req); err != nil {
		t.Fatalf("good proof: %v", err)
	}
	refused := map[string]struct {
		proof string
		req   dpop.Request
	}{
		"replay":        {good, req},
		"other method":  {client.Proof("POST", url, "token-a"), req},
		"other URL":     {client.Proof("GET", url+"/x", "token-a"), req},
		"other token":   {client.Proof("GET", url, "token-b"), req},
		"other key":     {other.Proof("GET", url, "token-a"), req},
		"no proof":      {"", req},
		"not a JWS":     {"a.b", req},
		"HTU of a file": {client.Proof("GET", "file:///r", "token-a"), dpop.Request{Token: "token-a", Method: "GET", URL: "file:///r"}},
	}
	for name, tt := range refused {
		if err := check(tt.proof, tt.req); !errors.Is(err, tenantjwt.ErrDPoPProof) {
			t.Errorf("%s: err = %v, want ErrDPoPProof", name, err)
		}
	}
	old := client.Proof("GET", url, "token-a")
	clk.add(dpop.DefaultMaxAge + 5*time.Second)
	if err := check(old, req); !errors.Is(err, tenantjwt.ErrDPoPProof) {
		t.Errorf("proof older than max age plus leeway: err = %v", err)
	}
	if _, err := dpop.NewChecker(dpop.Options{Algorithms: []string{"HS256"}}, 0, nil); err == nil {
		t.Error("NewChecker accepted HS256")
	}
}
