package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"math/big"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// The signature check calls the standard library's verifiers directly
// (RFC 7518 §3.3–3.5 and RFC 8037 §3.1): the message is hashed on the
// stack, and nothing is converted or allocated per call beyond what
// crypto/rsa, crypto/ecdsa and crypto/ed25519 do themselves. Every rule
// is explicit here: the algorithm must be one of jwks.Algorithms and fit
// the key (Key.Allows: key type, curve, the key's own alg), the signature
// must have the exact length the algorithm and key give. PSS signatures
// may use any salt length, as before and as jwx and golang-jwt accept.

// pssOptions accepts any PSS salt length (the hash comes from the
// algorithm). RFC 7518 §3.5 says the salt is as long as the hash, but
// signers that use the longest salt the key allows (the old jwt-go did)
// exist, the salt length weakens nothing, and issue 16 kept verification's
// behaviour: so the length is read from the signature, not imposed.
var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}

// VerifySignature checks sig over signingInput (the exact bytes our own
// strict split produced) with key. The caller has already checked that alg
// is allowed for the issuer and fits the key; this re-checks the fit so the
// function is safe on its own. A key that does not fit, and a malformed
// key built outside package jwks, fail closed with an error, never a panic.
func VerifySignature(alg string, key *jwks.Key, signingInput, sig []byte) error {
	a, ok := algorithms(alg)
	if !ok || key == nil || !key.Allows(alg) {
		return fmt.Errorf("issuer: no verifier for alg %.16q with this key: %w", alg, tenantjwt.ErrAlgorithm)
	}
	if !a.verify(key.Public, signingInput, sig) {
		return fmt.Errorf("issuer: %s signature with kid %.64q: %w", alg, key.ID, tenantjwt.ErrSignature)
	}
	return nil
}

// algorithm is what one JWS algorithm of jwks.Algorithms asks for.
type algorithm struct {
	hash  crypto.Hash    // SHA-2 function; 0 for EdDSA, which hashes itself
	pss   bool           // RSASSA-PSS rather than RSASSA-PKCS1-v1_5
	curve elliptic.Curve // ECDSA: the only curve allowed
	size  int            // ECDSA: byte size of R and of S
}

// algorithms returns the description of alg, by exact name.
func algorithms(alg string) (algorithm, bool) {
	switch alg {
	case "RS256":
		return algorithm{hash: crypto.SHA256}, true
	case "RS384":
		return algorithm{hash: crypto.SHA384}, true
	case "RS512":
		return algorithm{hash: crypto.SHA512}, true
	case "PS256":
		return algorithm{hash: crypto.SHA256, pss: true}, true
	case "PS384":
		return algorithm{hash: crypto.SHA384, pss: true}, true
	case "PS512":
		return algorithm{hash: crypto.SHA512, pss: true}, true
	case "ES256":
		return algorithm{hash: crypto.SHA256, curve: elliptic.P256(), size: 32}, true
	case "ES384":
		return algorithm{hash: crypto.SHA384, curve: elliptic.P384(), size: 48}, true
	case "ES512":
		return algorithm{hash: crypto.SHA512, curve: elliptic.P521(), size: 66}, true
	case "EdDSA":
		return algorithm{}, true
	}
	return algorithm{}, false
}

// verify reports whether sig is a valid signature of msg by pub under a.
// A key type a does not fit gives false.
func (a algorithm) verify(pub crypto.PublicKey, msg, sig []byte) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return k != nil && a.verifyRSA(k, msg, sig)
	case *ecdsa.PublicKey:
		return k != nil && a.verifyECDSA(k, msg, sig)
	case ed25519.PublicKey:
		// ed25519.Verify panics on a key of the wrong size.
		return a.hash == 0 && len(k) == ed25519.PublicKeySize &&
			len(sig) == ed25519.SignatureSize && ed25519.Verify(k, msg, sig)
	}
	return false
}

// verifyRSA checks RS256/384/512 (RSASSA-PKCS1-v1_5) and PS256/384/512
// (RSASSA-PSS, MGF1 with the same hash, any salt length). The
// signature has exactly the modulus' length (RFC 8017 §8.1.2, §8.2.2).
func (a algorithm) verifyRSA(k *rsa.PublicKey, msg, sig []byte) bool {
	if a.hash == 0 || a.curve != nil || k.N == nil || len(sig) != k.Size() {
		return false
	}
	var sum [sha512.Size]byte
	digest := a.digest(msg, &sum)
	if a.pss {
		return rsa.VerifyPSS(k, a.hash, digest, sig, pssOptions) == nil
	}
	return rsa.VerifyPKCS1v15(k, a.hash, digest, sig) == nil
}

// verifyECDSA checks ES256/384/512: the signature is R || S, each an
// unsigned big-endian integer of the curve's byte size (RFC 7518 §3.4),
// never DER, and the key's curve is the algorithm's. ecdsa.Verify refuses
// R or S outside [1, n-1] (so r = s = 0 fails) and a point off the curve.
func (a algorithm) verifyECDSA(k *ecdsa.PublicKey, msg, sig []byte) bool {
	//lint:ignore SA1019 a key built outside package jwks may lack a coordinate, and ecdsa.Verify would panic
	if a.curve == nil || k.Curve != a.curve || k.X == nil || k.Y == nil || len(sig) != 2*a.size {
		return false
	}
	var sum [sha512.Size]byte
	digest := a.digest(msg, &sum)
	r := new(big.Int).SetBytes(sig[:a.size])
	s := new(big.Int).SetBytes(sig[a.size:])
	return ecdsa.Verify(k, digest, r, s)
}

// digest hashes msg with a's SHA-2 function into sum and returns the
// digest, a slice of sum.
func (a algorithm) digest(msg []byte, sum *[sha512.Size]byte) []byte {
	switch a.hash {
	case crypto.SHA256:
		*(*[sha256.Size]byte)(sum[:]) = sha256.Sum256(msg)
		return sum[:sha256.Size]
	case crypto.SHA384:
		*(*[sha512.Size384]byte)(sum[:]) = sha512.Sum384(msg)
		return sum[:sha512.Size384]
	}
	*sum = sha512.Sum512(msg)
	return sum[:]
}
