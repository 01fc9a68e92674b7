package interop_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// staticKeys reads p's published JWKS once, as an operator would when
// pinning keys in a file, and parses it with tenantjwt's own filter.
func staticKeys(t *testing.T, p *provider) *jwks.Set {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.Issuer+"/keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(clientMarker, "1")
	resp, err := p.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET keys: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("read keys: %v", err)
	}
	set, dropped, err := jwks.Parse(body, jwks.ParseOptions{})
	if err != nil {
		t.Fatalf("jwks.Parse(provider JWKS): %v (dropped %v)", err, dropped)
	}
	if len(dropped) != 0 {
		t.Errorf("jwks.Parse dropped %v, want every provider key kept", dropped)
	}
	return set
}

// TestVerifyWithPinnedProviderKeys checks the parts that do not depend on
// remote key fetching: tenantjwt's JWKS parser accepts zitadel's JWKS, and
// the registry verifies and maps zitadel's tokens with those keys. A's
// keys pinned under B's issuer do not make A's tokens pass as B.
func TestVerifyWithPinnedProviderKeys(t *testing.T) {
	a := startProvider(t, "acme")
	b := startProvider(t, "globex")
	pinned := func(p *provider, keysOf *provider) issuer.Config {
		return issuer.Config{
			Name:       p.Tenant,
			Issuer:     p.Issuer,
			Keys:       jwks.NewStatic(staticKeys(t, keysOf)),
			Audiences:  []string{apiAudience},
			Algorithms: []string{"RS256"},
			Claims:     issuer.ClaimMapping{Tenant: tenantClaim},
		}
	}
	reg, err := issuer.New(issuer.Options{}, pinned(a, a), pinned(b, b))
	if err != nil {
		t.Fatalf("issuer.New: %v", err)
	}
	t.Cleanup(func() { _ = reg.Close() })

	tokA := a.Token(t, "reports:read", "reports:write")
	tests := []struct {
		name       string
		token      string
		wantTenant string // "" means rejected with wantErr
		wantErr    error
	}{
		{name: "acme token", token: tokA, wantTenant: "acme"},
		{name: "globex token", token: b.Token(t, "reports:read"), wantTenant: "globex"},
		{name: "acme token relabelled as globex", token: relabel(t, tokA, b.Issuer), wantErr: tenantjwt.ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := reg.Verify(context.Background(), tc.token)
			if tc.wantTenant == "" {
				if !errors.Is(err, tc.wantErr) || p != nil {
					t.Fatalf("Verify = %+v, %v; want nil, %v", p, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Tenant() != tc.wantTenant || p.Subject() != clientID {
				t.Errorf("tenant, subject = %q, %q; want %q, %q", p.Tenant(), p.Subject(), tc.wantTenant, clientID)
			}
			if tc.token == tokA && !slices.Equal(p.Scopes().Strings(), []string{"reports:read", "reports:write"}) {
				t.Errorf("scopes = %q, want [reports:read reports:write]", p.Scopes())
			}
		})
	}
	// Static keys: the verifier never talked to the providers.
	for _, p := range []*provider{a, b} {
		if n := p.Requests("/keys") + p.Requests("/.well-known/openid-configuration"); n != 0 {
			t.Errorf("%s: verifier requests = %d, want 0", p.Tenant, n)
		}
	}

	// Keys bound to the issuer: a registry that pins A's keys under B's
	// issuer name still rejects A's genuine token (its iss is A, unknown).
	swapped, err := issuer.New(issuer.Options{}, pinned(b, a))
	if err != nil {
		t.Fatalf("issuer.New: %v", err)
	}
	t.Cleanup(func() { _ = swapped.Close() })
	if p, err := swapped.Verify(context.Background(), tokA); !errors.Is(err, tenantjwt.ErrUnknownIssuer) || p != nil {
		t.Errorf("A's token with A's keys pinned under B: Verify = %+v, %v; want nil, ErrUnknownIssuer", p, err)
	}
}
