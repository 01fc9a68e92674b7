// Package dpop checks OAuth 2.0 Demonstrating Proof of Possession proofs
// (RFC 9449): Checker.Check runs the §4.3 checklist (shape, typ, an
// allowed asymmetric alg, the embedded key's thumbprint equal to the
// token's cnf.jkt, the signature, htm, htu, iat within MaxAge, ath, and
// last the replay check), NormalizeHTU normalises htu values and request
// URLs for comparison, AccessTokenHash computes ath, and the replay store
// remembers accepted proofs so that each is accepted once (ReplayStore,
// with ReplayCache in process and package dpop/redisreplay for replicas).
//
// It knows nothing of issuers: package issuer reads the token's cnf and
// the issuer's binding mode, and calls Check for the DPoP scheme (see
// issuer.Registry.VerifyPresented, configured by issuer.Options.DPoP).
package dpop
