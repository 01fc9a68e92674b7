package issuer

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
)

// mapping is a ClaimMapping with its paths parsed.
type mapping struct {
	subject, tenant, tenants, roles, permissions, scopes jwt.Path
}

// compileMapping parses every path of m; errors name the field.
func compileMapping(m ClaimMapping) (mapping, error) {
	var out mapping
	for _, f := range []struct {
		name string
		src  string
		dst  *jwt.Path
	}{
		{"subject", m.Subject, &out.subject},
		{"tenant", m.Tenant, &out.tenant},
		{"tenants", m.Tenants, &out.tenants},
		{"roles", m.Roles, &out.roles},
		{"permissions", m.Permissions, &out.permissions},
		{"scopes", m.Scopes, &out.scopes},
	} {
		p, err := jwt.ParsePath(f.src)
		if err != nil {
			return out, fmt.Errorf("claims.%s: %v", f.name, err)
		}
		if p.UsesTenant() && (f.name == "subject" || f.name == "tenant" || f.name == "tenants") {
			return out, fmt.Errorf("claims.%s: %s is only allowed in roles, permissions and scopes", f.name, jwt.TenantPlaceholder)
		}
		*f.dst = p
	}
	return out, nil
}

// principal is the one place a Principal is built: from the verified
// token t, what verification learned in res (issuer, tenant bound by a
// templated iss, registered claims) and the token's confirmation cnf.
func (e *entry) principal(t *jwt.Token, res *result, cnf confirmation) (*tenantjwt.Principal, error) {
	c, reg := t.Claims(), &res.reg
	p := &tenantjwt.Identity{
		Issuer:        e.name,
		IssuerURL:     res.iss,
		EncodedClaims: t.Payload64,
		Audience:      reg.aud,
		TokenID:       reg.jti,
		ExpiresAt:     reg.exp.Time(),
		Binding:       e.binding(cnf),
	}
	if reg.iat.Set {
		p.IssuedAt = reg.iat.Time()
	}
	if raw, ok := c.Member("sub"); ok && e.mapping.subject.String() == "sub" && jwt.IsNull(raw) {
		return nil, e.claimErr("sub", errors.New("sub is null"))
	}
	sub, err := e.readString(c, e.mapping.subject)
	if err != nil {
		return nil, err
	}
	p.Subject = sub

	switch {
	case e.cfg.Tenant != "":
		p.Tenant = e.cfg.Tenant
		p.Tenants = []string{p.Tenant}
	case e.tpl != nil:
		p.Tenant = res.bound
		p.Tenants = []string{p.Tenant}
	default:
		if p.Tenant, err = e.readString(c, e.mapping.tenant); err != nil {
			return nil, err
		}
		if p.Tenants, _, err = c.TenantList(e.mapping.tenants); err != nil {
			return nil, e.claimErr(e.mapping.tenants.String(), err)
		}
		if p.Tenant != "" && !slices.Contains(p.Tenants, p.Tenant) {
			p.Tenants = append(p.Tenants, p.Tenant)
			slices.Sort(p.Tenants)
		}
	}
	if err := e.mapTenant(c, p); err != nil {
		return nil, err
	}
	return tenantjwt.NewPrincipal(*p), nil
}

// mapTenant fills Roles, Permissions and Scopes of p for p.Tenant, from
// the paths and then the preset's Map function.
func (e *entry) mapTenant(c *jwt.Claims, p *tenantjwt.Identity) error {
	var err error
	if p.Roles, err = e.readList(c, e.mapping.roles, p.Tenant, jwt.DecodeStringList); err != nil {
		return err
	}
	if p.Permissions, err = e.readList(c, e.mapping.permissions, p.Tenant, jwt.DecodeStringList); err != nil {
		return err
	}
	if p.Scopes, err = e.readList(c, e.mapping.scopes, p.Tenant, jwt.DecodeScopeList); err != nil {
		return err
	}
	if e.preset != nil && e.preset.Map != nil {
		if err := e.preset.Map(mapInput{Claims: c, Tenant: p.Tenant, Config: &e.cfg}, p); err != nil {
			return fmt.Errorf("preset %s: %w", e.preset.Name, ensureCause(err, tenantjwt.ErrClaims))
		}
	}
	return nil
}

// readString reads a string claim at path; absent gives "".
func (e *entry) readString(c *jwt.Claims, path jwt.Path) (string, error) {
	raw, ok, err := c.LookupPath(path, "")
	if err != nil {
		return "", e.claimErr(path.String(), err)
	}
	if !ok {
		return "", nil
	}
	s, err := jwt.StringValue(raw)
	if err != nil {
		return "", e.claimErr(path.String(), err)
	}
	return s, nil
}

// readList reads a list claim at path for tenant; absent gives nil.
func (e *entry) readList(c *jwt.Claims, path jwt.Path, tenant string, decode func([]byte) ([]string, error)) ([]string, error) {
	raw, ok, err := c.LookupPath(path, tenant)
	if err != nil {
		return nil, e.claimErr(path.String(), err)
	}
	if !ok {
		return nil, nil
	}
	list, err := decode(raw)
	if err != nil {
		return nil, e.claimErr(path.String(), err)
	}
	return list, nil
}

// claimErr wraps a mapping failure as ErrClaims, naming the path.
func (e *entry) claimErr(path string, err error) error {
	return fmt.Errorf("claim %.64q: %w", path, ensureCause(err, tenantjwt.ErrClaims))
}

// ensureCause returns err if it already wraps a rejection cause (see
// tenantjwt.Causes), and otherwise err wrapped with cause, so every
// rejection matches both ErrInvalidToken and a specific cause.
func ensureCause(err, cause error) error {
	if _, ok := tenantjwt.CauseOf(err); ok {
		return err
	}
	return fmt.Errorf("%w: %w", cause, err)
}
