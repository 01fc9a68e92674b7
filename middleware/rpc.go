package middleware

import (
	"context"
	"fmt"

	"github.com/tenantjwt/tenantjwt"
)

// The functions in this file are the middleware's rules for adapters whose
// transport is not an *http.Request: the gRPC and Connect interceptors
// (packages middleware/grpcauth and middleware/connectauth) read their
// tokens, tenants and guards through them, so every rule keeps one home.

// ParseAuthorization reads one Authorization value (an HTTP header or a
// gRPC "authorization" metadata entry) as the middleware does: the Bearer
// scheme, and the DPoP scheme (RFC 9449 §7.1) when dpop is set. It returns
// ErrNoToken for any other scheme and an error wrapping
// tenantjwt.ErrMalformed for a credential that cannot be a token (empty,
// outside the RFC 6750 b64token syntax, over MaxTokenSourceBytes).
// Whether a request carries exactly one value is the caller's check.
func ParseAuthorization(v string, dpop bool) (token string, isDPoP bool, err error) {
	tok, scheme, err := authorization(v, dpop)
	if err != nil {
		return "", false, err
	}
	if scheme == "" {
		return "", false, ErrNoToken
	}
	if err := checkToken(tok); err != nil {
		return "", false, err
	}
	return tok, scheme == "DPoP", nil
}

// ChallengeScheme is Challenge for a refusal of a request that sent its
// token with the DPoP scheme when dpop is set: the challenge then uses that
// scheme too (RFC 9449 §7.1), as ChallengeFor does for an *http.Request.
func (a *Authenticator) ChallengeScheme(err error, dpop bool) Challenge {
	return a.challenge(err, a.pv != nil && dpop)
}

// SelectTenant returns p acting in tenant, the check behind
// Config.TenantHeader: p itself when it already acts in tenant, else the
// principal v's TenantSelector switches it to. Errors wrap
// tenantjwt.ErrForbidden: v is not a TenantSelector, the token does not
// list tenant, or the selector answered with another tenant.
func SelectTenant(ctx context.Context, v Verifier, p *tenantjwt.Principal, tenant string) (*tenantjwt.Principal, error) {
	if p.Tenant() == tenant {
		return p, nil
	}
	sel, ok := v.(TenantSelector)
	if !ok {
		return nil, fmt.Errorf("middleware: tenant selection needs a TenantSelector: %w", tenantjwt.ErrForbidden)
	}
	np, err := sel.SelectTenant(ctx, p, tenant)
	if err != nil {
		return nil, fmt.Errorf("middleware: select tenant %.64q: %w: %w", tenant, tenantjwt.ErrForbidden, err)
	}
	if np == nil || np.Tenant() != tenant {
		return nil, fmt.Errorf("middleware: tenant selection of %.64q failed: %w", tenant, tenantjwt.ErrForbidden)
	}
	return np, nil
}

// CheckContext is Check for the Principal in ctx: ErrNoToken when there is
// none, an error wrapping tenantjwt.ErrForbidden when allow refuses it.
func CheckContext(ctx context.Context, what string, allow func(*tenantjwt.Principal) bool) error {
	p, ok := tenantjwt.FromContext(ctx)
	if !ok {
		return fmt.Errorf("middleware: %s: no authenticated principal: %w", what, ErrNoToken)
	}
	if !allow(p) {
		return fmt.Errorf("middleware: %s not met by %.64q of %.64q: %w", what, p.Subject(), p.Issuer(), tenantjwt.ErrForbidden)
	}
	return nil
}
