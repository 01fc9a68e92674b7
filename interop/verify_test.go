package interop_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/jwks"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// The tenantjwt side: the providers of provider_test.go are trusted
// through OpenID discovery only (no jwks_uri is written down anywhere), so
// everything tenantjwt learns about their keys it learns over HTTP, the
// way it would from a production IdP.

const (
	discoveryPath = "/.well-known/openid-configuration"
	keysPath      = "/keys" // zitadel/oidc's jwks_uri path
)

// clock is a settable clock shared by the key cache and the registry, so
// the test moves past the unknown-kid cooldown without sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// cooldown is the unknown-kid refetch cooldown the key cache is given.
const cooldown = 30 * time.Second

// configFor trusts p through discovery, with p's tenant read from the
// org_id claim the provider puts in its tokens.
func configFor(p *provider) issuer.Config {
	return issuer.Config{
		Name:       p.Tenant,
		Issuer:     p.Issuer,
		Discovery:  true,
		Audiences:  []string{apiAudience},
		Algorithms: []string{"RS256"},
		Claims:     issuer.ClaimMapping{Tenant: tenantClaim},
	}
}

// newRegistry builds a registry trusting the given providers, with its
// own key cache on clk.
func newRegistry(t *testing.T, clk *clock, ps ...*provider) *issuer.Registry {
	t.Helper()
	cache := jwks.NewCache(jwks.Options{Now: clk.Now, Cooldown: cooldown})
	t.Cleanup(func() {
		if err := cache.Close(); err != nil {
			t.Errorf("cache.Close: %v", err)
		}
	})
	cfgs := make([]issuer.Config, 0, len(ps))
	for _, p := range ps {
		cfgs = append(cfgs, configFor(p))
	}
	reg, err := issuer.New(issuer.Options{Now: clk.Now, Keys: cache}, cfgs...)
	if err != nil {
		t.Fatalf("issuer.New: %v", err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return reg
}

func newClock() *clock { return &clock{now: time.Now()} }

// fetches reports the verifier's discovery and JWKS requests to p.
func fetches(p *provider) (discovery, keys int) {
	return p.Requests(discoveryPath), p.Requests(keysPath)
}

func checkFetches(t *testing.T, p *provider, wantDiscovery, wantKeys int) {
	t.Helper()
	d, k := fetches(p)
	if d != wantDiscovery || k != wantKeys {
		t.Errorf("%s: discovery fetches = %d, JWKS fetches = %d; want %d and %d",
			p.Tenant, d, k, wantDiscovery, wantKeys)
	}
}

// TestVerifyTwoTenantsThroughDiscovery: each provider's real access token
// verifies, and maps to the right issuer, subject, tenant and scopes.
func TestVerifyTwoTenantsThroughDiscovery(t *testing.T) {
	a := startProvider(t, "acme")
	b := startProvider(t, "globex")
	reg := newRegistry(t, newClock(), a, b)

	tests := []struct {
		name   string
		p      *provider
		scopes []string
	}{
		{name: "acme one scope", p: a, scopes: []string{"reports:read"}},
		{name: "globex two scopes", p: b, scopes: []string{"reports:read", "reports:write"}},
		{name: "acme again", p: a, scopes: []string{"reports:write"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.p.Token(t, tc.scopes...)
			got, err := reg.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Issuer() != tc.p.Tenant || got.IssuerURL() != tc.p.Issuer {
				t.Errorf("issuer = %q (%q), want %q (%q)", got.Issuer(), got.IssuerURL(), tc.p.Tenant, tc.p.Issuer)
			}
			if got.Subject() != clientID {
				t.Errorf("subject = %q, want %q", got.Subject(), clientID)
			}
			if got.Tenant() != tc.p.Tenant {
				t.Errorf("tenant = %q, want %q", got.Tenant(), tc.p.Tenant)
			}
			if !slices.Equal(got.Scopes().Strings(), tc.scopes) {
				t.Errorf("scopes = %q, want %q", got.Scopes(), tc.scopes)
			}
			if !got.Audience().Contains(apiAudience) {
				t.Errorf("audience = %q, want it to contain %q", got.Audience(), apiAudience)
			}
		})
	}
	// Lazy, shared fetching: one discovery and one JWKS fetch per
	// provider however many tokens were verified.
	checkFetches(t, a, 1, 1)
	checkFetches(t, b, 1, 1)
}

// TestKeysAreBoundToTheirIssuer: a token of tenant A is never accepted
// on the strength of B's configuration or B's keys.
func TestKeysAreBoundToTheirIssuer(t *testing.T) {
	a := startProvider(t, "acme")
	b := startProvider(t, "globex")
	tokA := a.Token(t, "reports:read")

	t.Run("only B trusted, A's token is an unknown issuer", func(t *testing.T) {
		reg := newRegistry(t, newClock(), b)
		got, err := reg.Verify(context.Background(), tokA)
		if !errors.Is(err, tenantjwt.ErrUnknownIssuer) || got != nil {
			t.Fatalf("Verify = %v, %v; want nil, ErrUnknownIssuer", got, err)
		}
		// Rejected before any key lookup: nobody was asked for keys.
		checkFetches(t, a, 0, 0)
		checkFetches(t, b, 0, 0)
	})

	t.Run("A's token relabelled with B's iss", func(t *testing.T) {
		forged := relabel(t, tokA, b.Issuer)
		reg := newRegistry(t, newClock(), a, b)
		got, err := reg.Verify(context.Background(), forged)
		if !errors.Is(err, tenantjwt.ErrInvalidToken) || got != nil {
			t.Fatalf("Verify = %v, %v; want nil, an ErrInvalidToken", got, err)
		}
		if errors.Is(err, tenantjwt.ErrKeysUnavailable) {
			t.Errorf("err = %v, want a token rejection, not a key outage", err)
		}
		// Only B's keys were consulted; A's (which did sign it) never.
		if d, k := fetches(a); d != 0 || k != 0 {
			t.Errorf("acme fetches = %d discovery, %d JWKS; want 0, 0", d, k)
		}
		if d, _ := fetches(b); d != 1 {
			t.Errorf("globex discovery fetches = %d, want 1", d)
		}
		// The genuine token still verifies as A.
		p, err := reg.Verify(context.Background(), tokA)
		if err != nil || p.Tenant() != a.Tenant {
			t.Fatalf("genuine token: Verify = %v, %v; want tenant %q", p, err, a.Tenant)
		}
	})
}

// TestProviderKeyRotation: after the OP starts signing with a new key,
// its tokens verify through the same registry after exactly one JWKS
// refetch, and old-key tokens keep verifying while the old key is
// published.
func TestProviderKeyRotation(t *testing.T) {
	a := startProvider(t, "acme")
	b := startProvider(t, "globex")
	clk := newClock()
	reg := newRegistry(t, clk, a, b)
	ctx := context.Background()

	old := a.Token(t, "reports:read")
	if _, err := reg.Verify(ctx, old); err != nil {
		t.Fatalf("Verify before rotation: %v", err)
	}
	checkFetches(t, a, 1, 1)

	// Step past the unknown-kid cooldown so the refetch is allowed
	// whichever moment the cache measures it from; the tokens' exp
	// (five minutes in zitadel's example storage) is still ahead.
	clk.Advance(cooldown + time.Second)
	kid := a.Rotate(t)
	fresh := a.Token(t, "reports:write")
	var h header
	decodeSegment(t, fresh, 0, &h)
	if h.Kid != kid {
		t.Fatalf("new token kid = %q, want %q (rotation did not take)", h.Kid, kid)
	}

	steps := []struct {
		name      string
		token     string
		wantKeys  int // JWKS fetches after this step
		wantScope string
	}{
		{name: "new key: unknown kid, one refetch", token: fresh, wantKeys: 2, wantScope: "reports:write"},
		{name: "another new-key token: no fetch", token: a.Token(t, "reports:read"), wantKeys: 2, wantScope: "reports:read"},
		{name: "old key still published: no fetch", token: old, wantKeys: 2, wantScope: "reports:read"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			p, err := reg.Verify(ctx, st.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Tenant() != a.Tenant || !slices.Equal(p.Scopes().Strings(), []string{st.wantScope}) {
				t.Errorf("principal tenant %q scopes %q, want %q [%s]", p.Tenant(), p.Scopes(), a.Tenant, st.wantScope)
			}
			// Discovery is not repeated: only the JWKS is refetched.
			checkFetches(t, a, 1, st.wantKeys)
		})
	}
	// The other tenant was never touched by A's rotation.
	checkFetches(t, b, 0, 0)
}

// TestMiddlewareOneRequestPerTenant: the net/http middleware in front of
// a handler, one request per tenant plus the forged one.
func TestMiddlewareOneRequestPerTenant(t *testing.T) {
	a := startProvider(t, "acme")
	b := startProvider(t, "globex")
	reg := newRegistry(t, newClock(), a, b)

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := tenantjwt.FromContext(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, p.Tenant()+" "+p.Subject())
	})
	api := httptest.NewServer(middleware.New(reg, middleware.Config{})(handler))
	t.Cleanup(api.Close)

	tests := []struct {
		name       string
		token      string
		wantStatus int
		wantBody   string // checked on 200 only
	}{
		{name: "acme", token: a.Token(t, "reports:read"), wantStatus: http.StatusOK, wantBody: "acme " + clientID},
		{name: "globex", token: b.Token(t, "reports:read"), wantStatus: http.StatusOK, wantBody: "globex " + clientID},
		{name: "acme relabelled as globex", token: relabel(t, a.Token(t, "reports:read"), b.Issuer), wantStatus: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, api.URL+"/reports", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tc.token)
			resp, err := api.Client().Do(req)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", resp.StatusCode, tc.wantStatus, body)
			}
			if tc.wantStatus == http.StatusOK && string(body) != tc.wantBody {
				t.Errorf("body = %q, want %q", body, tc.wantBody)
			}
			if tc.wantStatus == http.StatusUnauthorized {
				const want = `error="invalid_token"`
				if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, want) {
					t.Errorf("WWW-Authenticate = %q, want it to contain %s", got, want)
				}
			}
		})
	}
}
