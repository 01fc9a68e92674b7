package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
)

// MinRSABits is the smallest RSA modulus accepted. Smaller keys are dropped
// when a key set is loaded.
const MinRSABits = 2048

// Key is one public signing key, filtered and converted when its key set
// was loaded, so that verification needs no per-request conversion.
// A Key is immutable.
type Key struct {
	// ID is the JWK kid ("" when the key has none).
	ID string
	// Algorithm is the JWK alg member ("" when absent). When set, a token
	// must use exactly this algorithm with the key.
	Algorithm string
	// Public is *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	Public crypto.PublicKey
	// Issuer is the non-standard JWK "issuer" member some IdPs publish
	// (Entra ID), "" when absent.
	Issuer string
}

// checkPublic is the one key filter, for JWKS, PEM and DPoP proof keys
// alike: RSA of at least MinRSABits with an odd exponent from 3 to 2^31-1,
// EC on P-256, P-384 or P-521 with a point on the curve, or Ed25519 of the
// right size. Anything else is refused with the reason.
func checkPublic(pub crypto.PublicKey) error {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N == nil || p.N.BitLen() < MinRSABits {
			return fmt.Errorf("RSA key shorter than %d bits", MinRSABits)
		}
		if p.E < 3 || p.E%2 == 0 || p.E > 1<<31-1 {
			return errors.New("bad RSA exponent")
		}
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return errors.New("unsupported curve")
		}
		//lint:ignore SA1019 a key built from coordinates (jwx) may lack one, and Bytes would panic
		if p.X == nil || p.Y == nil {
			return errors.New("EC point missing")
		}
		// Bytes validates the point: in range and on the curve.
		if _, err := p.Bytes(); err != nil {
			return errors.New("EC point not on the curve")
		}
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return errors.New("bad Ed25519 key size")
		}
	default:
		return fmt.Errorf("unsupported key type %T", pub)
	}
	return nil
}

// Allows reports whether a token signed with alg may be verified with k:
// the algorithm's family and curve must fit the key's type, and the key's
// own alg, if any, must be alg exactly. Symmetric and unknown algorithms are
// never allowed, nor is a nil key.
func (k *Key) Allows(alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		if pub == nil {
			return false
		}
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case *ecdsa.PublicKey:
		if pub == nil {
			return false
		}
		switch alg {
		case "ES256":
			return pub.Curve == elliptic.P256()
		case "ES384":
			return pub.Curve == elliptic.P384()
		case "ES512":
			return pub.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// Algorithms lists the JWS algorithms tenantjwt can verify, all asymmetric.
var Algorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// KnownAlgorithm reports whether alg is in Algorithms (exact spelling).
func KnownAlgorithm(alg string) bool {
	for _, a := range Algorithms {
		if a == alg {
			return true
		}
	}
	return false
}
