// Package dpop holds the parts of OAuth 2.0 Demonstrating Proof of
// Possession (RFC 9449) that do not depend on the issuer registry: the
// normalisation of htu values and request URLs (NormalizeHTU), the access
// token hash a proof carries (AccessTokenHash), and the replay store that
// remembers accepted proofs so that each is accepted once (ReplayStore,
// with ReplayCache in process and package dpop/redisreplay for replicas).
//
// Package issuer checks proofs against the tokens it verifies, through
// tenantjwt.Presentation and Registry.VerifyPresented; it uses this
// package for those steps.
package dpop
