package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// exampleVerifier stands in for an *issuer.Registry in these examples.
type exampleVerifier struct{}

func (exampleVerifier) Verify(_ context.Context, tok string) (*tenantjwt.Principal, error) {
	if tok == "good.token.sig" {
		return tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "alice", Tenant: "acme", Roles: []string{"admin"}}), nil
	}
	return nil, tenantjwt.ErrSignature
}

// Protect a net/http handler and read the Principal in it.
func ExampleNew() {
	auth := middleware.New(exampleVerifier{}, middleware.Config{Realm: "api"})
	h := auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenantjwt.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s of %s", p.Subject(), p.Tenant())
	}))

	for _, tok := range []string{"good.token.sig", "forged.token.sig", ""} {
		r := httptest.NewRequest("GET", "/", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String())
	}
	// Output:
	// 200  hello alice of acme
	// 401 Bearer realm="api", error="invalid_token", error_description="the access token is not valid" {"error":"invalid_token","error_description":"the access token is not valid"}
	//
	// 401 Bearer realm="api" {"error":"unauthorized","error_description":"authentication required"}
}

// Guards authorize per route after New has authenticated.
func ExampleRequireRoles() {
	mux := http.NewServeMux()
	mux.Handle("/admin", middleware.RequireRoles("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "admin area")
	})))
	mux.Handle("/billing", middleware.RequirePermissions("billing:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "billing")
	})))
	h := middleware.New(exampleVerifier{}, middleware.Config{})(mux)

	for _, path := range []string{"/admin", "/billing"} {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer good.token.sig")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Println(path, rec.Code)
	}
	// Output:
	// /admin 200
	// /billing 403
}
