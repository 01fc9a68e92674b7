package issuer_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// presetCase mints an IdP-shaped payload (shared/IDP-CLAIMS.md) and checks
// the Principal the preset maps from it.
type presetCase struct {
	name    string
	preset  string
	config  func(c *issuer.Config)
	claims  map[string]any
	want    tenantjwt.Identity // Subject, Tenant, Roles, Permissions, Scopes
	wantErr error
}

func TestPresets(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour).Unix()
	tests := []presetCase{
		{name: "descope current tenant", preset: "descope", claims: map[string]any{
			"sub": "U2abc", "dct": "T2acme", "amr": []string{"email"},
			"roles": []string{"Tenant Admin"}, "permissions": []string{"project.read"},
			"tenants": map[string]any{
				"T2acme":   map[string]any{"roles": []string{"admin"}, "permissions": []string{"billing.read", "billing.write"}},
				"T2globex": map[string]any{"roles": []string{"viewer"}},
			}},
			want: tenantjwt.Identity{Subject: "U2abc", Tenant: "T2acme", Tenants: []string{"T2acme", "T2globex"}, Roles: []string{"admin"}, Permissions: []string{"billing.read", "billing.write"}}},
		{name: "descope tenantOnly template falls back to top level", preset: "descope", claims: map[string]any{
			"sub": "U2abc", "dct": "T2acme", "roles": []string{"admin"}, "permissions": []string{"billing.read"}},
			want: tenantjwt.Identity{Subject: "U2abc", Tenant: "T2acme", Roles: []string{"admin"}, Permissions: []string{"billing.read"}}},
		{name: "descope roles as a string are refused", preset: "descope", claims: map[string]any{
			"sub": "U2abc", "dct": "T2acme", "tenants": map[string]any{"T2acme": map[string]any{"roles": "admin,owner"}}},
			wantErr: tenantjwt.ErrClaims},
		{name: "auth0 organization", preset: "auth0", config: func(c *issuer.Config) {
			c.Claims.Roles = "https://example.com/roles"
			c.Audiences = []string{"https://api.example.com"}
		}, claims: map[string]any{
			"sub": "auth0|64f1", "aud": []string{"https://api.example.com", "https://acme.us.auth0.com/userinfo"},
			"azp": "Kx9", "scope": "openid profile read:invoices", "org_id": "org_9ybfd", "org_name": "acme",
			"permissions": []string{"read:invoices"}, "https://example.com/roles": []string{"billing-admin"}},
			want: tenantjwt.Identity{Subject: "auth0|64f1", Tenant: "org_9ybfd", Roles: []string{"billing-admin"}, Permissions: []string{"read:invoices"}, Scopes: []string{"openid", "profile", "read:invoices"}}},
		{name: "okta", preset: "okta", claims: map[string]any{
			"sub": "00uabc", "cid": "0oa1", "uid": "00uabc", "scp": []string{"openid", "orders:read"}, "groups": []string{"Everyone", "Admins"}},
			want: tenantjwt.Identity{Subject: "00uabc", Roles: []string{"Everyone", "Admins"}, Scopes: []string{"openid", "orders:read"}}},
		{name: "keycloak realm roles and organization", preset: "keycloak", claims: map[string]any{
			"sub": "f:1", "typ": "Bearer", "azp": "web", "scope": "openid email",
			"realm_access":    map[string]any{"roles": []string{"offline_access", "manager"}},
			"resource_access": map[string]any{"web": map[string]any{"roles": []string{"editor"}}},
			"organization":    []string{"acme"}},
			want: tenantjwt.Identity{Subject: "f:1", Tenants: []string{"acme"}, Roles: []string{"offline_access", "manager"}, Scopes: []string{"openid", "email"}}},
		{name: "keycloak client roles by override", preset: "keycloak", config: func(c *issuer.Config) { c.Claims.Roles = "resource_access.web.roles" }, claims: map[string]any{
			"sub": "f:1", "typ": "Bearer", "resource_access": map[string]any{"web": map[string]any{"roles": []string{"editor"}}}},
			want: tenantjwt.Identity{Subject: "f:1", Roles: []string{"editor"}}},
		{name: "keycloak ID token refused", preset: "keycloak", claims: map[string]any{"sub": "f:1", "typ": "ID"}, wantErr: tenantjwt.ErrTokenType},
		{name: "keycloak refresh token refused", preset: "keycloak", claims: map[string]any{"sub": "f:1", "typ": "Refresh"}, wantErr: tenantjwt.ErrTokenType},
		{name: "cognito access token", preset: "cognito", config: func(c *issuer.Config) { c.Audiences = []string{"6vlr5"} }, claims: map[string]any{"aud": nil,
			"sub": "aaaa-bbbb", "token_use": "access", "client_id": "6vlr5", "scope": "aws.cognito.signin.user.admin orders/read",
			"cognito:groups": []string{"admins"}, "username": "alice"},
			want: tenantjwt.Identity{Subject: "aaaa-bbbb", Roles: []string{"admins"}, Scopes: []string{"aws.cognito.signin.user.admin", "orders/read"}}},
		{name: "cognito ID token used as access token", preset: "cognito", config: func(c *issuer.Config) { c.Audiences = []string{"6vlr5"} }, claims: map[string]any{
			"sub": "aaaa-bbbb", "token_use": "id", "aud": "6vlr5", "cognito:groups": []string{"admins"}},
			wantErr: tenantjwt.ErrTokenType},
		{name: "cognito other client", preset: "cognito", config: func(c *issuer.Config) { c.Audiences = []string{"6vlr5"} }, claims: map[string]any{"aud": nil,
			"sub": "aaaa-bbbb", "token_use": "access", "client_id": "evil"},
			wantErr: tenantjwt.ErrAudience},
		{name: "firebase tenant", preset: "firebase", claims: map[string]any{
			"sub": "uid1", "user_id": "uid1", "roles": []string{"editor"},
			"firebase": map[string]any{"sign_in_provider": "password", "tenant": "tenant-acme-x1"}},
			want: tenantjwt.Identity{Subject: "uid1", Tenant: "tenant-acme-x1", Roles: []string{"editor"}}},
		{name: "clerk v2 bitmask", preset: "clerk", claims: map[string]any{
			"sub": "user_2Rf", "azp": "https://app.example.com", "sid": "sess_1", "v": 2,
			"fea": "o:dashboard,o:teams", "pla": "o:pro",
			"o": map[string]any{"id": "org_2abc", "slg": "acme", "rol": "admin", "per": "manage,read", "fpm": "3,2"}},
			want: tenantjwt.Identity{Subject: "user_2Rf", Tenant: "org_2abc", Roles: []string{"org:admin"},
				Permissions: []string{"org:dashboard:manage", "org:dashboard:read", "org:teams:read"}}},
		{name: "clerk v2 user features are skipped", preset: "clerk", claims: map[string]any{
			"sub": "user_2Rf", "v": 2, "fea": "u:profile,ou:reports", "o": map[string]any{"id": "org_2abc", "rol": "member", "per": "read", "fpm": "1"}},
			want: tenantjwt.Identity{Subject: "user_2Rf", Tenant: "org_2abc", Roles: []string{"org:member"}, Permissions: []string{"org:reports:read"}}},
		{name: "clerk v2 more masks than features", preset: "clerk", claims: map[string]any{
			"sub": "u", "v": 2, "fea": "o:dashboard", "o": map[string]any{"id": "org_2abc", "rol": "admin", "per": "manage", "fpm": "1,1"}},
			wantErr: tenantjwt.ErrClaims},
		{name: "clerk v2 mask beyond the permission list", preset: "clerk", claims: map[string]any{
			"sub": "u", "v": 2, "fea": "o:dashboard", "o": map[string]any{"id": "org_2abc", "per": "manage", "fpm": "2"}},
			wantErr: tenantjwt.ErrClaims},
		{name: "clerk v2 non-numeric mask", preset: "clerk", claims: map[string]any{
			"sub": "u", "v": 2, "fea": "o:dashboard", "o": map[string]any{"id": "org_2abc", "per": "manage", "fpm": "-1"}},
			wantErr: tenantjwt.ErrClaims},
		{name: "clerk v2 no mask, no permissions", preset: "clerk", claims: map[string]any{
			"sub": "u", "v": 2, "fea": "o:dashboard", "o": map[string]any{"id": "org_2abc", "rol": "admin"}},
			want: tenantjwt.Identity{Subject: "u", Tenant: "org_2abc", Roles: []string{"org:admin"}}},
		{name: "clerk v1", preset: "clerk", claims: map[string]any{
			"sub": "user_2Rf", "org_id": "org_2abc", "org_slug": "acme", "org_role": "org:admin",
			"org_permissions": []string{"org:dashboard:manage", "org:teams:read"}},
			want: tenantjwt.Identity{Subject: "user_2Rf", Tenant: "org_2abc", Roles: []string{"org:admin"}, Permissions: []string{"org:dashboard:manage", "org:teams:read"}}},
		{name: "workos roles", preset: "workos", claims: map[string]any{
			"sub": "user_01H", "sid": "session_01H", "org_id": "org_01HR", "role": "admin", "roles": []string{"admin", "member"},
			"permissions": []string{"posts:read", "posts:write"}, "entitlements": []string{"audit-logs"}},
			want: tenantjwt.Identity{Subject: "user_01H", Tenant: "org_01HR", Roles: []string{"admin", "member"}, Permissions: []string{"posts:read", "posts:write"}}},
		{name: "workos single role", preset: "workos", claims: map[string]any{"sub": "user_01H", "org_id": "org_01HR", "role": "member"},
			want: tenantjwt.Identity{Subject: "user_01H", Tenant: "org_01HR", Roles: []string{"member"}}},
		{name: "zitadel roles of the tenant's org only", preset: "zitadel", claims: map[string]any{
			"sub": "77776025198584418", "urn:zitadel:iam:user:resourceowner:id": "178204173316174381",
			"urn:zitadel:iam:org:project:roles": map[string]any{
				"admin":  map[string]any{"199999999999999999": "globex.zitadel.cloud"},
				"viewer": map[string]any{"178204173316174381": "acme.zitadel.cloud", "199999999999999999": "globex.zitadel.cloud"}}},
			want: tenantjwt.Identity{Subject: "77776025198584418", Tenant: "178204173316174381", Roles: []string{"viewer"}}},
		{name: "zitadel roles as an array refused", preset: "zitadel", claims: map[string]any{
			"sub": "7", "urn:zitadel:iam:user:resourceowner:id": "1", "urn:zitadel:iam:org:project:roles": []string{"admin"}},
			wantErr: tenantjwt.ErrClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := issuertest.New(t)
			c := iss.LocalConfig()
			c.Preset = tt.preset
			if tt.config != nil {
				tt.config(&c)
			}
			reg := newRegistry(t, issuer.Options{TokenCacheSize: -1}, c)
			claims := map[string]any{"exp": exp}
			for k, v := range tt.claims {
				claims[k] = v
			}
			p, err := reg.Verify(context.Background(), iss.Mint(claims))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := tt.want
			if w.Tenants == nil && w.Tenant != "" {
				w.Tenants = []string{w.Tenant}
			}
			check := func(field string, got, want []string) {
				if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
			if p.Subject() != w.Subject || p.Tenant() != w.Tenant {
				t.Errorf("subject, tenant = %q, %q; want %q, %q", p.Subject(), p.Tenant(), w.Subject, w.Tenant)
			}
			check("tenants", p.Tenants().Strings(), w.Tenants)
			check("roles", p.Roles().Strings(), w.Roles)
			check("permissions", p.Permissions().Strings(), w.Permissions)
			check("scopes", p.Scopes().Strings(), w.Scopes)
		})
	}
}

func TestDescopeTenantSelection(t *testing.T) {
	t.Parallel()
	iss := issuertest.New(t)
	c := iss.LocalConfig()
	c.Preset = "descope"
	reg := newRegistry(t, issuer.Options{}, c)
	p, err := reg.Verify(context.Background(), iss.Mint(map[string]any{"sub": "U2", "dct": "T1", "tenants": map[string]any{
		"T1": map[string]any{"roles": []string{"admin"}},
		"T2": map[string]any{"roles": []string{"viewer"}, "permissions": []string{"read"}},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	q, err := reg.SelectTenant(context.Background(), p, "T2")
	if err != nil || q.Tenant() != "T2" || strings.Join(q.Roles().Strings(), ",") != "viewer" || strings.Join(q.Permissions().Strings(), ",") != "read" {
		t.Fatalf("select T2: %+v, %v", q, err)
	}
	if p.Tenant() != "T1" || strings.Join(p.Roles().Strings(), ",") != "admin" {
		t.Errorf("SelectTenant changed the original principal: %+v", p)
	}
	if _, err := reg.SelectTenant(context.Background(), p, "T3"); !errors.Is(err, tenantjwt.ErrTenant) {
		t.Errorf("select T3: err = %v, want ErrTenant", err)
	}
}

func TestEntraPreset(t *testing.T) {
	t.Parallel()
	const t1, t3 = "11111111-1111-1111-1111-111111111111", "33333333-3333-3333-3333-333333333333"
	iss := issuertest.New(t, issuertest.WithPath("/{tenant}/v2.0"))
	c := iss.LocalConfig()
	c.Preset = "entra"
	c.Tenants = []string{t1}
	reg := newRegistry(t, issuer.Options{}, c)
	mint := func(tenant, tid string) string {
		return iss.Mint(map[string]any{"iss": iss.TenantURL(tenant), "tid": tid, "sub": "s", "roles": []string{"Task.Write"}, "scp": "user.read files.read"})
	}
	p, err := reg.Verify(context.Background(), mint(t1, t1))
	if err != nil || p.Tenant() != t1 || strings.Join(p.Roles().Strings(), ",") != "Task.Write" || strings.Join(p.Scopes().Strings(), ",") != "user.read,files.read" {
		t.Fatalf("allowlisted tenant: %+v, %v", p, err)
	}
	if _, err := reg.Verify(context.Background(), mint(t1, t3)); !errors.Is(err, tenantjwt.ErrTenant) {
		t.Errorf("tid differs from the iss tenant: err = %v, want ErrTenant", err)
	}
	if _, err := reg.Verify(context.Background(), mint(t3, t3)); !errors.Is(err, tenantjwt.ErrInvalidToken) {
		t.Errorf("tenant not allowlisted: err = %v", err)
	}
}
