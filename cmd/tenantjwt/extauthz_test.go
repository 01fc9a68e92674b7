package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// grpcServe is serve started with --grpc-listen, and an ext_authz client
// connected to it as Envoy's grpc_service would be.
type grpcServe struct {
	*testServer
	conn   *grpc.ClientConn
	client authv3.AuthorizationClient
}

func startServeGRPC(t *testing.T, config string) *grpcServe {
	t.Helper()
	listening := make(chan string, 1)
	grpcAddr := make(chan string, 1)
	reloaded := make(chan error, 1)
	trigger := make(chan struct{})
	prefetched := make(chan bool, 100)
	hooks := &serveHooks{
		listening:     func(addr string) { listening <- addr },
		grpcListening: func(addr string) { grpcAddr <- addr },
		reloaded:      func(err error) { reloaded <- err },
		reload:        trigger,
		prefetched: func(ready bool) {
			select {
			case prefetched <- ready:
			default: // never block the server
			}
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		done <- runWith(ctx, []string{"serve", "--config", config, "--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0", "--watch-interval", "0", "--log-refusals", "0", "--prefetch-retry", "10ms"}, nil, io.Discard, logs, hooks)
	}()
	gs := &grpcServe{testServer: &testServer{logs: logs, config: config, prefetched: prefetched}}
	var gaddr string
	select {
	case gaddr = <-grpcAddr:
	case err := <-done:
		t.Fatalf("serve exited: %v\n%s", err, logs)
	}
	gs.url = "http://" + <-listening
	gs.reload = func() error {
		trigger <- struct{}{}
		return <-reloaded
	}
	conn, err := grpc.NewClient("passthrough:///"+gaddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	gs.conn, gs.client = conn, authv3.NewAuthorizationClient(conn)
	gs.stop = func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(gs.stop)
	return gs
}

// envoyCheck describes one request as Envoy's ext_authz filter reports
// it in a CheckRequest (attributes.request.http, source.certificate).
// Empty method, scheme, host and path default to GET, https,
// api.example.com and /. Like Envoy, it puts the pseudo-headers in the
// headers map too (Envoy copies the whole request header map, with keys
// lower-cased and repeated headers joined by ",").
type envoyCheck struct {
	method, scheme, host, path string
	token                      string
	headers                    map[string]string
	cert                       string // attributes.source.certificate
	raw                        []*corev3.HeaderValue
}

func (c envoyCheck) request() *authv3.CheckRequest {
	method, scheme, host, path := c.method, c.scheme, c.host, c.path
	if method == "" {
		method = "GET"
	}
	if scheme == "" {
		scheme = "https"
	}
	if host == "" {
		host = "api.example.com"
	}
	if path == "" {
		path = "/"
	}
	hr := &authv3.AttributeContext_HttpRequest{Id: "1", Method: method, Scheme: scheme, Host: host, Path: path, Protocol: "HTTP/1.1"}
	if c.raw != nil {
		hr.HeaderMap = &corev3.HeaderMap{Headers: c.raw}
	} else {
		hr.Headers = map[string]string{":authority": host, ":method": method, ":path": path, ":scheme": scheme, "user-agent": "curl/8"}
		if c.token != "" {
			hr.Headers["authorization"] = "Bearer " + c.token
		}
		for k, v := range c.headers {
			hr.Headers[k] = v
		}
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:  &authv3.AttributeContext_Peer{Certificate: c.cert},
		Request: &authv3.AttributeContext_Request{Http: hr},
	}}
}

func (gs *grpcServe) check(t *testing.T, c envoyCheck) *authv3.CheckResponse {
	t.Helper()
	return gs.checkRaw(t, c.request())
}

func (gs *grpcServe) checkRaw(t *testing.T, req *authv3.CheckRequest) *authv3.CheckResponse {
	t.Helper()
	resp, err := gs.client.Check(t.Context(), req)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return resp
}

// httpStatus is the HTTP status Envoy sends the client for resp: 200 for
// an allowed check, else the denied response's status (403 when unset).
func httpStatus(resp *authv3.CheckResponse) int {
	if codes.Code(resp.GetStatus().GetCode()) == codes.OK {
		return 200
	}
	if s := resp.GetDeniedResponse().GetStatus().GetCode(); s != 0 {
		return int(s)
	}
	return 403
}

// deniedHeaders returns the headers of a denied response as Envoy puts
// them on its local reply.
func deniedHeaders(t *testing.T, resp *authv3.CheckResponse) http.Header {
	t.Helper()
	h := make(http.Header)
	for _, o := range resp.GetDeniedResponse().GetHeaders() {
		if o.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			t.Errorf("denied header %s: append_action %v", o.GetHeader().GetKey(), o.GetAppendAction())
		}
		h.Add(o.GetHeader().GetKey(), o.GetHeader().GetValue())
	}
	return h
}

// applyEnvoyOK applies an OkHttpResponse to the request headers the way
// Envoy's ext_authz filter does (source/extensions/filters/http/
// ext_authz/ext_authz.cc, onComplete): first every header with
// OVERWRITE_IF_EXISTS_OR_ADD replaces all copies, then headers_to_remove
// removes. It returns what the upstream receives.
func applyEnvoyOK(t *testing.T, client http.Header, ok *authv3.OkHttpResponse) http.Header {
	t.Helper()
	up := client.Clone()
	for _, o := range ok.GetHeaders() {
		// The deprecated append field, when set, wins over append_action.
		deprecated := o.ProtoReflect().Has(o.ProtoReflect().Descriptor().Fields().ByName("append"))
		if o.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD || deprecated {
			t.Errorf("header %s is not set with OVERWRITE_IF_EXISTS_OR_ADD", o.GetHeader().GetKey())
		}
		up.Set(o.GetHeader().GetKey(), o.GetHeader().GetValue())
	}
	for _, name := range ok.GetHeadersToRemove() {
		up.Del(name)
	}
	return up
}

var identityNames = []string{"x-auth-issuer", "x-auth-permissions", "x-auth-roles", "x-auth-scopes", "x-auth-subject", "x-auth-tenant"}

// TestExtAuthzGRPCDecisions runs the decisions of serve through gRPC
// Check, as Envoy's grpc_service (and Istio's CUSTOM provider and Envoy
// Gateway's extAuth) call it: rules judge the original path of the
// attributes, in every canonicalisation class, with the same answers as
// the HTTP modes.
func TestExtAuthzGRPCDecisions(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	b := issuertest.New(t)
	gs := startServeGRPC(t, writeConfig(t, canonicalSection+"  realm: gw\n  tenant_header: X-Tenant-ID\n  cookie: DS\n", a, b))
	viewer := a.Mint(map[string]any{"sub": "vic", "roles": []string{"viewer"}})
	admin := a.Mint(map[string]any{"sub": "ann", "roles": []string{"admin", "a,b"}, "scope": "read"})
	ofT1 := b.Mint(map[string]any{"sub": "tom", "roles": []string{"admin"}})

	const (
		noToken   = `Bearer realm="gw"`
		invalid   = `Bearer realm="gw", error="invalid_token", error_description="the access token is not valid"`
		forbidden = `Bearer realm="gw", error="insufficient_scope", error_description="the access token does not allow this request"`
		badTarget = `Bearer realm="gw", error="invalid_request", error_description="the request target, host or method is not in canonical form"`
		badReq    = `Bearer realm="gw", error="invalid_request", error_description="the request must carry exactly one well-formed bearer token"`
	)
	tests := []struct {
		name   string
		c      envoyCheck
		status int
		www    string
	}{
		{"valid token, no rule", envoyCheck{path: "/public?x=1", token: viewer}, 200, ""},
		{"no token", envoyCheck{path: "/public"}, 401, noToken},
		{"bad token", envoyCheck{path: "/public", token: "x.y.z"}, 401, invalid},
		{"rule", envoyCheck{path: "/admin/users", token: viewer}, 403, forbidden},
		{"rule met", envoyCheck{path: "/admin/users", token: admin}, 200, ""},
		{"prefix is whole segments", envoyCheck{path: "/administrators", token: viewer}, 200, ""},
		{"query ignored by rules", envoyCheck{path: "/admin?x=/public", token: viewer}, 403, forbidden},
		{"encoded letter", envoyCheck{path: "/%61dmin/users", token: viewer}, 403, forbidden},
		{"encoded letters", envoyCheck{path: "/%61%64%6D%69%6E", token: viewer}, 403, forbidden},
		{"encoded slash", envoyCheck{path: "/admin%2Fusers", token: viewer}, 400, badTarget},
		{"encoded slash and dots", envoyCheck{path: "/x/..%2fadmin", token: viewer}, 400, badTarget},
		{"encoded backslash", envoyCheck{path: "/%5Cadmin", token: viewer}, 400, badTarget},
		{"backslash", envoyCheck{path: `/\admin`, token: viewer}, 400, badTarget},
		{"double slash", envoyCheck{path: "//admin", token: viewer}, 400, badTarget},
		{"inner double slash", envoyCheck{path: "/x//admin", token: viewer}, 400, badTarget},
		{"dot segment", envoyCheck{path: "/./admin", token: viewer}, 400, badTarget},
		{"dot-dot segment", envoyCheck{path: "/public/../admin", token: viewer}, 400, badTarget},
		{"encoded dot-dot", envoyCheck{path: "/public/%2e%2E/admin", token: viewer}, 400, badTarget},
		{"semicolon", envoyCheck{path: "/admin;jsessionid=x", token: viewer}, 400, badTarget},
		{"encoded NUL", envoyCheck{path: "/admin%00", token: viewer}, 400, badTarget},
		{"double-encoded dot", envoyCheck{path: "/%252e%252e/admin", token: viewer}, 400, badTarget},
		{"absolute-form path", envoyCheck{path: "http://api.example.com/admin", token: viewer}, 400, badTarget},
		{"asterisk-form path", envoyCheck{method: "OPTIONS", path: "*", token: viewer}, 400, badTarget},
		{"case-insensitive rule", envoyCheck{path: "/REPORTS/q3", token: viewer}, 403, forbidden},
		{"case-sensitive rule, other case", envoyCheck{path: "/ADMIN", token: viewer}, 200, ""},
		{"host rule", envoyCheck{host: "admin.example.com", token: viewer}, 403, forbidden},
		{"host trailing dot", envoyCheck{host: "admin.example.com.", token: viewer}, 403, forbidden},
		{"host upper case and port", envoyCheck{host: "ADMIN.example.com:8443", token: viewer}, 403, forbidden},
		{"host empty label", envoyCheck{host: "admin..example.com", token: viewer}, 400, badTarget},
		{"host with user info", envoyCheck{host: "x@admin.example.com", token: viewer}, 400, badTarget},
		{"bound host, other tenant", envoyCheck{host: "t1.example.com.", token: viewer}, 403, forbidden},
		{"bound host, its tenant", envoyCheck{host: "T1.example.com:443", token: ofT1}, 200, ""},
		{"method rule", envoyCheck{method: "POST", path: "/docs/1", token: viewer}, 403, forbidden},
		{"lower-case method", envoyCheck{method: "post", path: "/docs/1", token: viewer}, 400, badTarget},
		{"mixed-case method", envoyCheck{method: "Delete", path: "/docs/1", token: viewer}, 400, badTarget},
		{"GET rule covers HEAD", envoyCheck{method: "HEAD", path: "/private/x", token: viewer}, 403, forbidden},
		{"bad scheme", envoyCheck{scheme: "gopher", token: viewer}, 400, badTarget},
		{"anonymous rule without token", envoyCheck{path: "/healthz"}, 200, ""},
		{"anonymous rule with a bad token", envoyCheck{path: "/healthz", token: "x.y.z"}, 401, invalid},
		{"anonymous preflight", envoyCheck{method: "OPTIONS", path: "/admin"}, 200, ""},
		{"two Authorization headers, merged by Envoy", envoyCheck{path: "/public", headers: map[string]string{"authorization": "Bearer " + viewer + ",Bearer " + admin}}, 400, badTarget},
		{"header names compared without case", envoyCheck{path: "/admin", headers: map[string]string{"Authorization": "Bearer " + viewer}}, 403, forbidden},
		{"tenant header", envoyCheck{path: "/public", token: viewer, headers: map[string]string{"x-tenant-id": "t0"}}, 200, ""},
		{"tenant header list", envoyCheck{path: "/public", token: viewer, headers: map[string]string{"x-tenant-id": "t0,t1"}}, 400, badTarget},
		{"Basic authorization is no token", envoyCheck{path: "/public", headers: map[string]string{"authorization": "Basic dTpw"}}, 401, noToken},
		{"empty bearer", envoyCheck{path: "/public", headers: map[string]string{"authorization": "Bearer "}}, 401, invalid},
		{"token twice: header and cookie", envoyCheck{path: "/public", token: viewer, headers: map[string]string{"cookie": "DS=" + viewer}}, 400, badReq},
		{"two token cookies, merged by Envoy", envoyCheck{path: "/public", headers: map[string]string{"cookie": "DS=" + viewer + ",DS=" + admin}}, 400, badReq},
		{"token cookie", envoyCheck{path: "/public", headers: map[string]string{"cookie": "theme=dark; DS=" + viewer}}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := gs.check(t, tt.c)
			if got := httpStatus(resp); got != tt.status {
				t.Fatalf("HTTP status %d, want %d (gRPC %v)", got, tt.status, codes.Code(resp.GetStatus().GetCode()))
			}
			wantCode := map[int]codes.Code{200: codes.OK, 400: codes.InvalidArgument, 401: codes.Unauthenticated, 403: codes.PermissionDenied}[tt.status]
			if got := codes.Code(resp.GetStatus().GetCode()); got != wantCode {
				t.Errorf("gRPC code %v, want %v", got, wantCode)
			}
			if tt.status == 200 {
				if resp.GetOkResponse() == nil || resp.GetDeniedResponse() != nil {
					t.Fatalf("allow without OkHttpResponse: %v", resp)
				}
				return
			}
			if resp.GetOkResponse() != nil {
				t.Fatal("deny carries an OkHttpResponse")
			}
			h := deniedHeaders(t, resp)
			if www := h.Values("www-authenticate"); len(www) != 1 || www[0] != tt.www {
				t.Errorf("WWW-Authenticate = %q, want [%q]", www, tt.www)
			}
			if h.Get("content-type") != "application/json" || h.Get("cache-control") != "no-store" || h.Get("retry-after") != "" {
				t.Errorf("denied headers %v", h)
			}
			var body struct{ Error, ErrorDescription string }
			if err := json.Unmarshal([]byte(resp.GetDeniedResponse().GetBody()), &body); err != nil || body.Error == "" {
				t.Errorf("body %q: %v", resp.GetDeniedResponse().GetBody(), err)
			}
			for _, tok := range []string{viewer, admin} {
				if strings.Contains(resp.String(), tok[strings.LastIndexByte(tok, '.')+1:]) {
					t.Error("the response echoes a token")
				}
			}
		})
	}

	t.Run("allow: identity headers overwrite client copies, empty ones are removed, none both", func(t *testing.T) {
		for _, c := range []struct {
			name string
			c    envoyCheck
			want map[string]string // what the upstream sees; absent: no header
		}{
			{"token", envoyCheck{path: "/public", token: admin}, map[string]string{
				"X-Auth-Issuer": "t0", "X-Auth-Subject": "ann", "X-Auth-Tenant": "t0", "X-Auth-Roles": "admin,a%2Cb", "X-Auth-Scopes": "read"}},
			{"anonymous rule", envoyCheck{path: "/healthz"}, map[string]string{}},
		} {
			t.Run(c.name, func(t *testing.T) {
				ok := gs.check(t, c.c).GetOkResponse()
				seen := map[string]int{}
				for _, o := range ok.GetHeaders() {
					seen[o.GetHeader().GetKey()]++
				}
				for _, name := range ok.GetHeadersToRemove() {
					seen[name]++
				}
				for _, name := range identityNames {
					if seen[name] != 1 {
						t.Errorf("%s appears %d times in headers and headers_to_remove, want exactly once", name, seen[name])
					}
				}
				if len(seen) != len(identityNames) {
					t.Errorf("unexpected headers: %v", seen)
				}
				client := http.Header{}
				for _, name := range identityNames {
					client.Add(name, "forged")
					client.Add(name, "forged-again")
				}
				client.Set("X-Other", "kept")
				up := applyEnvoyOK(t, client, ok)
				for _, name := range identityNames {
					got, want := up.Values(name), c.want[http.CanonicalHeaderKey(name)]
					switch {
					case want == "" && len(got) != 0:
						t.Errorf("upstream %s = %q, want none", name, got)
					case want != "" && (len(got) != 1 || got[0] != want):
						t.Errorf("upstream %s = %q, want [%q]", name, got, want)
					}
				}
				if up.Get("X-Other") != "kept" {
					t.Error("an unrelated header was touched")
				}
			})
		}
	})

	t.Run("one decision record per check, with the canonical request", func(t *testing.T) {
		gs.check(t, envoyCheck{path: "/%61dmin/x", token: viewer, host: "API.example.com."})
		var found bool
		for _, r := range decisions(t, gs.logs.String()) {
			if r["path"] == "/admin/x" && r["host"] == "api.example.com" && r["rule"] == "admin" && r["status"] == float64(403) {
				found = true
			}
		}
		if !found {
			t.Errorf("no decision record for the canonical request:\n%s", gs.logs)
		}
		if strings.Contains(gs.logs.String(), viewer[strings.LastIndexByte(viewer, '.'):]) {
			t.Error("a token appears in the logs")
		}
	})
}

// TestExtAuthzGRPCUnavailable: an issuer outage reaches the client as 503
// with Retry-After, gRPC UNAVAILABLE, through the denied response.
func TestExtAuthzGRPCUnavailable(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	a.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	gs := startServeGRPC(t, writeConfig(t, "", a))
	resp := gs.check(t, envoyCheck{token: a.Mint(map[string]any{"sub": "ann"})})
	if got := httpStatus(resp); got != 503 {
		t.Fatalf("status %d, want 503", got)
	}
	if got := codes.Code(resp.GetStatus().GetCode()); got != codes.Unavailable {
		t.Errorf("gRPC code %v, want UNAVAILABLE", got)
	}
	h := deniedHeaders(t, resp)
	if h.Get("retry-after") != "5" || h.Get("www-authenticate") != "" {
		t.Errorf("denied headers %v, want Retry-After and no challenge", h)
	}
	if !strings.Contains(resp.GetDeniedResponse().GetBody(), "temporarily_unavailable") {
		t.Errorf("body %q", resp.GetDeniedResponse().GetBody())
	}
}

// TestExtAuthzGRPCDPoP: DPoP proofs are checked against the method and
// URL of the attributes (scheme, :authority with its port, path without
// the query), and a refusal answers with the DPoP challenge.
func TestExtAuthzGRPCDPoP(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	gs := startServeGRPC(t, writeConfig(t, "", a))
	client, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	bound := a.Mint(map[string]any{"sub": "dee", "cnf": client.Confirmation()})
	const url = "https://api.example.com:8443/orders/7"
	send := func(method, proof string) *authv3.CheckResponse {
		h := map[string]string{"authorization": "DPoP " + bound}
		if proof != "" {
			h["dpop"] = proof
		}
		return gs.check(t, envoyCheck{method: method, host: "api.example.com:8443", path: "/orders/7?expand=items", headers: h})
	}
	proof := client.Proof("POST", url, bound)
	if resp := send("POST", proof); httpStatus(resp) != 200 {
		t.Fatalf("valid proof: %d %v", httpStatus(resp), resp)
	}
	for _, tt := range []struct{ name, method, proof string }{
		{"replayed proof", "POST", proof},
		{"proof for another method", "POST", client.Proof("GET", url, bound)},
		{"proof without the port", "POST", client.Proof("POST", "https://api.example.com/orders/7", bound)},
		{"proof for http", "POST", client.Proof("POST", "http://api.example.com:8443/orders/7", bound)},
		{"no proof", "POST", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := send(tt.method, tt.proof)
			if httpStatus(resp) != 401 || codes.Code(resp.GetStatus().GetCode()) != codes.Unauthenticated {
				t.Fatalf("%d %v, want 401 UNAUTHENTICATED", httpStatus(resp), codes.Code(resp.GetStatus().GetCode()))
			}
			if www := deniedHeaders(t, resp).Get("www-authenticate"); !strings.HasPrefix(www, `DPoP realm="api", error="invalid_dpop_proof"`) || !strings.Contains(www, "algs=") {
				t.Errorf("WWW-Authenticate %q, want the DPoP challenge", www)
			}
		})
	}
	t.Run("two DPoP headers, merged by Envoy", func(t *testing.T) {
		p := client.Proof("POST", url, bound)
		if got := httpStatus(send("POST", p+","+p)); got != 400 {
			t.Errorf("status %d, want 400", got)
		}
	})
}

// envoyPEM encodes cert as Envoy's include_peer_certificate does: PEM,
// then URL-encoded (newlines, '+', '/', '=' and spaces escaped).
func envoyPEM(cert *x509.Certificate) string {
	p := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	return strings.NewReplacer("\n", "%0A", " ", "%20", "+", "%2B", "/", "%2F", "=", "%3D").Replace(p)
}

// TestExtAuthzGRPCCertificateBound: a certificate-bound token (RFC 8705)
// passes with the client certificate Envoy reports in
// attributes.source.certificate, and is refused with another one, with
// none, and over the HTTP modes, where serve never sees the client's TLS.
func TestExtAuthzGRPCCertificateBound(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	gs := startServeGRPC(t, writeConfig(t, "", a))
	right, err := issuertest.NewClientCertificate("client")
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := issuertest.NewClientCertificate("client")
	if err != nil {
		t.Fatal(err)
	}
	bound := a.Mint(map[string]any{"sub": "cert-holder", "cnf": issuertest.CertificateConfirmation(right.Leaf)})
	plain := a.Mint(map[string]any{"sub": "plain"})

	rightPEM := envoyPEM(right.Leaf)
	tests := []struct {
		name   string
		token  string
		cert   string
		status int
	}{
		{"right certificate", bound, rightPEM, 200},
		{"right certificate, PEM with a trailing newline only", bound, rightPEM + "%0A", 200},
		{"wrong certificate", bound, envoyPEM(wrong.Leaf), 401},
		{"no certificate", bound, "", 401},
		{"unbound token with a certificate", plain, rightPEM, 200},
		{"certificate not URL-encoded PEM", bound, "%zz", 400},
		{"not a certificate", bound, "-----BEGIN%20CERTIFICATE-----%0AAAAA%0A-----END%20CERTIFICATE-----%0A", 400},
		{"two certificates", bound, rightPEM + envoyPEM(wrong.Leaf), 400},
		{"a key, not a certificate", bound, strings.ReplaceAll(rightPEM, "CERTIFICATE", "PRIVATE%20KEY"), 400},
		{"oversized", bound, strings.Repeat("A", maxCheckCertificateBytes+1), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := gs.check(t, envoyCheck{token: tt.token, cert: tt.cert})
			if got := httpStatus(resp); got != tt.status {
				t.Fatalf("status %d, want %d", got, tt.status)
			}
			if tt.status == 200 {
				var subject string
				for _, o := range resp.GetOkResponse().GetHeaders() {
					if o.GetHeader().GetKey() == "x-auth-subject" {
						subject = o.GetHeader().GetValue()
					}
				}
				if want := map[string]string{bound: "cert-holder", plain: "plain"}[tt.token]; subject != want {
					t.Errorf("X-Auth-Subject %q, want %q", subject, want)
				}
			}
		})
	}
	t.Run("HTTP modes never see a client certificate", func(t *testing.T) {
		if got := gs.verify(t, fwd{token: bound}).StatusCode; got != 401 {
			t.Errorf("forwarded-header mode: %d, want 401", got)
		}
		resp := envoyHTTP(t, gs.url, "GET /verify/ HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer "+bound+"\r\n\r\n")
		if resp.StatusCode != 401 {
			t.Errorf("Envoy HTTP mode: %d, want 401", resp.StatusCode)
		}
	})
}

// TestExtAuthzGRPCBadAttributes: a Check that cannot describe exactly one
// request is denied with 400 invalid_request, never allowed and never a
// crash; an oversized message is refused by gRPC itself (Envoy then
// answers with its status_on_error), and the server keeps serving.
func TestExtAuthzGRPCBadAttributes(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	gs := startServeGRPC(t, writeConfig(t, "", a))
	tok := a.Mint(map[string]any{"sub": "ann"})
	good := func() *authv3.CheckRequest { return envoyCheck{token: tok}.request() }
	mutate := func(f func(*authv3.CheckRequest)) *authv3.CheckRequest { r := good(); f(r); return r }
	hdrs := func(r *authv3.CheckRequest) map[string]string { return r.Attributes.Request.Http.Headers }

	many := map[string]string{"authorization": "Bearer " + tok}
	for i := 0; i < maxCheckHeaders; i++ {
		many["x-h"+strings.Repeat("a", i%7)+string(rune('a'+i%26))+strings.Repeat("b", i/26)] = "v"
	}
	tests := []struct {
		name string
		req  *authv3.CheckRequest
	}{
		{"empty request", &authv3.CheckRequest{}},
		{"no request attributes", &authv3.CheckRequest{Attributes: &authv3.AttributeContext{}}},
		{"no http attributes", &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{}}}},
		{"empty http attributes", &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{}}}}},
		{"no method", mutate(func(r *authv3.CheckRequest) { r.Attributes.Request.Http.Method = ""; delete(hdrs(r), ":method") })},
		{"no host", mutate(func(r *authv3.CheckRequest) { r.Attributes.Request.Http.Host = ""; delete(hdrs(r), ":authority") })},
		{"no scheme", mutate(func(r *authv3.CheckRequest) { r.Attributes.Request.Http.Scheme = ""; delete(hdrs(r), ":scheme") })},
		{"no path", mutate(func(r *authv3.CheckRequest) { r.Attributes.Request.Http.Path = ""; delete(hdrs(r), ":path") })},
		{"query attribute set", mutate(func(r *authv3.CheckRequest) { r.Attributes.Request.Http.Query = "admin=1" })},
		{"fragment attribute set", mutate(func(r *authv3.CheckRequest) { r.Attributes.Request.Http.Fragment = "x" })},
		{":path disagrees with path", mutate(func(r *authv3.CheckRequest) { hdrs(r)[":path"] = "/admin" })},
		{":authority disagrees with host", mutate(func(r *authv3.CheckRequest) { hdrs(r)[":authority"] = "admin.example.com" })},
		{"host header disagrees with host", mutate(func(r *authv3.CheckRequest) { hdrs(r)["host"] = "admin.example.com" })},
		{":method disagrees with method", mutate(func(r *authv3.CheckRequest) { hdrs(r)[":method"] = "POST" })},
		{"Authorization in two spellings", mutate(func(r *authv3.CheckRequest) { hdrs(r)["Authorization"] = "Bearer " + tok })},
		{":PATH disagrees with path", mutate(func(r *authv3.CheckRequest) { hdrs(r)[":PATH"] = "/admin" })},
		{"header name not a token", mutate(func(r *authv3.CheckRequest) { hdrs(r)["x y"] = "1" })},
		{"empty header name", mutate(func(r *authv3.CheckRequest) { hdrs(r)[""] = "1" })},
		{"header value with a newline", mutate(func(r *authv3.CheckRequest) { hdrs(r)["x-a"] = "1\r\nx-auth-subject: root" })},
		{"header value with NUL", mutate(func(r *authv3.CheckRequest) { hdrs(r)["x-a"] = "1\x00" })},
		{"too many headers", mutate(func(r *authv3.CheckRequest) { r.Attributes.Request.Http.Headers = many })},
		{"headers too large", mutate(func(r *authv3.CheckRequest) {
			hdrs(r)["x-big"] = strings.Repeat("a", maxCheckHeaderBytes)
		})},
		{"headers and header_map", mutate(func(r *authv3.CheckRequest) {
			r.Attributes.Request.Http.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: "authorization", RawValue: []byte("Bearer " + tok)}}}
		})},
		{"header_map: Authorization twice", envoyCheck{raw: []*corev3.HeaderValue{
			{Key: "authorization", RawValue: []byte("Bearer " + tok)}, {Key: "authorization", RawValue: []byte("Bearer " + tok)}}}.request()},
		{"header_map: :path twice", envoyCheck{raw: []*corev3.HeaderValue{
			{Key: ":path", RawValue: []byte("/")}, {Key: ":path", RawValue: []byte("/admin")}, {Key: "authorization", RawValue: []byte("Bearer " + tok)}}}.request()},
		{"host list", mutate(func(r *authv3.CheckRequest) {
			r.Attributes.Request.Http.Host = "a.example.com,b.example.com"
			delete(hdrs(r), ":authority")
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := gs.checkRaw(t, tt.req)
			if got := httpStatus(resp); got != 400 || codes.Code(resp.GetStatus().GetCode()) != codes.InvalidArgument {
				t.Fatalf("status %d %v, want 400 INVALID_ARGUMENT", got, codes.Code(resp.GetStatus().GetCode()))
			}
			if www := deniedHeaders(t, resp).Get("www-authenticate"); !strings.Contains(www, `error="invalid_request"`) {
				t.Errorf("WWW-Authenticate %q", www)
			}
		})
	}

	t.Run("header_map form (encode_raw_headers) is read like the map", func(t *testing.T) {
		resp := gs.checkRaw(t, envoyCheck{raw: []*corev3.HeaderValue{
			{Key: ":authority", RawValue: []byte("api.example.com")},
			{Key: "authorization", RawValue: []byte("Bearer " + tok)},
			{Key: "cookie", RawValue: []byte("a=1")}, {Key: "cookie", RawValue: []byte("b=2")},
		}}.request())
		if httpStatus(resp) != 200 {
			t.Fatalf("status %d", httpStatus(resp))
		}
	})

	t.Run("oversized message: a gRPC error, then the server still serves", func(t *testing.T) {
		big := good()
		big.Attributes.Request.Http.Body = strings.Repeat("a", maxCheckMessageBytes)
		_, err := gs.client.Check(t.Context(), big)
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("err %v, want RESOURCE_EXHAUSTED", err)
		}
		if got := httpStatus(gs.checkRaw(t, good())); got != 200 {
			t.Fatalf("after the oversized message: %d", got)
		}
	})

	t.Run("standard health service on the same port", func(t *testing.T) {
		hc := healthpb.NewHealthClient(gs.conn)
		for _, svc := range []string{"", "envoy.service.auth.v3.Authorization"} {
			resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health %q: %v %v", svc, resp.GetStatus(), err)
			}
		}
	})
}

// TestExtAuthzGRPCHealthFollowsReadiness: the Authorization service is
// NOT_SERVING while a prefetch issuer's keys are missing (as /readyz),
// and SERVING once they load; the server itself is SERVING throughout.
func TestExtAuthzGRPCHealthFollowsReadiness(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	a.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	cfg := writeConfig(t, "", a)
	data := strings.Replace(mustRead(t, cfg), "    tenant: t0\n", "    tenant: t0\n    prefetch: true\n", 1)
	if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	gs := startServeGRPC(t, cfg)
	hc := healthpb.NewHealthClient(gs.conn)
	status := func(svc string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetStatus()
	}
	if got := status(extAuthzService); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("without keys: %v, want NOT_SERVING", got)
	}
	if got := status(""); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("server: %v, want SERVING", got)
	}
	a.SetJWKSHandler(nil)
	// The prefetch loop keeps retrying in the background; wait until an
	// attempt finds the keys (the key cache also waits out its retry
	// interval after the last failure, so a check right now could still
	// be refused with 503).
	gs.waitPrefetch(t, true)
	if got := httpStatus(gs.check(t, envoyCheck{token: a.Mint(nil)})); got != 200 {
		t.Fatalf("check after the outage: %d", got)
	}
	if got := status(extAuthzService); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("with keys: %v, want SERVING", got)
	}
}

// TestExtAuthzGRPCConfigKey: forward_auth.grpc_listen starts the gRPC
// server without the flag, and a port in use is a startup error.
func TestExtAuthzGRPCConfigKey(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	grpcAddr := make(chan string, 1)
	hooks := &serveHooks{grpcListening: func(addr string) { grpcAddr <- addr }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg := writeConfig(t, "\nforward_auth:\n  grpc_listen: 127.0.0.1:0\n", a)
	go func() {
		done <- runWith(ctx, []string{"serve", "--config", cfg, "--listen", "127.0.0.1:0"}, nil, io.Discard, io.Discard, hooks)
	}()
	var addr string
	select {
	case addr = <-grpcAddr:
	case err := <-done:
		t.Fatalf("serve exited: %v", err)
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := authv3.NewAuthorizationClient(conn).Check(t.Context(), envoyCheck{token: a.Mint(nil)}.request())
	if err != nil || httpStatus(resp) != 200 {
		t.Fatalf("Check: %v %v", resp, err)
	}
	t.Run("address in use", func(t *testing.T) {
		err := runWith(t.Context(), []string{"serve", "--config", cfg, "--listen", "127.0.0.1:0", "--grpc-listen", addr}, nil, io.Discard, io.Discard, hooks)
		if err == nil || !strings.Contains(err.Error(), "grpc-listen") {
			t.Errorf("err = %v, want a --grpc-listen error", err)
		}
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}
