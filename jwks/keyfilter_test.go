package jwks_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantjwt/tenantjwt/jwks"
)

// loadAll loads pub through every path a key can come in: a JWKS document,
// a PEM file (PKIX and, for RSA, PKCS #1) and a DPoP proof's jwk. It
// returns the error of each path, nil when it accepted the key.
func loadAll(t *testing.T, pub any) map[string]error {
	t.Helper()
	errs := map[string]error{}
	_, _, errs["JWKS"] = jwks.Parse(doc(t, jwkOf(t, pub, nil)), jwks.ParseOptions{})
	raw, _ := json.Marshal(jwkOf(t, pub, nil))
	_, _, errs["proof jwk"] = jwks.ParseProofKey(raw)
	blocks := map[string]*pem.Block{}
	if der, err := x509.MarshalPKIXPublicKey(pub); err == nil {
		blocks["PEM PKIX"] = &pem.Block{Type: "PUBLIC KEY", Bytes: der}
	}
	if r, ok := pub.(*rsa.PublicKey); ok {
		blocks["PEM PKCS1"] = &pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(r)}
	}
	for name, b := range blocks {
		path := filepath.Join(t.TempDir(), "key.pem")
		if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errs[name] = jwks.LoadFile(path, jwks.ParseOptions{})
	}
	return errs
}

// TestKeyFilterIsOneForJWKSAndPEM: JWKS, PEM and proof keys pass one
// filter; the PEM path used to skip the RSA exponent check.
func TestKeyFilterIsOneForJWKSAndPEM(t *testing.T) {
	t.Parallel()
	withE := func(e int) *rsa.PublicKey { return &rsa.PublicKey{N: rsa2048.N, E: e} }
	tests := []struct {
		name string
		pub  any
		ok   bool
	}{
		{"RSA 2048, e 65537", &rsa2048.PublicKey, true},
		{"RSA e 3", withE(3), true},
		{"RSA e 1", withE(1), false},
		{"RSA even e", withE(65536), false},
		{"RSA 1024", &rsa1024.PublicKey, false},
		{"EC P-256", &p256.PublicKey, true},
		{"EC P-224", &p224.PublicKey, false},
		{"Ed25519", edPub, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for path, err := range loadAll(t, tt.pub) {
				if (err == nil) != tt.ok {
					t.Errorf("%s: err = %v, want accepted = %v", path, err, tt.ok)
				}
			}
		})
	}
}

// TestECPointOnTheCurve: an EC key whose point is not on its curve is
// refused when the key set (or proof key) is loaded, not at verification.
func TestECPointOnTheCurve(t *testing.T) {
	t.Parallel()
	off := func(m map[string]any) map[string]any {
		y, _ := base64.RawURLEncoding.DecodeString(m["y"].(string))
		y[len(y)-1] ^= 1 // another y for the same x: not on the curve
		m["y"] = b64(y)
		return m
	}
	tests := map[string]map[string]any{
		"y off by one":         off(jwkOf(t, &p256.PublicKey, map[string]any{"kid": "k"})),
		"point at zero":        jwkOf(t, &p256.PublicKey, map[string]any{"kid": "k", "x": b64(make([]byte, 32)), "y": b64(make([]byte, 32))}),
		"x beyond the field":   jwkOf(t, &p256.PublicKey, map[string]any{"kid": "k", "x": b64(bytesOf(0xff, 32))}),
		"coordinates too long": jwkOf(t, &p256.PublicKey, map[string]any{"kid": "k", "x": b64(bytesOf(0x01, 40))}),
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			if set, dropped, err := jwks.Parse(doc(t, m), jwks.ParseOptions{}); err == nil {
				t.Errorf("JWKS kept %d keys (dropped %v)", set.Len(), dropped)
			}
			raw, _ := json.Marshal(m)
			if _, _, err := jwks.ParseProofKey(raw); err == nil {
				t.Error("proof key accepted")
			}
		})
	}
}

func bytesOf(b byte, n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = b
	}
	return s
}

// TestProofKeyWithAnyPrivateMemberIsRefused: a public key that carries any
// private member (even one that does not make jwx read it as a private
// key) is refused, in a proof and in a key set.
func TestProofKeyWithAnyPrivateMemberIsRefused(t *testing.T) {
	t.Parallel()
	one := b64([]byte{1})
	for _, tt := range []struct {
		name string
		pub  any
		mem  string
	}{
		{"RSA p", &rsa2048.PublicKey, "p"},
		{"RSA q", &rsa2048.PublicKey, "q"},
		{"RSA dp", &rsa2048.PublicKey, "dp"},
		{"RSA dq", &rsa2048.PublicKey, "dq"},
		{"RSA qi", &rsa2048.PublicKey, "qi"},
		{"RSA oth", &rsa2048.PublicKey, "oth"},
		{"RSA d", &rsa2048.PublicKey, "d"},
		{"EC d", &p256.PublicKey, "d"},
		{"EC k", &p256.PublicKey, "k"},
		{"Ed25519 d", edPub, "d"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := jwkOf(t, tt.pub, map[string]any{tt.mem: one})
			raw, _ := json.Marshal(m)
			if _, tp, err := jwks.ParseProofKey(raw); err == nil {
				t.Errorf("proof key with %q accepted (thumbprint %s)", tt.mem, tp)
			}
			if _, _, err := jwks.Parse(doc(t, m), jwks.ParseOptions{}); err == nil {
				t.Errorf("key set key with %q accepted", tt.mem)
			}
		})
	}
}

// TestThumbprintIsCanonical: RFC 7638 thumbprints come from the key's
// value: leading zero octets of n and e do not change them, and an e too
// large for the verifier is refused, never truncated into another key.
func TestThumbprintIsCanonical(t *testing.T) {
	t.Parallel()
	tp := func(m map[string]any) (string, error) {
		raw, _ := json.Marshal(m)
		_, s, err := jwks.ParseProofKey(raw)
		return s, err
	}
	want, err := jwks.Thumbprint(&rsa2048.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	n := rsa2048.N.Bytes()
	for name, extra := range map[string]map[string]any{
		"minimal":             nil,
		"n with a zero octet": {"n": b64(append([]byte{0}, n...))},
		"e with zero octets":  {"e": b64([]byte{0, 0, 1, 0, 1})},
	} {
		got, err := tp(jwkOf(t, &rsa2048.PublicKey, extra))
		if err != nil || got != want {
			t.Errorf("%s: thumbprint %s, err %v; want %s", name, got, err, want)
		}
	}
	for name, e := range map[string][]byte{
		"e of 2^64 + 65537": {1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1},
		"e of 2^32 + 65537": {1, 0, 0, 1, 0, 1},
		"e of 2^31 + 1":     {0x80, 0, 0, 1},
	} {
		if got, err := tp(jwkOf(t, &rsa2048.PublicKey, map[string]any{"e": b64(e)})); err == nil {
			t.Errorf("%s: accepted with thumbprint %s (the 65537 key's is %s)", name, got, want)
		}
	}
}
