package echoauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/echoauth"
)

// Protect an echo app, guard a group, and read the Principal in handlers.
func ExampleNew() {
	e := echo.New()
	e.Use(echoauth.New(verifier, echoauth.Config{
		Skipper: func(c echo.Context) bool { return c.Path() == "/health" },
		Auth:    middleware.Config{Realm: "shop"},
	}))
	e.GET("/health", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/me", func(c echo.Context) error {
		p, _ := echoauth.PrincipalFrom(c)
		return c.String(http.StatusOK, p.Subject()+"@"+p.Tenant())
	})
	admin := e.Group("/admin", echoauth.RequireRoles("owner"))
	admin.GET("/users", func(c echo.Context) error { return c.String(http.StatusOK, "users") })

	for _, path := range []string{"/health", "/me", "/admin/users"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer admin.tok.en")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, r)
		fmt.Println(strings.TrimSpace(fmt.Sprint(path, " ", rec.Code, " ", rec.Header().Get("WWW-Authenticate"))))
	}
	// Output:
	// /health 200
	// /me 200
	// /admin/users 403 Bearer realm="shop", error="insufficient_scope", error_description="the access token does not allow this request"
}
