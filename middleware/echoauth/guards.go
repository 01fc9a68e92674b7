package echoauth

import (
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// Require refuses requests whose Principal does not satisfy allow: 401 when
// there is no Principal, 403 insufficient_scope otherwise. Use it on a route
// or a group after New.
func Require(what string, allow func(*tenantjwt.Principal) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := middleware.Check(c.Request(), what, allow); err != nil {
				a, _ := c.Get(authKey).(*middleware.Authenticator)
				return Error(c, a, err)
			}
			return next(c)
		}
	}
}

// RequireRoles lets through a Principal with at least one of roles.
func RequireRoles(roles ...string) echo.MiddlewareFunc {
	return Require(fmt.Sprintf("any role of %q", roles), middleware.AnyRole(roles...))
}

// RequireAllRoles lets through a Principal with every one of roles.
func RequireAllRoles(roles ...string) echo.MiddlewareFunc {
	return Require(fmt.Sprintf("all roles of %q", roles), middleware.AllRoles(roles...))
}

// RequirePermissions lets through a Principal with every one of perms.
func RequirePermissions(perms ...string) echo.MiddlewareFunc {
	return Require(fmt.Sprintf("permissions %q", perms), middleware.AllPermissions(perms...))
}

// RequireScopes lets through a Principal with every one of scopes.
func RequireScopes(scopes ...string) echo.MiddlewareFunc {
	return Require(fmt.Sprintf("scopes %q", scopes), middleware.AllScopes(scopes...))
}

// RequireTenant lets through a Principal acting in tenant.
func RequireTenant(tenant string) echo.MiddlewareFunc {
	return Require(fmt.Sprintf("tenant %q", tenant), middleware.InTenant(tenant))
}
