package jwt

import (
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// This file is the only one in the package that imports jwx: the signature
// check is delegated to jwx's per-algorithm verifiers, never hand-written.

// verifiers holds one jwx verifier per supported algorithm, built once.
// jwx's verifiers keep no per-call state, so sharing them between
// goroutines is safe. The map is never written after init.
var verifiers = func() map[string]jws.Verifier {
	m := make(map[string]jws.Verifier, len(jwks.Algorithms))
	for _, alg := range jwks.Algorithms {
		v, err := jws.NewVerifier(jwa.SignatureAlgorithm(alg))
		if err != nil {
			// A supported algorithm without a jwx verifier would be a
			// build defect; leaving it out makes such tokens fail closed.
			continue
		}
		m[alg] = v
	}
	return m
}()

// VerifySignature checks sig over signingInput (the exact bytes our own
// strict split produced) with key. The caller has already checked that alg
// is allowed for the issuer and fits the key; this re-checks the fit so the
// function is safe on its own.
func VerifySignature(alg string, key *jwks.Key, signingInput, sig []byte) error {
	v, ok := verifiers[alg]
	if !ok || key == nil || !key.Allows(alg) {
		return fmt.Errorf("issuer: no verifier for alg %.16q with this key: %w", alg, tenantjwt.ErrAlgorithm)
	}
	if err := v.Verify(signingInput, sig, key.Public); err != nil {
		return fmt.Errorf("issuer: %s signature with kid %.64q: %w", alg, key.ID, tenantjwt.ErrSignature)
	}
	return nil
}
