package issuer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// TestPresetMechanism exercises every Preset field with a test-only preset
// shaped like Cognito (token_use check, client_id audience) plus a Map
// function.
func TestPresetMechanism(t *testing.T) {
	remove := issuer.RegisterTestPreset(issuer.Preset{
		Name:           "test-idp",
		Claims:         issuer.ClaimMapping{Roles: "cognito:groups", Tenant: "custom:tenant"},
		Algorithms:     []string{"ES256"},
		AudienceClaims: []string{"client_id"},
		Check: func(h issuer.Header, c *issuer.Claims) error {
			use, _, err := c.String("token_use")
			if err != nil {
				return err
			}
			if use != "access" {
				return fmt.Errorf("token_use %q: %w", use, tenantjwt.ErrTokenType)
			}
			return nil
		},
		Map: func(in issuer.MapInput, p *tenantjwt.Identity) error {
			if in.Config.Claims.Permissions != "" {
				return nil // the user's mapping wins
			}
			raw, ok := in.Claims.Raw("perm_bits")
			if !ok {
				return nil
			}
			if string(raw) != "3" {
				return errors.New("unexpected bits")
			}
			p.Permissions = []string{"read", "write"}
			return nil
		},
	})
	defer remove()

	iss := issuertest.New(t, issuertest.WithAlgorithm("ES256"))
	base := iss.LocalConfig()
	base.Algorithms = nil // from the preset
	base.Preset = "test-idp"
	base.Audiences = []string{"client-1"}
	override := base
	override.Name = "override"
	override.Claims.Roles = "roles"
	override.Claims.Permissions = "permissions"

	access := map[string]any{"aud": nil, "token_use": "access", "client_id": "client-1", "cognito:groups": []string{"g1"},
		"roles": []string{"r1"}, "custom:tenant": "t1", "perm_bits": 3, "permissions": []string{"p1"}}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range access {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name      string
		cfg       issuer.Config
		claims    map[string]any
		wantErr   error
		wantRoles []string
		wantPerms []string
	}{
		{"preset mapping", base, access, nil, []string{"g1"}, []string{"read", "write"}},
		{"user mapping overrides preset", override, access, nil, []string{"r1"}, []string{"p1"}},
		{"check rejects id token", base, with("token_use", "id"), tenantjwt.ErrTokenType, nil, nil},
		{"check wrong type", base, with("token_use", 1), tenantjwt.ErrClaims, nil, nil},
		{"audience claim mismatch", base, with("client_id", "client-2"), tenantjwt.ErrAudience, nil, nil},
		{"aud present wins over client_id", base, with("aud", "other"), tenantjwt.ErrAudience, nil, nil},
		{"map error", base, with("perm_bits", 4), tenantjwt.ErrClaims, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(t, issuer.Options{}, tt.cfg)
			p, err := reg.Verify(context.Background(), iss.Mint(tt.claims))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Tenant() != "t1" || !slices.Equal(p.Roles().Strings(), tt.wantRoles) || !slices.Equal(p.Permissions().Strings(), tt.wantPerms) {
				t.Errorf("tenant %q roles %v perms %v, want t1 %v %v", p.Tenant(), p.Roles(), p.Permissions(), tt.wantRoles, tt.wantPerms)
			}
		})
	}

	rs := base
	rs.Algorithms = nil
	reg := newRegistry(t, issuer.Options{}, rs)
	rsIss := issuertest.New(t)
	rsCfg := rsIss.LocalConfig()
	rsCfg.Algorithms, rsCfg.Preset = nil, "test-idp"
	if err := reg.Add(rsCfg); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Verify(context.Background(), rsIss.Mint(access)); !errors.Is(err, tenantjwt.ErrAlgorithm) {
		t.Errorf("RS256 token with an ES256-only preset: err = %v, want ErrAlgorithm", err)
	}
	if !slices.Contains(issuer.Presets(), "test-idp") {
		t.Errorf("Presets() = %v, want test-idp listed", issuer.Presets())
	}
	if p, ok := issuer.LookupPreset("test-idp"); !ok || p.Name != "test-idp" {
		t.Errorf("LookupPreset = %v, %v", p.Name, ok)
	}
}
