package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

func TestExampleRuns(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"carol, current tenant shop-a     -> 200 carol in tenant shop-a, roles [billing-admin]",
		"carol reads shop-a invoices      -> 200 invoices of shop-a",
		"carol selects shop-b             -> 200 carol in tenant shop-b, roles [viewer]",
		"carol in shop-b reads invoices   -> 403",
		"carol selects shop-c (not hers)  -> 403",
		"dave (acme viewer) reads /me     -> 200 dave in tenant acme",
		"forged token                     -> 401",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestQuickStart runs the README's echo snippet: the skipper, the
// principal, and the guarded group.
func TestQuickStart(t *testing.T) {
	iss := issuertest.New(t)
	e := quickStart(issuertest.NewRegistry(t, issuer.Options{}, iss))
	e.GET("/health", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	srv := httptest.NewServer(e)
	defer srv.Close()
	admin := iss.Mint(map[string]any{"sub": "alice", "roles": []string{"billing-admin"}})
	viewer := iss.Mint(map[string]any{"sub": "bob", "roles": []string{"viewer"}})
	for _, tc := range []struct {
		path, token string
		status      int
		body        string
	}{
		{"/health", "", http.StatusOK, "ok"},
		{"/me", "", http.StatusUnauthorized, ""},
		{"/me", viewer, http.StatusOK, "bob"},
		{"/billing/invoices", viewer, http.StatusForbidden, ""},
		{"/billing/invoices", admin, http.StatusOK, "invoices of alice"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.body != "" && string(b) != tc.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, resp.StatusCode, b, tc.status, tc.body)
		}
	}
}
