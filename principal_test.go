package tenantjwt_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt"
)

func TestPrincipalClaims(t *testing.T) {
	payload := `{"sub":"alice","org":{"id":"o1"}}`
	p := tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "alice", Roles: []string{"admin"}, EncodedClaims: base64.RawURLEncoding.EncodeToString([]byte(payload))})

	raw, err := p.RawClaims()
	if err != nil || string(raw) != payload {
		t.Fatalf("RawClaims = %s, %v", raw, err)
	}
	var v struct{ Org struct{ ID string } }
	if err := p.DecodeClaims(&v); err != nil || v.Org.ID != "o1" {
		t.Errorf("DecodeClaims = %+v, %v", v, err)
	}
	if m, err := p.Claims(); err != nil || m["sub"] != "alice" {
		t.Errorf("Claims = %v, %v", m, err)
	}

	for _, v := range []any{p} {
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), `"RawClaims":{"sub":"alice","org":{"id":"o1"}}`) || strings.Contains(string(out), "EncodedClaims") ||
			!strings.Contains(string(out), `"Subject":"alice"`) || !strings.Contains(string(out), `"Roles":["admin"]`) {
			t.Errorf("JSON of %T = %s", v, out)
		}
	}

	if err := json.Unmarshal([]byte(`{"Subject":"mallory"}`), p); err == nil || p.Subject() != "alice" {
		t.Errorf("Unmarshal into a Principal: err %v, subject %q; want an error and no change", err, p.Subject())
	}

	for _, bad := range []*tenantjwt.Principal{{}, tenantjwt.NewPrincipal(tenantjwt.Identity{EncodedClaims: "!!"})} {
		if _, err := bad.RawClaims(); err == nil {
			t.Errorf("RawClaims of %q: no error", bad.EncodedClaims())
		}
		if err := bad.DecodeClaims(&v); err == nil {
			t.Errorf("DecodeClaims of %q: no error", bad.EncodedClaims())
		}
	}
}

// TestPrincipalIsImmutable checks that neither the Identity a Principal was
// built from nor the copies and lists it hands out can change it.
func TestPrincipalIsImmutable(t *testing.T) {
	id := tenantjwt.Identity{Subject: "s", Tenant: "t1", Tenants: []string{"t1", "t2"}, Roles: []string{"r"}, Permissions: []string{}, Audience: []string{"a"}}
	p := tenantjwt.NewPrincipal(id)
	id.Roles[0] = "admin"
	id.Tenants[1] = "evil"
	id.Subject = "other"
	if p.Roles().At(0) != "r" || p.Tenants().At(1) != "t2" || p.Subject() != "s" {
		t.Fatalf("changes to the Identity reached the Principal: %+v", p.Identity())
	}

	c := p.Identity()
	c.Roles[0] = "admin"
	c.Audience = append(c.Audience, "x")
	c.Tenant = "t2"
	roles := p.Roles().Strings()
	roles[0] = "admin"
	if p.Roles().At(0) != "r" || p.Audience().Len() != 1 || p.Tenant() != "t1" || p.HasRole("admin") {
		t.Fatalf("changes to copies reached the Principal: %+v", p.Identity())
	}
	if q := tenantjwt.NewPrincipal(c); q.Tenant() != "t2" || !q.HasRole("admin") || p.Tenant() != "t1" {
		t.Fatalf("NewPrincipal(Identity()) = %+v, original %+v", q.Identity(), p.Identity())
	}

	got := p.Identity()
	if got.Scopes != nil || got.Permissions == nil || len(got.Permissions) != 0 {
		t.Fatalf("nil and empty lists not preserved: Scopes %#v Permissions %#v", got.Scopes, got.Permissions)
	}
	big := tenantjwt.NewPrincipal(tenantjwt.Identity{Roles: make([]string, 40), Scopes: []string{"a", "b"}})
	if big.Roles().Len() != 40 || big.Scopes().Len() != 2 || big.Scopes().At(1) != "b" {
		t.Fatalf("large principal: %d roles, scopes %v", big.Roles().Len(), big.Scopes())
	}
}

func TestList(t *testing.T) {
	p := tenantjwt.NewPrincipal(tenantjwt.Identity{Scopes: []string{"read", "write"}})
	l := p.Scopes()
	if l.Len() != 2 || !l.Contains("write") || l.Contains("Write") || l.String() != "[read write]" {
		t.Fatalf("List = %v (len %d)", l, l.Len())
	}
	if got := slices.Collect(l.Values()); !slices.Equal(got, []string{"read", "write"}) {
		t.Fatalf("Values = %v", got)
	}
	if got := fmt.Sprintf("%q|%v|%s", l, l, l); got != `["read" "write"]|[read write]|[read write]` {
		t.Fatalf("formatted = %s", got)
	}
	if b, _ := json.Marshal(l); string(b) != `["read","write"]` {
		t.Fatalf("JSON = %s", b)
	}
	var empty tenantjwt.Principal
	if e := empty.Roles(); e.Len() != 0 || e.Strings() != nil || e.Contains("") {
		t.Fatalf("empty list = %v", e)
	}
	if b, _ := json.Marshal(empty.Roles()); string(b) != "[]" {
		t.Fatalf("empty JSON = %s", b)
	}
}
