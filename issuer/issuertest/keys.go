package issuertest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"github.com/tenantjwt/tenantjwt/jwks"
)

// signingKey is one key of the issuer with the algorithm it signs with.
type signingKey struct {
	kid       string
	alg       string
	signer    crypto.Signer
	published bool
	parsed    *jwks.Key // the public key as a verifier sees it, built once
}

// generateKey makes a fresh key fit for alg.
func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("issuertest: unsupported algorithm %q", alg)
}

// algorithmFor picks the default algorithm of a key type.
func algorithmFor(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("issuertest: unsupported key type %T", pub)
}

// fits reports whether alg can be used with the public key.
func fits(alg string, pub crypto.PublicKey) bool {
	if _, ok := pub.(*rsa.PublicKey); ok {
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
		return false
	}
	want, err := algorithmFor(pub)
	return err == nil && want == alg
}

// thumbprintKID derives a stable kid from the public key, so a persisted
// key keeps its kid across restarts.
func thumbprintKID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("issuertest: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8]), nil
}

// hashFor maps an algorithm to its hash.
func hashFor(alg string) (crypto.Hash, bool) {
	switch alg {
	case "RS256", "PS256", "ES256":
		return crypto.SHA256, true
	case "RS384", "PS384", "ES384":
		return crypto.SHA384, true
	case "RS512", "PS512", "ES512":
		return crypto.SHA512, true
	case "EdDSA":
		return 0, true
	}
	return 0, false
}

// sign produces the JWS signature of input with the standard library
// only, so tokens are made independently of the verifier under test.
func (k *signingKey) sign(input []byte) ([]byte, error) {
	h, ok := hashFor(k.alg)
	if !ok {
		return nil, fmt.Errorf("issuertest: unsupported algorithm %q", k.alg)
	}
	if h == 0 { // EdDSA signs the message itself
		return k.signer.Sign(rand.Reader, input, crypto.Hash(0))
	}
	d := h.New()
	d.Write(input)
	digest := d.Sum(nil)
	switch k.alg[0] {
	case 'R':
		return k.signer.Sign(rand.Reader, digest, h)
	case 'P':
		return k.signer.Sign(rand.Reader, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h})
	case 'E':
		der, err := k.signer.Sign(rand.Reader, digest, h)
		if err != nil {
			return nil, err
		}
		// crypto.Signer gives ASN.1 DER; JWS wants fixed-length r||s.
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			return nil, fmt.Errorf("issuertest: ecdsa signature: %w", err)
		}
		pub, ok := k.signer.Public().(*ecdsa.PublicKey)
		if !ok {
			return nil, errors.New("issuertest: not an ECDSA key")
		}
		size := (pub.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		rs.R.FillBytes(out[:size])
		rs.S.FillBytes(out[size:])
		return out, nil
	}
	return nil, fmt.Errorf("issuertest: unsupported algorithm %q", k.alg)
}

// jwk renders the public key as a JWK object.
func (k *signingKey) jwk() (map[string]any, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	m := map[string]any{"kid": k.kid, "alg": k.alg, "use": "sig"}
	switch pub := k.signer.Public().(type) {
	case *rsa.PublicKey:
		m["kty"] = "RSA"
		m["n"] = b64(pub.N.Bytes())
		m["e"] = b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // 0x04 || X || Y, each fixed length
		if err != nil {
			return nil, fmt.Errorf("issuertest: %w", err)
		}
		size := (len(raw) - 1) / 2
		m["kty"] = "EC"
		m["crv"] = pub.Curve.Params().Name
		m["x"] = b64(raw[1 : 1+size])
		m["y"] = b64(raw[1+size:])
	case ed25519.PublicKey:
		m["kty"] = "OKP"
		m["crv"] = "Ed25519"
		m["x"] = b64(pub)
	default:
		return nil, fmt.Errorf("issuertest: unsupported key type %T", pub)
	}
	return m, nil
}
