// Package issuer holds the registry of trusted token issuers and the
// verification pipeline of tenantjwt.
//
// A Registry is built from Configs, in code or from a YAML/JSON file
// (LoadFile, ParseConfig, NewFromFile). Registry.Verify takes a raw
// compact JWS and returns the tenantjwt.Principal it speaks for:
//
//	file, err := issuer.LoadFile("tenantjwt.yaml")
//	reg, err := issuer.NewFromFile(file, issuer.Options{Logger: logger})
//	p, err := reg.Verify(ctx, token)
//
// # What Verify guarantees
//
//   - Only compact JWS within the size cap (Options.MaxTokenBytes) and of
//     strict shape is decoded; header and payload are decoded once.
//   - The unverified iss picks exactly one trusted issuer (exact string,
//     alias, or {tenant} template) or the token is rejected with
//     tenantjwt.ErrUnknownIssuer before any key lookup or network request.
//   - Keys come only from that issuer's own key source, by kid; the alg
//     must be in the issuer's allowlist and fit the key.
//   - The signature is checked with the standard library over the exact
//     bytes that were split. The strict reader (token shape, the JSON
//     member scanner and I-JSON check, claim values and paths,
//     NumericDate) and the signature check live in the internal package
//     internal/jwt; jwks (key parsing) is the only importer of jwx; this
//     package holds the policy.
//   - exp is required; nbf, iat, max_lifetime, aud (when audiences are
//     configured), require_typ, the template tenant binding and preset
//     checks are enforced, with Options.Leeway for clock skew.
//   - Claims are mapped to the Principal by paths (see ClaimMapping), with
//     strict types: a wrong type rejects, nothing is coerced.
//
// Every rejection matches tenantjwt.ErrInvalidToken and a specific cause
// with errors.Is; unavailable keys match tenantjwt.ErrKeysUnavailable.
//
// # Changing issuers at run time
//
// Add, Remove, Update and Replace never block Verify. The first three
// change one issuer and cost about the same at 100 000 issuers as at 10;
// Replace swaps the whole set atomically. Removing an issuer also stops
// its cached tokens from verifying and releases its key source.
//
// # Issuers resolved on first use
//
// Options.Resolver lets the application supply an issuer's Config when
// its first token arrives, from its own database (see Resolver). The
// resolver is the trust decision: it must consult the application's own
// allowlist and never treat iss as a URL.
//
// # Verified-token cache
//
// Successful verifications are remembered (Options.TokenCacheSize) by the
// whole token string. A hit is re-checked against the clock (never past
// exp), the issuer still being trusted and the verifying key still being
// published by the issuer's current key set.
//
// # Presets
//
// Config.Preset selects an IdP's known token shape (see Presets); the
// claims: section overrides it field by field. Presets lists them.
package issuer
