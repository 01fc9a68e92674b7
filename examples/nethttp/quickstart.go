package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// The README's net/http snippets are excerpts of this file, between the
// "README:begin NAME" and "README:end NAME" lines; a test in the root
// package keeps them identical, so the README shows code that compiles.

// quickStart serves the README's API with the issuers of a config file:
// go run ./examples/nethttp -config tenantjwt.yaml -listen 127.0.0.1:8080
//
// README:begin quickstart
func quickStart(configPath, addr string) error {
	f, err := issuer.LoadFile(configPath)
	if err != nil {
		return err
	}
	reg, err := issuer.NewFromFile(f, issuer.Options{})
	// or: issuer.New(issuer.Options{}, issuer.Config{Issuer: "https://acme.us.auth0.com/", Discovery: true, …})
	if err != nil {
		return err
	}
	defer reg.Close()

	auth := middleware.New(reg, middleware.Config{
		Realm:         "api",
		RequestTenant: middleware.HostTenants(map[string]string{"acme.example.com": "acme"}),
		TenantHeader:  "X-Tenant-ID", // optional: act in another tenant the token lists
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenantjwt.FromContext(r.Context())
		fmt.Fprintf(w, "%s in %s with roles %v", p.Subject(), p.Tenant(), p.Roles())
	})
	mux.Handle("DELETE /projects/{id}", middleware.RequireRoles("admin")(http.HandlerFunc(deleteProject)))
	srv := &http.Server{Addr: addr, Handler: auth(mux), ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

// README:end quickstart

// deleteProject is the guarded handler of the quick start.
func deleteProject(w http.ResponseWriter, r *http.Request) {
	p, _ := tenantjwt.FromContext(r.Context())
	fmt.Fprintf(w, "project %s deleted in tenant %s\n", r.PathValue("id"), p.Tenant())
}

// dpopMiddleware is the README's DPoP configuration: proofs are checked
// against the API's external origin, not the Host header.
func dpopMiddleware(reg *issuer.Registry) func(http.Handler) http.Handler {
	// README:begin dpop
	mw := middleware.New(reg, middleware.Config{
		Forwarded: middleware.Forwarded{Origin: "https://api.example.com"},
		// behind a proxy instead: Forwarded{Proto: "X-Forwarded-Proto", Host: "X-Forwarded-Host"}
	})
	// README:end dpop
	return mw
}
