package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware"
)

type fakeVerifier map[string]*tenantjwt.Principal

func (f fakeVerifier) Verify(_ context.Context, tok string) (*tenantjwt.Principal, error) {
	if p, ok := f[tok]; ok {
		return p, nil
	}
	return nil, tenantjwt.ErrSignature
}

func TestGuards(t *testing.T) {
	t.Parallel()
	v := fakeVerifier{
		"ann": tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "ann", Tenant: "acme", Roles: []string{"admin"}, Permissions: []string{"read", "write"}, Scopes: []string{"api", "admin:api"}}),
		"vic": tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "vic", Tenant: "acme", Roles: []string{"Admin", "admin ", " admin"}}),
	}
	tests := []struct {
		name   string
		guard  func(http.Handler) http.Handler
		token  string
		status int
	}{
		{"role", middleware.RequireRoles("admin"), "ann", 200},
		{"role near misses", middleware.RequireRoles("admin"), "vic", 403},
		{"any of roles", middleware.RequireRoles("owner", "admin"), "ann", 200},
		{"no roles listed", middleware.RequireRoles(), "ann", 403},
		{"all roles", middleware.RequireAllRoles("owner", "admin"), "ann", 403},
		{"all roles met", middleware.RequireAllRoles("admin"), "ann", 200},
		{"permissions", middleware.RequirePermissions("read", "write"), "ann", 200},
		{"missing permission", middleware.RequirePermissions("read", "delete"), "ann", 403},
		{"scopes", middleware.RequireScopes("api", "admin:api"), "ann", 200},
		{"missing scope", middleware.RequireScopes("billing"), "ann", 403},
		{"tenant", middleware.RequireTenant("acme"), "ann", 200},
		{"other tenant", middleware.RequireTenant("globex"), "ann", 403},
		{"empty tenant never matches", middleware.RequireTenant(""), "ann", 403},
		{"custom predicate", middleware.Require("subject ann", func(p *tenantjwt.Principal) bool { return p.Subject() == "ann" }), "vic", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached := false
			h := middleware.New(v, middleware.Config{Realm: "shop"})(tt.guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true })))
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status || reached != (tt.status == 200) {
				t.Fatalf("status %d reached %v, want %d", rec.Code, reached, tt.status)
			}
			if tt.status == 403 {
				// The guard answers with the middleware's realm.
				want := `Bearer realm="shop", error="insufficient_scope", error_description="the access token does not allow this request"`
				if got := rec.Header().Get("WWW-Authenticate"); got != want {
					t.Errorf("WWW-Authenticate = %q, want %q", got, want)
				}
			}
		})
	}
	t.Run("guard without authentication is 401", func(t *testing.T) {
		h := middleware.RequireRoles("admin")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("reached") }))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
			t.Errorf("status %d header %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	})
}
