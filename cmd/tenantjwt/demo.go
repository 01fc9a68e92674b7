package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// runDemo starts three local issuers of three tenants (different keys and
// algorithms, one Auth0-shaped, one Descope-shaped), an API behind the
// middleware, and prints who gets in and why not.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	if err := parseFlags(fs, args, stdout, "demo"); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return usageError{"demo takes no arguments"}
	}

	auth0, err := issuertest.NewServer(issuertest.WithPath("/auth0/")) // Auth0 issuers end in '/'
	if err != nil {
		return err
	}
	defer auth0.Close()
	descope, err := issuertest.NewServer(issuertest.WithPath("/P2descope"), issuertest.WithAlgorithm("ES256"))
	if err != nil {
		return err
	}
	defer descope.Close()
	globex, err := issuertest.NewServer(issuertest.WithPath("/globex"), issuertest.WithAlgorithm("EdDSA"))
	if err != nil {
		return err
	}
	defer globex.Close()
	rogue, err := issuertest.NewServer(issuertest.WithPath("/rogue")) // trusted by no one
	if err != nil {
		return err
	}
	defer rogue.Close()

	// Keys are fetched over HTTP from each issuer's JWKS, as in production.
	a := auth0.Config()
	a.Name = "acme-auth0"
	a.Audiences = []string{"https://api.example.com"}
	a.Claims = issuer.ClaimMapping{Tenant: "org_id", Roles: "https://example.com/roles", Permissions: "permissions", Scopes: "scope"}
	d := descope.Config()
	d.Name = "descope"
	d.Claims = issuer.ClaimMapping{Tenant: "dct", Tenants: "tenants", Roles: "tenants.{tenant}.roles", Permissions: "tenants.{tenant}.permissions"}
	g := globex.Config()
	g.Name, g.Tenant = "globex", "globex"
	// The Verified hook sees every verification, as metrics would.
	var hits, misses atomic.Int64
	counted := issuer.Hooks{Verified: func(ev issuer.VerifyEvent) {
		if ev.CacheHit {
			hits.Add(1)
		} else {
			misses.Add(1)
		}
	}}
	reg, err := issuer.New(issuer.Options{Hooks: counted}, a, d, g)
	if err != nil {
		return err
	}
	defer reg.Close()

	// The wire says little (RFC 6750); the detailed reason stays on the
	// server. The demo collects it to print it next to each refusal.
	why := &reasons{m: map[string]string{}}
	api := httptest.NewServer(demoAPI(reg, why.record))
	defer api.Close()

	w := &demoWriter{out: stdout}
	w.printf("tenantjwt demo: one API trusting three issuers on this machine\n\n")
	w.printf("  %-11s %-6s %-40s %s\n", "issuer", "alg", "iss", "shape")
	w.printf("  %-11s %-6s %-40s %s\n", a.Name, auth0.Algorithm(), auth0.URL(), "Auth0: org_id, permissions, scope, namespaced roles")
	w.printf("  %-11s %-6s %-40s %s\n", d.Name, descope.Algorithm(), descope.URL(), "Descope: dct + tenants{roles, permissions}")
	w.printf("  %-11s %-6s %-40s %s\n", g.Name, globex.Algorithm(), globex.URL(), "fixed tenant globex, plain roles")
	w.printf("\n  routes: GET /me (any token), DELETE /projects/{id} (permission projects:delete),\n")
	w.printf("          GET /admin (role admin); host globex.localhost is bound to tenant globex\n\n")

	now := time.Now()
	alice := auth0.Mint(map[string]any{
		"sub": "auth0|alice", "aud": "https://api.example.com", "org_id": "org_acme",
		"permissions": []string{"projects:read", "projects:delete"}, "scope": "openid projects",
		"https://example.com/roles": []string{"admin"},
	})
	carol := descope.Mint(map[string]any{
		"sub": "U2carol", "dct": "shop-a",
		"tenants": map[string]any{
			"shop-a": map[string]any{"roles": []string{"admin"}, "permissions": []string{"projects:delete"}},
			"shop-b": map[string]any{"roles": []string{"viewer"}, "permissions": []string{}},
		},
	})
	bob := globex.Mint(map[string]any{"sub": "bob", "roles": []string{"viewer"}})
	expired := globex.Mint(map[string]any{"sub": "bob", "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})
	wrongAud := auth0.Mint(map[string]any{"sub": "auth0|alice", "aud": "https://other.example.com", "org_id": "org_acme"})
	unknown := rogue.Mint(map[string]any{"sub": "mallory", "roles": []string{"admin"}})
	// Issuer A's iss, signed with issuer B's key: B is trusted, but not for A.
	forged := descope.MintWith(nil, map[string]any{"iss": globex.URL(), "sub": "mallory", "roles": []string{"admin"}})
	// A token bound to dave's DPoP key (RFC 9449): useless without a proof.
	daveKey, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		return err
	}
	dave := auth0.Mint(map[string]any{"sub": "auth0|dave", "aud": "https://api.example.com", "org_id": "org_acme", "cnf": daveKey.Confirmation()})
	daveProof := daveKey.Proof("GET", api.URL+"/me", dave)

	calls := []demoCall{
		{"alice (Auth0, org_acme) reads /me", "GET", "/me", "", alice, "", "", ""},
		{"alice deletes a project", "DELETE", "/projects/7", "", alice, "", "", ""},
		{"carol (Descope, current tenant shop-a) opens /admin", "GET", "/admin", "", carol, "", "", ""},
		{"carol switches to shop-b (X-Tenant-ID)", "GET", "/me", "", carol, "shop-b", "", ""},
		{"carol in shop-b opens /admin", "GET", "/admin", "", carol, "shop-b", "", ""},
		{"bob (globex viewer) on globex.localhost", "GET", "/me", "globex.localhost", bob, "", "", ""},
		{"cross-tenant: alice's token on globex.localhost", "GET", "/me", "globex.localhost", alice, "", "", ""},
		{"carol selects shop-z, not in her token", "GET", "/me", "", carol, "shop-z", "", ""},
		{"bob tries to delete a project", "DELETE", "/projects/7", "", bob, "", "", ""},
		{"expired token", "GET", "/me", "", expired, "", "", ""},
		{"token for another audience", "GET", "/me", "", wrongAud, "", "", ""},
		{"unknown issuer (no network call made)", "GET", "/me", "", unknown, "", "", ""},
		{"forged: globex's iss, signed with descope's key", "GET", "/me", "", forged, "", "", ""},
		{"no token", "GET", "/me", "", "", "", "", ""},
		{"dave (DPoP-bound token) with a proof of his key", "GET", "/me", "", dave, "", "DPoP", daveProof},
		{"dave's proof replayed", "GET", "/me", "", dave, "", "DPoP", daveProof},
		{"dave's token stolen and sent as Bearer", "GET", "/me", "", dave, "", "", ""},
	}
	for _, c := range calls {
		status, body, hdr, err := c.do(ctx, api.URL)
		if err != nil {
			return err
		}
		mark := "accepted"
		if status != http.StatusOK {
			mark = "refused "
		}
		w.printf("%s %d  %s\n", mark, status, c.what)
		if status == http.StatusOK {
			w.printf("             %s\n", body)
			continue
		}
		w.printf("             WWW-Authenticate: %s\n", hdr)
		w.printf("             server-side reason: %s\n", why.get(c.what))
	}
	w.printf("\nJWKS fetches: acme-auth0 %d, descope %d, globex %d, rogue %d (untrusted issuers are never contacted)\n",
		auth0.JWKSRequests(), descope.JWKSRequests(), globex.JWKSRequests(), rogue.JWKSRequests())
	w.printf("verified-token cache: %d hits, %d misses\n", hits.Load(), misses.Load())
	return w.err
}

// demoAPI is the protected API of the demo.
func demoAPI(reg *issuer.Registry, onError func(http.ResponseWriter, *http.Request, error)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenantjwt.FromContext(r.Context())
		fmt.Fprint(w, describe(p))
	})
	mux.Handle("DELETE /projects/{id}", middleware.RequirePermissions("projects:delete")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenantjwt.FromContext(r.Context())
		fmt.Fprintf(w, "project %s deleted by %s in %s", r.PathValue("id"), p.Subject(), p.Tenant())
	})))
	mux.Handle("GET /admin", middleware.RequireRoles("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenantjwt.FromContext(r.Context())
		fmt.Fprintf(w, "admin console of %s for %s", p.Tenant(), p.Subject())
	})))
	return middleware.New(reg, middleware.Config{
		Realm:         "demo",
		TenantHeader:  "X-Tenant-ID",
		RequestTenant: middleware.HostTenants(map[string]string{"globex.localhost": "globex"}),
		ErrorHandler:  onError,
	})(mux)
}

func describe(p *tenantjwt.Principal) string {
	s := fmt.Sprintf("issuer=%s sub=%s tenant=%s roles=[%s] permissions=[%s] scopes=[%s]",
		p.Issuer(), p.Subject(), p.Tenant(), strings.Join(p.Roles().Strings(), " "), strings.Join(p.Permissions().Strings(), " "), strings.Join(p.Scopes().Strings(), " "))
	if p.Binding() != "" {
		s += " bound=" + p.Binding()
	}
	return s
}

type demoCall struct {
	what, method, path, host, token, tenant string
	scheme, proof                           string // "" scheme: Bearer
}

func (c demoCall) do(ctx context.Context, base string) (status int, body, challenge string, err error) {
	req, err := http.NewRequestWithContext(ctx, c.method, base+c.path, nil)
	if err != nil {
		return 0, "", "", err
	}
	if c.host != "" {
		req.Host = c.host
	}
	if c.token != "" {
		scheme := c.scheme
		if scheme == "" {
			scheme = "Bearer"
		}
		req.Header.Set("Authorization", scheme+" "+c.token)
	}
	if c.proof != "" {
		req.Header.Set("DPoP", c.proof)
	}
	if c.tenant != "" {
		req.Header.Set("X-Tenant-ID", c.tenant)
	}
	req.Header.Set("X-Demo-Call", c.what)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("WWW-Authenticate"), err
}

// reasons keeps the detailed error of each refused demo call.
type reasons struct {
	mu sync.Mutex
	m  map[string]string
}

// record is the API's ErrorHandler: the standard answer, plus a note.
func (rs *reasons) record(w http.ResponseWriter, r *http.Request, err error) {
	rs.mu.Lock()
	rs.m[r.Header.Get("X-Demo-Call")] = err.Error()
	rs.mu.Unlock()
	middleware.NewChallenge("demo", err, 0).Write(w)
}

func (rs *reasons) get(call string) string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.m[call]
}

// demoWriter remembers the first write error.
type demoWriter struct {
	out io.Writer
	err error
}

func (w *demoWriter) printf(format string, args ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.out, format, args...)
	}
}

// helpOK turns a --help request into success.
func helpOK(err error) error {
	if err == flag.ErrHelp {
		return nil
	}
	return err
}
