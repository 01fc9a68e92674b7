package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

const canonicalSection = `
forward_auth:
  log_allowed: info
  hosts:
    t0.example.com: t0
    t1.example.com: t1
  rules:
    - name: preflight              # first: CORS preflights carry no token
      methods: [OPTIONS]
      anonymous: true
    - name: admin
      path_prefix: /admin
      roles: [admin]
    - name: admin-host
      host: admin.example.com
      roles: [admin]
    - name: writes
      path_prefix: /docs
      methods: [POST, DELETE]
      roles: [admin]
    - name: reads
      path_prefix: /private
      methods: [GET]
      roles: [admin]
    - name: reports
      path_prefix: /Reports
      case_insensitive: true
      roles: [admin]
    - name: health
      path_prefix: /healthz
      anonymous: true
`

// TestServeCanonicalRequest runs every spelling class of the request
// model through serve's handler: a viewer's token must never pass a rule
// that needs admin, however the path, host or method is written; what
// could be read two ways is refused with 400 before any rule or token is
// looked at.
func TestServeCanonicalRequest(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	b := issuertest.New(t)
	ts := startServe(t, writeConfig(t, canonicalSection, a, b))
	viewer := a.Mint(map[string]any{"sub": "vic", "roles": []string{"viewer"}})
	admin := a.Mint(map[string]any{"sub": "ann", "roles": []string{"admin"}})
	ofT1 := b.Mint(map[string]any{"sub": "tom", "roles": []string{"admin"}})

	const (
		allowed   = 200
		badReq    = 400
		noToken   = 401
		forbidden = 403
	)
	tests := []struct {
		name   string
		req    fwd
		status int
	}{
		// Baselines.
		{"rule applies", fwd{uri: "/admin/users", token: viewer}, forbidden},
		{"rule met", fwd{uri: "/admin/users", token: admin}, allowed},
		{"no rule", fwd{uri: "/public", token: viewer}, allowed},
		{"prefix is whole segments", fwd{uri: "/administrators", token: viewer}, allowed},
		{"trailing slash", fwd{uri: "/admin/", token: viewer}, forbidden},
		{"query ignored by rules", fwd{uri: "/admin?x=/public", token: viewer}, forbidden},

		// Path: canonicalised, then matched.
		{"encoded letter", fwd{uri: "/%61dmin/users", token: viewer}, forbidden},
		{"encoded letters upper", fwd{uri: "/%61%64%6D%69%6E", token: viewer}, forbidden},
		{"encoded reserved decoded for matching", fwd{uri: "/admin%3Ausers", token: viewer}, allowed},
		// Path: refused.
		{"encoded slash", fwd{uri: "/admin%2Fusers", token: viewer}, badReq},
		{"encoded slash lower", fwd{uri: "/x%2f..%2fadmin", token: viewer}, badReq},
		{"encoded backslash", fwd{uri: "/%5Cadmin", token: viewer}, badReq},
		{"backslash", fwd{uri: "/\\admin", token: viewer}, badReq},
		{"double slash", fwd{uri: "//admin", token: viewer}, badReq},
		{"inner double slash", fwd{uri: "/x//admin", token: viewer}, badReq},
		{"dot segment", fwd{uri: "/./admin", token: viewer}, badReq},
		{"dot-dot segment", fwd{uri: "/public/../admin", token: viewer}, badReq},
		{"encoded dot-dot", fwd{uri: "/public/%2e%2E/admin", token: viewer}, badReq},
		{"semicolon parameter", fwd{uri: "/admin;jsessionid=x", token: viewer}, badReq},
		{"semicolon segment", fwd{uri: "/;x/admin", token: viewer}, badReq},
		{"encoded NUL", fwd{uri: "/admin%00", token: viewer}, badReq},
		{"encoded newline", fwd{uri: "/admin%0a", token: viewer}, badReq},
		{"raw space", fwd{uri: "/ad min", token: viewer}, badReq},
		{"invalid escape", fwd{uri: "/adm%zzin", token: viewer}, badReq},
		{"double-encoded dot", fwd{uri: "/%252e%252e/admin", token: viewer}, badReq},
		{"absolute-form", fwd{uri: "http://api.example.com/admin", token: viewer}, badReq},
		{"asterisk-form", fwd{uri: "*", token: viewer}, badReq},
		{"fragment", fwd{uri: "/public#/admin", token: viewer}, badReq},

		// Case-insensitive rule.
		{"case-insensitive rule", fwd{uri: "/reports/q3", token: viewer}, forbidden},
		{"case-insensitive rule upper", fwd{uri: "/REPORTS", token: viewer}, forbidden},
		{"case-insensitive rule encoded", fwd{uri: "/%72eports", token: viewer}, forbidden},
		{"case-sensitive rule other case", fwd{uri: "/ADMIN", token: viewer}, allowed},

		// Host.
		{"host rule", fwd{host: "admin.example.com", token: viewer}, forbidden},
		{"host trailing dot", fwd{host: "admin.example.com.", token: viewer}, forbidden},
		{"host upper case", fwd{host: "ADMIN.Example.COM", token: viewer}, forbidden},
		{"host with port", fwd{host: "admin.example.com:8443", token: viewer}, forbidden},
		{"host trailing dot and port", fwd{host: "admin.example.com.:443", token: viewer}, forbidden},
		{"host empty label", fwd{host: "admin..example.com", token: viewer}, badReq},
		{"host two dots at the end", fwd{host: "admin.example.com..", token: viewer}, badReq},
		{"host list", fwd{host: "api.example.com, admin.example.com", token: viewer}, badReq},
		{"host with user info", fwd{host: "x@admin.example.com", token: viewer}, badReq},
		{"host encoded", fwd{host: "admin%2eexample.com", token: viewer}, badReq},
		{"bound host, other tenant", fwd{host: "t1.example.com", token: viewer}, forbidden},
		{"bound host, trailing dot", fwd{host: "t1.example.com.", token: viewer}, forbidden},
		{"bound host, upper case", fwd{host: "T1.EXAMPLE.COM", token: viewer}, forbidden},
		{"bound host, its tenant", fwd{host: "T1.example.com.:443", token: ofT1}, allowed},

		// Method.
		{"method rule", fwd{uri: "/docs/1", method: "POST", token: viewer}, forbidden},
		{"method rule, other method", fwd{uri: "/docs/1", method: "GET", token: viewer}, allowed},
		{"lower-case method", fwd{uri: "/docs/1", method: "post", token: viewer}, badReq},
		{"mixed-case method", fwd{uri: "/docs/1", method: "Delete", token: viewer}, badReq},
		{"method not a token", fwd{uri: "/docs/1", method: "PO ST", token: viewer}, badReq},
		{"GET rule covers HEAD", fwd{uri: "/private/x", method: "HEAD", token: viewer}, forbidden},
		{"GET rule", fwd{uri: "/private/x", method: "GET", token: viewer}, forbidden},
		{"lower-case head", fwd{uri: "/private/x", method: "head", token: viewer}, badReq},
		{"extension method passes a GET rule", fwd{uri: "/private/x", method: "PROPFIND", token: viewer}, allowed},

		// Forwarded headers: exactly one each, none missing.
		{"no forwarded headers", fwd{token: viewer, bare: true}, badReq},
		{"no method", fwd{token: viewer, bare: true, headers: map[string]string{"X-Forwarded-Host": "api.example.com", "X-Forwarded-Uri": "/"}}, badReq},
		{"no host", fwd{token: viewer, bare: true, headers: map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/"}}, badReq},
		{"no uri", fwd{token: viewer, bare: true, headers: map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Host": "api.example.com"}}, badReq},
		{"second uri header", fwd{uri: "/public", token: viewer, headers: map[string]string{"X-Forwarded-Uri": "/admin"}}, badReq},
		{"second method header", fwd{token: viewer, headers: map[string]string{"X-Forwarded-Method": "POST"}}, badReq},
		{"proto list", fwd{token: viewer, headers: map[string]string{"X-Forwarded-Proto": "https, http"}}, badReq},
		{"bad proto", fwd{token: viewer, headers: map[string]string{"X-Forwarded-Proto": "gopher"}}, badReq},

		// Anonymous rules.
		{"anonymous without token", fwd{uri: "/healthz"}, allowed},
		{"anonymous with a good token", fwd{uri: "/healthz", token: viewer}, allowed},
		{"anonymous with a bad token", fwd{uri: "/healthz", token: "x.y.z"}, noToken},
		{"anonymous preflight", fwd{uri: "/admin", method: "OPTIONS"}, allowed},
		{"not anonymous", fwd{uri: "/public"}, noToken},
		{"anonymous rule on a refused path", fwd{uri: "/healthz/../admin"}, badReq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := ts.verify(t, tt.req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			www := resp.Header.Values("WWW-Authenticate")
			switch tt.status {
			case badReq:
				if len(www) != 1 || !strings.Contains(www[0], `error="invalid_request"`) {
					t.Errorf("WWW-Authenticate = %q, want one invalid_request challenge", www)
				}
			case allowed:
				if _, ok := resp.Header["X-Auth-Subject"]; !ok {
					t.Error("allowed check lacks X-Auth-Subject (an empty one overwrites client copies)")
				}
			}
			if tt.status != allowed && resp.Header.Get("X-Auth-Subject") != "" {
				t.Error("refusal carries X-Auth headers")
			}
		})
	}

	t.Run("anonymous allow sends every X-Auth header empty", func(t *testing.T) {
		resp := ts.verify(t, fwd{uri: "/healthz"})
		for _, h := range []string{"X-Auth-Issuer", "X-Auth-Subject", "X-Auth-Tenant", "X-Auth-Roles", "X-Auth-Permissions", "X-Auth-Scopes"} {
			if v, ok := resp.Header[h]; !ok || len(v) != 1 || v[0] != "" {
				t.Errorf("%s = %q, want one empty value", h, v)
			}
		}
		if got := ts.verify(t, fwd{uri: "/healthz", token: viewer}).Header.Get("X-Auth-Subject"); got != "vic" {
			t.Errorf("anonymous rule with a token: X-Auth-Subject %q, want vic", got)
		}
	})

	t.Run("one decision record each, with the canonical request and never the token", func(t *testing.T) {
		records := decisions(t, ts.logs.String())
		var deny, allow, refused map[string]any
		for _, r := range records {
			switch {
			case r["decision"] == "deny" && r["rule"] == "admin" && r["path"] == "/admin/users" && deny == nil:
				deny = r
			case r["decision"] == "allow" && r["subject"] == "ann" && allow == nil:
				allow = r
			case r["decision"] == "deny" && r["status"] == float64(400) && refused == nil:
				refused = r
			}
		}
		if deny == nil || deny["level"] != "INFO" || deny["issuer"] != "t0" || deny["tenant"] != "t0" || deny["subject"] != "vic" ||
			deny["method"] != "GET" || deny["host"] != "api.example.com" || deny["status"] != float64(403) || deny["reason"] == nil {
			t.Errorf("deny record %v", deny)
		}
		if allow == nil || allow["level"] != "INFO" || allow["issuer"] != "t0" || allow["reason"] != nil {
			t.Errorf("allow record %v (log_allowed: info)", allow)
		}
		if refused == nil || refused["reason"] == nil || !strings.Contains(refused["reason"].(string), "canonical:") {
			t.Errorf("refused-target record %v", refused)
		}
		for _, tok := range []string{viewer, admin, ofT1} {
			if strings.Contains(ts.logs.String(), tok[strings.LastIndexByte(tok, '.'):]) {
				t.Fatal("a token signature appears in the logs")
			}
		}
	})
}

// TestServeRefusedTargetSkipsVerification: a request refused for its
// target never reaches the token verifier (nor its cache).
func TestServeRefusedTargetSkipsVerification(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	ts := startServe(t, writeConfig(t, canonicalSection, a))
	tok := a.Mint(map[string]any{"sub": "vic"})
	for _, uri := range []string{"/admin%2F", "//admin", "/a/../admin", "/admin;x"} {
		if got := ts.verify(t, fwd{uri: uri, token: tok}).StatusCode; got != 400 {
			t.Fatalf("%s: %d, want 400", uri, got)
		}
	}
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "tenantjwt_verifications_total{") {
		t.Errorf("refused targets were verified:\n%s", grepLines(string(body), "tenantjwt_verifications_total"))
	}
	if !strings.Contains(string(body), `tenantjwt_forward_auth_responses_total{code="400"} 4`) {
		t.Errorf("400s not counted:\n%s", grepLines(string(body), "forward_auth_responses"))
	}
}

// TestServeCheckIsOriginal: with original_request: check, the check
// request itself is judged (for gateways that forward the request as is).
func TestServeCheckIsOriginal(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	ts := startServe(t, writeConfig(t, "\nforward_auth:\n  original_request: check\n  rules:\n    - path_prefix: /verify\n      roles: [admin]\n", a))
	resp := ts.verify(t, fwd{token: a.Mint(map[string]any{"roles": []string{"viewer"}}), bare: true})
	if resp.StatusCode != 403 {
		t.Fatalf("check request judged as itself: %d, want 403", resp.StatusCode)
	}
}

func TestServeRuleConfigErrors(t *testing.T) {
	t.Parallel()
	for name, section := range map[string]string{
		"relative prefix":          "  rules:\n    - path_prefix: admin\n",
		"dot-dot prefix":           "  rules:\n    - path_prefix: /a/../admin\n",
		"lower-case method":        "  rules:\n    - methods: [get]\n",
		"method not a token":       "  rules:\n    - methods: [\"GE T\"]\n",
		"bad host":                 "  rules:\n    - host: a..example.com\n",
		"host with port":           "  rules:\n    - host: a.example.com:443\n",
		"anonymous with roles":     "  rules:\n    - path_prefix: /x\n      anonymous: true\n      roles: [a]\n",
		"host bound to no tenant":  "  hosts:\n    a.example.com: \"\"\n",
		"wildcard with a tenant":   "  hosts:\n    \"*.example.com\": acme\n",
		"bad host key":             "  hosts:\n    \"a b\": acme\n",
		"bad original_request":     "  original_request: maybe\n",
		"bad log_allowed":          "  log_allowed: loud\n",
		"unknown path policy flag": "  paths:\n    allow_everything: true\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := writeConfig(t, "\nforward_auth:\n"+section)
			err := run(t.Context(), []string{"serve", "--config", path, "--listen", "127.0.0.1:0"}, nil, io.Discard, io.Discard)
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want a one-line config error", err)
			}
		})
	}
	t.Run("larger than issuer.MaxConfigBytes", func(t *testing.T) {
		path := writeConfig(t, "\n#"+strings.Repeat("x", issuer.MaxConfigBytes)+"\n")
		err := run(t.Context(), []string{"serve", "--config", path, "--listen", "127.0.0.1:0"}, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("err = %v, want the size refusal", err)
		}
	})
}

// decisions returns the JSON log records with msg "decision".
func decisions(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(logs, "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) == nil && r["msg"] == "decision" {
			out = append(out, r)
		}
	}
	return out
}

func grepLines(s, sub string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
