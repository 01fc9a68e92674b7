package connectauth

import (
	"context"

	"connectrpc.com/connect"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware/internal/rpcauth"
)

// Guard is a requirement on the Principal of a call: per procedure in
// Config.Guards, or checked inside a handler with Check. Comparisons are
// exact, as in the HTTP middleware's guards. The zero Guard refuses every
// call.
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
// guard is met; otherwise a *connect.Error to return from the handler
// (CodeUnauthenticated when the call has no Principal,
// CodePermissionDenied when a guard is not met) with the challenge in its
// metadata, after logging it like the interceptor.
func Check(ctx context.Context, guards ...Guard) error {
	for _, g := range guards {
		if err := g.g.Check(ctx); err != nil {
			info, ok := connect.CallInfoForHandlerContext(ctx)
			if !ok {
				return refusal(rpcauth.FromContext(ctx).Refuse(ctx, "", false, err))
			}
			dpop := rpcauth.UsedDPoP(info.RequestHeader().Values("Authorization"))
			ce := refusal(rpcauth.FromContext(ctx).Refuse(ctx, info.Spec().Procedure, dpop, err))
			trailerSafe(info.Peer(), info.ResponseHeader(), ce)
			return ce
		}
	}
	return nil
}
