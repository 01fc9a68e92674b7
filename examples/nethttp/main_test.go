package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

func TestExampleRuns(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"alice (acme admin) reads /me       -> 200 alice of tenant acme",
		"alice deletes an acme project      -> 200 project 7 deleted in tenant acme",
		"bob (globex viewer) reads /me      -> 200 bob of tenant globex",
		"bob tries to delete                -> 403",
		"alice's token on globex's host     -> 403",
		"no token                           -> 401",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestAPIWithIssuertest is the README's "Testing your API" snippet, run
// against this example's API.
func TestAPIWithIssuertest(t *testing.T) {
	// README:begin issuertest
	iss := issuertest.New(t, issuertest.WithAlgorithm("ES256"))
	reg := issuertest.NewRegistry(t, issuer.Options{}, iss)
	tok := iss.Mint(map[string]any{"sub": "alice", "roles": []string{"admin"}})
	// README:end issuertest
	srv := httptest.NewServer(newAPI(reg))
	defer srv.Close()
	// No host-bound tenant for this issuer: the host check does not apply.
	status, body, err := call(context.Background(), srv.URL, "GET", "api.localhost", "/me", tok)
	if err != nil || status != http.StatusOK || !strings.HasPrefix(body, "alice") {
		t.Errorf("GET /me = %d %q %v, want 200 for alice", status, body, err)
	}
}

// TestDPoPMiddleware runs the README's DPoP configuration: a bearer token
// of a trusted issuer passes, a request without one gets the challenge.
func TestDPoPMiddleware(t *testing.T) {
	iss := issuertest.New(t)
	reg := issuertest.NewRegistry(t, issuer.Options{}, iss)
	h := dpopMiddleware(reg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenantjwt.FromContext(r.Context())
		io.WriteString(w, p.Subject())
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	tok := iss.Mint(map[string]any{"sub": "alice"})
	if status, body, err := call(context.Background(), srv.URL, "GET", "api.example.com", "/", tok); err != nil || status != http.StatusOK || body != "alice" {
		t.Errorf("with a token: %d %q %v, want 200 alice", status, body, err)
	}
	if status, _, err := call(context.Background(), srv.URL, "GET", "api.example.com", "/", ""); err != nil || status != http.StatusUnauthorized {
		t.Errorf("without a token: %d %v, want 401", status, err)
	}
}

func TestQuickStartRefusesABadConfig(t *testing.T) {
	if err := quickStart(filepath.Join(t.TempDir(), "missing.yaml"), "127.0.0.1:0"); err == nil {
		t.Error("quickStart with a missing config file: no error")
	}
}
