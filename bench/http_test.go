package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"

	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/echoauth"
)

// BenchmarkHTTP is a whole request through each framework, with and
// without authentication (RS256 fixture, token cache off and on).
func BenchmarkHTTP(b *testing.B) {
	f := loadFixtures()[0]
	regFirst, _ := issuer.New(issuer.Options{TokenCacheSize: -1}, f.config())
	regCached, _ := issuer.New(issuer.Options{}, f.config())
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	newEcho := func(mw ...echo.MiddlewareFunc) http.Handler {
		e := echo.New()
		e.Use(mw...)
		e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
		return e
	}
	cases := []struct {
		name string
		h    http.Handler
	}{
		{"net-http/bare", ok},
		{"net-http/tenantjwt-first", middleware.New(regFirst, middleware.Config{})(ok)},
		{"net-http/tenantjwt-cached", middleware.New(regCached, middleware.Config{})(ok)},
		{"echo/bare", newEcho()},
		{"echo/echoauth-first", newEcho(echoauth.New(regFirst, echoauth.Config{}))},
		{"echo/echoauth-cached", newEcho(echoauth.New(regCached, echoauth.Config{}))},
		{"echo/echo-jwt", newEcho(echojwt.WithConfig(echojwt.Config{
			SigningMethod: "RS256",
			KeyFunc:       func(*jwt.Token) (any, error) { return f.pub, nil },
		}))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.Header.Set("Authorization", "Bearer "+f.token)
				rec := httptest.NewRecorder()
				c.h.ServeHTTP(rec, r)
				if rec.Code != http.StatusNoContent {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
