package tenantjwt

import (
	"errors"
	"slices"
)

// ErrInvalidToken is the category of every error that rejects a token
// because of the token itself: its shape, issuer, signature or claims.
// Such errors map to HTTP 401 with error="invalid_token".
//
// Each cause below (ErrMalformed, ErrExpired, …) matches both itself and
// ErrInvalidToken with errors.Is, so callers may test either.
var ErrInvalidToken = errors.New("tenantjwt: invalid token")

// tokenError is a cause of token rejection. It belongs to the
// ErrInvalidToken category, so errors.Is(err, ErrInvalidToken) holds for
// any error that wraps one.
type tokenError struct{ msg string }

func (e *tokenError) Error() string { return e.msg }

// Is reports membership in the ErrInvalidToken category.
func (e *tokenError) Is(target error) bool { return target == ErrInvalidToken }

func invalid(msg string) error { return &tokenError{msg: msg} }

// Causes of token rejection. All of them are in the ErrInvalidToken category.
var (
	// ErrMalformed: not a compact JWS of the accepted shape (size, charset,
	// segment count, JSON), or a header that asks for something unsupported
	// (JWE, unknown crit, b64=false, nested JWT).
	ErrMalformed = invalid("tenantjwt: malformed token")
	// ErrUnknownIssuer: the iss claim names no trusted issuer. Returned
	// before any key lookup or network request.
	ErrUnknownIssuer = invalid("tenantjwt: unknown issuer")
	// ErrAlgorithm: the alg header is not allowed for the issuer or does not
	// match the key.
	ErrAlgorithm = invalid("tenantjwt: algorithm not allowed")
	// ErrKeyNotFound: the issuer has no usable key for the token's kid,
	// even after a (throttled) refresh of its key set.
	ErrKeyNotFound = invalid("tenantjwt: signing key not found")
	// ErrSignature: the signature does not verify with the issuer's key.
	ErrSignature = invalid("tenantjwt: signature invalid")
	// ErrExpired: exp is missing, malformed or in the past beyond leeway.
	ErrExpired = invalid("tenantjwt: token expired")
	// ErrNotYetValid: nbf or iat lies in the future beyond leeway.
	ErrNotYetValid = invalid("tenantjwt: token not yet valid")
	// ErrLifetime: exp − iat exceeds the issuer's max_lifetime.
	ErrLifetime = invalid("tenantjwt: token lifetime too long")
	// ErrAudience: aud does not name any audience the issuer accepts.
	ErrAudience = invalid("tenantjwt: audience not accepted")
	// ErrTokenType: the typ header (or an IdP's token-use claim) is not the
	// required access-token type.
	ErrTokenType = invalid("tenantjwt: wrong token type")
	// ErrTenant: the tenant of the token is not allowed, not bound to its
	// issuer, or not the one the request requires.
	ErrTenant = invalid("tenantjwt: tenant not allowed")
	// ErrClaims: a claim the configuration reads has the wrong JSON type or a
	// required claim is missing.
	ErrClaims = invalid("tenantjwt: invalid claims")
	// ErrDPoPProof: the request lacks a valid DPoP proof (RFC 9449) for a
	// token that needs one: no proof, a malformed or badly signed proof, a
	// proof for another method, URL, time or token, a replayed proof, a
	// proof key other than the one the token is bound to, or a DPoP-bound
	// token sent with the Bearer scheme. Middleware answers 401 with
	// WWW-Authenticate: DPoP error="invalid_dpop_proof".
	ErrDPoPProof = invalid("tenantjwt: invalid DPoP proof")
	// ErrTokenBinding: the token's binding to its presenter does not hold:
	// a certificate-bound token (RFC 8705) without the matching TLS client
	// certificate, an unbound token where the issuer requires binding, or
	// the DPoP scheme with a token that is not DPoP-bound.
	ErrTokenBinding = invalid("tenantjwt: token binding not satisfied")
)

// ErrKeysUnavailable means the issuer is trusted but its keys cannot be had
// right now: never fetched, or stale beyond the allowed age after failed
// refreshes. Verification fails closed. It is not in the ErrInvalidToken
// category: the token may well be good, so middleware answers 503 by
// default rather than 401.
var ErrKeysUnavailable = errors.New("tenantjwt: issuer keys unavailable")

// ErrStoreUnavailable means a store that verification needs cannot answer
// right now: the shared DPoP replay store (a Redis server, for example) is
// unreachable or too slow. The proof is refused (fail closed), but, as with
// ErrKeysUnavailable, the request may well be good, so middleware answers
// 503 rather than 401. A ReplayStore wraps it for an outage; a refusal
// caused by the client (its share of the store is used up) does not.
var ErrStoreUnavailable = errors.New("tenantjwt: store unavailable")

// ErrForbidden means the token is valid but does not grant what the request
// needs (a role, permission, scope or tenant). Middleware answers 403 with
// error="insufficient_scope".
var ErrForbidden = errors.New("tenantjwt: insufficient privileges")

// Cause is one cause of a refused verification with its short, stable
// name, for metrics labels and logs.
type Cause struct {
	Err  error  // the sentinel, e.g. ErrExpired
	Name string // e.g. "expired"
}

// causes is the one list of rejection causes: every specific cause of the
// ErrInvalidToken category, then ErrKeysUnavailable and
// ErrStoreUnavailable. The library, the
// middleware and the command all read it, so a new cause is added here
// once.
var causes = []Cause{
	{ErrMalformed, "malformed"},
	{ErrUnknownIssuer, "unknown_issuer"},
	{ErrAlgorithm, "algorithm"},
	{ErrKeyNotFound, "key_not_found"},
	{ErrSignature, "signature"},
	{ErrExpired, "expired"},
	{ErrNotYetValid, "not_yet_valid"},
	{ErrLifetime, "lifetime"},
	{ErrAudience, "audience"},
	{ErrTokenType, "token_type"},
	{ErrTenant, "tenant"},
	{ErrClaims, "claims"},
	{ErrDPoPProof, "dpop_proof"},
	{ErrTokenBinding, "token_binding"},
	{ErrKeysUnavailable, "keys_unavailable"},
	{ErrStoreUnavailable, "store_unavailable"},
}

// Causes returns the rejection causes in a fixed order (a copy).
func Causes() []Cause { return slices.Clone(causes) }

// CauseOf returns the first cause, in the order of Causes, that err
// matches with errors.Is.
func CauseOf(err error) (Cause, bool) {
	if err == nil {
		return Cause{}, false
	}
	for _, c := range causes {
		if errors.Is(err, c.Err) {
			return c, true
		}
	}
	return Cause{}, false
}

// CauseName names err's cause for a metrics label: "ok" for nil, the
// cause's Name, or "other" for an error with no known cause.
func CauseName(err error) string {
	if err == nil {
		return "ok"
	}
	if c, ok := CauseOf(err); ok {
		return c.Name
	}
	return "other"
}
