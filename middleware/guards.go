package middleware

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/tenantjwt/tenantjwt"
)

// Guards authorize a request that New has authenticated. Each returns
// net/http middleware to wrap a route or a group of routes, and they compose
// by nesting. A request without a Principal (no New in front, or an Optional
// request that came without a token) is answered 401; a Principal that does
// not satisfy the guard 403 insufficient_scope, through the same realm and
// ErrorHandler as New. Comparisons are exact: "Admin" and "admin " do not
// match "admin".

// Require refuses requests whose Principal does not satisfy allow. what
// names the requirement in the detailed error (never on the wire).
func Require(what string, allow func(*tenantjwt.Principal) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := Check(r, what, allow); err != nil {
				authenticatorFrom(r.Context()).Fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Check is the test behind every guard, for frameworks other than net/http:
// it returns ErrNoToken when r has no Principal and an error wrapping
// tenantjwt.ErrForbidden when allow refuses it.
func Check(r *http.Request, what string, allow func(*tenantjwt.Principal) bool) error {
	return CheckContext(r.Context(), what, allow)
}

// RequireRoles lets through a Principal with at least one of roles.
func RequireRoles(roles ...string) func(http.Handler) http.Handler {
	return Require(fmt.Sprintf("any role of %q", roles), AnyRole(roles...))
}

// RequireAllRoles lets through a Principal with every one of roles.
func RequireAllRoles(roles ...string) func(http.Handler) http.Handler {
	return Require(fmt.Sprintf("all roles of %q", roles), AllRoles(roles...))
}

// RequirePermissions lets through a Principal with every one of perms.
func RequirePermissions(perms ...string) func(http.Handler) http.Handler {
	return Require(fmt.Sprintf("permissions %q", perms), AllPermissions(perms...))
}

// RequireScopes lets through a Principal with every one of scopes.
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return Require(fmt.Sprintf("scopes %q", scopes), AllScopes(scopes...))
}

// RequireTenant lets through a Principal acting in tenant.
func RequireTenant(tenant string) func(http.Handler) http.Handler {
	return Require(fmt.Sprintf("tenant %q", tenant), InTenant(tenant))
}

// The predicates behind the guards, shared with the echo adapter and the
// serve command's rules. An empty list is satisfied by AllX and refused by
// AnyRole.

// AnyRole reports whether p has at least one of roles.
func AnyRole(roles ...string) func(*tenantjwt.Principal) bool {
	return func(p *tenantjwt.Principal) bool {
		return slices.ContainsFunc(roles, p.HasRole)
	}
}

// AllRoles reports whether p has every one of roles.
func AllRoles(roles ...string) func(*tenantjwt.Principal) bool {
	return func(p *tenantjwt.Principal) bool { return containsAll(p.Roles(), roles) }
}

// AllPermissions reports whether p has every one of perms.
func AllPermissions(perms ...string) func(*tenantjwt.Principal) bool {
	return func(p *tenantjwt.Principal) bool { return containsAll(p.Permissions(), perms) }
}

// AllScopes reports whether p has every one of scopes.
func AllScopes(scopes ...string) func(*tenantjwt.Principal) bool {
	return func(p *tenantjwt.Principal) bool { return containsAll(p.Scopes(), scopes) }
}

// InTenant reports whether p acts in tenant. An empty tenant never matches.
func InTenant(tenant string) func(*tenantjwt.Principal) bool {
	return func(p *tenantjwt.Principal) bool { return tenant != "" && p.Tenant() == tenant }
}

func containsAll(have tenantjwt.List, want []string) bool {
	for _, w := range want {
		if !have.Contains(w) {
			return false
		}
	}
	return true
}
