// Command echo is a runnable example: one echo API serving two tenants,
// one of them Descope-shaped (a user in several tenants picks one with the
// X-Tenant-ID header), with guarded route groups.
//
//	go run ./examples/echo          # start, call the API, print the answers, exit
//	go run ./examples/echo -serve   # keep serving and print a curl command
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

	"github.com/labstack/echo/v4"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/echoauth"
)

func main() {
	serve := flag.Bool("serve", false, "keep serving after the sample calls")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "echo example:", err)
		os.Exit(1)
	}
}

// newAPI is the part a real service keeps.
func newAPI(reg *issuer.Registry) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(echoauth.New(reg, echoauth.Config{
		Auth: middleware.Config{TenantHeader: "X-Tenant-ID"},
	}))
	e.GET("/me", func(c echo.Context) error {
		p, _ := echoauth.PrincipalFrom(c)
		return c.String(http.StatusOK, fmt.Sprintf("%s in tenant %s, roles %v", p.Subject(), p.Tenant(), p.Roles()))
	})
	billing := e.Group("/billing", echoauth.RequireRoles("billing-admin"))
	billing.GET("/invoices", func(c echo.Context) error {
		p, _ := echoauth.PrincipalFrom(c)
		return c.String(http.StatusOK, "invoices of "+p.Tenant())
	})
	return e
}

func run(ctx context.Context, out io.Writer, serve bool) error {
	// A Descope-shaped issuer: the current tenant in dct, per-tenant roles
	// in the tenants map.
	descope, err := issuertest.NewServer(issuertest.WithPath("/P2descope"), issuertest.WithAlgorithm("EdDSA"))
	if err != nil {
		return err
	}
	defer descope.Close()
	acme, err := issuertest.NewServer(issuertest.WithPath("/acme"))
	if err != nil {
		return err
	}
	defer acme.Close()

	dc := descope.LocalConfig()
	dc.Name = "descope"
	dc.Claims = issuer.ClaimMapping{Tenant: "dct", Tenants: "tenants", Roles: "tenants.{tenant}.roles"}
	ac := acme.LocalConfig()
	ac.Name, ac.Tenant = "acme", "acme"
	reg, err := issuer.New(issuer.Options{}, dc, ac)
	if err != nil {
		return err
	}
	defer reg.Close()

	srv := httptest.NewServer(newAPI(reg))
	defer srv.Close()

	carol := descope.Mint(map[string]any{
		"sub": "carol", "dct": "shop-a",
		"tenants": map[string]any{
			"shop-a": map[string]any{"roles": []string{"billing-admin"}},
			"shop-b": map[string]any{"roles": []string{"viewer"}},
		},
	})
	dave := acme.Mint(map[string]any{"sub": "dave", "roles": []string{"viewer"}})
	calls := []struct{ what, path, tenant, token string }{
		{"carol, current tenant shop-a", "/me", "", carol},
		{"carol reads shop-a invoices", "/billing/invoices", "", carol},
		{"carol selects shop-b", "/me", "shop-b", carol},
		{"carol in shop-b reads invoices", "/billing/invoices", "shop-b", carol},
		{"carol selects shop-c (not hers)", "/me", "shop-c", carol},
		{"dave (acme viewer) reads /me", "/me", "", dave},
		{"forged token", "/me", "", dave[:len(dave)-6] + "AAAAAA"},
	}
	for _, c := range calls {
		status, body, err := call(ctx, srv.URL+c.path, c.tenant, c.token)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-32s -> %d %s\n", c.what, status, body)
	}
	if serve {
		fmt.Fprintf(out, "\nserving on %s until interrupted, for example:\ncurl -H 'X-Tenant-ID: shop-b' -H 'Authorization: Bearer %s' %s/me\n", srv.URL, carol, srv.URL)
		<-ctx.Done()
	}
	return nil
}

func call(ctx context.Context, url, tenant, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if tenant != "" {
		req.Header.Set("X-Tenant-ID", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}
