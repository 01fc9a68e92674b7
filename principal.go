package tenantjwt

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Principal is who a verified token speaks for.
//
// Every verification returns a Principal of its own, also when the
// verified-token cache answers: what a caller does to it, its slices
// included, never changes what another caller sees.
type Principal struct {
	// Issuer is the name of the trusted issuer entry that verified the
	// token (the config's name, which defaults to its issuer URL).
	Issuer string
	// IssuerURL is the verified iss claim, byte for byte.
	IssuerURL string
	// Subject is the sub claim.
	Subject string
	// Tenant is the tenant the request acts in: fixed by the issuer's
	// config, bound from a templated iss, read from a verified claim, or
	// selected by the request among the token's Tenants.
	Tenant string
	// Tenants lists every tenant the token authorizes its subject for (for
	// example the keys of Descope's tenants claim), sorted. It contains
	// Tenant when that came from the token.
	Tenants []string
	// Roles, Permissions and Scopes are the values mapped from the token's
	// claims for Tenant, as configured for the issuer.
	Roles       []string
	Permissions []string
	Scopes      []string
	// Audience is the aud claim as a list.
	Audience []string
	// ExpiresAt is exp; IssuedAt is iat (zero when absent).
	ExpiresAt time.Time
	IssuedAt  time.Time
	// TokenID is the jti claim, if any.
	TokenID string
	// Binding says how the token is bound to its presenter, as checked on
	// every request: "" for a plain bearer token, BindingDPoP (cnf.jkt,
	// RFC 9449), BindingMTLS (cnf["x5t#S256"], RFC 8705), or both joined by
	// "+" when the token carries both confirmations.
	Binding string
	// EncodedClaims is the verified payload as the token carries it:
	// base64url without padding, a substring of the token, so that a
	// Principal (kept by the verified-token cache) holds no second copy of
	// the claims. Read the claims with DecodeClaims, Claims or RawClaims.
	EncodedClaims string `json:"-"`
}

// HasRole reports whether the principal has the role, compared exactly.
func (p *Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// HasPermission reports whether the principal has the permission, compared
// exactly.
func (p *Principal) HasPermission(perm string) bool {
	return slices.Contains(p.Permissions, perm)
}

// HasScope reports whether the principal has the scope, compared exactly.
func (p *Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// RawClaims returns the verified payload JSON, decoded anew on each call.
// It is I-JSON: valid UTF-8, no duplicate or case-colliding member names.
func (p *Principal) RawClaims() (json.RawMessage, error) {
	if p.EncodedClaims == "" {
		return nil, errors.New("tenantjwt: principal has no claims")
	}
	b, err := base64.RawURLEncoding.DecodeString(p.EncodedClaims)
	if err != nil {
		return nil, fmt.Errorf("tenantjwt: principal claims: %w", err)
	}
	return b, nil
}

// DecodeClaims decodes the verified claims into v, as json.Unmarshal does.
// encoding/json matches struct fields case-insensitively; verification
// refuses payloads with two member names of one object that are equal
// under that folding (and any payload that is not I-JSON, RFC 7493), so the
// member DecodeClaims reads for a field is the one the claim mapping reads
// by its exact name whenever that name is present.
func (p *Principal) DecodeClaims(v any) error {
	raw, err := p.RawClaims()
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// MarshalJSON renders the principal with its claims as a JSON object
// under "RawClaims".
func (p Principal) MarshalJSON() ([]byte, error) {
	type fields Principal // without this method
	raw, _ := p.RawClaims()
	return json.Marshal(struct {
		fields
		RawClaims json.RawMessage `json:",omitempty"`
	}{fields(p), raw})
}

// Claims decodes the verified claims into a map. Each call decodes anew;
// prefer DecodeClaims into a struct on hot paths.
func (p *Principal) Claims() (map[string]any, error) {
	var m map[string]any
	if err := p.DecodeClaims(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// Clone returns a deep copy of p that the caller may modify. The copy's
// slices have no spare capacity, so appending to one never writes into
// another.
func (p *Principal) Clone() *Principal {
	n := len(p.Tenants) + len(p.Roles) + len(p.Permissions) + len(p.Scopes) + len(p.Audience)
	var c *Principal
	var all []string
	// One allocation for the Principal and its lists, sized in steps:
	// the verified-token cache hands out a clone on every hit.
	switch {
	case n <= 8:
		b := &principalBox[[8]string]{p: *p}
		c, all = &b.p, b.lists[:n]
	case n <= 16:
		b := &principalBox[[16]string]{p: *p}
		c, all = &b.p, b.lists[:n]
	case n <= 24:
		b := &principalBox[[24]string]{p: *p}
		c, all = &b.p, b.lists[:n]
	default:
		c = new(Principal)
		*c = *p
		all = make([]string, n)
	}
	off := 0
	share := func(src []string) []string {
		if src == nil {
			return nil
		}
		dst := all[off : off+len(src) : off+len(src)]
		copy(dst, src)
		off += len(src)
		return dst
	}
	c.Tenants = share(p.Tenants)
	c.Roles = share(p.Roles)
	c.Permissions = share(p.Permissions)
	c.Scopes = share(p.Scopes)
	c.Audience = share(p.Audience)
	return c
}

// principalBox holds a cloned Principal and its lists in one allocation.
type principalBox[A [8]string | [16]string | [24]string] struct {
	p     Principal
	lists A
}
