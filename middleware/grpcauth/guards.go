package grpcauth

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware/internal/rpcauth"
)

// Guard is a requirement on the Principal of a call: per method in
// Config.Guards, or checked inside a handler with Check. Comparisons are
// exact, as in the HTTP middleware's guards: "Admin" and "admin " do not
// match "admin". The zero Guard refuses every call.
type Guard struct{ g rpcauth.Guard }

// Require is a guard met by a Principal that allow accepts. what names the
// requirement in the detailed error (never on the wire).
func Require(what string, allow func(*tenantjwt.Principal) bool) Guard {
	return Guard{rpcauth.Guard{What: what, Allow: allow}}
}

// RequireRoles is met by a Principal with at least one of roles.
func RequireRoles(roles ...string) Guard { return Guard{rpcauth.Roles(roles...)} }

// RequireAllRoles is met by a Principal with every one of roles.
func RequireAllRoles(roles ...string) Guard { return Guard{rpcauth.AllRoles(roles...)} }

// RequirePermissions is met by a Principal with every one of perms.
func RequirePermissions(perms ...string) Guard { return Guard{rpcauth.Permissions(perms...)} }

// RequireScopes is met by a Principal with every one of scopes.
func RequireScopes(scopes ...string) Guard { return Guard{rpcauth.Scopes(scopes...)} }

// RequireTenant is met by a Principal acting in tenant.
func RequireTenant(tenant string) Guard { return Guard{rpcauth.Tenant(tenant)} }

// Check applies guards to the Principal of ctx, inside a handler, for
// decisions that depend on the request message. It returns nil when every
// guard is met; otherwise the status error to return from the handler
// (Unauthenticated when the call has no Principal, PermissionDenied when a
// guard is not met), after logging it like the interceptor and setting the
// www-authenticate header when the response headers have not been sent.
func Check(ctx context.Context, guards ...Guard) error {
	for _, g := range guards {
		if err := g.g.Check(ctx); err != nil {
			core := rpcauth.FromContext(ctx)
			method, _ := grpc.Method(ctx)
			dpop := rpcauth.UsedDPoP(metadata.ValueFromIncomingContext(ctx, "authorization"))
			return refusal(ctx, core.Refuse(ctx, method, dpop, err))
		}
	}
	return nil
}
