package main

import (
	"net/http"
	"strings"

	"github.com/tenantjwt/tenantjwt/middleware/canonical"
)

// extAuthzPrefix is where Envoy's HTTP ext_authz (http_service with
// path_prefix: /verify) sends its checks: the check's request target is
// the prefix followed by the original request target.
const extAuthzPrefix = "/verify"

// envoyTarget reports whether r is a check in Envoy's HTTP ext_authz
// form, and returns the original request target: the raw request target
// with exactly the prefix removed. Plain /verify (with or without a
// query) is the forwarded-header contract and not this form.
//
// It reads r.RequestURI, the bytes of the request line, never r.URL,
// which net/http has already decoded: /verify/..%2Fadmin must be judged
// as the original target /..%2Fadmin, which the canonicaliser refuses.
func envoyTarget(r *http.Request) (string, bool) {
	rest, ok := strings.CutPrefix(r.RequestURI, extAuthzPrefix)
	if !ok || rest == "" || rest[0] == '?' {
		return "", false
	}
	return rest, true
}

// envoyOriginal derives the original request of an Envoy HTTP ext_authz
// check: Envoy sends the check with the original method and Host
// (:authority) and the original target after the prefix, and no
// X-Forwarded-Method/-Host/-Uri. The scheme is X-Forwarded-Proto, when
// Envoy passes it (authorization_request.allowed_headers), else http:
// the TLS of the check's own connection is Envoy's, not the client's.
func (fa *forwardAuth) envoyOriginal(r *http.Request, target string) (canonical.Request, error) {
	orig := *r
	orig.RequestURI = target
	orig.TLS = nil
	return canonical.FromHTTP(&orig, canonical.Forwarded{Proto: "X-Forwarded-Proto"}, false, fa.Paths)
}

// envoyChecks sends every Envoy-form check (see envoyTarget) to verify
// before mux sees it: http.ServeMux cleans paths and answers a path such
// as /verify/a/../admin with a redirect to /verify/admin, which a gateway
// could follow or pass on; here the raw target reaches the canonicaliser,
// which refuses it, and nothing is ever redirected.
func (s *server) envoyChecks(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Checks skip the mux: the hot path, and no path cleaning.
		if path, _, _ := strings.Cut(r.RequestURI, "?"); path == "/verify" {
			s.verify(w, r)
			return
		}
		if _, ok := envoyTarget(r); ok {
			s.verify(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// gatewayHelp is the gateway table of `serve --help`; README.md has the
// long form ("Envoy, Istio and Envoy Gateway").
const gatewayHelp = `gateways (the original request each check is about):
  nginx auth_request, Traefik     GET /verify on --listen; X-Forwarded-Method,
  forwardAuth, Caddy forward_auth -Host, -Uri, -Proto, one value each
  Envoy ext_authz http_service    /verify + original path and query on --listen,
  (path_prefix: /verify)          original method and Host; X-Forwarded-Proto
                                  if passed, else http
  Envoy ext_authz grpc_service,   Check on --grpc-listen; attributes.request.http
  Istio CUSTOM, Envoy Gateway     (method, scheme, host, path, headers); client
  SecurityPolicy extAuth          certificate from attributes.source.certificate
answers: allow 200 with X-Auth-* (gRPC: OkHttpResponse, values overwritten,
  empty ones removed); deny 400/401/403/503 with WWW-Authenticate and, on 503,
  Retry-After (gRPC: DeniedHttpResponse, codes INVALID_ARGUMENT,
  UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE). Envoy's HTTP mode turns
  a 503 into its status_on_error.`
