package jwks

import (
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwk"
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
// MinRSABits, EC P-256/P-384/P-521 or Ed25519, no private members, not
// symmetric, use and key_ops fit for verifying, alg fitting the key). It
// returns the key and its RFC 7638 SHA-256 thumbprint, base64url without
// padding. Hostile input gives an error, never a panic.
func ParseProofKey(raw []byte) (*Key, string, error) {
	if len(raw) > MaxProofKeyBytes {
		return nil, "", fmt.Errorf("jwks: proof key of %d bytes exceeds %d", len(raw), MaxProofKeyBytes)
	}
	k, jk, _, err := convert(raw)
	if err != nil {
		return nil, "", fmt.Errorf("jwks: proof key: %v", err)
	}
	tp, err := thumbprint(jk)
	if err != nil {
		return nil, "", err
	}
	return k, tp, nil
}

// thumbprint computes the RFC 7638 SHA-256 thumbprint with jwx, which
// builds it from the key's required members only.
func thumbprint(jk jwk.Key) (tp string, err error) {
	defer func() {
		if r := recover(); r != nil {
			tp, err = "", errors.New("jwks: proof key: no thumbprint")
		}
	}()
	sum, err := jk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("jwks: proof key thumbprint: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}
