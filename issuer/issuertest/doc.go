// Package issuertest runs fake token issuers for tests and local
// development, in the spirit of net/http/httptest.
//
// An Issuer is an httptest.Server on the loopback interface that serves
// OpenID Connect discovery metadata and a JWKS, and mints tokens signed
// with its current key. Tokens are signed with the standard library alone,
// independently of the verifier under test, so a bug in tenantjwt's
// verification cannot hide itself.
//
//	iss := issuertest.New(t, issuertest.WithAlgorithm("ES256"))
//	reg, _ := issuer.New(issuer.Options{}, iss.Config())
//	tok := iss.Mint(map[string]any{"sub": "alice", "roles": []string{"admin"}})
//	p, err := reg.Verify(ctx, tok)
//
// Config trusts the issuer through its JWKS URL (real HTTP, counted by
// JWKSRequests). LocalConfig and Source read the keys in process instead,
// with no network at all, and NewRegistry builds a registry trusting
// several issuers that way.
//
// MintWith gives raw control of header and claims for negative tests
// (tampered, expired, wrong alg), Rotate and Retire drive key rotation,
// JWKSRequests counts fetches, and SetJWKSHandler lets a test make the JWKS
// endpoint fail or stall.
//
// In a test binary, keys come from a pool of pre-generated fixture keys
// in the module's testdata/keys (see FixtureKey), each handed out once, so
// tests do not wait for rsa.GenerateKey; other programs always generate
// fresh keys. New and NewRegistry take a TB, not testing.TB, so a program
// using this package does not link the testing package.
//
// It is for tests and local development only: keys live in memory (or are
// given by the caller), the server speaks plain HTTP, and nothing about it
// is hardened for production.
package issuertest
