package main

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/echoauth"
)

// The README's echo snippet is the excerpt of this file between the
// "README:begin echo" and "README:end echo" lines; a test in the root
// package keeps them identical.

// README:begin echo
func quickStart(reg *issuer.Registry) *echo.Echo {
	e := echo.New()
	e.Use(echoauth.New(reg, echoauth.Config{
		Skipper: func(c echo.Context) bool { return c.Path() == "/health" },
		Auth:    middleware.Config{TenantHeader: "X-Tenant-ID"},
	}))
	e.GET("/me", func(c echo.Context) error {
		p, _ := echoauth.PrincipalFrom(c) // also c.Get("principal")
		return c.String(http.StatusOK, p.Subject())
	})
	billing := e.Group("/billing", echoauth.RequireRoles("billing-admin"))
	billing.GET("/invoices", listInvoices)
	return e
}

// README:end echo

// listInvoices is the guarded handler of the quick start.
func listInvoices(c echo.Context) error {
	p, _ := echoauth.PrincipalFrom(c)
	return c.String(http.StatusOK, "invoices of "+p.Subject())
}
