package echoauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/echoauth"
)

// fakeVerifier accepts the tokens it knows.
type fakeVerifier map[string]*tenantjwt.Principal

func (f fakeVerifier) Verify(_ context.Context, tok string) (*tenantjwt.Principal, error) {
	if p, ok := f[tok]; ok {
		return p, nil
	}
	return nil, tenantjwt.ErrSignature
}

var verifier = fakeVerifier{
	"admin.tok.en":  tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "ann", Tenant: "acme", Roles: []string{"admin"}, Permissions: []string{"read", "write"}, Scopes: []string{"api"}}),
	"viewer.tok.en": tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "vic", Tenant: "acme", Roles: []string{"Admin", "admin "}}),
}

func do(e *echo.Echo, path, tok string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, r)
	return rec
}

func TestContextKeyAndRequestContext(t *testing.T) {
	e := echo.New()
	e.Use(echoauth.New(verifier, echoauth.Config{ContextKey: "who"}))
	e.GET("/", func(c echo.Context) error {
		fromKey, _ := c.Get("who").(*tenantjwt.Principal)
		fromCtx, _ := tenantjwt.FromContext(c.Request().Context())
		if fromKey == nil || fromKey != fromCtx || fromKey.Subject() != "ann" {
			t.Errorf("c.Get = %v, request context = %v", fromKey, fromCtx)
		}
		return c.NoContent(http.StatusOK)
	})
	if rec := do(e, "/", "admin.tok.en"); rec.Code != 200 {
		t.Fatalf("status = %d", rec.Code)
	}
}

func TestSkipperBeforeAndSuccess(t *testing.T) {
	var before, success int
	e := echo.New()
	e.Use(echoauth.New(verifier, echoauth.Config{
		Skipper:        func(c echo.Context) bool { return c.Path() == "/health" },
		BeforeFunc:     func(echo.Context) { before++ },
		SuccessHandler: func(echo.Context) { success++ },
	}))
	e.GET("/health", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	e.GET("/private", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	if rec := do(e, "/health", ""); rec.Code != 200 {
		t.Errorf("skipped route: status %d, want 200", rec.Code)
	}
	if rec := do(e, "/private", ""); rec.Code != 401 {
		t.Errorf("private route without token: status %d, want 401", rec.Code)
	}
	if rec := do(e, "/private", "admin.tok.en"); rec.Code != 200 {
		t.Errorf("private route with token: status %d, want 200", rec.Code)
	}
	if before != 2 || success != 1 {
		t.Errorf("BeforeFunc ran %d times, SuccessHandler %d; want 2 and 1", before, success)
	}
}

func TestErrorHandlerAndHTTPError(t *testing.T) {
	var seen error
	e := echo.New()
	e.Use(echoauth.New(verifier, echoauth.Config{ErrorHandler: func(c echo.Context, err error) error {
		seen = err
		return c.String(http.StatusTeapot, "custom")
	}}))
	e.GET("/", func(c echo.Context) error { t.Error("handler reached"); return nil })
	if rec := do(e, "/", "bad.tok.en"); rec.Code != http.StatusTeapot {
		t.Errorf("status = %d, want 418", rec.Code)
	}
	if !errors.Is(seen, tenantjwt.ErrSignature) {
		t.Errorf("ErrorHandler saw %v", seen)
	}

	// Without an ErrorHandler the middleware returns an *echo.HTTPError.
	mw := echoauth.New(verifier, echoauth.Config{})
	c := echo.New().NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())
	err := mw(func(echo.Context) error { return nil })(c)
	var he *echo.HTTPError
	if !errors.As(err, &he) || he.Code != 401 {
		t.Fatalf("err = %v, want *echo.HTTPError 401", err)
	}
	if got := c.Response().Header().Get("WWW-Authenticate"); got != `Bearer realm="api"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}

func TestGuards(t *testing.T) {
	tests := []struct {
		name   string
		guard  echo.MiddlewareFunc
		token  string
		status int
	}{
		{"role", echoauth.RequireRoles("admin"), "admin.tok.en", 200},
		{"role near misses", echoauth.RequireRoles("admin"), "viewer.tok.en", 403},
		{"any of roles", echoauth.RequireRoles("owner", "admin"), "admin.tok.en", 200},
		{"all roles", echoauth.RequireAllRoles("owner", "admin"), "admin.tok.en", 403},
		{"permissions", echoauth.RequirePermissions("read", "write"), "admin.tok.en", 200},
		{"missing permission", echoauth.RequirePermissions("read", "delete"), "admin.tok.en", 403},
		{"scopes", echoauth.RequireScopes("api"), "admin.tok.en", 200},
		{"missing scope", echoauth.RequireScopes("admin:api"), "admin.tok.en", 403},
		{"tenant", echoauth.RequireTenant("acme"), "admin.tok.en", 200},
		{"other tenant", echoauth.RequireTenant("globex"), "admin.tok.en", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			g := e.Group("", echoauth.New(verifier, echoauth.Config{}), tt.guard)
			reached := false
			g.GET("/x", func(c echo.Context) error { reached = true; return c.NoContent(200) })
			rec := do(e, "/x", tt.token)
			if rec.Code != tt.status || reached != (tt.status == 200) {
				t.Fatalf("status %d reached %v, want %d", rec.Code, reached, tt.status)
			}
			if tt.status == 403 {
				want := `Bearer realm="api", error="insufficient_scope", error_description="the access token does not allow this request"`
				if got := rec.Header().Get("WWW-Authenticate"); got != want {
					t.Errorf("WWW-Authenticate = %q", got)
				}
			}
		})
	}
	t.Run("guard without authentication is 401", func(t *testing.T) {
		e := echo.New()
		e.GET("/x", func(c echo.Context) error { return c.NoContent(200) }, echoauth.RequireRoles("admin"))
		if rec := do(e, "/x", "admin.tok.en"); rec.Code != 401 {
			t.Errorf("status = %d, want 401", rec.Code)
		}
	})
}

// TestErrorHeadersMatchNetHTTP: the echo adapter answers a refusal with the
// same status, challenge, Retry-After and Cache-Control as the net/http
// middleware, through the one responder (middleware.Challenge.SetHeaders).
func TestErrorHeadersMatchNetHTTP(t *testing.T) {
	a := middleware.NewAuthenticator(verifier, middleware.Config{Realm: "r"})
	for _, err := range []error{
		middleware.ErrNoToken,
		middleware.ErrMultipleTokens,
		tenantjwt.ErrSignature,
		tenantjwt.ErrForbidden,
		tenantjwt.ErrKeysUnavailable,
		tenantjwt.ErrDPoPProof,
	} {
		t.Run(err.Error(), func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			std := httptest.NewRecorder()
			a.Fail(std, r, err)

			e := echo.New()
			rec := httptest.NewRecorder()
			c := e.NewContext(r, rec)
			e.HTTPErrorHandler(echoauth.Error(c, a, err), c)

			if rec.Code != std.Code {
				t.Errorf("status: echo %d, net/http %d", rec.Code, std.Code)
			}
			for _, h := range []string{"WWW-Authenticate", "Retry-After", "Cache-Control"} {
				if got, want := rec.Header().Get(h), std.Header().Get(h); got != want {
					t.Errorf("%s: echo %q, net/http %q", h, got, want)
				}
			}
			if std.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", std.Header().Get("Cache-Control"))
			}
		})
	}
}
