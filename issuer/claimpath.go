package issuer

import (
	"encoding/json"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
)

// ClaimPath is a claim path in the syntax of Config.Claims
// ("email", "org.id", "https://example.com/roles", "tenants.{tenant}.roles"),
// parsed once, for reading further claims of a verified Principal with
// LookupClaims (such as the claim headers of `tenantjwt serve`).
type ClaimPath struct{ p jwt.Path }

// ParseClaimPath parses s; the error says what is wrong with it.
func ParseClaimPath(s string) (ClaimPath, error) {
	p, err := jwt.ParsePath(s)
	if err != nil {
		return ClaimPath{}, err
	}
	return ClaimPath{p: p}, nil
}

// String returns the path as written.
func (cp ClaimPath) String() string { return cp.p.String() }

// LookupClaims returns the JSON value at each path in p's claims (nil
// where the claim is absent or null), decoding the claims once; a
// {tenant} segment reads p's tenant. The claims were verified with the
// token: each value is the issuer's, in the token's own JSON. A path that
// runs through a value that is not an object is left nil, and the first
// such error is returned with the values of the other paths.
func LookupClaims(p *tenantjwt.Principal, paths []ClaimPath) ([]json.RawMessage, error) {
	payload, err := p.RawClaims()
	if err != nil {
		return nil, err
	}
	c, err := jwt.NewClaims(payload)
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(paths))
	var first error
	for i, cp := range paths {
		raw, found, err := c.LookupPath(cp.p, p.Tenant())
		switch {
		case err != nil && first == nil:
			first = err
		case err == nil && found:
			out[i] = raw
		}
	}
	return out, first
}
