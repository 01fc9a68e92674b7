// Package jwt is the strict JOSE and JSON reader under package issuer: it
// knows nothing of issuers, keys' origins or policy.
//
// It holds the token shape (Parse: a compact JWS split on exactly two
// dots, each segment strict base64url, the header read by exact member
// name), the JSON member scanner that reads header and payload before the
// signature is checked (EachMember, LookupMember: linear, no reflection,
// never failing on hostile input), the strict I-JSON check applied to the
// signed bytes (CheckJSON: UTF-8 only, no lone surrogates, no two members
// equal under encoding/json's case folding, bounded depth and member
// count; the same pass lists where every member is, so claims are read
// without scanning the payload again), the claim value decoders
// (StringValue, StringList, ScopeList, TenantList), claim paths
// (ParsePath), NumericDate, and the signature check (VerifySignature:
// the standard library's RSA, ECDSA and Ed25519 verifiers, called with
// RFC 7518's rules made explicit).
//
// Errors wrap the causes of package tenantjwt (ErrMalformed, ErrClaims,
// ErrAlgorithm, ErrSignature). It does not import jwx.
package jwt
