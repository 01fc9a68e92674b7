package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// envoyHTTP sends raw, byte for byte, to serve at base and returns the
// response. Tests of the Envoy HTTP mode write the request line
// themselves, because Go's client would clean or re-escape the path.
//
// What Envoy sends, per its ext_authz documentation
// (https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/ext_authz/v3/ext_authz.proto,
// HttpService and AuthorizationRequest) and its HTTP client
// (source/extensions/filters/common/ext_authz/ext_authz_http_impl.cc):
// the original method; the path_prefix followed by the original :path
// (path and query, as received); the original :authority as Host;
// Content-Length: 0; Authorization; and only the other client headers
// matched by authorization_request.allowed_headers (here DPoP, Cookie,
// X-Forwarded-Proto, the tenant header). No X-Forwarded-Method/-Host/-Uri.
func envoyHTTP(t *testing.T, base, raw string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(raw, " ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response to %q: %v", raw, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// envoyHTTPCheck is one check as Envoy's http_service with path_prefix
// /verify sends it.
type envoyHTTPCheck struct {
	method, target, host string // defaults GET, /, api.example.com
	token                string
	headers              []string // further "Name: value" lines
}

func (c envoyHTTPCheck) raw() string {
	method, target, host := c.method, c.target, c.host
	if method == "" {
		method = "GET"
	}
	if target == "" {
		target = "/"
	}
	if host == "" {
		host = "api.example.com"
	}
	var b strings.Builder
	b.WriteString(method + " /verify" + target + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 0\r\n")
	if c.token != "" {
		b.WriteString("Authorization: Bearer " + c.token + "\r\n")
	}
	for _, h := range c.headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.String()
}

// TestExtAuthzHTTPDecisions: serve answers every path under /verify/ as
// Envoy's HTTP ext_authz sends it, judging the original method, Host and
// target (what follows /verify, as sent) with the same rules, classes
// and answers as the forwarded-header mode and gRPC Check.
func TestExtAuthzHTTPDecisions(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	b := issuertest.New(t)
	ts := startServe(t, writeConfig(t, canonicalSection+"  realm: gw\n  cookie: DS\n", a, b))
	viewer := a.Mint(map[string]any{"sub": "vic", "roles": []string{"viewer"}})
	admin := a.Mint(map[string]any{"sub": "ann", "roles": []string{"admin"}})
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
		c      envoyHTTPCheck
		status int
		www    string
	}{
		{"valid token, no rule", envoyHTTPCheck{target: "/public?x=1", token: viewer}, 200, ""},
		{"root", envoyHTTPCheck{target: "/", token: viewer}, 200, ""},
		{"no token", envoyHTTPCheck{target: "/public"}, 401, noToken},
		{"bad token", envoyHTTPCheck{target: "/public", token: "x.y.z"}, 401, invalid},
		{"rule", envoyHTTPCheck{target: "/admin/users", token: viewer}, 403, forbidden},
		{"rule met", envoyHTTPCheck{target: "/admin/users", token: admin}, 200, ""},
		{"prefix is whole segments", envoyHTTPCheck{target: "/administrators", token: viewer}, 200, ""},
		{"query ignored by rules", envoyHTTPCheck{target: "/admin?x=/public", token: viewer}, 403, forbidden},
		{"X-Forwarded-Uri is not read in this mode", envoyHTTPCheck{target: "/admin", token: viewer, headers: []string{"X-Forwarded-Uri: /public", "X-Forwarded-Host: other.example.com", "X-Forwarded-Method: OPTIONS"}}, 403, forbidden},
		{"encoded letter", envoyHTTPCheck{target: "/%61dmin/users", token: viewer}, 403, forbidden},
		{"encoded letters", envoyHTTPCheck{target: "/%61%64%6D%69%6E", token: viewer}, 403, forbidden},
		{"encoded slash", envoyHTTPCheck{target: "/admin%2Fusers", token: viewer}, 400, badTarget},
		{"encoded slash and dots after the prefix", envoyHTTPCheck{target: "/..%2Fadmin", token: viewer}, 400, badTarget},
		{"encoded backslash", envoyHTTPCheck{target: "/%5Cadmin", token: viewer}, 400, badTarget},
		{"backslash", envoyHTTPCheck{target: `/\admin`, token: viewer}, 400, badTarget},
		{"fragment", envoyHTTPCheck{target: "/public#/admin", token: viewer}, 400, badTarget},
		// net/http refuses these request lines itself, with a plain 400.
		{"invalid escape", envoyHTTPCheck{target: "/adm%zzin", token: viewer}, 400, ""},
		{"control byte", envoyHTTPCheck{target: "/ad\x01min", token: viewer}, 400, ""},
		{"double slash", envoyHTTPCheck{target: "//admin", token: viewer}, 400, badTarget},
		{"inner double slash", envoyHTTPCheck{target: "/x//admin", token: viewer}, 400, badTarget},
		{"dot segment", envoyHTTPCheck{target: "/./admin", token: viewer}, 400, badTarget},
		{"dot-dot segment (ServeMux would redirect)", envoyHTTPCheck{target: "/public/../admin", token: viewer}, 400, badTarget},
		{"dot-dot out of the prefix", envoyHTTPCheck{target: "/../healthz", token: viewer}, 400, badTarget},
		{"encoded dot-dot", envoyHTTPCheck{target: "/public/%2e%2E/admin", token: viewer}, 400, badTarget},
		{"semicolon", envoyHTTPCheck{target: "/admin;jsessionid=x", token: viewer}, 400, badTarget},
		{"encoded NUL", envoyHTTPCheck{target: "/admin%00", token: viewer}, 400, badTarget},
		{"double-encoded dot", envoyHTTPCheck{target: "/%252e%252e/admin", token: viewer}, 400, badTarget},
		{"asterisk-form (OPTIONS *)", envoyHTTPCheck{method: "OPTIONS", target: "*", token: viewer}, 400, badTarget},
		{"case-insensitive rule", envoyHTTPCheck{target: "/REPORTS/q3", token: viewer}, 403, forbidden},
		{"case-sensitive rule, other case", envoyHTTPCheck{target: "/ADMIN", token: viewer}, 200, ""},
		{"host rule", envoyHTTPCheck{host: "admin.example.com", token: viewer}, 403, forbidden},
		{"host trailing dot", envoyHTTPCheck{host: "admin.example.com.", token: viewer}, 403, forbidden},
		{"host upper case and port", envoyHTTPCheck{host: "ADMIN.example.com:8443", token: viewer}, 403, forbidden},
		{"host empty label", envoyHTTPCheck{host: "admin..example.com", token: viewer}, 400, badTarget},
		{"bound host, other tenant", envoyHTTPCheck{host: "t1.example.com.", token: viewer}, 403, forbidden},
		{"bound host, its tenant", envoyHTTPCheck{host: "T1.example.com:443", token: ofT1}, 200, ""},
		{"method rule", envoyHTTPCheck{method: "POST", target: "/docs/1", token: viewer}, 403, forbidden},
		{"lower-case method", envoyHTTPCheck{method: "post", target: "/docs/1", token: viewer}, 400, badTarget},
		{"mixed-case method", envoyHTTPCheck{method: "Delete", target: "/docs/1", token: viewer}, 400, badTarget},
		{"GET rule covers HEAD", envoyHTTPCheck{method: "HEAD", target: "/private/x", token: viewer}, 403, forbidden},
		{"anonymous rule without token", envoyHTTPCheck{target: "/healthz"}, 200, ""},
		{"anonymous rule with a bad token", envoyHTTPCheck{target: "/healthz", token: "x.y.z"}, 401, invalid},
		{"anonymous preflight", envoyHTTPCheck{method: "OPTIONS", target: "/admin"}, 200, ""},
		{"two Authorization headers", envoyHTTPCheck{target: "/public", token: viewer, headers: []string{"Authorization: Bearer " + admin}}, 400, badReq},
		{"token cookie", envoyHTTPCheck{target: "/public", headers: []string{"Cookie: theme=dark; DS=" + viewer}}, 200, ""},
		{"X-Forwarded-Proto twice", envoyHTTPCheck{target: "/public", token: viewer, headers: []string{"X-Forwarded-Proto: https", "X-Forwarded-Proto: http"}}, 400, badTarget},
		{"X-Forwarded-Proto list", envoyHTTPCheck{target: "/public", token: viewer, headers: []string{"X-Forwarded-Proto: https,http"}}, 400, badTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := envoyHTTP(t, ts.url, tt.c.raw())
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (Location %q)", resp.StatusCode, tt.status, resp.Header.Get("Location"))
			}
			www := resp.Header.Values("WWW-Authenticate")
			if tt.www == "" && len(www) != 0 || tt.www != "" && (len(www) != 1 || www[0] != tt.www) {
				t.Errorf("WWW-Authenticate = %q, want %q", www, tt.www)
			}
			if tt.status == 200 {
				if _, ok := resp.Header["X-Auth-Subject"]; !ok {
					t.Error("allowed check lacks X-Auth-Subject (an empty one overwrites client copies)")
				}
			} else if resp.Header.Get("X-Auth-Subject") != "" {
				t.Error("refusal carries X-Auth headers")
			}
		})
	}

	t.Run("plain /verify keeps the forwarded-header contract", func(t *testing.T) {
		if got := ts.verify(t, fwd{uri: "/admin", token: viewer}).StatusCode; got != 403 {
			t.Errorf("/verify with X-Forwarded-Uri /admin: %d, want 403", got)
		}
		resp := envoyHTTP(t, ts.url, "GET /verify?x=1 HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer "+viewer+"\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != 400 {
			t.Errorf("/verify?x=1 without forwarded headers: %d, want 400 (not judged as its own request)", resp.StatusCode)
		}
	})

	t.Run("no check is ever redirected", func(t *testing.T) {
		for _, target := range []string{"/a/../admin", "/./", "//", "/a/.", "/admin/"} {
			resp := envoyHTTP(t, ts.url, envoyHTTPCheck{target: target, token: admin}.raw())
			if resp.StatusCode >= 300 && resp.StatusCode < 400 || resp.Header.Get("Location") != "" {
				t.Errorf("%s: %d Location %q", target, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})

	t.Run("other endpoints still go through the mux", func(t *testing.T) {
		if resp := envoyHTTP(t, ts.url, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); resp.StatusCode != 200 {
			t.Errorf("/healthz: %d", resp.StatusCode)
		}
		if resp := envoyHTTP(t, ts.url, "GET /verifyx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); resp.StatusCode != 400 {
			t.Errorf("/verifyx (target x, not origin-form): %d, want 400", resp.StatusCode)
		}
	})
}

// TestExtAuthzHTTPDPoP: in the Envoy HTTP mode a DPoP proof is checked
// against X-Forwarded-Proto (when Envoy passes it), the Host with its
// port, and the original path.
func TestExtAuthzHTTPDPoP(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	ts := startServe(t, writeConfig(t, "", a))
	client, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	bound := a.Mint(map[string]any{"sub": "dee", "cnf": client.Confirmation()})
	send := func(method, proto, proof string) *http.Response {
		h := []string{"Authorization: DPoP " + bound, "DPoP: " + proof}
		if proto != "" {
			h = append(h, "X-Forwarded-Proto: "+proto)
		}
		return envoyHTTP(t, ts.url, envoyHTTPCheck{method: method, target: "/orders/7?expand=items", host: "api.example.com:8443", headers: h}.raw())
	}
	if resp := send("POST", "https", client.Proof("POST", "https://api.example.com:8443/orders/7", bound)); resp.StatusCode != 200 || resp.Header.Get("X-Auth-Subject") != "dee" {
		t.Fatalf("valid proof: %d", resp.StatusCode)
	}
	if resp := send("POST", "", client.Proof("POST", "http://api.example.com:8443/orders/7", bound)); resp.StatusCode != 200 {
		t.Fatalf("no X-Forwarded-Proto, proof for http: %d", resp.StatusCode)
	}
	for name, proof := range map[string]string{
		"proof for /verify/orders/7": client.Proof("POST", "https://api.example.com:8443/verify/orders/7", bound),
		"proof without the port":     client.Proof("POST", "https://api.example.com/orders/7", bound),
		"proof for another method":   client.Proof("GET", "https://api.example.com:8443/orders/7", bound),
	} {
		t.Run(name, func(t *testing.T) {
			resp := send("POST", "https", proof)
			if www := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.HasPrefix(www, `DPoP realm="api", error="invalid_dpop_proof"`) {
				t.Errorf("%d %q, want 401 with the DPoP challenge", resp.StatusCode, www)
			}
		})
	}
}

// TestExtAuthzHTTPUnavailable: an issuer outage answers 503 with
// Retry-After in the Envoy HTTP mode too (Envoy itself turns an
// authorization server's 5xx into its status_on_error; see README).
func TestExtAuthzHTTPUnavailable(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	a.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	ts := startServe(t, writeConfig(t, "", a))
	resp := envoyHTTP(t, ts.url, envoyHTTPCheck{target: "/x", token: a.Mint(nil)}.raw())
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
