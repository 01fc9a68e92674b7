// Package echoauth is the echo v4 adapter of tenantjwt's middleware: it
// authenticates requests with a Verifier (usually an *issuer.Registry) and
// puts the verified Principal both in the echo context and in the request
// context, following echo's middleware conventions.
//
// Failures are returned as *echo.HTTPError with the RFC 6750 status and a
// JSON message, and the WWW-Authenticate header is set on the response, so
// echo's default HTTPErrorHandler renders the standard answer.
package echoauth

import (
	"github.com/labstack/echo/v4"
	emw "github.com/labstack/echo/v4/middleware"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// DefaultContextKey is the echo context key of the Principal.
const DefaultContextKey = "principal"

// Config tunes the echo middleware. The zero value is usable.
type Config struct {
	// Skipper skips the middleware for some requests (default: none).
	Skipper emw.Skipper
	// BeforeFunc runs before the token is read.
	BeforeFunc emw.BeforeFunc
	// SuccessHandler runs after a successful authentication, before the
	// next handler.
	SuccessHandler func(c echo.Context)
	// ErrorHandler, if set, is called with the detailed error of a refused
	// request; what it returns is returned by the middleware (return nil to
	// let the request continue without a Principal: use with care). By
	// default the middleware returns an *echo.HTTPError (see Error).
	ErrorHandler func(c echo.Context, err error) error
	// ContextKey is the key under which c.Get finds the Principal. Default
	// DefaultContextKey.
	ContextKey string
	// Auth holds everything shared with the net/http middleware: realm,
	// token sources, optional mode, tenant binding and selection,
	// KeysUnavailableStatus and Logger. Its ErrorHandler field is not used
	// by echo.
	Auth middleware.Config
}

// New returns echo middleware that authenticates every request with v.
func New(v middleware.Verifier, cfg Config) echo.MiddlewareFunc {
	if cfg.Skipper == nil {
		cfg.Skipper = emw.DefaultSkipper
	}
	if cfg.ContextKey == "" {
		cfg.ContextKey = DefaultContextKey
	}
	auth := cfg.Auth
	auth.ErrorHandler = nil
	a := middleware.NewAuthenticator(v, auth)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Skipper(c) {
				return next(c)
			}
			if cfg.BeforeFunc != nil {
				cfg.BeforeFunc(c)
			}
			r := c.Request()
			p, err := a.Authenticate(r)
			if err != nil {
				if cfg.ErrorHandler != nil {
					return cfg.ErrorHandler(c, err)
				}
				return Error(c, a, err)
			}
			if p != nil {
				c.Set(cfg.ContextKey, p)
				c.SetRequest(r.WithContext(tenantjwt.NewContext(r.Context(), p)))
			}
			c.Set(authKey, a)
			if cfg.SuccessHandler != nil {
				cfg.SuccessHandler(c)
			}
			return next(c)
		}
	}
}

// authKey stores the Authenticator for the guards.
const authKey = "tenantjwt.echoauth.authenticator"

// Error renders err as an *echo.HTTPError with a's realm, and sets the
// WWW-Authenticate header on c's response. The message is the fixed RFC 6750
// body; err is kept as the HTTPError's internal error for logging.
func Error(c echo.Context, a *middleware.Authenticator, err error) error {
	if a == nil {
		a = middleware.NewAuthenticator(nil, middleware.Config{})
	}
	ch := a.ChallengeFor(c.Request(), err)
	ch.SetHeaders(c.Response().Header())
	return echo.NewHTTPError(ch.Status, ch.Body()).SetInternal(err)
}

// PrincipalFrom returns the Principal of an authenticated request.
func PrincipalFrom(c echo.Context) (*tenantjwt.Principal, bool) {
	return tenantjwt.FromContext(c.Request().Context())
}
