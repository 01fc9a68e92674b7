package issuer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// hardeningEnv is one static issuer trusted with preset and audience
// api://a, at the fixed time t0.
func hardeningEnv(t *testing.T, preset string, edit func(*issuer.Config)) (*issuertest.Issuer, *issuer.Registry) {
	t.Helper()
	iss := issuertest.New(t, issuertest.WithClock(func() time.Time { return t0 }))
	c := iss.StaticConfig()
	c.Preset = preset
	c.Audiences = []string{"api://a"}
	if edit != nil {
		edit(&c)
	}
	return iss, newRegistry(t, issuer.Options{Now: func() time.Time { return t0 }}, c)
}

// payload returns registered claims for iss followed by extra members
// (raw JSON, starting with a comma).
func payload(iss *issuertest.Issuer, extra string) string {
	return fmt.Sprintf(`{"iss":%q,"aud":"api://a","iat":%d,"exp":%d%s}`, iss.URL(), t0.Unix(), t0.Add(time.Hour).Unix(), extra)
}

// TestIJSON: header and payload must be I-JSON (RFC 7493, RFC 8725 §3.7).
// Each of these used to verify: invalid UTF-8 and lone surrogates became
// U+FFFD (so distinct signed subjects mapped to one Principal), and names
// differing only in case were read one way by the mapping and another by
// DecodeClaims or the Clerk preset.
func TestIJSON(t *testing.T) {
	t.Parallel()
	iss, reg := hardeningEnv(t, "", nil)
	clerkIss, clerk := hardeningEnv(t, "clerk", nil)
	tests := []struct {
		name string
		reg  *issuer.Registry
		tok  string
	}{
		{"invalid UTF-8 in sub", reg, signRaw(iss, hdr(iss), payload(iss, ",\"sub\":\"ad\xffmin\""))},
		{"invalid UTF-8 in a member name", reg, signRaw(iss, hdr(iss), payload(iss, ",\"x\xfe\":1"))},
		{"UTF-8 encoded surrogate", reg, signRaw(iss, hdr(iss), payload(iss, ",\"sub\":\"\xed\xa0\x80\""))},
		{"lone high surrogate escape", reg, signRaw(iss, hdr(iss), payload(iss, `,"sub":"admin\ud800"`))},
		{"lone low surrogate escape", reg, signRaw(iss, hdr(iss), payload(iss, `,"sub":"admin\udfff"`))},
		{"invalid UTF-8 in the header", reg, signRaw(iss, `{"alg":"RS256","kid":"`+iss.KID()+"\",\"x\":\"\xc3\"}", payload(iss, `,"sub":"a"`))},
		{"sub and SUB", reg, signRaw(iss, hdr(iss), payload(iss, `,"sub":"alice","SUB":"admin"`))},
		{"iss and ISS", reg, signRaw(iss, hdr(iss), payload(iss, `,"sub":"a","ISS":"https://evil.example"`))},
		{"kid and KID in the header", reg, signRaw(iss, `{"alg":"RS256","kid":"`+iss.KID()+`","KID":"x"}`, payload(iss, `,"sub":"a"`))},
		{"roles and \u212aelvin-folded names", reg, signRaw(iss, hdr(iss), payload(iss, `,"sub":"a","kid":"1","\u212aid":"2"`))},
		{"nested duplicates", reg, signRaw(iss, hdr(iss), payload(iss, `,"sub":"a","x":{"r":1,"r":2}`))},
		{"clerk o with id and ID", clerk, signRaw(clerkIss, hdr(clerkIss), payload(clerkIss, `,"sub":"a","o":{"id":"org_a","ID":"org_admin","rol":"member"}`))},
		{"nested deeper than the cap", reg, signRaw(iss, hdr(iss), payload(iss, `,"sub":"a","x":`+strings.Repeat(`[`, 17)+strings.Repeat(`]`, 17)))},
		{"more members than the cap", reg, signRaw(iss, hdr(iss), payload(iss, `,"sub":"a","x":{`+strings.Repeat(`"a":{},`, 1100)+`"b":1}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.reg.Verify(context.Background(), tt.tok)
			if !errors.Is(err, tenantjwt.ErrMalformed) {
				t.Fatalf("Verify = %+v, %v; want ErrMalformed", p, err)
			}
			agree(t, tt.reg, tt.tok)
		})
	}

	// What passes is read alike by the mapping and by DecodeClaims, and by
	// Clerk's preset.
	tok := signRaw(iss, hdr(iss), payload(iss, `,"sub":"caf\u00e9 \ud83d\ude00","Subject":"x"`))
	p, err := reg.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Sub string }
	if err := p.DecodeClaims(&v); err != nil || v.Sub != p.Subject() || p.Subject() != "café 😀" {
		t.Fatalf("DecodeClaims sub = %q, %v; Principal.Subject %q", v.Sub, err, p.Subject())
	}
	p, err = clerk.Verify(context.Background(), signRaw(clerkIss, hdr(clerkIss), payload(clerkIss, `,"sub":"a","o":{"ID":"org_admin","rol":"member"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Tenant() != "" {
		t.Fatalf("clerk read o.ID as o.id: tenant %q", p.Tenant())
	}
}

// TestConfirmationFailsClosed: a cnf with no member the library checks
// (RFC 7800 jwk, kid, jku, unknown members, or none) is refused, unless
// the issuer disables both bindings. It used to pass as a bearer token.
func TestConfirmationFailsClosed(t *testing.T) {
	t.Parallel()
	iss, reg := hardeningEnv(t, "", nil)
	for _, cnf := range []string{
		`{"jwk":{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}}`,
		`{"kid":"client-key-1"}`,
		`{"jku":"https://client.example/jwks"}`,
		`{"x5t#S1":"abc"}`,
		`{}`,
	} {
		t.Run(cnf, func(t *testing.T) {
			tok := signRaw(iss, hdr(iss), payload(iss, `,"sub":"a","cnf":`+cnf))
			if p, err := reg.Verify(context.Background(), tok); !errors.Is(err, tenantjwt.ErrTokenBinding) {
				t.Fatalf("Verify = %+v, %v; want ErrTokenBinding", p, err)
			}
			agree(t, reg, tok)
		})
	}
}

// TestConfirmationDisabledBindingAccepts: the opt-out works with the same
// issuer's keys.
func TestConfirmationDisabledBindingAccepts(t *testing.T) {
	t.Parallel()
	iss := issuertest.New(t, issuertest.WithClock(func() time.Time { return t0 }))
	c := iss.StaticConfig()
	c.Audiences = []string{"api://a"}
	c.DPoP, c.MTLS = issuer.BindingDisabled, issuer.BindingDisabled
	reg := newRegistry(t, issuer.Options{Now: func() time.Time { return t0 }}, c)
	tok := signRaw(iss, hdr(iss), payload(iss, `,"sub":"a","cnf":{"kid":"k"}`))
	if p, err := reg.Verify(context.Background(), tok); err != nil || p.Binding() != "" {
		t.Fatalf("Verify = %+v, %v; want an unbound principal", p, err)
	}
}

// TestTemplateTenantCharset: template tenants are 1..256 unreserved
// characters and never a dot segment, in iss and in the allowlist.
func TestTemplateTenantCharset(t *testing.T) {
	t.Parallel()
	tpl := issuertest.New(t, issuertest.WithPath("/{tenant}/v2"), issuertest.WithClock(func() time.Time { return t0 }))
	base := tpl.StaticConfig()
	base.TenantClaim = "tid"
	base.Audiences = []string{"api://a"}
	for _, bad := range []string{".", "..", "a/b", "a\x00b", "a\nb", "", "a b", "a%2fb", "t:1", "a@b", strings.Repeat("a", 257)} {
		c := base
		c.Tenants = []string{"ok", bad}
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "tenants[1]") {
			t.Errorf("tenants [ok %q]: Validate = %v, want an error naming tenants[1]", bad, err)
		}
	}
	c := base
	c.Tenants, c.AllTenants = nil, true
	reg := newRegistry(t, issuer.Options{Now: func() time.Time { return t0 }}, c)
	for _, bad := range []string{".", "..", "a;b", "a\"b", "ü"} {
		tok := signRaw(tpl, hdr(tpl), fmt.Sprintf(`{"iss":%q,"tid":%q,"aud":"api://a","iat":%d,"exp":%d}`, strings.Replace(tpl.URL(), "{tenant}", bad, 1), bad, t0.Unix(), t0.Add(time.Hour).Unix()))
		if p, err := reg.Verify(context.Background(), tok); !errors.Is(err, tenantjwt.ErrUnknownIssuer) {
			t.Errorf("tenant %q in iss: Verify = %+v, %v; want ErrUnknownIssuer", bad, p, err)
		}
	}
	good := signRaw(tpl, hdr(tpl), fmt.Sprintf(`{"iss":%q,"tid":"T-1.a_b~c","aud":"api://a","iat":%d,"exp":%d}`, strings.Replace(tpl.URL(), "{tenant}", "T-1.a_b~c", 1), t0.Unix(), t0.Add(time.Hour).Unix()))
	if p, err := reg.Verify(context.Background(), good); err != nil || p.Tenant() != "T-1.a_b~c" {
		t.Fatalf("unreserved tenant: %+v, %v", p, err)
	}
}

// TestDescopeRefreshTokenRefused: Descope signs session (drn "DS") and
// refresh (drn "DSR") tokens with the same keys and issuer; only session
// tokens are access tokens.
func TestDescopeRefreshTokenRefused(t *testing.T) {
	t.Parallel()
	iss, reg := hardeningEnv(t, "descope", nil)
	for drn, want := range map[string]error{"DSR": tenantjwt.ErrTokenType, "DS": nil, "": nil} {
		claims := map[string]any{"aud": "api://a", "dct": "T1", "tenants": map[string]any{"T1": map[string]any{"roles": []string{"admin"}}}}
		if drn != "" {
			claims["drn"] = drn
		}
		p, err := reg.Verify(context.Background(), iss.Mint(claims))
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("drn %q: Verify = %+v, %v; want %v", drn, p, err, want)
		}
	}
	if p, err := reg.Verify(context.Background(), iss.Mint(map[string]any{"aud": "api://a", "drn": 1})); !errors.Is(err, tenantjwt.ErrTokenType) {
		t.Errorf("drn not a string: %+v, %v", p, err)
	}
}

// TestPrincipalNotShared: what a caller does to the Principal it got, its
// lists included, never changes what a later caller gets for the same
// (cached) token. The cache used to hand out one shared, writable value;
// a Principal is now immutable, so the cache hands out the one it keeps
// and callers change only their own copies (Identity, List.Strings).
func TestPrincipalNotShared(t *testing.T) {
	t.Parallel()
	iss := issuertest.New(t, issuertest.WithClock(func() time.Time { return t0 }))
	c := iss.StaticConfig()
	c.Audiences = []string{"api://a", "api://b"}
	c.Claims = issuer.ClaimMapping{Tenant: "dct", Tenants: "tenants", Roles: "tenants.{tenant}.roles"}
	opts := issuer.Options{Now: func() time.Time { return t0 }}
	hits := countHits(&opts)
	reg := newRegistry(t, opts, c)
	tok := iss.Mint(map[string]any{"aud": []string{"api://a", "api://b"}, "dct": "t1", "scope": "read write",
		"tenants": map[string]any{"t1": map[string]any{"roles": []string{"viewer", "editor"}}, "t2": map[string]any{}}})
	first, err := reg.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(first)
	id := first.Identity()
	id.Roles[0] = "admin"
	id.Roles = append(id.Roles[:1], "owner")
	id.Tenants[0] = "t9"
	id.Scopes[0] = "admin:all"
	id.Audience[1] = "api://evil"
	id.Subject, id.Tenant = "root", "t9"
	for _, l := range []tenantjwt.List{first.Roles(), first.Tenants(), first.Scopes(), first.Audience()} {
		if s := l.Strings(); len(s) > 0 {
			s[0] = "evil"
		}
	}
	for i := range 2 {
		again, err := reg.Verify(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(again); string(got) != string(want) {
			t.Fatalf("call %d after changes: got %s, want %s", i, got, want)
		}
		if again != first {
			t.Fatal("a cache hit built a new Principal instead of sharing the immutable one")
		}
	}
	if n := hits.Load(); n < 2 {
		t.Fatalf("cache hits %d: the test did not use the cache", n)
	}
	if !strings.Contains(string(want), `"Roles":["viewer","editor"]`) || !strings.Contains(string(want), `"Subject":"`) {
		t.Fatalf("principal JSON %s", want)
	}
}

// TestAudiencesRequired: an issuer without audiences is a config error
// naming the entry unless it allows any audience; all_tenants needs
// audiences. Such configs used to load and accept tokens for any API.
func TestAudiencesRequired(t *testing.T) {
	t.Parallel()
	iss := issuertest.New(t, issuertest.WithClock(func() time.Time { return t0 }))
	none := iss.StaticConfig()
	none.Name, none.Audiences = "acme", nil
	if err := none.Validate(); err == nil || !strings.Contains(err.Error(), "issuer (acme): audiences") || !strings.Contains(err.Error(), "allow_any_audience") {
		t.Fatalf("Validate without audiences = %v", err)
	}
	if _, err := issuer.New(issuer.Options{}, iss.StaticConfig(), none); err == nil || !strings.Contains(err.Error(), "issuer[1] (acme): audiences") {
		t.Fatalf("New = %v, want an error naming issuer[1] (acme)", err)
	}

	anyAud := none
	anyAud.AllowAnyAudience = true
	reg := newRegistry(t, issuer.Options{Now: func() time.Time { return t0 }}, anyAud)
	for _, aud := range []any{"https://other-api.example", nil} {
		if _, err := reg.Verify(context.Background(), iss.Mint(map[string]any{"aud": aud})); err != nil {
			t.Errorf("allow_any_audience, aud %v: %v", aud, err)
		}
	}
	both := anyAud
	both.Audiences = []string{"x"}
	if err := both.Validate(); err == nil || !strings.Contains(err.Error(), "allow_any_audience") {
		t.Errorf("audiences with allow_any_audience: %v", err)
	}

	tpl := issuertest.New(t, issuertest.WithPath("/{tenant}/v2"))
	all := tpl.StaticConfig()
	all.Name, all.TenantClaim, all.AllTenants, all.Audiences, all.AllowAnyAudience = "entra", "tid", true, nil, true
	if err := all.Validate(); err == nil || !strings.Contains(err.Error(), "issuer (entra): audiences") || !strings.Contains(err.Error(), "all_tenants") {
		t.Errorf("all_tenants without audiences: %v", err)
	}
	all.Audiences, all.AllowAnyAudience = []string{"api://x"}, false
	if err := all.Validate(); err != nil {
		t.Errorf("all_tenants with audiences: %v", err)
	}
}
