// Package interop proves that tenantjwt verifies access tokens issued by an
// OpenID provider that no one on the project wrote: zitadel/oidc's op
// package, run in process on loopback httptest servers, one provider per
// tenant. Everything lives in the tests; this file only names the package.
//
// The module is separate so that the provider library never enters the
// root go.mod: users of tenantjwt do not compile it.
package interop
