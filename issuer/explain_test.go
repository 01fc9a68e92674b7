package issuer_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

func TestExplain(t *testing.T) {
	t.Parallel()
	iss := issuertest.New(t, issuertest.WithClock(func() time.Time { return t0 }))
	c := iss.LocalConfig()
	c.Name = "acme"
	c.Audiences = []string{"api"}
	reg := newRegistry(t, issuer.Options{Now: func() time.Time { return t0 }}, c)

	tests := []struct {
		name       string
		token      string
		wantValid  bool
		wantIssuer string
		lastCheck  issuer.Step
		wantErr    error
	}{
		{"valid", iss.MintWith(map[string]any{"jku": "https://evil.example/"}, map[string]any{"aud": "api"}), true, "acme", "binding", nil},
		{"DPoP-bound, explained as a bearer token", iss.Mint(map[string]any{"aud": "api", "cnf": map[string]any{"jkt": "abc"}}), false, "acme", "binding", tenantjwt.ErrDPoPProof},
		{"cnf of the wrong type", iss.Mint(map[string]any{"aud": "api", "cnf": "abc"}), false, "acme", "binding", tenantjwt.ErrClaims},
		{"unknown issuer", iss.Mint(map[string]any{"iss": "https://evil.example/"}), false, "", "issuer", tenantjwt.ErrUnknownIssuer},
		{"expired", iss.Mint(map[string]any{"aud": "api", "exp": t0.Add(-time.Hour).Unix()}), false, "acme", "exp", tenantjwt.ErrExpired},
		{"bad shape", "a.b", false, "", "shape", tenantjwt.ErrMalformed},
		{"wrong audience", iss.Mint(map[string]any{"aud": "x"}), false, "acme", "aud", tenantjwt.ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := reg.Explain(context.Background(), tt.token)
			if rep.Valid != tt.wantValid || rep.Issuer != tt.wantIssuer {
				t.Fatalf("Valid %v Issuer %q, want %v %q (err %v)", rep.Valid, rep.Issuer, tt.wantValid, tt.wantIssuer, rep.Err)
			}
			if !errors.Is(rep.Err, tt.wantErr) || (tt.wantErr == nil && rep.Err != nil) {
				t.Errorf("Err = %v, want %v", rep.Err, tt.wantErr)
			}
			last := rep.Checks[len(rep.Checks)-1]
			if last.Step != tt.lastCheck || last.OK != tt.wantValid {
				t.Errorf("last check = %+v, want %s ok=%v", last, tt.lastCheck, tt.wantValid)
			}
			for _, c := range rep.Checks[:len(rep.Checks)-1] {
				if !c.OK {
					t.Errorf("check %+v failed before the last one", c)
				}
			}
			if tt.wantValid {
				if rep.Principal == nil || rep.KeyID != iss.KID() || rep.Key == "" || rep.Mapping["roles"] != "roles" {
					t.Errorf("report = %+v", rep)
				}
				if len(rep.IgnoredHeaders) != 1 || rep.IgnoredHeaders[0] != "jku" {
					t.Errorf("IgnoredHeaders = %v, want [jku]", rep.IgnoredHeaders)
				}
				if _, err := json.Marshal(rep); err != nil {
					t.Errorf("report does not marshal: %v", err)
				}
			}
		})
	}
	if n, _ := issuer.CacheLen(reg); n != 0 {
		t.Errorf("Explain filled the token cache: %d tokens", n)
	}
}
