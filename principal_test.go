package tenantjwt_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt"
)

func TestPrincipalClaims(t *testing.T) {
	payload := `{"sub":"alice","org":{"id":"o1"}}`
	p := &tenantjwt.Principal{Subject: "alice", Roles: []string{"admin"}, EncodedClaims: base64.RawURLEncoding.EncodeToString([]byte(payload))}

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

	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"RawClaims":{"sub":"alice","org":{"id":"o1"}}`) || strings.Contains(string(out), "EncodedClaims") || !strings.Contains(string(out), `"Subject":"alice"`) {
		t.Errorf("JSON = %s", out)
	}

	c := p.Clone()
	c.Roles[0] = "viewer"
	if p.Roles[0] != "admin" {
		t.Error("Clone shares Roles")
	}

	for _, bad := range []*tenantjwt.Principal{{}, {EncodedClaims: "!!"}} {
		if _, err := bad.RawClaims(); err == nil {
			t.Errorf("RawClaims of %q: no error", bad.EncodedClaims)
		}
		if err := bad.DecodeClaims(&v); err == nil {
			t.Errorf("DecodeClaims of %q: no error", bad.EncodedClaims)
		}
	}
}

func TestCloneIsIndependent(t *testing.T) {
	p := &tenantjwt.Principal{Subject: "s", Tenants: []string{"t1", "t2"}, Roles: []string{"r"}, Permissions: []string{}, Audience: []string{"a"}}
	c := p.Clone()
	c.Roles[0] = "admin"
	c.Tenants = append(c.Tenants[:1], "evil")
	c.Audience = append(c.Audience, "x")
	c.Subject = "other"
	if p.Roles[0] != "r" || p.Tenants[1] != "t2" || len(p.Audience) != 1 || p.Subject != "s" {
		t.Fatalf("clone changes leaked into the original: %+v", p)
	}
	if c.Scopes != nil || c.Permissions == nil || len(c.Permissions) != 0 {
		t.Fatalf("nil and empty lists not preserved: Scopes %#v Permissions %#v", c.Scopes, c.Permissions)
	}
	big := &tenantjwt.Principal{Roles: make([]string, 40)}
	if c := big.Clone(); len(c.Roles) != 40 || cap(c.Roles) != 40 {
		t.Fatalf("large clone: len %d cap %d", len(c.Roles), cap(c.Roles))
	}
}
