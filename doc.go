// Package tenantjwt verifies JWT access tokens from many trusted issuers
// (tenants and identity providers) in one API.
//
// The root package holds what every layer shares: the [Principal] a verified
// token speaks for (immutable, so one value can be shared by every request
// that presents the same token; [Identity] is its writable form),
// [NewContext] and [FromContext] to carry it on a request context, and the
// sentinel errors that all packages return.
//
// The work is done in the sub-packages:
//
//   - issuer: the registry of trusted issuers and the verification pipeline
//     (issuer.Registry.Verify), config files and claim mapping;
//   - jwks: key sources (remote JWKS, OIDC discovery, files) with caching;
//   - middleware and middleware/echoauth: net/http and echo adapters.
package tenantjwt
