package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitPrefetch reads prefetch outcomes until one equals want.
func (ts *testServer) waitPrefetch(t *testing.T, want bool) {
	t.Helper()
	deadline := time.After(20 * time.Second) // a bound, not synchronisation
	for {
		select {
		case got := <-ts.prefetched:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("no prefetch attempt ended with ready=%v", want)
		}
	}
}

// prefetchConfig lists issuers with prefetch: true.
func prefetchConfig(t *testing.T, extra string, issuers ...*issuertest.Issuer) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("issuers:\n")
	for i, iss := range issuers {
		fmt.Fprintf(&b, "  - name: p%d\n    issuer: %s\n    jwks_uri: %s\n    audiences: [%s]\n    algorithms: [%s]\n    prefetch: true\n", i, iss.URL(), iss.JWKSURL(), iss.Audience(), iss.Algorithm())
	}
	b.WriteString(extra)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServeReadinessRecovers: a prefetch issuer that is down at start makes
// /readyz 503; once it is up, /readyz turns 200 with no traffic at all.
func TestServeReadinessRecovers(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	down := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	a.SetJWKSHandler(down)
	ts := startServe(t, prefetchConfig(t, "", a), "--prefetch-retry", "20ms")
	ts.waitPrefetch(t, false)
	if code, body := get(t, ts.url+"/readyz?verbose"); code != 503 || !strings.Contains(body, "p0: no keys") {
		t.Fatalf("/readyz while the issuer is down: %d %q", code, body)
	}
	a.SetJWKSHandler(nil)
	ts.waitPrefetch(t, true)
	code, body := get(t, ts.url+"/readyz?verbose")
	if code != 200 || !strings.Contains(body, "p0: keys loaded; keys=1 prefetch=true fetched=") {
		t.Fatalf("/readyz once the issuer is up: %d %q", code, body)
	}
	if !strings.Contains(ts.logs.String(), `"msg":"keys fetched","issuer":"p0"`) || !strings.Contains(ts.logs.String(), `"msg":"ready: every prefetch issuer has keys"`) {
		t.Errorf("arrival of keys not logged:\n%s", ts.logs)
	}
	if n := strings.Count(ts.logs.String(), `"msg":"key fetch failed"`); n != 1 {
		t.Errorf("%d key-fetch-failed records for one failure that repeated, want 1", n)
	}

	t.Run("once ready, a reload never makes it unready", func(t *testing.T) {
		b := issuertest.New(t)
		b.SetJWKSHandler(down)
		if err := os.WriteFile(ts.config, []byte(mustRead(t, prefetchConfig(t, "", a, b))), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := ts.reload(); err != nil {
			t.Fatal(err)
		}
		ts.waitPrefetch(t, false)
		code, body := get(t, ts.url+"/readyz?verbose")
		if code != 200 || !strings.Contains(body, "p1: no keys") {
			t.Fatalf("/readyz after adding an issuer that is down: %d %q", code, body)
		}
		_, metrics := get(t, ts.url+"/metrics")
		for _, want := range []string{`tenantjwt_issuer_keys_ready{issuer="p0"} 1`, `tenantjwt_issuer_keys_ready{issuer="p1"} 0`, `tenantjwt_jwks_age_seconds{issuer="p0"}`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

// TestServeReloadLogsOnce: a bad file is logged once, however often it is
// retried, and its repair is logged too; the gauges follow.
func TestServeReloadLogsOnce(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	ts := startServe(t, writeConfig(t, "", a))
	good := mustRead(t, ts.config)
	os.WriteFile(ts.config, []byte("issuers:\n  - name: x\n    isuer: https://x.example/\n"), 0o600)
	for range 3 {
		if err := ts.reload(); err == nil {
			t.Fatal("bad config accepted")
		}
	}
	if n := strings.Count(ts.logs.String(), "config reload failed"); n != 1 {
		t.Errorf("bad file logged %d times, want once", n)
	}
	if _, m := get(t, ts.url+"/metrics"); !strings.Contains(m, "tenantjwt_config_reload_success 0") || !strings.Contains(m, "tenantjwt_config_reload_timestamp_seconds ") {
		t.Errorf("reload gauges after a failure:\n%s", grepLines(m, "reload"))
	}
	os.WriteFile(ts.config, []byte(good), 0o600)
	if err := ts.reload(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ts.logs.String(), "config file is good again") {
		t.Error("repair not logged")
	}
	if _, m := get(t, ts.url+"/metrics"); !strings.Contains(m, "tenantjwt_config_reload_success 1") {
		t.Errorf("reload gauge after repair:\n%s", grepLines(m, "reload"))
	}
}

// TestServeClaimHeaders: configured claim headers are always sent,
// encoded like X-Auth-*, and empty when the claim is absent.
func TestServeClaimHeaders(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	ts := startServe(t, writeConfig(t, `
forward_auth:
  headers:
    X-User-Email: email
    X-Org: org_id
    x-groups: groups
    X-Level: level
    X-Profile: profile
    X-Missing: nothing.here
  rules:
    - path_prefix: /public
      anonymous: true
`, a))
	tok := a.Mint(map[string]any{"sub": "ann", "email": "ann@example.com", "org_id": "org,1", "groups": []any{"a", "b,c", 7}, "level": 3, "profile": map[string]any{"x": 1}})
	resp := ts.verify(t, fwd{token: tok})
	want := map[string]string{"X-User-Email": "ann@example.com", "X-Org": "org%2C1", "X-Groups": "a,b%2Cc,7", "X-Level": "3", "X-Profile": `{"x":1}`, "X-Missing": ""}
	for k, v := range want {
		if got, ok := resp.Header[k]; !ok || len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want [%q]", k, got, v)
		}
	}
	anon := ts.verify(t, fwd{uri: "/public"})
	for k := range want {
		if got, ok := anon.Header[k]; !ok || got[0] != "" {
			t.Errorf("anonymous allow: %s = %q, want an empty header", k, got)
		}
	}
	for name, section := range map[string]string{
		"identity header": "  headers:\n    X-Auth-Subject: sub\n",
		"bad name":        "  headers:\n    \"X User\": sub\n",
		"bad path":        "  headers:\n    X-User: \"a..b\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			err := run(t.Context(), []string{"serve", "--config", writeConfig(t, "\nforward_auth:\n"+section), "--listen", "127.0.0.1:0"}, nil, io.Discard, io.Discard)
			if err == nil {
				t.Error("accepted")
			}
		})
	}
}

// TestServeTLS: --tls-cert/--tls-key serve HTTPS, and a replaced
// certificate is served after the next watch tick (here: a reload).
func TestServeTLS(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	pool := x509.NewCertPool()
	first := writeServerCert(t, certFile, keyFile, pool, 1)
	ts := startServe(t, writeConfig(t, "", a), "--tls-cert", certFile, "--tls-key", keyFile)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	serial := func() int64 {
		t.Helper()
		resp, err := client.Get(strings.Replace(ts.url, "http://", "https://", 1) + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != first {
		t.Fatalf("serial %d, want %d", got, first)
	}
	second := writeServerCert(t, certFile, keyFile, pool, 2)
	if err := ts.reload(); err != nil {
		t.Fatal(err)
	}
	client.CloseIdleConnections()
	if got := serial(); got != second {
		t.Fatalf("after the files changed: serial %d, want %d", got, second)
	}
	if !strings.Contains(ts.logs.String(), "TLS certificate reloaded") {
		t.Error("certificate reload not logged")
	}
	if err := run(t.Context(), []string{"serve", "--config", ts.config, "--tls-cert", certFile}, nil, io.Discard, io.Discard); err == nil {
		t.Error("--tls-cert without --tls-key accepted")
	}
}

// writeServerCert writes a self-signed certificate for 127.0.0.1, adds it
// to pool and returns its serial number.
func writeServerCert(t *testing.T, certFile, keyFile string, pool *x509.CertPool, serial int64) int64 {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "serve"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool.AddCert(cert)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return serial
}

// TestServeRefusalLogsAreLimited: a flood of junk tokens writes the first
// records of its reason and then a trickle, and counts the rest.
func TestServeRefusalLogsAreLimited(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	ts := startServe(t, writeConfig(t, "", a))
	const flood = 60
	for i := range flood {
		ts.verify(t, fwd{token: fmt.Sprintf("junk%d.x.y", i)})
	}
	written := 0
	for _, r := range decisions(t, ts.logs.String()) {
		if r["decision"] == "deny" {
			written++
		}
	}
	_, m := get(t, ts.url+"/metrics")
	var suppressed int
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, `tenantjwt_log_records_suppressed_total{reason="malformed"}`) {
			fmt.Sscan(strings.Fields(l)[1], &suppressed)
		}
	}
	if written < 1 || written > 20 || written+suppressed != flood {
		t.Errorf("%d records written, %d suppressed, of %d refusals", written, suppressed, flood)
	}
}

func TestLogLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := &logLimiter{rate: 1, burst: 3, now: func() time.Time { return now }}
	var got []string
	for i := range 6 {
		ok, n := l.allow("a")
		got = append(got, fmt.Sprintf("%v %v %v", i, ok, n))
	}
	if ok, _ := l.allow("b"); !ok {
		t.Error("first record of another key held back")
	}
	now = now.Add(2 * time.Second)
	ok, n := l.allow("a")
	got = append(got, fmt.Sprintf("%v %v %v", "later", ok, n))
	want := "0 true 0|1 true 0|2 true 0|3 false 0|4 false 0|5 false 0|later true 3"
	if strings.Join(got, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
	if ok, _ := (&logLimiter{}).allow("x"); !ok {
		t.Error("a zero rate must write everything")
	}
}

// TestServeMetricsSeries: the operational series exist after traffic.
func TestServeMetricsSeries(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	ts := startServe(t, writeConfig(t, "", a))
	ts.verify(t, fwd{token: a.Mint(nil)})
	_, m := get(t, ts.url+"/metrics")
	for _, want := range []string{
		`tenantjwt_check_duration_seconds_bucket{mode="forward_auth"`,
		`tenantjwt_build_info{goversion="go`,
		`tenantjwt_config_reload_success 1`,
		`tenantjwt_issuer_keys{issuer="t0"} 1`,
		`tenantjwt_jwks_age_seconds{issuer="t0"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	ts2 := startServe(t, writeConfig(t, "", a), "--metrics-issuer-label=false")
	ts2.verify(t, fwd{token: a.Mint(nil)})
	if _, m := get(t, ts2.url+"/metrics"); strings.Contains(m, `issuer="t0"`) || !strings.Contains(m, `tenantjwt_verifications_total{issuer="",result="ok"} 1`) {
		t.Errorf("--metrics-issuer-label=false still labels by issuer:\n%s", grepLines(m, "issuer="))
	}
}

// TestServeReloadIsIncremental: a reload that only changes the issuers
// keeps the unchanged ones with their key sets and cached tokens.
func TestServeReloadIsIncremental(t *testing.T) {
	t.Parallel()
	a, b := issuertest.New(t), issuertest.New(t)
	ts := startServe(t, writeConfig(t, "", a))
	tok := a.Mint(nil)
	ts.verify(t, fwd{token: tok})
	if err := os.WriteFile(ts.config, []byte(mustRead(t, writeConfig(t, "", a, b))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ts.reload(); err != nil {
		t.Fatal(err)
	}
	if got := ts.verify(t, fwd{token: tok}).StatusCode; got != 200 {
		t.Fatalf("after the reload: %d", got)
	}
	if got := ts.verify(t, fwd{token: b.Mint(nil)}).StatusCode; got != 200 {
		t.Fatalf("the added issuer: %d", got)
	}
	_, m := get(t, ts.url+"/metrics")
	if !strings.Contains(m, "tenantjwt_token_cache_hits_total 1") || a.JWKSRequests() != 1 {
		t.Errorf("unchanged issuer lost its cached token or keys: %d JWKS fetches\n%s", a.JWKSRequests(), grepLines(m, "token_cache"))
	}
	// A change beyond the issuers builds a new registry.
	if err := os.WriteFile(ts.config, []byte("leeway: 5s\n"+mustRead(t, writeConfig(t, "", a, b))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ts.reload(); err != nil {
		t.Fatal(err)
	}
	if got := ts.verify(t, fwd{token: tok}).StatusCode; got != 200 {
		t.Fatalf("after a full reload: %d", got)
	}
}

// TestServeIssuersDir: issuers_dir adds one file per issuer (or group);
// the watcher notices a new file, and a reload parses only what changed.
func TestServeIssuersDir(t *testing.T) {
	t.Parallel()
	a, b := issuertest.New(t), issuertest.New(t)
	root := t.TempDir()
	dir := filepath.Join(root, "issuers.d")
	os.Mkdir(dir, 0o755)
	// put writes a file of the folder whole: the watcher (every 5 ms) must
	// not see it empty or half written.
	put := func(name, body string) {
		t.Helper()
		tmp := filepath.Join(root, name+".tmp")
		if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	issuerFile := func(name string, iss *issuertest.Issuer) {
		t.Helper()
		put(name+".yaml", fmt.Sprintf("issuers:\n  - name: %s\n    issuer: %s\n    jwks_uri: %s\n    audiences: [%s]\n    algorithms: [%s]\n", name, iss.URL(), iss.JWKSURL(), iss.Audience(), iss.Algorithm()))
	}
	issuerFile("a", a)
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a config"), 0o600)
	config := filepath.Join(root, "config.yaml")
	os.WriteFile(config, []byte("issuers: []\nissuers_dir: issuers.d\n"), 0o600)

	listening := make(chan string, 1)
	reloaded := make(chan error, 10)
	hooks := &serveHooks{listening: func(addr string) { listening <- addr }, reloaded: func(err error) { reloaded <- err }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		done <- runWith(ctx, []string{"serve", "--config", config, "--listen", "127.0.0.1:0", "--watch-interval", "5ms"}, nil, io.Discard, logs, hooks)
	}()
	t.Cleanup(func() { cancel(); <-done })
	var ts *testServer
	select {
	case addr := <-listening:
		ts = &testServer{url: "http://" + addr}
	case err := <-done:
		t.Fatalf("serve exited: %v\n%s", err, logs)
	}
	tokA, tokB := a.Mint(nil), b.Mint(nil)
	if got := ts.verify(t, fwd{token: tokA}).StatusCode; got != 200 {
		t.Fatalf("issuer from the folder: %d\n%s", got, logs)
	}
	if got := ts.verify(t, fwd{token: tokB}).StatusCode; got != 401 {
		t.Fatalf("issuer not onboarded yet: %d", got)
	}
	issuerFile("b", b)
	if err := <-reloaded; err != nil { // the watcher saw the new file
		t.Fatalf("reload: %v", err)
	}
	if got := ts.verify(t, fwd{token: tokB}).StatusCode; got != 200 {
		t.Fatalf("onboarded by a new file: %d", got)
	}
	ts.verify(t, fwd{token: tokA}) // verified once before the reload: now from the cache
	if _, m := get(t, ts.url+"/metrics"); !strings.Contains(m, "tenantjwt_token_cache_hits_total 1") {
		t.Errorf("the unchanged issuer lost its cached token:\n%s", grepLines(m, "cache_hits"))
	}
	put("bad.yaml", "leeway: 5s\nissuers: []\n")
	if err := <-reloaded; err == nil || !strings.Contains(err.Error(), "only an issuers list") {
		t.Fatalf("a folder file with more than issuers: %v", err)
	}
	if got := ts.verify(t, fwd{token: tokB}).StatusCode; got != 200 {
		t.Fatalf("the previous config stops serving after a bad file: %d", got)
	}
}
