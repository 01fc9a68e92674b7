package issuer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
)

// The built-in presets: the token shapes of common IdPs, from
// shared/IDP-CLAIMS.md. Each is data first; Check and Map cover what a path
// cannot say. Every field can be overridden by the config's claims mapping.
// init is longer than 60 lines because it is a table, one entry per IdP.
func init() {
	registerPreset(preset{
		// Descope: the current tenant in dct (set by /v1/auth/tenant/select),
		// per-tenant roles and permissions under tenants.<id>. Tokens of the
		// tenantOnly template, or of users outside any tenant, carry
		// project-level roles/permissions at the top level instead.
		// Issuer forms: https://api.descope.com/<projectId> and the bare
		// projectId (list it in aliases).
		Name: "descope",
		Claims: ClaimMapping{
			Tenant:      "dct",
			Tenants:     "tenants",
			Roles:       "tenants.{tenant}.roles",
			Permissions: "tenants.{tenant}.permissions",
		},
		Algorithms: []string{"RS256"},
		Check:      descopeSessionToken,
		Map:        descopeFallback,
	})
	registerPreset(preset{
		// Auth0: organization in org_id, RBAC permissions array, scope
		// string. Roles exist only as a namespaced custom claim: set
		// claims.roles (e.g. "https://example.com/roles"). The issuer ends in
		// a slash.
		Name:       "auth0",
		Claims:     ClaimMapping{Tenant: "org_id", Permissions: "permissions", Scopes: "scope"},
		Algorithms: []string{"RS256"},
	})
	registerPreset(preset{
		// Entra ID: use a template issuer
		// (https://login.microsoftonline.com/{tenant}/v2.0 or
		// https://sts.windows.net/{tenant}/) with tenants or all_tenants;
		// tid must equal the tenant in iss. App roles in roles, delegated
		// scopes in scp (space-separated).
		Name:        "entra",
		Claims:      ClaimMapping{Roles: "roles", Scopes: "scp"},
		Algorithms:  []string{"RS256"},
		TenantClaim: "tid",
	})
	registerPreset(preset{
		// Okta custom authorization server: scp is an array, groups a
		// (configurable) custom claim. The issuer is the tenant.
		Name:       "okta",
		Claims:     ClaimMapping{Roles: "groups", Scopes: "scp"},
		Algorithms: []string{"RS256"},
	})
	registerPreset(preset{
		// Keycloak: realm roles; for a client's roles set claims.roles to
		// resource_access.<client>.roles. Organizations (25+) list the
		// user's tenants. Access tokens carry typ "Bearer" in the payload.
		Name:       "keycloak",
		Claims:     ClaimMapping{Roles: "realm_access.roles", Scopes: "scope", Tenants: "organization"},
		Algorithms: []string{"RS256"},
		Check:      keycloakAccessToken,
	})
	registerPreset(preset{
		// Cognito: groups as roles, scope string, token_use must be
		// "access" (an ID token is refused), and client_id stands in for
		// the aud that access tokens lack.
		Name:           "cognito",
		Claims:         ClaimMapping{Roles: "cognito:groups", Scopes: "scope"},
		Algorithms:     []string{"RS256"},
		AudienceClaims: []string{"client_id"},
		Check:          cognitoAccessToken,
	})
	registerPreset(preset{
		// Firebase / Identity Platform: one issuer per project, the tenant
		// in firebase.tenant, roles from an app-defined custom claim.
		Name:       "firebase",
		Claims:     ClaimMapping{Tenant: "firebase.tenant"},
		Algorithms: []string{"RS256"},
	})
	registerPreset(preset{
		// Clerk session tokens, v1 (org_id, org_role, org_permissions) and
		// v2 (the compact o claim with a permission bitmask). No aud: azp
		// (the request origin) is checked against audiences instead.
		Name:           "clerk",
		Claims:         ClaimMapping{Tenant: "org_id", Permissions: "org_permissions"},
		Algorithms:     []string{"RS256"},
		AudienceClaims: []string{"azp"},
		Map:            clerkOrg,
	})
	registerPreset(preset{
		// WorkOS AuthKit: org_id, roles (or the single role), permissions.
		Name:       "workos",
		Claims:     ClaimMapping{Tenant: "org_id", Roles: "roles", Permissions: "permissions"},
		Algorithms: []string{"RS256"},
		Map:        workosRole,
	})
	registerPreset(preset{
		// Zitadel: the user's organization as tenant; project roles are an
		// object {role: {orgId: domain}}, so a role counts only when granted
		// in the tenant's organization.
		Name:       "zitadel",
		Claims:     ClaimMapping{Tenant: "urn:zitadel:iam:user:resourceowner:id"},
		Algorithms: []string{"RS256"},
		Map:        zitadelRoles,
	})
}

// descopeSessionToken refuses Descope refresh tokens: drn names the
// token's cookie, "DS" for a session token and "DSR" for a refresh token,
// and both are signed by the same keys with the same issuer. A refresh
// token sent as an access token must not pass.
func descopeSessionToken(_ presetHeader, c *jwt.Claims) error {
	drn, ok, err := c.String("drn")
	if err != nil {
		return fmt.Errorf("descope: drn: %v: %w", err, tenantjwt.ErrTokenType)
	}
	if ok && drn == "DSR" {
		return fmt.Errorf("descope: drn %q is a refresh token: %w", drn, tenantjwt.ErrTokenType)
	}
	return nil
}

// descopeFallback reads top-level roles and permissions when the token has
// no tenants claim or no current tenant.
func descopeFallback(in mapInput, p *tenantjwt.Identity) error {
	if _, ok := in.Claims.Raw("tenants"); ok && in.Tenant != "" {
		return nil
	}
	var err error
	if in.Config.Claims.Roles == "" {
		if p.Roles, err = topList(in.Claims, "roles"); err != nil {
			return err
		}
	}
	if in.Config.Claims.Permissions == "" {
		if p.Permissions, err = topList(in.Claims, "permissions"); err != nil {
			return err
		}
	}
	return nil
}

func topList(c *jwt.Claims, name string) ([]string, error) {
	raw, ok := c.Raw(name)
	if !ok {
		return nil, nil
	}
	l, err := jwt.DecodeStringList(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return l, nil
}

func keycloakAccessToken(_ presetHeader, c *jwt.Claims) error {
	typ, ok, err := c.String("typ")
	if err != nil || !ok || typ != "Bearer" {
		return fmt.Errorf("keycloak: payload typ %.32q is not Bearer: %w", typ, tenantjwt.ErrTokenType)
	}
	return nil
}

func cognitoAccessToken(_ presetHeader, c *jwt.Claims) error {
	use, _, err := c.String("token_use")
	if err != nil || use != "access" {
		return fmt.Errorf("cognito: token_use %.32q is not access: %w", use, tenantjwt.ErrTokenType)
	}
	return nil
}

// clerkOrg maps v1's org_role and v2's o claim.
func clerkOrg(in mapInput, p *tenantjwt.Identity) error {
	raw, v2 := in.Claims.Raw("o")
	if !v2 {
		if in.Config.Claims.Roles == "" {
			role, ok, err := in.Claims.String("org_role")
			if err != nil {
				return err
			}
			if ok && role != "" {
				p.Roles = []string{role}
			}
		}
		return nil
	}
	// The members are read by their exact names, as the claim mapping
	// reads claims (encoding/json would take "ID" for id).
	var o struct{ ID, Rol, Per, Fpm string }
	if jwt.FirstByte(raw) != '{' {
		return fmt.Errorf("clerk: o claim is %s, not an object: %w", jwt.Kind(raw), tenantjwt.ErrClaims)
	}
	for _, m := range []struct {
		name string
		dst  *string
	}{{"id", &o.ID}, {"rol", &o.Rol}, {"per", &o.Per}, {"fpm", &o.Fpm}} {
		v, ok, err := jwt.LookupMember(raw, m.name)
		if err != nil {
			return fmt.Errorf("clerk: o claim: %v: %w", err, tenantjwt.ErrClaims)
		}
		if !ok || jwt.IsNull(v) {
			continue
		}
		if *m.dst, err = jwt.StringValue(v); err != nil {
			return fmt.Errorf("clerk: o.%s: %w", m.name, err)
		}
	}
	if in.Config.Claims.Tenant == "" && in.Config.Tenant == "" && !strings.Contains(in.Config.Issuer, "{") {
		p.Tenant = o.ID
		p.Tenants = nil
		if o.ID != "" {
			p.Tenants = []string{o.ID}
		}
	}
	if in.Config.Claims.Roles == "" && o.Rol != "" {
		p.Roles = []string{"org:" + o.Rol}
	}
	if in.Config.Claims.Permissions == "" {
		fea, _, err := in.Claims.String("fea")
		if err != nil {
			return err
		}
		perms, err := clerkPermissions(fea, o.Per, o.Fpm)
		if err != nil {
			return err
		}
		p.Permissions = perms
	}
	return nil
}

// clerkPermissions decodes Clerk v2's permission bitmask: fpm holds one
// decimal mask per organization feature of fea ("o:" entries, and "ou:" or
// "uo:" that count for both), bit i granting per[i] as
// org:<feature>:<perm>. Any inconsistency is an error: a malformed mask
// must not grant by accident.
func clerkPermissions(fea, per, fpm string) ([]string, error) {
	if fpm == "" {
		return nil, nil
	}
	var features []string
	for _, f := range splitList(fea) {
		scope, name, ok := strings.Cut(f, ":")
		if ok && (scope == "o" || scope == "ou" || scope == "uo") {
			features = append(features, name)
		}
	}
	perms := splitList(per)
	masks := splitList(fpm)
	if len(masks) != len(features) {
		return nil, fmt.Errorf("clerk: %d permission masks for %d organization features: %w", len(masks), len(features), tenantjwt.ErrClaims)
	}
	var out []string
	for i, m := range masks {
		bits, err := strconv.ParseUint(m, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("clerk: permission mask %.20q: %w", m, tenantjwt.ErrClaims)
		}
		if len(perms) < 64 && bits>>uint(len(perms)) != 0 {
			return nil, fmt.Errorf("clerk: permission mask %d names more than %d permissions: %w", bits, len(perms), tenantjwt.ErrClaims)
		}
		for j, name := range perms {
			if j < 64 && bits&(1<<uint(j)) != 0 {
				out = append(out, "org:"+features[i]+":"+name)
			}
		}
	}
	return out, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// workosRole uses the single role claim when roles is absent.
func workosRole(in mapInput, p *tenantjwt.Identity) error {
	if in.Config.Claims.Roles != "" || len(p.Roles) > 0 {
		return nil
	}
	role, ok, err := in.Claims.String("role")
	if err != nil {
		return err
	}
	if ok && role != "" {
		p.Roles = []string{role}
	}
	return nil
}

// zitadelRoles keeps the project roles granted in the tenant's
// organization.
func zitadelRoles(in mapInput, p *tenantjwt.Identity) error {
	if in.Config.Claims.Roles != "" {
		return nil
	}
	raw, ok := in.Claims.Raw("urn:zitadel:iam:org:project:roles")
	if !ok {
		return nil
	}
	// Roles and organization IDs are matched by their exact names, as the
	// claim mapping reads claims.
	bad := fmt.Errorf("zitadel: project roles must be {role: {orgId: domain}}: %w", tenantjwt.ErrClaims)
	if jwt.FirstByte(raw) != '{' {
		return bad
	}
	var roles []string
	err := jwt.EachMember(raw, func(name, orgs []byte) error {
		if jwt.IsNull(orgs) {
			return nil
		}
		if jwt.FirstByte(orgs) != '{' {
			return bad
		}
		granted := false
		err := jwt.EachMember(orgs, func(org, domain []byte) error {
			if _, err := jwt.StringValue(domain); err != nil && !jwt.IsNull(domain) {
				return bad
			}
			granted = granted || in.Tenant != "" && jwt.NameIs(org, in.Tenant)
			return nil
		})
		if err != nil {
			return bad
		}
		if granted {
			roles = append(roles, jwt.DecodeName(name))
		}
		return nil
	})
	if err != nil {
		return bad
	}
	slices.Sort(roles)
	p.Roles = roles
	return nil
}
