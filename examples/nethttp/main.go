// Command nethttp is a runnable example: one net/http API serving two
// tenants, each with its own issuer and keys, with guarded routes.
//
//	go run ./examples/nethttp          # start, call the API, print the answers, exit
//	go run ./examples/nethttp -serve   # keep serving and print curl commands
//	go run ./examples/nethttp -config tenantjwt.yaml   # the README's quick start, with your issuers
//
// The two issuers are local fakes (issuer/issuertest), so the example needs
// no outside services. In production each issuer entry would name the
// tenant's real IdP (jwks_uri or discovery) in a config file.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware"
)

func main() {
	serve := flag.Bool("serve", false, "keep serving after the sample calls")
	config := flag.String("config", "", "serve the README's quick-start API with the issuers of this config file")
	listen := flag.String("listen", "127.0.0.1:8080", "address of the quick-start API (with -config)")
	flag.Parse()
	if *config != "" {
		if err := quickStart(*config, *listen); err != nil {
			fmt.Fprintln(os.Stderr, "nethttp:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "nethttp:", err)
		os.Exit(1)
	}
}

// newAPI is the part a real service keeps: routes, guards and the
// middleware in front of them.
func newAPI(reg *issuer.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenantjwt.FromContext(r.Context())
		fmt.Fprintf(w, "%s of tenant %s, roles %v\n", p.Subject(), p.Tenant(), p.Roles())
	})
	admin := middleware.RequireRoles("admin")
	mux.Handle("DELETE /projects/{id}", admin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenantjwt.FromContext(r.Context())
		fmt.Fprintf(w, "project %s deleted in tenant %s\n", r.PathValue("id"), p.Tenant())
	})))
	auth := middleware.New(reg, middleware.Config{
		// Each tenant has its own host; a token of one tenant is refused
		// on the other's host.
		RequestTenant: middleware.HostTenants(map[string]string{
			"acme.localhost":   "acme",
			"globex.localhost": "globex",
		}),
	})
	return auth(mux)
}

func run(ctx context.Context, out io.Writer, serve bool) error {
	// Two tenants, two issuers, two keys (RS256 and ES256).
	acme, err := issuertest.NewServer(issuertest.WithPath("/acme"))
	if err != nil {
		return err
	}
	defer acme.Close()
	globex, err := issuertest.NewServer(issuertest.WithPath("/globex"), issuertest.WithAlgorithm("ES256"))
	if err != nil {
		return err
	}
	defer globex.Close()

	acmeCfg := acme.LocalConfig()
	acmeCfg.Name, acmeCfg.Tenant = "acme", "acme"
	globexCfg := globex.LocalConfig()
	globexCfg.Name, globexCfg.Tenant = "globex", "globex"
	reg, err := issuer.New(issuer.Options{}, acmeCfg, globexCfg)
	if err != nil {
		return err
	}
	defer reg.Close()

	srv := httptest.NewServer(newAPI(reg))
	defer srv.Close()

	alice := acme.Mint(map[string]any{"sub": "alice", "roles": []string{"admin"}})
	bob := globex.Mint(map[string]any{"sub": "bob", "roles": []string{"viewer"}})
	calls := []struct{ what, method, host, path, token string }{
		{"alice (acme admin) reads /me", "GET", "acme.localhost", "/me", alice},
		{"alice deletes an acme project", "DELETE", "acme.localhost", "/projects/7", alice},
		{"bob (globex viewer) reads /me", "GET", "globex.localhost", "/me", bob},
		{"bob tries to delete", "DELETE", "globex.localhost", "/projects/7", bob},
		{"alice's token on globex's host", "GET", "globex.localhost", "/me", alice},
		{"no token", "GET", "acme.localhost", "/me", ""},
	}
	for _, c := range calls {
		status, body, err := call(ctx, srv.URL, c.method, c.host, c.path, c.token)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-34s -> %d %s\n", c.what, status, body)
	}
	if !serve {
		return nil
	}
	fmt.Fprintf(out, "\nserving on %s until interrupted, for example:\ncurl -H 'Host: acme.localhost' -H 'Authorization: Bearer %s' %s/me\n", srv.URL, alice, srv.URL)
	<-ctx.Done()
	return nil
}

func call(ctx context.Context, base, method, host, path, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}
