package issuer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// Build a registry from a config file. The fake issuer stands in for an
// IdP; its keys are written to a JWKS file so the example needs no
// network.
func ExampleNew() {
	idp, err := issuertest.NewServer(issuertest.WithPath("/acme"))
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	dir, err := os.MkdirTemp("", "tenantjwt-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "acme.jwks.json"), idp.JWKS(), 0o600); err != nil {
		log.Fatal(err)
	}
	os.Setenv("ACME_ISSUER", idp.URL())
	config := `
leeway: 30s
issuers:
  - name: acme
    issuer: ${ACME_ISSUER}
    jwks_file: acme.jwks.json
    audiences: [https://api.example.com]
    algorithms: [RS256]
    tenant: acme
    claims:
      roles: "https://example.com/roles"
`
	path := filepath.Join(dir, "tenantjwt.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		log.Fatal(err)
	}

	file, err := issuer.LoadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	reg, err := issuer.NewFromFile(file, issuer.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	token := idp.Mint(map[string]any{
		"sub":                       "alice",
		"aud":                       "https://api.example.com",
		"https://example.com/roles": []string{"admin"},
	})
	p, err := reg.Verify(context.Background(), token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Issuer(), p.Subject(), p.Tenant(), p.Roles())
	// Output: acme alice acme [admin]
}

// Read claims the Principal does not map, by claim path: parse the paths
// once, then read them from each verified Principal.
func ExampleLookupClaims() {
	idp, err := issuertest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	reg, err := issuer.New(issuer.Options{}, idp.LocalConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	var paths []issuer.ClaimPath
	for _, s := range []string{"email", "org.id", "https://example.com/plan", "missing"} {
		cp, err := issuer.ParseClaimPath(s)
		if err != nil {
			log.Fatal(err)
		}
		paths = append(paths, cp)
	}
	p, err := reg.Verify(context.Background(), idp.Mint(map[string]any{
		"email": "alice@example.com", "org": map[string]any{"id": 42}, "https://example.com/plan": "pro",
	}))
	if err != nil {
		log.Fatal(err)
	}
	vals, err := issuer.LookupClaims(p, paths)
	for i, v := range vals {
		if v == nil {
			fmt.Println(paths[i], "is absent")
			continue
		}
		fmt.Println(paths[i], "=", string(v))
	}
	fmt.Println(err)
	// Output:
	// email = "alice@example.com"
	// org.id = 42
	// https://example.com/plan = "pro"
	// missing is absent
	// <nil>
}

// Verify a token and tell the kinds of failure apart.
func ExampleRegistry_Verify() {
	idp, err := issuertest.NewServer(issuertest.WithAlgorithm("ES256"))
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	cfg := idp.LocalConfig() // in-process keys; in production: jwks_uri
	cfg.Name = "idp"
	reg, err := issuer.New(issuer.Options{}, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	for _, token := range []string{
		idp.Mint(map[string]any{"sub": "alice", "scope": "orders:read orders:write"}),
		idp.Mint(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}),
		idp.Mint(map[string]any{"iss": "https://attacker.example/"}),
	} {
		p, err := reg.Verify(context.Background(), token)
		switch {
		case err == nil:
			fmt.Println("ok:", p.Subject(), p.Scopes())
		case errors.Is(err, tenantjwt.ErrExpired):
			fmt.Println("401: expired")
		case errors.Is(err, tenantjwt.ErrKeysUnavailable):
			fmt.Println("503: keys unavailable")
		case errors.Is(err, tenantjwt.ErrInvalidToken):
			fmt.Println("401: invalid token")
		}
	}
	// Output:
	// ok: alice [orders:read orders:write]
	// 401: expired
	// 401: invalid token
}

// A Descope-style token authorizes several tenants; the request picks one.
func ExampleRegistry_SelectTenant() {
	idp, err := issuertest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	cfg := idp.LocalConfig()
	cfg.Claims = issuer.ClaimMapping{
		Tenant:  "dct",
		Tenants: "tenants",
		Roles:   "tenants.{tenant}.roles",
	}
	reg, err := issuer.New(issuer.Options{}, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	p, err := reg.Verify(context.Background(), idp.Mint(map[string]any{
		"dct": "acme",
		"tenants": map[string]any{
			"acme":   map[string]any{"roles": []string{"admin"}},
			"globex": map[string]any{"roles": []string{"viewer"}},
		},
	}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Tenant(), p.Roles(), p.Tenants())
	g, err := reg.SelectTenant(context.Background(), p, "globex")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Tenant(), g.Roles())
	_, err = reg.SelectTenant(context.Background(), p, "initech")
	fmt.Println(errors.Is(err, tenantjwt.ErrTenant))
	// Output:
	// acme [admin] [acme globex]
	// globex [viewer]
	// true
}

// Explain reports each step, for humans debugging a token.
func ExampleRegistry_Explain() {
	idp, err := issuertest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	cfg := idp.LocalConfig()
	cfg.Name = "idp"
	cfg.Audiences = []string{"api"}
	reg, err := issuer.New(issuer.Options{}, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	rep := reg.Explain(context.Background(), idp.Mint(map[string]any{"aud": "web"}))
	fmt.Println("valid:", rep.Valid, "issuer:", rep.Issuer)
	for _, c := range rep.Checks {
		fmt.Println(c.Step, c.OK)
	}
	// Output:
	// valid: false issuer: idp
	// shape true
	// header true
	// issuer true
	// algorithm true
	// key true
	// signature true
	// iss true
	// exp true
	// iat true
	// aud false
}

// Verify a DPoP-bound token (RFC 9449) with its proof. The middleware
// builds the Presentation from the request; here it is written out.
func ExampleRegistry_VerifyPresented() {
	idp, err := issuertest.NewServer(issuertest.WithPath("/acme"))
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	reg, err := issuer.New(issuer.Options{}, idp.LocalConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	// The client's key; the IdP binds the token to it with cnf.jkt.
	client, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		log.Fatal(err)
	}
	tok := idp.Mint(map[string]any{"sub": "alice", "cnf": client.Confirmation()})
	proof := client.Proof("GET", "https://api.example.com/orders", tok)

	pr := tenantjwt.Presentation{Scheme: "DPoP", DPoP: proof, Method: "GET", URL: "https://api.example.com/orders?page=2"}
	p, err := reg.VerifyPresented(context.Background(), tok, pr)
	fmt.Println(p.Subject(), p.Binding(), err)

	// The same proof again is a replay; the token alone is not enough.
	_, err = reg.VerifyPresented(context.Background(), tok, pr)
	fmt.Println(errors.Is(err, tenantjwt.ErrDPoPProof))
	_, err = reg.Verify(context.Background(), tok)
	fmt.Println(errors.Is(err, tenantjwt.ErrDPoPProof))
	// Output:
	// alice dpop <nil>
	// true
	// true
}
