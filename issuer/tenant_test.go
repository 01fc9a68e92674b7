package issuer_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

func TestTwoTenantsWithOwnKeys(t *testing.T) {
	t.Parallel()
	acme := issuertest.New(t, issuertest.WithPath("/acme"))
	globex := issuertest.New(t, issuertest.WithPath("/globex"), issuertest.WithAlgorithm("EdDSA"))
	ca, _ := liveConfig(t, acme)
	ca.Name, ca.Tenant = "acme", "acme"
	cg, _ := liveConfig(t, globex)
	cg.Name, cg.Claims.Tenant = "globex", "org_id"
	reg := newRegistry(t, issuer.Options{}, ca, cg)

	tests := []struct {
		name       string
		token      string
		wantIssuer string
		wantTenant string
		wantErr    error
	}{
		{"acme verifies", acme.Mint(nil), "acme", "acme", nil},
		{"globex verifies", globex.Mint(map[string]any{"org_id": "g1"}), "globex", "g1", nil},
		// 21: a tenant claim cannot override the issuer's fixed tenant.
		{"acme token naming another tenant", acme.Mint(map[string]any{"org_id": "g1", "tenant": "g1"}), "acme", "acme", nil},
		{"acme iss signed by globex", globex.Mint(map[string]any{"iss": acme.URL()}), "", "", tenantjwt.ErrAlgorithm},
		{"globex iss signed by acme", acme.Mint(map[string]any{"iss": globex.URL()}), "", "", tenantjwt.ErrAlgorithm},
		{"acme iss, acme kid, globex signature", globex.MintWith(map[string]any{"kid": acme.KID(), "alg": "RS256"}, map[string]any{"iss": acme.URL()}), "", "", tenantjwt.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := reg.Verify(context.Background(), tt.token)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Issuer() != tt.wantIssuer || p.Tenant() != tt.wantTenant {
				t.Errorf("issuer, tenant = %q, %q, want %q, %q", p.Issuer(), p.Tenant(), tt.wantIssuer, tt.wantTenant)
			}
		})
	}
}

func TestTemplateIssuer(t *testing.T) {
	t.Parallel()
	ms := issuertest.New(t, issuertest.WithPath("/{tenant}/v2.0"))
	base, src := liveConfig(t, ms)
	base.Name = "entra"
	base.TenantClaim = "tid"
	allow := base
	allow.Tenants = []string{"t1", "t2"}
	all := base
	all.AllTenants = true

	tok := func(issTenant string, tid any) string {
		return ms.Mint(map[string]any{"iss": ms.TenantURL(issTenant), "tid": tid})
	}
	tests := []struct {
		name       string
		cfg        issuer.Config
		token      string
		wantTenant string
		wantErr    error
		wantLookup bool
	}{
		{"allowlisted tenant", allow, tok("t1", "t1"), "t1", nil, true},
		{"second allowlisted tenant", allow, tok("t2", "t2"), "t2", nil, true},
		{"22 tid differs from iss tenant", allow, tok("t1", "t3"), "", tenantjwt.ErrTenant, true},
		{"22 tenant not allowlisted", allow, tok("t3", "t3"), "", tenantjwt.ErrTenant, false},
		{"tid missing", allow, ms.Mint(map[string]any{"iss": ms.TenantURL("t1")}), "", tenantjwt.ErrTenant, true},
		{"tid is a number", allow, tok("t1", 1), "", tenantjwt.ErrTenant, true},
		{"tid other case", allow, tok("t1", "T1"), "", tenantjwt.ErrTenant, true},
		{"empty tenant segment", allow, tok("", ""), "", tenantjwt.ErrUnknownIssuer, false},
		{"tenant spanning segments", allow, tok("t1/x", "t1/x"), "", tenantjwt.ErrUnknownIssuer, false},
		{"all_tenants accepts any", all, tok("t9", "t9"), "t9", nil, true},
		{"all_tenants still binds tid", all, tok("t9", "t1"), "", tenantjwt.ErrTenant, true},
		{"template string itself", allow, tok("{tenant}", "{tenant}"), "", tenantjwt.ErrUnknownIssuer, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(t, issuer.Options{TokenCacheSize: -1}, tt.cfg)
			before := src.lookups.Load()
			p, err := reg.Verify(context.Background(), tt.token)
			if looked := src.lookups.Load() > before; looked != tt.wantLookup {
				t.Errorf("key lookup made = %v, want %v", looked, tt.wantLookup)
			}
			agree(t, reg, tt.token)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Tenant() != tt.wantTenant || !slices.Equal(p.Tenants().Strings(), []string{tt.wantTenant}) {
				t.Errorf("tenant %q tenants %v, want %q", p.Tenant(), p.Tenants(), tt.wantTenant)
			}
			if _, err := reg.SelectTenant(context.Background(), p, "t2"); tt.wantTenant != "t2" && !errors.Is(err, tenantjwt.ErrTenant) {
				t.Errorf("SelectTenant(other) err = %v, want ErrTenant", err)
			}
		})
	}
}

func TestDescopeShapedMappingAndSelectTenant(t *testing.T) {
	t.Parallel()
	iss := issuertest.New(t)
	c, _ := liveConfig(t, iss)
	c.Claims = issuer.ClaimMapping{
		Tenant:      "dct",
		Tenants:     "tenants",
		Roles:       "tenants.{tenant}.roles",
		Permissions: "tenants.{tenant}.permissions",
	}
	reg := newRegistry(t, issuer.Options{}, c)
	tok := iss.Mint(map[string]any{
		"dct":         "T2acme",
		"roles":       []string{"project-auditor"},
		"permissions": []string{"billing.read"},
		"tenants": map[string]any{
			"T2acme":   map[string]any{"roles": []string{"admin"}, "permissions": []string{"projects.read", "projects.write"}},
			"T2globex": map[string]any{"roles": []string{"viewer"}, "permissions": []string{"projects.read"}},
			"T2bad":    map[string]any{"roles": "admin"},
		},
	})
	p, err := reg.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got, want := p.Tenants().Strings(), []string{"T2acme", "T2bad", "T2globex"}; !slices.Equal(got, want) {
		t.Errorf("Tenants = %v, want %v", got, want)
	}
	if p.Tenant() != "T2acme" || !slices.Equal(p.Roles().Strings(), []string{"admin"}) || !slices.Equal(p.Permissions().Strings(), []string{"projects.read", "projects.write"}) {
		t.Errorf("principal tenant %q roles %v perms %v", p.Tenant(), p.Roles(), p.Permissions())
	}

	tests := []struct {
		name      string
		tenant    string
		wantRoles []string
		wantErr   error
	}{
		{"other tenant", "T2globex", []string{"viewer"}, nil},
		{"same tenant", "T2acme", []string{"admin"}, nil},
		{"not in tenants", "T2evil", nil, tenantjwt.ErrTenant},
		{"empty", "", nil, tenantjwt.ErrTenant},
		{"bad roles type", "T2bad", nil, tenantjwt.ErrClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			np, err := reg.SelectTenant(context.Background(), p, tt.tenant)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SelectTenant: %v", err)
			}
			if np.Tenant() != tt.tenant || !slices.Equal(np.Roles().Strings(), tt.wantRoles) {
				t.Errorf("tenant %q roles %v, want %q %v", np.Tenant(), np.Roles(), tt.tenant, tt.wantRoles)
			}
		})
	}
	if p.Tenant() != "T2acme" || !slices.Equal(p.Roles().Strings(), []string{"admin"}) {
		t.Errorf("SelectTenant modified the original principal: %+v", p)
	}
}

func TestClaimPaths(t *testing.T) {
	t.Parallel()
	iss := issuertest.New(t)
	claims := map[string]any{
		"https://example.com/roles":         []string{"org-admin"},
		"https://example.com/claims":        map[string]any{"roles": []string{"nested"}},
		"cognito:groups":                    []string{"g1"},
		"urn:zitadel:iam:org:project:roles": []string{"z"},
		"a.b":                               []string{"dotted"},
		"realm_access":                      map[string]any{"roles": []string{"realm-role"}},
		"org":                               map[string]any{"id": "o1"},
		"scp":                               []string{"read", "write"},
		"scope":                             "openid  orders:read ",
		"perm_list":                         "a,b",
		"list":                              []string{"x"},
	}
	tok := iss.Mint(claims)
	tests := []struct {
		name    string
		mapping issuer.ClaimMapping
		want    []string
		field   func(*tenantjwt.Principal) []string
		wantErr error
	}{
		{"URL key", issuer.ClaimMapping{Roles: "https://example.com/roles"}, []string{"org-admin"}, roles, nil},
		{"quoted URL then member", issuer.ClaimMapping{Roles: `"https://example.com/claims".roles`}, []string{"nested"}, roles, nil},
		{"colon key", issuer.ClaimMapping{Roles: "cognito:groups"}, []string{"g1"}, roles, nil},
		{"urn key", issuer.ClaimMapping{Roles: "urn:zitadel:iam:org:project:roles"}, []string{"z"}, roles, nil},
		{"quoted dotted key", issuer.ClaimMapping{Roles: `"a.b"`}, []string{"dotted"}, roles, nil},
		{"nested", issuer.ClaimMapping{Roles: "realm_access.roles"}, []string{"realm-role"}, roles, nil},
		{"absent", issuer.ClaimMapping{Roles: "nope.roles"}, nil, roles, nil},
		{"through a non-object", issuer.ClaimMapping{Roles: "list.x"}, nil, roles, tenantjwt.ErrClaims},
		{"scopes string", issuer.ClaimMapping{}, []string{"openid", "orders:read"}, scopes, nil},
		{"scopes array", issuer.ClaimMapping{Scopes: "scp"}, []string{"read", "write"}, scopes, nil},
		{"permissions string never split", issuer.ClaimMapping{Permissions: "perm_list"}, nil, perms, tenantjwt.ErrClaims},
		{"tenant from nested", issuer.ClaimMapping{Tenant: "org.id"}, []string{"o1"}, func(p *tenantjwt.Principal) []string { return []string{p.Tenant()} }, nil},
		{"tenant of wrong type", issuer.ClaimMapping{Tenant: "list"}, nil, roles, tenantjwt.ErrClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := liveConfig(t, iss)
			c.Claims = tt.mapping
			reg := newRegistry(t, issuer.Options{}, c)
			p, err := reg.Verify(context.Background(), tok)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got := tt.field(p); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func roles(p *tenantjwt.Principal) []string  { return p.Roles().Strings() }
func perms(p *tenantjwt.Principal) []string  { return p.Permissions().Strings() }
func scopes(p *tenantjwt.Principal) []string { return p.Scopes().Strings() }

func TestPrincipalFields(t *testing.T) {
	t.Parallel()
	now := t0
	iss := issuertest.New(t, issuertest.WithClock(func() time.Time { return now }))
	c, _ := liveConfig(t, iss)
	c.Name = "main"
	reg := newRegistry(t, issuer.Options{Now: func() time.Time { return now }})
	if err := reg.Add(c); err != nil {
		t.Fatal(err)
	}
	p, err := reg.Verify(context.Background(), iss.Mint(map[string]any{"sub": "alice", "aud": []string{"x", iss.Audience()}, "jti": "j1"}))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if p.Issuer() != "main" || p.IssuerURL() != iss.URL() || p.Subject() != "alice" || p.TokenID() != "j1" {
		t.Errorf("principal %+v", p)
	}
	if !p.ExpiresAt().Equal(t0.Add(time.Hour)) || !p.IssuedAt().Equal(t0) {
		t.Errorf("exp %v iat %v, want %v %v", p.ExpiresAt(), p.IssuedAt(), t0.Add(time.Hour), t0)
	}
	if !slices.Equal(p.Audience().Strings(), []string{"x", iss.Audience()}) {
		t.Errorf("Audience = %v", p.Audience())
	}
	var got struct{ Sub string }
	if err := p.DecodeClaims(&got); err != nil || got.Sub != "alice" {
		t.Errorf("RawClaims decode = %+v, %v", got, err)
	}
}
