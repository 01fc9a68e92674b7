package jwt_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"testing"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// hashOf is the SHA-2 function of a JWS algorithm name (RS256 → SHA-256).
func hashOf(alg string) crypto.Hash {
	switch alg[2:] {
	case "256":
		return crypto.SHA256
	case "384":
		return crypto.SHA384
	}
	return crypto.SHA512
}

// sign signs msg as RFC 7518 says for alg, with the standard library;
// pss sets the PSS salt length (ignored by other algorithms).
func sign(t *testing.T, alg string, k crypto.Signer, msg []byte, pssSalt int) []byte {
	t.Helper()
	var digest []byte
	if alg != "EdDSA" {
		h := hashOf(alg).New()
		h.Write(msg)
		digest = h.Sum(nil)
	}
	var sig []byte
	var err error
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if alg[0] == 'P' {
			sig, err = rsa.SignPSS(rand.Reader, k, hashOf(alg), digest, &rsa.PSSOptions{SaltLength: pssSalt})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, hashOf(alg), digest)
		}
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k, digest)
		if err == nil {
			size := (k.Curve.Params().BitSize + 7) / 8
			sig = make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
		}
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, msg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// signers returns one fresh key per algorithm of jwks.Algorithms (RSA
// keys from the fixture pool) and its jwks.Key.
func signers(t *testing.T) map[string]crypto.Signer {
	t.Helper()
	out := make(map[string]crypto.Signer, len(jwks.Algorithms))
	for _, alg := range jwks.Algorithms {
		k, err := issuertest.FixtureKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		out[alg] = k
	}
	return out
}

// TestVerifySignatureAlgorithms checks every supported algorithm: a
// genuine signature verifies, and a changed message, a flipped bit, a
// truncated, extended or empty signature are refused as ErrSignature.
func TestVerifySignatureAlgorithms(t *testing.T) {
	msg := []byte("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0")
	for alg, k := range signers(t) {
		t.Run(alg, func(t *testing.T) {
			key := &jwks.Key{ID: "k1", Public: k.Public()}
			sig := sign(t, alg, k, msg, rsa.PSSSaltLengthEqualsHash)
			if err := jwt.VerifySignature(alg, key, msg, sig); err != nil {
				t.Fatalf("genuine signature refused: %v", err)
			}
			// The key's own alg, when set, must be this one.
			withAlg := &jwks.Key{ID: "k1", Algorithm: alg, Public: k.Public()}
			if err := jwt.VerifySignature(alg, withAlg, msg, sig); err != nil {
				t.Fatalf("genuine signature refused with the key's alg set: %v", err)
			}
			flipped := append([]byte(nil), sig...)
			flipped[len(flipped)/2] ^= 1
			changed := append([]byte(nil), msg...)
			changed[0] ^= 1
			for name, c := range map[string]struct{ msg, sig []byte }{
				"changed message":    {changed, sig},
				"flipped bit":        {msg, flipped},
				"truncated":          {msg, sig[:len(sig)-1]},
				"extended":           {msg, append(append([]byte(nil), sig...), 0)},
				"zero byte in front": {msg, append([]byte{0}, sig...)},
				"empty":              {msg, nil},
			} {
				err := jwt.VerifySignature(alg, key, c.msg, c.sig)
				if !errors.Is(err, tenantjwt.ErrSignature) {
					t.Errorf("%s: got %v, want ErrSignature", name, err)
				}
			}
		})
	}
}

// TestVerifySignatureKeyFit checks that the algorithm must fit the key:
// family, curve and the key's own alg; unknown and symmetric algorithms
// never verify. All are refused as ErrAlgorithm, before any crypto.
func TestVerifySignatureKeyFit(t *testing.T) {
	keys := signers(t)
	msg := []byte("a.b")
	tests := []struct {
		name   string
		alg    string // the token's alg
		signer string // the algorithm whose key signs; "" for no key
		keyAlg string // the key's own alg
	}{
		{"RSA key, ES256", "ES256", "RS256", ""},
		{"RSA key, EdDSA", "EdDSA", "RS256", ""},
		{"P-256 key, ES384", "ES384", "ES256", ""},
		{"P-384 key, ES256", "ES256", "ES384", ""},
		{"P-521 key, ES384", "ES384", "ES512", ""},
		{"P-256 key, RS256", "RS256", "ES256", ""},
		{"Ed25519 key, ES256", "ES256", "EdDSA", ""},
		{"Ed25519 key, RS256", "RS256", "EdDSA", ""},
		{"key alg RS256, token PS256", "PS256", "PS256", "RS256"},
		{"key alg PS256, token RS256", "RS256", "RS256", "PS256"},
		{"HS256", "HS256", "RS256", ""},
		{"none", "none", "RS256", ""},
		{"lower case", "rs256", "RS256", ""},
		{"ES256K", "ES256K", "ES256", ""},
		{"Ed25519 spelled as a curve", "Ed25519", "EdDSA", ""},
		{"no key", "RS256", "", ""},
	}
	for _, tt := range tests {
		var key *jwks.Key
		var sig []byte
		if tt.signer != "" {
			// A signature the key did make, so only the fit can refuse it.
			k := keys[tt.signer]
			key = &jwks.Key{Algorithm: tt.keyAlg, Public: k.Public()}
			sig = sign(t, tt.signer, k, msg, rsa.PSSSaltLengthEqualsHash)
		}
		err := jwt.VerifySignature(tt.alg, key, msg, sig)
		if !errors.Is(err, tenantjwt.ErrAlgorithm) {
			t.Errorf("%s: got %v, want ErrAlgorithm", tt.name, err)
		}
	}
}

// TestVerifySignaturePSSSalt: a PSS signature verifies whatever its salt
// length (RFC 7518 §3.5's, as long as the hash; shorter; the longest the
// key allows), as jwx accepted it, and never over another message.
func TestVerifySignaturePSSSalt(t *testing.T) {
	keys := signers(t)
	msg := []byte("a.b")
	for _, alg := range []string{"PS256", "PS384", "PS512"} {
		k := keys[alg]
		key := &jwks.Key{Public: k.Public()}
		// RFC 7518's salt (as long as the hash), a shorter one, and the
		// longest the key allows (rsa.PSSSaltLengthAuto when signing, as
		// the old jwt-go signed): all are accepted, as jwx accepted them.
		for _, salt := range []int{hashOf(alg).Size(), 16, rsa.PSSSaltLengthAuto} {
			sig := sign(t, alg, k, msg, salt)
			if err := jwt.VerifySignature(alg, key, msg, sig); err != nil {
				t.Errorf("%s with salt length %d (0: the longest): %v", alg, salt, err)
			}
			if err := jwt.VerifySignature(alg, key, []byte("a.c"), sig); !errors.Is(err, tenantjwt.ErrSignature) {
				t.Errorf("%s salt %d over another message: got %v, want ErrSignature", alg, salt, err)
			}
		}
	}
}

func digestOf(alg string, msg []byte) []byte {
	h := hashOf(alg).New()
	h.Write(msg)
	return h.Sum(nil)
}

// TestVerifySignatureECDSAEncoding checks ES256 signature encodings other
// than fixed-size R || S: DER, R and S of the wrong size, zero values
// (CVE-2022-21449), and values not below the group order.
func TestVerifySignatureECDSAEncoding(t *testing.T) {
	keys := signers(t)
	msg := []byte("a.b")
	k := keys["ES256"].(*ecdsa.PrivateKey)
	key := &jwks.Key{Public: k.Public()}
	r, s, err := ecdsa.Sign(rand.Reader, k, digestOf("ES256", msg))
	if err != nil {
		t.Fatal(err)
	}
	der, err := ecdsa.SignASN1(rand.Reader, k, digestOf("ES256", msg))
	if err != nil {
		t.Fatal(err)
	}
	n := elliptic.P256().Params().N
	fixed := func(r, s *big.Int, size int) []byte {
		b := make([]byte, 2*size)
		r.FillBytes(b[:size])
		s.FillBytes(b[size:])
		return b
	}
	if err := jwt.VerifySignature("ES256", key, msg, fixed(r, s, 32)); err != nil {
		t.Fatalf("genuine signature refused: %v", err)
	}
	tests := map[string][]byte{
		"DER":                      der,
		"R and S of 33 bytes":      fixed(r, s, 33),
		"r = s = 0":                make([]byte, 64),
		"s = 0":                    fixed(r, new(big.Int), 32),
		"s + n (same value mod n)": append(r.FillBytes(make([]byte, 32)), new(big.Int).Add(s, n).FillBytes(make([]byte, 33))...),
		"r = n":                    fixed(n, s, 32),
	}
	for name, sig := range tests {
		if err := jwt.VerifySignature("ES256", key, msg, sig); !errors.Is(err, tenantjwt.ErrSignature) {
			t.Errorf("%s: got %v, want ErrSignature", name, err)
		}
	}
}

// TestVerifySignatureMalformedKey checks that keys built outside package
// jwks, which skipped its key filter, fail closed without a panic.
func TestVerifySignatureMalformedKey(t *testing.T) {
	msg := []byte("a.b")
	// An odd 512-bit modulus: crypto/rsa refuses keys that small.
	smallN := new(big.Int).SetBytes(append(bytesOf(1<<62, 63), 1))
	tests := []struct {
		name string
		alg  string
		pub  crypto.PublicKey
		sig  []byte
	}{
		{"RSA without modulus", "RS256", &rsa.PublicKey{E: 65537}, make([]byte, 256)},
		{"nil RSA key", "RS256", (*rsa.PublicKey)(nil), make([]byte, 256)},
		{"RSA of 512 bits", "RS256", &rsa.PublicKey{N: smallN, E: 65537}, make([]byte, 64)},
		{"EC point missing", "ES256", &ecdsa.PublicKey{Curve: elliptic.P256()}, make([]byte, 64)},
		//lint:ignore SA1019 a key built from coordinates is the malformed key under test
		{"EC point off the curve", "ES256", &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}, append(bytesOf(1, 32), bytesOf(1, 32)...)},
		{"nil EC key", "ES256", (*ecdsa.PublicKey)(nil), make([]byte, 64)},
		{"Ed25519 key of 31 bytes", "EdDSA", ed25519.PublicKey(make([]byte, 31)), make([]byte, 64)},
		{"Ed25519 key of 33 bytes", "EdDSA", ed25519.PublicKey(make([]byte, 33)), make([]byte, 64)},
		{"no public key", "RS256", nil, make([]byte, 256)},
	}
	for _, tt := range tests {
		err := jwt.VerifySignature(tt.alg, &jwks.Key{Public: tt.pub}, msg, tt.sig)
		if err == nil || !errors.Is(err, tenantjwt.ErrInvalidToken) {
			t.Errorf("%s: got %v, want a refusal", tt.name, err)
		}
	}
}

// bytesOf is v as a big-endian integer of size bytes.
func bytesOf(v int64, size int) []byte { return big.NewInt(v).FillBytes(make([]byte, size)) }
