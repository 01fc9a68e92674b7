package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
)

// MaxProofKeyBytes caps the JSON of a key embedded in a DPoP proof: room
// for an RSA key of 8192 bits, not for anything larger.
const MaxProofKeyBytes = 4096

// ParseProofKey reads the public JWK a DPoP proof carries in its jwk header
// (RFC 9449 §4.2). That header is the one place where a key embedded in a
// JWS is legitimate: the proof does not say who the client is, only that
// it holds the key the access token is bound to, which the caller checks
// by comparing the thumbprint with the token's cnf.jkt.
//
// The key must pass the rules of a key set's keys (RSA of at least
// MinRSABits, EC P-256/P-384/P-521 with its point on the curve, or
// Ed25519; no private member at all, not symmetric, use and key_ops fit
// for verifying, alg fitting the key). It returns the key and its RFC 7638
// SHA-256 thumbprint (see Thumbprint), base64url without padding. Hostile
// input gives an error, never a panic.
func ParseProofKey(raw []byte) (*Key, string, error) {
	if len(raw) > MaxProofKeyBytes {
		return nil, "", fmt.Errorf("jwks: proof key of %d bytes exceeds %d", len(raw), MaxProofKeyBytes)
	}
	k, _, err := convert(raw)
	if err != nil {
		return nil, "", fmt.Errorf("jwks: proof key: %v", err)
	}
	tp, err := Thumbprint(k.Public)
	if err != nil {
		return nil, "", err
	}
	return k, tp, nil
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of a public key,
// base64url without padding, computed from the key's value rather than
// from any JSON it came in, so that every spelling of one key has one
// thumbprint: the required members only, in lexicographic order, RSA n and
// e without leading zero octets, EC coordinates at the curve's full size
// (RFC 7518 §6.2.1.2), Ed25519 x as is. It accepts what checkPublic
// accepts.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	if err := checkPublic(pub); err != nil {
		return "", fmt.Errorf("jwks: thumbprint: %v", err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	var doc string
	switch p := pub.(type) {
	case *rsa.PublicKey:
		e := big.NewInt(int64(p.E)).Bytes()
		doc = `{"e":"` + b64(e) + `","kty":"RSA","n":"` + b64(p.N.Bytes()) + `"}`
	case *ecdsa.PublicKey:
		// The uncompressed point, 0x04 || x || y, has both coordinates at
		// the curve's full size; checkPublic made sure it encodes.
		pt, _ := p.Bytes()
		size := (len(pt) - 1) / 2
		doc = `{"crv":"` + p.Curve.Params().Name + `","kty":"EC","x":"` + b64(pt[1:1+size]) + `","y":"` + b64(pt[1+size:]) + `"}`
	case ed25519.PublicKey:
		doc = `{"crv":"Ed25519","kty":"OKP","x":"` + b64(p) + `"}`
	}
	sum := sha256.Sum256([]byte(doc))
	return b64(sum[:]), nil
}
