package issuer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// agree runs tok through Verify and Explain on reg and fails t unless the
// two tell the same story: both accept, or both reject with the same cause
// and text, and Explain's failing step (its last, after only passing ones)
// is the step the *issuer.VerifyError names. It returns that step ("" when
// valid). Every table of failing fixtures calls it, so the report cannot
// drift from the verdict.
func agree(t *testing.T, reg *issuer.Registry, tok string) issuer.Step {
	t.Helper()
	_, err := reg.Verify(context.Background(), tok)
	rep := reg.Explain(context.Background(), tok)
	if rep.Valid != (err == nil) {
		t.Fatalf("Verify err %v, but Explain Valid = %v (%v)", err, rep.Valid, rep.Err)
	}
	if len(rep.Checks) == 0 {
		t.Fatalf("Explain reports no checks")
	}
	last := rep.Checks[len(rep.Checks)-1]
	for _, c := range rep.Checks[:len(rep.Checks)-1] {
		if !c.OK {
			t.Errorf("Explain: check %+v failed before the last one", c)
		}
	}
	if err == nil {
		if !last.OK || last.Step != "binding" || rep.Principal == nil {
			t.Errorf("Explain of a valid token: last check %+v, principal %v", last, rep.Principal)
		}
		return ""
	}
	var ve *issuer.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("Verify error %v (%T) is not a *issuer.VerifyError", err, err)
	}
	if ve.Err == nil || !errors.Is(err, ve.Err) {
		t.Errorf("VerifyError %+v does not unwrap to its cause", ve)
	}
	vc, vok := tenantjwt.CauseOf(err)
	ec, eok := tenantjwt.CauseOf(rep.Err)
	if vc != ec || vok != eok {
		t.Errorf("cause: Verify %v (%v), Explain %v (%v)", vc, err, ec, rep.Err)
	}
	if rep.Error != err.Error() {
		t.Errorf("error text: Verify %q, Explain %q", err, rep.Error)
	}
	if last.OK || last.Step != ve.Step {
		t.Errorf("Explain's last check %+v, want the failed step %q", last, ve.Step)
	}
	if last.Detail != err.Error() {
		t.Errorf("failed check detail %q, want the error %q", last.Detail, err)
	}
	if rep.Principal != nil {
		t.Errorf("Explain of a rejected token has a principal")
	}
	return ve.Step
}

// TestVerifyErrorSteps: one failing fixture for each step that a
// configuration can reach, each rejected by Verify with a *VerifyError
// naming that step, and explained alike by Explain (see agree).
func TestVerifyErrorSteps(t *testing.T) {
	t.Parallel()
	clk := func() time.Time { return t0 }
	plain := issuertest.New(t, issuertest.WithPath("/plain"), issuertest.WithClock(clk))
	typ := issuertest.New(t, issuertest.WithPath("/typ"), issuertest.WithClock(clk))
	desc := issuertest.New(t, issuertest.WithPath("/descope"), issuertest.WithClock(clk))
	ms := issuertest.New(t, issuertest.WithPath("/{tenant}/v2.0"), issuertest.WithClock(clk))

	var cs []issuer.Config
	for _, iss := range []*issuertest.Issuer{plain, typ, desc, ms} {
		c, _ := liveConfig(t, iss)
		c.Audiences = []string{"api://a"}
		switch iss {
		case plain:
			c.Name, c.MaxLifetime = "plain", 2*time.Hour
		case typ:
			c.Name, c.RequireTyp = "typ", "at+jwt"
		case desc:
			c.Name, c.Preset = "descope", "descope"
		case ms:
			c.Name, c.TenantClaim, c.Tenants = "entra", "tid", []string{"t1"}
		}
		cs = append(cs, c)
	}
	reg := newRegistry(t, issuer.Options{Now: clk}, cs...)

	aud := func(kv ...any) map[string]any {
		m := map[string]any{"aud": "api://a"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name  string
		token string
		step  issuer.Step
		cause error
	}{
		{"valid", plain.Mint(aud()), "", nil},
		{"valid template tenant", ms.Mint(aud("iss", ms.TenantURL("t1"), "tid", "t1")), "", nil},
		{"shape", "a.b", "shape", tenantjwt.ErrMalformed},
		{"header", plain.MintWith(map[string]any{"crit": []string{"x"}}, aud()), "header", tenantjwt.ErrMalformed},
		{"issuer unknown", plain.Mint(aud("iss", "https://evil.example/")), "issuer", tenantjwt.ErrUnknownIssuer},
		{"issuer tenant not allowed", ms.Mint(aud("iss", ms.TenantURL("t2"), "tid", "t2")), "issuer", tenantjwt.ErrTenant},
		{"algorithm", plain.MintWith(map[string]any{"alg": "HS256"}, aud()), "algorithm", tenantjwt.ErrAlgorithm},
		{"key", plain.MintWith(map[string]any{"kid": "nope"}, aud()), "key", tenantjwt.ErrKeyNotFound},
		{"signature", replaceSig(plain.Mint(aud()), []byte("bad")), "signature", tenantjwt.ErrSignature},
		{"json", signRaw(plain, hdr(plain), `{"iss":"`+plain.URL()+`","aud":"api://a","x":{"k":1,"k":2}}`), "json", tenantjwt.ErrMalformed},
		{"exp", plain.Mint(aud("exp", t0.Add(-time.Hour).Unix())), "exp", tenantjwt.ErrExpired},
		{"nbf", plain.Mint(aud("nbf", t0.Add(time.Hour).Unix())), "nbf", tenantjwt.ErrNotYetValid},
		{"iat", plain.Mint(aud("iat", t0.Add(time.Hour).Unix())), "iat", tenantjwt.ErrNotYetValid},
		{"lifetime", plain.Mint(aud("iat", nil)), "lifetime", tenantjwt.ErrLifetime},
		{"aud", plain.Mint(aud("aud", "other")), "aud", tenantjwt.ErrAudience},
		{"typ", typ.Mint(aud()), "typ", tenantjwt.ErrTokenType},
		{"tenant", ms.Mint(aud("iss", ms.TenantURL("t1"), "tid", "t3")), "tenant", tenantjwt.ErrTenant},
		{"jti", plain.Mint(aud("jti", 7)), "jti", tenantjwt.ErrClaims},
		{"preset", desc.Mint(aud("drn", "DSR")), "preset", tenantjwt.ErrTokenType},
		{"mapping", plain.Mint(aud("roles", "admin")), "mapping", tenantjwt.ErrClaims},
		{"binding: cnf of the wrong type", plain.Mint(aud("cnf", "x")), "binding", tenantjwt.ErrClaims},
		{"binding: DPoP-bound token as a bearer token", plain.Mint(aud("cnf", map[string]any{"jkt": "abc"})), "binding", tenantjwt.ErrDPoPProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if step := agree(t, reg, tt.token); step != tt.step {
				t.Errorf("step %q, want %q", step, tt.step)
			}
			_, err := reg.Verify(context.Background(), tt.token)
			if tt.cause != nil && !errors.Is(err, tt.cause) || tt.cause == nil && err != nil {
				t.Errorf("Verify: %v, want %v", err, tt.cause)
			}
		})
	}
}
