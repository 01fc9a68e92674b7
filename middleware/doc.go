// Package middleware puts a verified tenantjwt.Principal on net/http
// requests.
//
// New wraps a handler: it extracts the access token (Authorization: Bearer,
// and optionally a cookie, a custom header or a query parameter), verifies it
// with a Verifier (usually an *issuer.Registry), applies the request's tenant
// binding and selection, and calls the handler with the Principal in the
// request context, where tenantjwt.FromContext finds it. Guards such as
// RequireRoles and RequireTenant then authorize per route.
//
// Failures are answered per RFC 6750: no token gives 401 with a bare
// WWW-Authenticate challenge, a bad token 401 error="invalid_token", a guard
// failure 403 error="insufficient_scope", two tokens 400
// error="invalid_request", and unavailable issuer keys 503. The text on the
// wire is fixed; the detailed error goes to Config.Logger and to
// Config.ErrorHandler. Status is the one function that maps errors to
// statuses.
//
// The echo adapter is in package middleware/echoauth; net/http users never
// compile echo.
package middleware
