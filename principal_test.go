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
