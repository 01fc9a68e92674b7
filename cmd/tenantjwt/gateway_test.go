package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/internal/realproc"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// The gateway tests run the shipped examples/forward-auth configs with
// real nginx and real Caddy in front of an upstream that echoes what it
// received, with `tenantjwt serve` and `tenantjwt dev` issuers in process.
// Only the ports in the shipped files are substituted.

// echoUpstream is the API behind the gateway: it answers 200 with what it
// received and remembers every request target it saw.
type echoUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

type echoed struct {
	URI     string            `json:"uri"`
	Headers map[string]string `json:"headers"`
}

func startUpstream(t *testing.T) *echoUpstream {
	u := &echoUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.RequestURI)
		u.mu.Unlock()
		e := echoed{URI: r.RequestURI, Headers: map[string]string{}}
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-Auth-") {
				e.Headers[k] = strings.Join(v, "|")
			}
		}
		json.NewEncoder(w).Encode(e)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *echoUpstream) reset() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.seen
	u.seen = nil
	return s
}

// gatewayEnv is everything behind the gateway.
type gatewayEnv struct {
	serve    string // host:port of tenantjwt serve
	upstream *echoUpstream
	devDir   string
	downBase string // an issuer base nothing listens on: its keys are unavailable
}

func startGatewayEnv(t *testing.T) *gatewayEnv {
	t.Helper()
	env := &gatewayEnv{devDir: t.TempDir(), upstream: startUpstream(t), downBase: "http://" + freeAddr(t)}
	devAddr, _ := startDev(t, "--dir", env.devDir, "--listen", "127.0.0.1:0", "--tenant", "acme", "--tenant", "globex")
	cfg := strings.ReplaceAll(readExample(t, "config.yaml"), "127.0.0.1:8931", devAddr)
	// One more issuer, whose IdP is down, for the outage case.
	cfg = strings.Replace(cfg, "issuers:\n", fmt.Sprintf("issuers:\n  - name: down\n    issuer: %s/acme\n    discovery: true\n    audiences: [http://localhost]\n    tenant: down\n", env.downBase), 1)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startServe(t, path)
	env.serve = strings.TrimPrefix(ts.url, "http://")
	return env
}

func readExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "forward-auth", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// substitute puts the test's ports into a shipped gateway config: clients
// on 8000, tenantjwt serve on 8080, the API on 9000.
func (env *gatewayEnv) substitute(t *testing.T, conf, gateway string) string {
	t.Helper()
	out := conf
	for from, to := range map[string]string{
		"127.0.0.1:8000": gateway,
		":8000":          ":" + portOf(gateway),
		"127.0.0.1:8080": env.serve,
		"127.0.0.1:9000": strings.TrimPrefix(env.upstream.URL, "http://"),
	} {
		if !strings.Contains(out, from) {
			continue
		}
		out = strings.ReplaceAll(out, from, to)
	}
	for _, port := range []string{"8000", "8080", "9000"} {
		if strings.Contains(out, ":"+port+"\n") || strings.Contains(out, ":"+port+";") || strings.Contains(out, ":"+port+" ") {
			t.Fatalf("port %s left in the config:\n%s", port, out)
		}
	}
	return out
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// The gateway tests are not parallel: the gateway listens on a port that
// was free a moment before, which a parallel test's connection could take.
func TestGatewayNginx(t *testing.T) {
	bin := realproc.Binary(t, "nginx")
	env := startGatewayEnv(t)
	gw := freeAddr(t)
	dir := t.TempDir()
	conf := env.substitute(t, readExample(t, "nginx.conf"), gw)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	realproc.Start(t, "start worker process", bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"),
		"-g", "daemon off; master_process on; pid "+filepath.Join(dir, "nginx.pid")+"; error_log stderr notice;")
	runGatewaySuite(t, env, gw, "nginx")
}

func TestGatewayCaddy(t *testing.T) {
	bin := realproc.Binary(t, "caddy")
	env := startGatewayEnv(t)
	gw := freeAddr(t)
	dir := t.TempDir()
	conf := env.substitute(t, readExample(t, "Caddyfile"), gw)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// Caddy keeps state under $HOME; keep it in the test.
	state := []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	realproc.StartEnv(t, state, "serving initial configuration", bin, "run", "--config", path, "--adapter", "caddyfile")
	runGatewaySuite(t, env, gw, "caddy")
}

// rawResponse is what a client received.
type rawResponse struct {
	status int
	header http.Header
	body   string
}

// send writes one request with exactly the given request line and
// headers, so no client library tidies the target on the way.
func send(t *testing.T, addr, method, target, host string, headers ...string) rawResponse {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, host)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func runGatewaySuite(t *testing.T, env *gatewayEnv, gw, name string) {
	host := "acme.localhost:" + portOf(gw) // the port the client really used
	mint := func(args ...string) string { return mint(t, append([]string{"--dir", env.devDir}, args...)...) }
	admin := mint("--tenant", "acme", "--sub", "alice", "--roles", "admin")
	viewer := mint("--tenant", "acme", "--sub", "vic", "--roles", "viewer")
	globex := mint("--tenant", "globex", "--sub", "gil", "--roles", "admin")
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	t.Run("a valid token reaches the upstream with its X-Auth headers, and client copies never do", func(t *testing.T) {
		env.upstream.reset()
		r := send(t, gw, "GET", "/admin/users?page=2", host, append(bearer(admin),
			"X-Auth-Roles", "superuser", "X-Auth-Subject", "eve", "X-Auth-Tenant", "globex")...)
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var e echoed
		if err := json.Unmarshal([]byte(r.body), &e); err != nil {
			t.Fatalf("upstream answer %q: %v", r.body, err)
		}
		want := map[string]string{"X-Auth-Subject": "alice", "X-Auth-Tenant": "acme", "X-Auth-Roles": "admin", "X-Auth-Issuer": "acme"}
		for k, v := range want {
			if e.Headers[k] != v {
				t.Errorf("upstream saw %s = %q, want %q (all: %v)", k, e.Headers[k], v, e.Headers)
			}
		}
		if e.URI != "/admin/users?page=2" {
			t.Errorf("upstream saw %q", e.URI)
		}
	})

	t.Run("an anonymous rule lets no token through, and client X-Auth headers still never reach the upstream", func(t *testing.T) {
		r := send(t, gw, "GET", "/healthz", host, "X-Auth-Subject", "eve", "X-Auth-Roles", "admin")
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var e echoed
		json.Unmarshal([]byte(r.body), &e)
		if e.Headers["X-Auth-Subject"] != "" || e.Headers["X-Auth-Roles"] != "" {
			t.Errorf("client-sent identity reached the upstream: %v", e.Headers)
		}
	})

	challenges := []struct {
		name, www string
		headers   []string
	}{
		{"no token", `Bearer realm="api"`, nil},
		{"bad token", `Bearer realm="api", error="invalid_token", error_description="the access token is not valid"`, bearer(admin[:len(admin)-4] + "AAAA")},
	}
	for _, c := range challenges {
		t.Run(c.name+": 401 with exactly one WWW-Authenticate", func(t *testing.T) {
			env.upstream.reset()
			r := send(t, gw, "GET", "/orders", host, c.headers...)
			if r.status != 401 {
				t.Fatalf("status %d", r.status)
			}
			if got := r.header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != c.www {
				t.Errorf("WWW-Authenticate = %q, want exactly [%q]", got, c.www)
			}
			if seen := env.upstream.reset(); len(seen) != 0 {
				t.Errorf("upstream saw %q", seen)
			}
		})
	}

	t.Run("a rule gives 403", func(t *testing.T) {
		env.upstream.reset()
		r := send(t, gw, "GET", "/admin/users", host, bearer(viewer)...)
		if r.status != 403 {
			t.Fatalf("status %d", r.status)
		}
		if got := r.header.Values("WWW-Authenticate"); len(got) != 1 || !strings.Contains(got[0], `error="insufficient_scope"`) {
			t.Errorf("WWW-Authenticate = %q", got)
		}
		if r := send(t, gw, "POST", "/billing/invoices", host, bearer(viewer)...); r.status != 403 {
			t.Errorf("POST /billing: %d, want 403", r.status)
		}
		if r := send(t, gw, "GET", "/orders", "globex.localhost:"+portOf(gw), bearer(admin)...); r.status != 403 {
			t.Errorf("acme token on globex's host: %d, want 403", r.status)
		}
		if seen := env.upstream.reset(); len(seen) != 0 {
			t.Errorf("upstream saw %q", seen)
		}
	})

	t.Run("no spelling of a protected path or host gets past its rule", func(t *testing.T) {
		for _, c := range []struct{ method, target, host string }{
			{"GET", "/%61dmin/users", host},
			{"GET", "/%61%64%6d%69%6e", host},
			{"GET", "/admin%2Fusers", host},
			{"GET", "/admin%2fusers", host},
			{"GET", "/x/..%2Fadmin", host},
			{"GET", "/%5Cadmin", host},
			{"GET", "/\\admin", host},
			{"GET", "//admin", host},
			{"GET", "/x//admin", host},
			{"GET", "/./admin", host},
			{"GET", "/x/../admin", host},
			{"GET", "/x/%2e%2e/admin", host},
			{"GET", "/admin;x=1", host},
			{"GET", "/;x/admin", host},
			{"GET", "/admin%00", host},
			{"GET", "/admin%0a", host},
			{"GET", "/adm%zzin", host},
			{"GET", "/%252e%252e/admin", host},
			{"GET", "http://" + host + "/admin", host},
			{"get", "/admin", host},
			{"Get", "/admin", host},
			{"GET", "/admin", "ACME.localhost:" + portOf(gw)},
			{"GET", "/admin", "acme.localhost.:" + portOf(gw)},
			{"HEAD", "/admin", host},
			{"post", "/billing/x", host},
			{"GET", "/admin", "acme..localhost:" + portOf(gw)},
		} {
			env.upstream.reset()
			r := send(t, gw, c.method, c.target, c.host, bearer(viewer)...)
			if r.status < 400 || r.status >= 500 {
				t.Errorf("%s %q Host %q: %d, want a 4xx refusal", c.method, c.target, c.host, r.status)
			}
			if seen := env.upstream.reset(); len(seen) != 0 {
				t.Errorf("%s %q Host %q reached the upstream as %q", c.method, c.target, c.host, seen)
			}
		}
	})

	t.Run("a DPoP proof for the URL the client used, with its port, passes", func(t *testing.T) {
		client, err := issuertest.NewDPoPClient("ES256", nil)
		if err != nil {
			t.Fatal(err)
		}
		cnf, _ := json.Marshal(client.Confirmation())
		tok := mint("--tenant", "acme", "--sub", "dee", "--claim", "cnf="+string(cnf))
		url := "http://" + host + "/orders/7"
		r := send(t, gw, "POST", "/orders/7?expand=items", host, "Authorization", "DPoP "+tok, "DPoP", client.Proof("POST", url, tok))
		if r.status != 200 {
			t.Fatalf("proof for %s: %d %q", url, r.status, r.header.Values("WWW-Authenticate"))
		}
		r = send(t, gw, "POST", "/orders/7", host, "Authorization", "DPoP "+tok, "DPoP", client.Proof("POST", "http://acme.localhost/orders/7", tok))
		if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_dpop_proof") {
			t.Errorf("proof without the port: %d %q, want 401 invalid_dpop_proof", r.status, r.header.Values("WWW-Authenticate"))
		}
	})

	t.Run("an IdP outage reaches the client as 503 with Retry-After", func(t *testing.T) {
		down := mint("--tenant", "acme", "--sub", "dan", "--issuer-base", env.downBase)
		r := send(t, gw, "GET", "/orders", host, bearer(down)...)
		if r.status != 503 || r.header.Get("Retry-After") == "" {
			t.Fatalf("status %d Retry-After %q, want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
		}
		if len(r.header.Values("WWW-Authenticate")) != 0 {
			t.Errorf("503 carries WWW-Authenticate %q", r.header.Values("WWW-Authenticate"))
		}
	})

	t.Run("a refused request target reaches the client as 400", func(t *testing.T) {
		r := send(t, gw, "GET", "/orders;x=1", host, bearer(admin)...)
		if r.status != 400 {
			t.Fatalf("status %d, want 400", r.status)
		}
		if got := r.header.Values("WWW-Authenticate"); len(got) != 1 || !strings.Contains(got[0], `error="invalid_request"`) {
			t.Errorf("WWW-Authenticate = %q", got)
		}
	})
	_ = globex
}
