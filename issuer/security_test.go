package issuer_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

var enc = base64.RawURLEncoding.EncodeToString

// signRaw signs arbitrary header and payload JSON with iss's current key.
func signRaw(iss *issuertest.Issuer, header, payload string) string {
	in := enc([]byte(header)) + "." + enc([]byte(payload))
	return in + "." + enc(iss.Sign([]byte(in)))
}

// hs256 makes a token whose signature is HMAC-SHA256 keyed with secret.
func hs256(iss *issuertest.Issuer, secret []byte, claims map[string]any) string {
	in := iss.SigningInput(map[string]any{"alg": "HS256"}, claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + enc(m.Sum(nil))
}

// replaceSig swaps the signature segment.
func replaceSig(tok string, sig []byte) string {
	return tok[:strings.LastIndexByte(tok, '.')+1] + enc(sig)
}

type securityEnv struct {
	a, b, ec, multi, typ *issuertest.Issuer
	srcs                 []*liveSource
	reg                  *issuer.Registry
}

func newSecurityEnv(t *testing.T) *securityEnv {
	clk := func() time.Time { return t0 }
	env := &securityEnv{
		a:     issuertest.New(t, issuertest.WithPath("/a"), issuertest.WithClock(clk)),
		b:     issuertest.New(t, issuertest.WithPath("/b"), issuertest.WithClock(clk)),
		ec:    issuertest.New(t, issuertest.WithPath("/ec"), issuertest.WithAlgorithm("ES256"), issuertest.WithClock(clk)),
		multi: issuertest.New(t, issuertest.WithPath("/multi"), issuertest.WithClock(clk)),
		typ:   issuertest.New(t, issuertest.WithPath("/typ"), issuertest.WithClock(clk)),
	}
	env.multi.Rotate()
	var cs []issuer.Config
	for _, iss := range []*issuertest.Issuer{env.a, env.b, env.ec, env.multi, env.typ} {
		c, src := liveConfig(t, iss)
		c.Audiences = []string{"api://a"}
		c.MaxLifetime = 2 * time.Hour
		if iss == env.typ {
			c.RequireTyp = "at+jwt"
		}
		cs = append(cs, c)
		env.srcs = append(env.srcs, src)
	}
	env.reg = newRegistry(t, issuer.Options{Now: clk, TokenCacheSize: -1}, cs...)
	return env
}

func TestSecurityCases(t *testing.T) {
	t.Parallel()
	env := newSecurityEnv(t)
	a, b, ec := env.a, env.b, env.ec
	aud := map[string]any{"aud": "api://a"}
	with := func(kv ...any) map[string]any {
		m := map[string]any{"aud": "api://a"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	good := a.Mint(aud)
	goodParts := strings.Split(good, ".")

	pubDER, err := x509.MarshalPKIXPublicKey(a.Signer().Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	var jwkSet struct{ Keys []json.RawMessage }
	json.Unmarshal(a.JWKS(), &jwkSet)

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"control: good token", good, nil},

		// 1. alg none
		{"1 alg none empty sig", a.SigningInput(map[string]any{"alg": "none"}, aud) + ".", tenantjwt.ErrMalformed},
		{"1 alg none with sig", replaceSig(a.SigningInput(map[string]any{"alg": "none"}, aud)+".x", mustDecode(goodParts[2])), tenantjwt.ErrAlgorithm},
		{"1 alg None", a.MintWith(map[string]any{"alg": "None"}, aud), tenantjwt.ErrAlgorithm},
		{"1 alg NONE", a.MintWith(map[string]any{"alg": "NONE"}, aud), tenantjwt.ErrAlgorithm},
		{"1 alg nOnE", a.MintWith(map[string]any{"alg": "nOnE"}, aud), tenantjwt.ErrAlgorithm},
		{"1 alg missing", a.MintWith(map[string]any{"alg": nil}, aud), tenantjwt.ErrMalformed},

		// 2. signature damage
		{"2 stripped signature", goodParts[0] + "." + goodParts[1] + ".", tenantjwt.ErrMalformed},
		{"2 two segments", goodParts[0] + "." + goodParts[1], tenantjwt.ErrMalformed},
		{"2 truncated signature", good[:len(good)-10], tenantjwt.ErrSignature},
		{"2 tampered payload", goodParts[0] + "." + enc([]byte(`{"iss":"`+a.URL()+`","sub":"admin","aud":"api://a","exp":`+fmt.Sprint(t0.Add(time.Hour).Unix())+`}`)) + "." + goodParts[2], tenantjwt.ErrSignature},
		{"2 flipped signature bit", replaceSig(good, flipBit(mustDecode(goodParts[2]))), tenantjwt.ErrSignature},

		// 3. key confusion
		{"3 HS256 keyed with PEM", hs256(a, pubPEM, aud), tenantjwt.ErrAlgorithm},
		{"3 HS256 keyed with PEM no newline", hs256(a, []byte(strings.TrimSpace(string(pubPEM))), aud), tenantjwt.ErrAlgorithm},
		{"3 HS256 keyed with DER", hs256(a, pubDER, aud), tenantjwt.ErrAlgorithm},
		{"3 HS256 keyed with JWK", hs256(a, jwkSet.Keys[0], aud), tenantjwt.ErrAlgorithm},

		// 4. weak HMAC
		{"4 HS256 empty key", hs256(a, nil, aud), tenantjwt.ErrAlgorithm},
		{"4 HS256 zero byte", hs256(a, []byte{0}, aud), tenantjwt.ErrAlgorithm},
		{"4 HS256 secret", hs256(a, []byte("secret"), aud), tenantjwt.ErrAlgorithm},

		// 5. algorithm outside the allowlist or not fitting the key
		{"5 PS256 on RS256 key", a.MintWith(map[string]any{"alg": "PS256"}, aud), tenantjwt.ErrAlgorithm},
		{"5 RS512 on RS256 key", a.MintWith(map[string]any{"alg": "RS512"}, aud), tenantjwt.ErrAlgorithm},
		{"5 rs256 lower case", a.MintWith(map[string]any{"alg": "rs256"}, aud), tenantjwt.ErrAlgorithm},
		{"5 RS256 with space", a.MintWith(map[string]any{"alg": "RS256 "}, aud), tenantjwt.ErrAlgorithm},
		{"5 ES256 on RSA issuer", a.MintWith(map[string]any{"alg": "ES256"}, aud), tenantjwt.ErrAlgorithm},
		{"5 alg is a number", signRaw(a, `{"alg":256,"kid":"`+a.KID()+`"}`, `{}`), tenantjwt.ErrMalformed},
		{"5 Alg spelled in capitals", signRaw(a, `{"ALG":"RS256","kid":"`+a.KID()+`"}`, `{}`), tenantjwt.ErrMalformed},

		// 6. ECDSA
		{"6 ES256 control", ec.Mint(aud), nil},
		{"6 psychic signature r=s=0", replaceSig(ec.Mint(aud), make([]byte, 64)), tenantjwt.ErrSignature},
		{"6 ES256 short signature", replaceSig(ec.Mint(aud), make([]byte, 63)), tenantjwt.ErrSignature},
		{"6 ES256 DER signature", replaceSig(ec.Mint(aud), derECDSA(mustDecode(strings.Split(ec.Mint(aud), ".")[2]))), tenantjwt.ErrSignature},

		// 7. JWE
		{"7 JWE five segments", enc([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + ".a.b.c.d", tenantjwt.ErrMalformed},
		{"7 enc header in JWS shape", a.MintWith(map[string]any{"enc": "A256GCM"}, aud), tenantjwt.ErrMalformed},
		{"7 zip header", a.MintWith(map[string]any{"zip": "DEF"}, aud), tenantjwt.ErrMalformed},

		// 8. crit, b64, cty
		{"8 crit unknown", a.MintWith(map[string]any{"crit": []string{"exp"}, "exp": 1}, aud), tenantjwt.ErrMalformed},
		{"8 crit empty array", a.MintWith(map[string]any{"crit": []string{}}, aud), tenantjwt.ErrMalformed},
		{"8 b64 false", a.MintWith(map[string]any{"b64": false, "crit": []string{"b64"}}, aud), tenantjwt.ErrMalformed},
		{"8 b64 without crit", a.MintWith(map[string]any{"b64": false}, aud), tenantjwt.ErrMalformed},
		{"8 cty JWT", a.MintWith(map[string]any{"cty": "JWT"}, aud), tenantjwt.ErrMalformed},
		{"8 cty application/jwt", a.MintWith(map[string]any{"cty": "application/jwt"}, aud), tenantjwt.ErrMalformed},

		// 9 (ignored key headers): a jku to an attacker changes nothing
		{"9 jku ignored", a.MintWith(map[string]any{"jku": "https://attacker.example/jwks", "x5u": "https://attacker.example/x"}, aud), nil},

		// 11. kid
		{"11 missing kid, several keys", env.multi.MintWith(map[string]any{"kid": nil}, aud), tenantjwt.ErrKeyNotFound},
		{"11 unknown kid", a.MintWith(map[string]any{"kid": "nope"}, aud), tenantjwt.ErrKeyNotFound},
		{"11 kid is a number", signRaw(a, `{"alg":"RS256","kid":7}`, `{}`), tenantjwt.ErrMalformed},

		// 13. time claims (now = t0, leeway 30s)
		{"13 expired beyond leeway", a.Mint(with("exp", t0.Add(-31*time.Second).Unix())), tenantjwt.ErrExpired},
		{"13 exp == now - leeway", a.Mint(with("exp", t0.Add(-30*time.Second).Unix())), tenantjwt.ErrExpired},
		{"13 expired within leeway", a.Mint(with("exp", t0.Add(-29*time.Second).Unix())), nil},
		{"13 exp missing", a.Mint(with("exp", nil)), tenantjwt.ErrExpired},
		{"13 exp string", a.Mint(with("exp", fmt.Sprint(t0.Add(time.Hour).Unix()))), tenantjwt.ErrExpired},
		{"13 exp null", signRaw(a, hdr(a), `{"iss":"`+a.URL()+`","aud":"api://a","exp":null}`), tenantjwt.ErrExpired},
		{"13 exp negative", a.Mint(with("exp", -1)), tenantjwt.ErrExpired},
		{"13 exp huge", a.Mint(with("exp", 1e20)), tenantjwt.ErrExpired},
		{"13 exp 10k digits", signRaw(a, hdr(a), `{"iss":"`+a.URL()+`","aud":"api://a","exp":`+strings.Repeat("9", 10000)+`}`), tenantjwt.ErrExpired},
		{"13 exp boolean", a.Mint(with("exp", true)), tenantjwt.ErrExpired},
		{"13 nbf in the future", a.Mint(with("nbf", t0.Add(time.Minute).Unix())), tenantjwt.ErrNotYetValid},
		{"13 nbf within leeway", a.Mint(with("nbf", t0.Add(20*time.Second).Unix())), nil},
		{"13 nbf string", a.Mint(with("nbf", "0")), tenantjwt.ErrNotYetValid},
		{"13 iat in the future", a.Mint(with("iat", t0.Add(time.Minute).Unix())), tenantjwt.ErrNotYetValid},
		{"13 lifetime beyond max", a.Mint(with("iat", t0.Add(-2*time.Hour).Unix(), "exp", t0.Add(time.Minute).Unix())), tenantjwt.ErrLifetime},
		{"13 max_lifetime without iat", a.Mint(with("iat", nil)), tenantjwt.ErrLifetime},

		// 14. audience
		{"14 aud missing", a.Mint(map[string]any{}), tenantjwt.ErrAudience},
		{"14 aud wrong", a.Mint(map[string]any{"aud": "api://b"}), tenantjwt.ErrAudience},
		{"14 aud empty array", a.Mint(map[string]any{"aud": []string{}}), tenantjwt.ErrAudience},
		{"14 aud empty string", a.Mint(map[string]any{"aud": ""}), tenantjwt.ErrAudience},
		{"14 aud other case", a.Mint(map[string]any{"aud": "API://A"}), tenantjwt.ErrAudience},
		{"14 aud number", a.Mint(map[string]any{"aud": 1}), tenantjwt.ErrAudience},
		{"14 aud array with number", a.Mint(map[string]any{"aud": []any{1, "api://a"}}), tenantjwt.ErrAudience},
		{"14 aud among others", a.Mint(map[string]any{"aud": []string{"other", "api://a"}}), nil},

		// 15. token type
		{"15 typ JWT", env.typ.Mint(aud), tenantjwt.ErrTokenType},
		{"15 typ missing (ID token)", env.typ.MintWith(map[string]any{"typ": nil}, aud), tenantjwt.ErrTokenType},
		{"15 logout token", env.typ.MintWith(map[string]any{"typ": "logout+jwt"}, aud), tenantjwt.ErrTokenType},
		{"15 client assertion", env.typ.MintWith(map[string]any{"typ": "client-authentication+jwt"}, aud), tenantjwt.ErrTokenType},
		{"15 refresh token", env.typ.MintWith(map[string]any{"typ": "refresh+jwt"}, aud), tenantjwt.ErrTokenType},
		{"15 at+jwt", env.typ.MintWith(map[string]any{"typ": "at+jwt"}, aud), nil},
		{"15 application/at+jwt", env.typ.MintWith(map[string]any{"typ": "application/at+jwt"}, aud), nil},
		{"15 AT+JWT", env.typ.MintWith(map[string]any{"typ": "AT+JWT"}, aud), nil},

		// 16. claim types
		{"16 roles as string", a.Mint(with("roles", "admin,user")), tenantjwt.ErrClaims},
		{"16 roles as object", a.Mint(with("roles", map[string]any{"admin": true})), tenantjwt.ErrClaims},
		{"16 roles with a number", a.Mint(with("roles", []any{"admin", 1})), tenantjwt.ErrClaims},
		{"16 numeric sub", a.Mint(with("sub", 42)), tenantjwt.ErrClaims},
		{"16 null sub", signRaw(a, hdr(a), `{"iss":"`+a.URL()+`","aud":"api://a","sub":null,"iat":`+fmt.Sprint(t0.Unix())+`,"exp":`+fmt.Sprint(t0.Add(time.Hour).Unix())+`}`), tenantjwt.ErrClaims},
		{"16 scope as number", a.Mint(with("scope", 1)), tenantjwt.ErrClaims},
		{"16 jti as number", a.Mint(with("jti", 1)), tenantjwt.ErrClaims},

		// 18. cross issuer
		{"18 iss A signed by B's key", b.Mint(with("iss", a.URL())), tenantjwt.ErrKeyNotFound},
		{"18 iss A, A's kid, B's signature", b.MintWith(map[string]any{"kid": a.KID()}, with("iss", a.URL())), tenantjwt.ErrSignature},

		// 19/20. untrusted or missing iss
		{"19 attacker iss", a.Mint(with("iss", "https://attacker.example/")), tenantjwt.ErrUnknownIssuer},
		{"19 metadata iss", a.Mint(with("iss", "http://169.254.169.254/latest/meta-data/")), tenantjwt.ErrUnknownIssuer},
		{"19 file iss", a.Mint(with("iss", "file:///etc/passwd")), tenantjwt.ErrUnknownIssuer},
		{"19 10KB iss", a.Mint(with("iss", strings.Repeat("x", 10000))), tenantjwt.ErrUnknownIssuer},
		{"19 iss with trailing slash", a.Mint(with("iss", a.URL()+"/")), tenantjwt.ErrUnknownIssuer},
		{"19 iss other case", a.Mint(with("iss", strings.ToUpper(a.URL()))), tenantjwt.ErrUnknownIssuer},
		{"20 no iss", a.Mint(with("iss", nil)), tenantjwt.ErrUnknownIssuer},
		{"20 iss number", a.Mint(with("iss", 1)), tenantjwt.ErrUnknownIssuer},
		{"20 iss array", a.Mint(with("iss", []string{a.URL()})), tenantjwt.ErrUnknownIssuer},

		// 24. shapes
		{"24 empty", "", tenantjwt.ErrMalformed},
		{"24 dot", ".", tenantjwt.ErrMalformed},
		{"24 two dots", "..", tenantjwt.ErrMalformed},
		{"24 a.b", "a.b", tenantjwt.ErrMalformed},
		{"24 a.b.c.d", "a.b.c.d", tenantjwt.ErrMalformed},
		{"24 empty header", "." + goodParts[1] + "." + goodParts[2], tenantjwt.ErrMalformed},
		{"24 empty payload", goodParts[0] + ".." + goodParts[2], tenantjwt.ErrMalformed},
		{"24 padding", goodParts[0] + "=." + goodParts[1] + "." + goodParts[2], tenantjwt.ErrMalformed},
		{"24 std base64 alphabet", strings.ReplaceAll(good, "-", "+"), tenantjwt.ErrMalformed},
		{"24 whitespace", " " + good, tenantjwt.ErrMalformed},
		{"24 JSON serialization", `{"payload":"x","signatures":[]}`, tenantjwt.ErrMalformed},

		// 25. size
		{"25 1 MiB token", strings.Repeat("a", 1<<20), tenantjwt.ErrMalformed},
		{"25 8 MiB of dots", strings.Repeat(".", 8<<20), tenantjwt.ErrMalformed},

		// 26. JSON shapes
		{"26 header array", signRaw(a, `[]`, `{}`), tenantjwt.ErrMalformed},
		{"26 header string", signRaw(a, `"x"`, `{}`), tenantjwt.ErrMalformed},
		{"26 header null", signRaw(a, `null`, `{}`), tenantjwt.ErrMalformed},
		{"26 header truncated", signRaw(a, `{`, `{}`), tenantjwt.ErrMalformed},
		{"26 header deep nesting", signRaw(a, strings.Repeat(`{"a":`, 5000)+"1"+strings.Repeat("}", 5000), `{}`), tenantjwt.ErrMalformed},
		{"26 payload array", signRaw(a, hdr(a), `[]`), tenantjwt.ErrMalformed},
		{"26 payload string", signRaw(a, hdr(a), `"x"`), tenantjwt.ErrMalformed},
		{"26 payload null", signRaw(a, hdr(a), `null`), tenantjwt.ErrMalformed},
		{"26 payload truncated", signRaw(a, hdr(a), `{`), tenantjwt.ErrMalformed},
		{"26 payload trailing data", signRaw(a, hdr(a), `{}{}`), tenantjwt.ErrMalformed},
		{"26 duplicate iss", signRaw(a, hdr(a), `{"iss":"https://attacker.example/","iss":"`+a.URL()+`","aud":"api://a","exp":`+fmt.Sprint(t0.Add(time.Hour).Unix())+`}`), tenantjwt.ErrMalformed},
		{"26 duplicate alg", signRaw(a, `{"alg":"none","alg":"RS256","kid":"`+a.KID()+`"}`, `{}`), tenantjwt.ErrMalformed},
		{"26 nested strings with quotes and braces are fine", signRaw(a, hdr(a), `{"iss":"`+a.URL()+`","aud":"api://a","x":{"k":1,"K2":2},"s":"a:b\":{","iat":`+fmt.Sprint(t0.Unix())+`,"exp":`+fmt.Sprint(t0.Add(time.Hour).Unix())+`}`), nil},
		{"26 nested duplicates are refused (I-JSON)", signRaw(a, hdr(a), `{"iss":"`+a.URL()+`","aud":"api://a","x":{"k":1,"k":2},"iat":`+fmt.Sprint(t0.Unix())+`,"exp":`+fmt.Sprint(t0.Add(time.Hour).Unix())+`}`), tenantjwt.ErrMalformed},
		{"26 payload deep nesting", signRaw(a, hdr(a), `{"x":`+strings.Repeat(`[`, 20000)+strings.Repeat(`]`, 20000)+`}`), tenantjwt.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := env.reg.Verify(context.Background(), tt.token)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				if p == nil || p.IssuerURL() == "" {
					t.Fatalf("Verify returned principal %+v", p)
				}
				agree(t, env.reg, tt.token)
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if !errors.Is(err, tenantjwt.ErrInvalidToken) {
				t.Errorf("error %v does not match ErrInvalidToken", err)
			}
			if p != nil {
				t.Errorf("principal = %+v, want nil", p)
			}
			if len(err.Error()) > 600 {
				t.Errorf("error text is %d bytes long; token content must be truncated", len(err.Error()))
			}
			agree(t, env.reg, tt.token)
		})
	}
}

// TestUntrustedIssuerMakesNoKeyLookup proves case 19: an untrusted iss
// never reaches any key source.
func TestUntrustedIssuerMakesNoKeyLookup(t *testing.T) {
	t.Parallel()
	env := newSecurityEnv(t)
	for _, iss := range []string{"https://attacker.example/", "http://169.254.169.254/", "file:///etc/passwd", strings.Repeat("h", 10<<10), env.a.URL() + "x"} {
		env.reg.Verify(context.Background(), env.a.Mint(map[string]any{"iss": iss, "aud": "api://a"}))
	}
	for i, s := range env.srcs {
		if n := s.lookups.Load(); n != 0 {
			t.Errorf("source %d: %d key lookups, want 0", i, n)
		}
	}
	for _, iss := range []*issuertest.Issuer{env.a, env.b, env.ec, env.multi, env.typ} {
		if n := iss.JWKSRequests(); n != 0 {
			t.Errorf("%s: %d JWKS requests, want 0", iss.URL(), n)
		}
	}
}

func hdr(iss *issuertest.Issuer) string {
	return `{"alg":"` + iss.Algorithm() + `","kid":"` + iss.KID() + `"}`
}

func mustDecode(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func flipBit(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[len(c)/2] ^= 1
	return c
}

// derECDSA re-encodes a raw r||s signature as ASN.1 DER.
func derECDSA(rs []byte) []byte {
	half := len(rs) / 2
	intDER := func(b []byte) []byte {
		for len(b) > 1 && b[0] == 0 {
			b = b[1:]
		}
		if b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return append([]byte{0x02, byte(len(b))}, b...)
	}
	body := append(intDER(rs[:half]), intDER(rs[half:])...)
	return append([]byte{0x30, byte(len(body))}, body...)
}
