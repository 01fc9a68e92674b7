package main

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// testServer runs `serve` in process and returns its base URL and a reload
// function that waits for the reload's outcome.
type testServer struct {
	url    string
	reload func() error
	stop   func()
	logs   *syncBuffer
	config string
	// prefetched receives the outcome of each prefetch attempt.
	prefetched chan bool
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startServe(t *testing.T, config string, extra ...string) *testServer {
	t.Helper()
	listening := make(chan string, 1)
	reloaded := make(chan error, 1)
	trigger := make(chan struct{})
	prefetched := make(chan bool, 100)
	hooks := &serveHooks{
		listening: func(addr string) { listening <- addr },
		reloaded:  func(err error) { reloaded <- err },
		reload:    trigger,
		prefetched: func(ready bool) {
			select {
			case prefetched <- ready:
			default: // never block the server; tests read what they need
			}
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	args := append([]string{"serve", "--config", config, "--listen", "127.0.0.1:0", "--watch-interval", "0"}, extra...)
	go func() {
		done <- runWith(ctx, args, nil, io.Discard, logs, hooks)
	}()
	ts := &testServer{logs: logs, config: config, prefetched: prefetched}
	select {
	case addr := <-listening:
		ts.url = "http://" + addr
	case err := <-done:
		t.Fatalf("serve exited: %v\n%s", err, logs)
	}
	ts.reload = func() error {
		trigger <- struct{}{}
		return <-reloaded
	}
	ts.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(ts.stop)
	return ts
}

// fwd describes a check as a gateway sends it. Empty host, uri and
// method default to api.example.com, / and GET; bare sends no
// X-Forwarded-* header at all.
type fwd struct {
	host, uri, method string
	token             string
	headers           map[string]string
	bare              bool
}

func (ts *testServer) verify(t *testing.T, f fwd) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.url+"/verify", nil)
	if !f.bare {
		req.Header.Set("X-Forwarded-Host", cmp.Or(f.host, "api.example.com"))
		req.Header.Set("X-Forwarded-Uri", cmp.Or(f.uri, "/"))
		req.Header.Set("X-Forwarded-Method", cmp.Or(f.method, "GET"))
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	for k, v := range f.headers {
		req.Header.Add(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

const forwardAuthSection = `
forward_auth:
  realm: gateway
  tenant_header: X-Tenant-ID
  hosts:
    t0.example.com: t0
    t1.example.com: t1
  rules:
    - host: t0.example.com
      path_prefix: /admin
      roles: [admin]
    - path_prefix: /billing
      methods: [POST]
      permissions: [billing:write]
    - path_prefix: /reports
      scopes: [reports]
`

func TestServe(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	b := issuertest.New(t, issuertest.WithAlgorithm("ES256"))
	ts := startServe(t, writeConfig(t, forwardAuthSection, a, b))
	admin := a.Mint(map[string]any{"sub": "ann", "roles": []string{"admin", "a,b"}, "permissions": []string{"billing:write"}, "scope": "reports read"})
	viewer := a.Mint(map[string]any{"sub": "vic", "roles": []string{"Admin"}})
	other := b.Mint(map[string]any{"sub": "bea", "roles": []string{"admin"}})

	const (
		noToken   = `Bearer realm="gateway"`
		invalid   = `Bearer realm="gateway", error="invalid_token", error_description="the access token is not valid"`
		forbidden = `Bearer realm="gateway", error="insufficient_scope", error_description="the access token does not allow this request"`
		badReq    = `Bearer realm="gateway", error="invalid_request", error_description="the request must carry exactly one well-formed bearer token"`
	)
	tests := []struct {
		name   string
		req    fwd
		status int
		www    string
		hdrs   map[string]string
	}{
		{"valid token, no rule", fwd{host: "t0.example.com", uri: "/", token: admin}, 200, "", map[string]string{
			"X-Auth-Issuer": "t0", "X-Auth-Subject": "ann", "X-Auth-Tenant": "t0",
			"X-Auth-Roles": "admin,a%2Cb", "X-Auth-Permissions": "billing:write", "X-Auth-Scopes": "reports,read"}},
		{"no token", fwd{host: "t0.example.com", uri: "/"}, 401, noToken, nil},
		{"bad token", fwd{host: "t0.example.com", uri: "/", token: "x.y.z"}, 401, invalid, nil},
		{"two tokens", fwd{host: "t0.example.com", uri: "/", token: admin, headers: map[string]string{"Authorization": "Bearer " + admin}}, 400, badReq, nil},
		{"rule: role met", fwd{host: "t0.example.com", uri: "/admin/users", token: admin}, 200, "", nil},
		{"rule: near-miss role", fwd{host: "t0.example.com", uri: "/admin/users", token: viewer}, 403, forbidden, nil},
		{"rule: prefix is per segment", fwd{host: "t0.example.com", uri: "/administrator", token: viewer}, 200, "", nil},
		{"rule: method matches", fwd{host: "t0.example.com", uri: "/billing?x=1", method: "POST", token: viewer}, 403, forbidden, nil},
		{"rule: other method", fwd{host: "t0.example.com", uri: "/billing", method: "GET", token: viewer}, 200, "", nil},
		{"rule: permission met", fwd{host: "t0.example.com", uri: "/billing", method: "POST", token: admin}, 200, "", nil},
		{"rule: scope", fwd{host: "t0.example.com", uri: "/reports/1", token: viewer}, 403, forbidden, nil},
		{"host bound to another tenant", fwd{host: "t1.example.com", uri: "/", token: admin}, 403, forbidden, nil},
		{"other tenant on its own host", fwd{host: "t1.example.com", uri: "/", token: other}, 200, "", map[string]string{"X-Auth-Tenant": "t1"}},
		{"unbound host", fwd{host: "api.example.com", uri: "/", token: other}, 200, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := ts.verify(t, tt.req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.www {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.www)
			}
			for k, v := range tt.hdrs {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tt.status != 200 && resp.Header.Get("X-Auth-Subject") != "" {
				t.Error("refusal carries X-Auth headers")
			}
		})
	}

	t.Run("healthz, readyz, metrics", func(t *testing.T) {
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
			resp, err := http.Get(ts.url + path)
			if err != nil || resp.StatusCode != want {
				t.Errorf("%s: %v %v", path, resp.StatusCode, err)
			}
		}
		resp, err := http.Get(ts.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, series := range []string{
			`tenantjwt_verifications_total{issuer="t0",result="ok"}`,
			`tenantjwt_verifications_total{issuer="",result="malformed"}`,
			`tenantjwt_jwks_fetches_total{issuer="t0",outcome="ok"} 1`,
			`tenantjwt_jwks_fetch_duration_seconds_bucket{issuer="t1"`,
			`tenantjwt_token_cache_hits_total`,
			`tenantjwt_token_cache_misses_total`,
			`tenantjwt_forward_auth_responses_total{code="403"}`,
		} {
			if !strings.Contains(string(body), series) {
				t.Errorf("/metrics lacks %s", series)
			}
		}
	})

	t.Run("logs never hold tokens", func(t *testing.T) {
		if strings.Contains(ts.logs.String(), admin[:40]) || strings.Contains(ts.logs.String(), viewer[:40]) {
			t.Error("a token appears in the logs")
		}
	})

	t.Run("reload: good file, then bad file keeps serving", func(t *testing.T) {
		// Good: only issuer b is trusted now.
		if err := os.WriteFile(ts.config, []byte(mustRead(t, writeConfig(t, forwardAuthSection, b))), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := ts.reload(); err != nil {
			t.Fatalf("good reload: %v", err)
		}
		if got := ts.verify(t, fwd{host: "api.example.com", uri: "/", token: admin}).StatusCode; got != 401 {
			t.Errorf("a's token after a is removed: %d, want 401", got)
		}
		// Bad: a typo; the old config keeps serving.
		os.WriteFile(ts.config, []byte("issuers:\n  - name: x\n    isuer: https://x.example/\n"), 0o600)
		if err := ts.reload(); err == nil {
			t.Fatal("bad config accepted")
		}
		if got := ts.verify(t, fwd{host: "api.example.com", uri: "/", token: other}).StatusCode; got != 200 {
			t.Errorf("after a bad reload: %d, want 200 from the old config", got)
		}
		if !strings.Contains(ts.logs.String(), "config reload failed") {
			t.Error("bad reload not logged")
		}
	})
}

func mustRead(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServeConfigErrors(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]string{
		"unknown section key": "issuers: []\nforward_auth:\n  rulez: []\n",
		"bad rule":            "issuers: []\nforward_auth:\n  rules:\n    - path_prefix: admin\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := t.TempDir() + "/c.yaml"
			os.WriteFile(path, []byte(cfg), 0o600)
			err := run(context.Background(), []string{"serve", "--config", path, "--listen", "127.0.0.1:0"}, nil, io.Discard, io.Discard)
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line", err)
			}
		})
	}
}

func TestServeReloadsOnFileChange(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	b := issuertest.New(t)
	path := writeConfig(t, "", a)
	listening := make(chan string, 1)
	reloaded := make(chan error, 1)
	hooks := &serveHooks{listening: func(addr string) { listening <- addr }, reloaded: func(err error) { reloaded <- err }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runWith(ctx, []string{"serve", "--config", path, "--listen", "127.0.0.1:0", "--watch-interval", "5ms"}, nil, io.Discard, io.Discard, hooks)
	}()
	t.Cleanup(func() { cancel(); <-done })
	ts := &testServer{url: "http://" + <-listening}
	if got := ts.verify(t, fwd{token: b.Mint(nil)}).StatusCode; got != 401 {
		t.Fatalf("b before the change: %d, want 401", got)
	}
	// Replaced whole (a rename): the watcher, every 5 ms, must not see the
	// file empty or half written.
	if err := os.Rename(writeConfig(t, "", b), path); err != nil {
		t.Fatal(err)
	}
	if err := <-reloaded; err != nil { // the watcher saw the new content
		t.Fatalf("reload: %v", err)
	}
	if got := ts.verify(t, fwd{token: b.Mint(nil)}).StatusCode; got != 200 {
		t.Errorf("b after the change: %d, want 200", got)
	}
}

// TestServeDPoP: forward-auth checks DPoP proofs against the original
// request the gateway describes in X-Forwarded-* headers.
func TestServeDPoP(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	ts := startServe(t, writeConfig(t, "", a))
	client, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	bound := a.Mint(map[string]any{"sub": "dee", "cnf": client.Confirmation()})
	const external = "https://api.example.com/orders/7"

	send := func(scheme, proof, method, uri string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.url+"/verify", nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "api.example.com")
		req.Header.Set("X-Forwarded-Method", method)
		req.Header.Set("X-Forwarded-Uri", uri)
		req.Header.Set("Authorization", scheme+" "+bound)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	algs := `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA"`
	badProof := `DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is not valid", ` + algs

	proof := client.Proof("POST", external, bound)
	resp := send("DPoP", proof, "POST", "/orders/7?expand=items")
	if resp.StatusCode != 200 || resp.Header.Get("X-Auth-Subject") != "dee" {
		t.Fatalf("valid proof: %d %q", resp.StatusCode, resp.Header.Get("X-Auth-Subject"))
	}
	tests := []struct {
		name, scheme, proof, method, uri string
		www                              string
	}{
		{"the same proof again", "DPoP", proof, "POST", "/orders/7", badProof},
		{"proof for another method", "DPoP", client.Proof("GET", external, bound), "POST", "/orders/7", badProof},
		{"proof for another path", "DPoP", client.Proof("POST", "https://api.example.com/orders/8", bound), "POST", "/orders/7", badProof},
		{"no proof", "DPoP", "", "POST", "/orders/7", badProof},
		{"bound token sent as Bearer", "Bearer", client.Proof("POST", external, bound), "POST", "/orders/7", badProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := send(tt.scheme, tt.proof, tt.method, tt.uri)
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != tt.www {
				t.Errorf("%d %q, want 401 %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tt.www)
			}
			if resp.Header.Get("X-Auth-Subject") != "" {
				t.Error("refusal carries X-Auth headers")
			}
		})
	}
	t.Run("a replay is still refused after a reload", func(t *testing.T) {
		p := client.Proof("GET", external, bound)
		if got := send("DPoP", p, "GET", "/orders/7").StatusCode; got != 200 {
			t.Fatalf("fresh proof: %d", got)
		}
		if err := ts.reload(); err != nil {
			t.Fatal(err)
		}
		if got := send("DPoP", p, "GET", "/orders/7").StatusCode; got != 401 {
			t.Errorf("replay after reload: %d, want 401", got)
		}
	})
}
