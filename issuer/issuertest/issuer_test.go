package issuertest_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// verifyStdlib checks a token's signature against the served JWKS with the
// standard library, independently of the issuer package.
func verifyStdlib(t *testing.T, iss *issuertest.Issuer, token string) (header, claims map[string]any) {
	t.Helper()
	resp, err := http.Get(iss.JWKSURL())
	if err != nil {
		t.Fatalf("get jwks: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	set, dropped, err := jwks.Parse(body, jwks.ParseOptions{})
	if err != nil {
		t.Fatalf("parse jwks: %v (dropped %v)", err, dropped)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	dec := func(s string, v any) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if v != nil {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
		}
	}
	dec(parts[0], &header)
	dec(parts[1], &claims)
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("decode signature: %v", err)
	}
	kid, _ := header["kid"].(string)
	alg, _ := header["alg"].(string)
	key, ok := set.Lookup(kid)
	if !ok {
		t.Fatalf("kid %q not published", kid)
	}
	if !key.Allows(alg) {
		t.Fatalf("key does not allow %q", alg)
	}
	input := []byte(parts[0] + "." + parts[1])
	hashes := map[byte]crypto.Hash{'2': crypto.SHA256, '3': crypto.SHA384, '5': crypto.SHA512}
	var h crypto.Hash
	if alg != "EdDSA" {
		h = hashes[alg[2]]
	}
	digest := func() []byte { d := h.New(); d.Write(input); return d.Sum(nil) }
	switch pub := key.Public.(type) {
	case *rsa.PublicKey:
		if alg[0] == 'P' {
			err = rsa.VerifyPSS(pub, h, digest(), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			err = rsa.VerifyPKCS1v15(pub, h, digest(), sig)
		}
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			t.Fatalf("ecdsa signature length %d, want %d", len(sig), 2*size)
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(pub, digest(), r, s) {
			err = io.EOF
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, input, sig) {
			err = io.EOF
		}
	}
	if err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	return header, claims
}

func TestMintVerifiesForEveryAlgorithm(t *testing.T) {
	for _, alg := range jwks.Algorithms {
		t.Run(alg, func(t *testing.T) {
			iss := issuertest.New(t, issuertest.WithAlgorithm(alg))
			tok := iss.Mint(map[string]any{"roles": []string{"admin"}})
			header, claims := verifyStdlib(t, iss, tok)
			if got := header["alg"]; got != alg {
				t.Errorf("header alg = %v, want %v", got, alg)
			}
			if got := claims["iss"]; got != iss.URL() {
				t.Errorf("iss = %v, want %v", got, iss.URL())
			}
			if got := claims["sub"]; got != "test-subject" {
				t.Errorf("sub = %v, want test-subject", got)
			}
		})
	}
}

func TestMintDefaultsAndOverrides(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	iss := issuertest.New(t, issuertest.WithClock(func() time.Time { return now }))
	tok := iss.MintWith(map[string]any{"typ": "at+jwt", "kid": nil}, map[string]any{"sub": nil, "exp": 5})
	parts := strings.Split(tok, ".")
	var h, c map[string]any
	b, _ := base64.RawURLEncoding.DecodeString(parts[0])
	json.Unmarshal(b, &h)
	b, _ = base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(b, &c)
	if h["typ"] != "at+jwt" {
		t.Errorf("typ = %v, want at+jwt", h["typ"])
	}
	if _, ok := h["kid"]; ok {
		t.Errorf("kid present, want deleted")
	}
	if _, ok := c["sub"]; ok {
		t.Errorf("sub present, want deleted")
	}
	if got, want := c["exp"], float64(5); got != want {
		t.Errorf("exp = %v, want %v", got, want)
	}
	if got, want := c["iat"], float64(now.Unix()); got != want {
		t.Errorf("iat = %v, want %v", got, want)
	}
}

func TestRotateAndRetire(t *testing.T) {
	iss := issuertest.New(t, issuertest.WithAlgorithm("ES256"))
	old := iss.KID()
	newKID := iss.Rotate()
	if newKID == old {
		t.Fatalf("Rotate kept kid %q", old)
	}
	if got := iss.KID(); got != newKID {
		t.Errorf("KID() = %q, want %q", got, newKID)
	}
	tok := iss.Mint(nil)
	verifyStdlib(t, iss, tok)
	if n := len(keysIn(t, iss)); n != 2 {
		t.Fatalf("published %d keys, want 2", n)
	}
	if !iss.Retire(old) {
		t.Fatalf("Retire(%q) = false, want true", old)
	}
	if iss.Retire(old) {
		t.Errorf("second Retire = true, want false")
	}
	if got := keysIn(t, iss); len(got) != 1 || got[0] != newKID {
		t.Errorf("published %v, want [%s]", got, newKID)
	}
	iss.Rotate()
	iss.RemoveOldKeys()
	if got := keysIn(t, iss); len(got) != 1 || got[0] != iss.KID() {
		t.Errorf("after RemoveOldKeys published %v, want [%s]", got, iss.KID())
	}
}

func keysIn(t *testing.T, iss *issuertest.Issuer) []string {
	t.Helper()
	set, _, err := jwks.Parse(iss.JWKS(), jwks.ParseOptions{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var out []string
	for _, k := range set.Keys() {
		out = append(out, k.ID)
	}
	return out
}

func TestDiscoveryAndCounters(t *testing.T) {
	tests := []struct {
		name, path, discoveryPath, wantIssuer string
	}{
		{"root", "", "/.well-known/openid-configuration", ""},
		{"trailing slash", "/", "/.well-known/openid-configuration", "/"},
		{"realm", "/realms/acme", "/realms/acme/.well-known/openid-configuration", "/realms/acme"},
		{"template", "/{tenant}/v2.0", "/t1/v2.0/.well-known/openid-configuration", "/t1/v2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := issuertest.New(t, issuertest.WithPath(tt.path), issuertest.WithMaxAge(time.Minute))
			base := strings.TrimSuffix(iss.URL(), tt.path)
			resp, err := http.Get(base + tt.discoveryPath)
			if err != nil {
				t.Fatal(err)
			}
			var meta struct{ Issuer, JWKSURI string }
			var raw map[string]any
			json.NewDecoder(resp.Body).Decode(&raw)
			resp.Body.Close()
			meta.Issuer, _ = raw["issuer"].(string)
			meta.JWKSURI, _ = raw["jwks_uri"].(string)
			if want := base + tt.wantIssuer; meta.Issuer != want {
				t.Errorf("issuer = %q, want %q", meta.Issuer, want)
			}
			if meta.JWKSURI != iss.JWKSURL() {
				t.Errorf("jwks_uri = %q, want %q", meta.JWKSURI, iss.JWKSURL())
			}
			resp, err = http.Get(meta.JWKSURI)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Cache-Control"); got != "public, max-age=60" {
				t.Errorf("Cache-Control = %q, want public, max-age=60", got)
			}
			if got := iss.JWKSRequests(); got != 1 {
				t.Errorf("JWKSRequests = %d, want 1", got)
			}
			if got := iss.DiscoveryRequests(); got != 1 {
				t.Errorf("DiscoveryRequests = %d, want 1", got)
			}
		})
	}
}

func TestSetJWKSHandler(t *testing.T) {
	iss := issuertest.New(t)
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	resp, err := http.Get(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", resp.StatusCode)
	}
	iss.SetJWKSHandler(nil)
	resp, err = http.Get(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	if got := iss.JWKSRequests(); got != 2 {
		t.Errorf("JWKSRequests = %d, want 2", got)
	}
}

func TestWithKeyKeepsKID(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	a := issuertest.New(t, issuertest.WithKey(priv, ""))
	b := issuertest.New(t, issuertest.WithKey(priv, ""))
	if a.KID() != b.KID() {
		t.Errorf("kids differ for the same key: %q, %q", a.KID(), b.KID())
	}
	if got := a.Algorithm(); got != "EdDSA" {
		t.Errorf("Algorithm = %q, want EdDSA", got)
	}
	c := issuertest.New(t, issuertest.WithKey(priv, "fixed"))
	if got := c.KID(); got != "fixed" {
		t.Errorf("KID = %q, want fixed", got)
	}
	if _, err := issuertest.NewServer(issuertest.WithKey(priv, ""), issuertest.WithAlgorithm("RS256")); err == nil {
		t.Errorf("NewServer with Ed25519 key and RS256: err = nil, want error")
	}
	if _, err := issuertest.NewServer(issuertest.WithAlgorithm("HS256")); err == nil {
		t.Errorf("NewServer with HS256: err = nil, want error")
	}
}

func TestStaticConfig(t *testing.T) {
	iss := issuertest.New(t)
	c := iss.StaticConfig()
	if c.JWKSURI != "" || c.Keys == nil {
		t.Fatalf("StaticConfig = %+v, want Keys and no jwks_uri", c)
	}
	if _, err := c.Keys.Lookup(context.Background(), iss.KID()); err != nil {
		t.Errorf("Lookup(current kid): %v", err)
	}
	if got := iss.JWKSRequests(); got != 0 {
		t.Errorf("JWKSRequests = %d, want 0", got)
	}
}

func TestLocalSourceFollowsRotation(t *testing.T) {
	iss := issuertest.New(t)
	src := iss.Source()
	old := iss.KID()
	k1, err := src.Lookup(context.Background(), old)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	newKID := iss.Rotate()
	k2, err := src.Lookup(context.Background(), old)
	if err != nil || k2 != k1 {
		t.Errorf("old key after Rotate: %p, %v; want the same pointer %p", k2, err, k1)
	}
	if _, err := src.Lookup(context.Background(), newKID); err != nil {
		t.Errorf("new key: %v", err)
	}
	iss.Retire(old)
	if _, err := src.Lookup(context.Background(), old); err == nil {
		t.Errorf("retired key still found")
	}
	if got := iss.JWKSRequests(); got != 0 {
		t.Errorf("JWKSRequests = %d, want 0", got)
	}
}

func TestNewRegistry(t *testing.T) {
	a := issuertest.New(t, issuertest.WithPath("/a"))
	b := issuertest.New(t, issuertest.WithPath("/b"), issuertest.WithAlgorithm("ES384"))
	reg := issuertest.NewRegistry(t, issuer.Options{}, a, b)
	for _, iss := range []*issuertest.Issuer{a, b} {
		p, err := reg.Verify(context.Background(), iss.Mint(map[string]any{"sub": "alice"}))
		if err != nil {
			t.Fatalf("%s: Verify: %v", iss.URL(), err)
		}
		if p.IssuerURL() != iss.URL() || p.Subject() != "alice" {
			t.Errorf("principal = %+v", p)
		}
	}
}
