package middleware_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/echoauth"
)

const (
	dpopAlgs     = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA"`
	hdrBadProof  = `DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is not valid", ` + dpopAlgs
	hdrDPoPToken = `DPoP realm="api", error="invalid_token", error_description="the access token is not valid", ` + dpopAlgs
)

// boundEnv is an issuer, a DPoP client, and a registry trusting the issuer.
type boundEnv struct {
	iss    *issuertest.Issuer
	client *issuertest.DPoPClient
	reg    *issuer.Registry
}

func newBoundEnv(t *testing.T) *boundEnv {
	t.Helper()
	iss := issuertest.New(t, issuertest.WithPath("/bound"))
	client, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := issuer.New(issuer.Options{}, iss.LocalConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return &boundEnv{iss: iss, client: client, reg: reg}
}

// bindingServer serves the middleware over real HTTP, answering 200 with
// the principal's binding.
func bindingServer(t *testing.T, v middleware.Verifier, cfg middleware.Config) *httptest.Server {
	h := middleware.New(v, cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenantjwt.FromContext(r.Context())
		io.WriteString(w, p.Binding())
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type call struct {
	method, path string
	auth         []string // Authorization values
	dpop         []string // DPoP values
	headers      map[string]string
}

func (c call) do(t *testing.T, client *http.Client, base string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(c.method, base+c.path, nil)
	for _, v := range c.auth {
		req.Header.Add("Authorization", v)
	}
	for _, v := range c.dpop {
		req.Header.Add("DPoP", v)
	}
	for k, v := range c.headers {
		req.Header.Add(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(body)
}

func TestDPoPThroughMiddleware(t *testing.T) {
	t.Parallel()
	e := newBoundEnv(t)
	srv := bindingServer(t, e.reg, middleware.Config{})
	tok := e.iss.Mint(map[string]any{"cnf": e.client.Confirmation()})
	expired := e.iss.Mint(map[string]any{"cnf": e.client.Confirmation(), "exp": time.Now().Add(-time.Hour).Unix()})
	u := srv.URL + "/orders"
	proof := func(method, tk string) string { return e.client.Proof(method, u, tk) }

	tests := []struct {
		name   string
		c      call
		status int
		www    string
	}{
		{"valid proof", call{method: "GET", path: "/orders?page=2", auth: []string{"DPoP " + tok}, dpop: []string{proof("GET", tok)}}, 200, ""},
		{"scheme in lower case", call{method: "GET", path: "/orders", auth: []string{"dpop " + tok}, dpop: []string{proof("GET", tok)}}, 200, ""},
		{"POST with a GET proof", call{method: "POST", path: "/orders", auth: []string{"DPoP " + tok}, dpop: []string{proof("GET", tok)}}, 401, hdrBadProof},
		{"another path", call{method: "GET", path: "/invoices", auth: []string{"DPoP " + tok}, dpop: []string{proof("GET", tok)}}, 401, hdrBadProof},
		{"no DPoP header", call{method: "GET", path: "/orders", auth: []string{"DPoP " + tok}}, 401, hdrBadProof},
		{"two DPoP headers", call{method: "GET", path: "/orders", auth: []string{"DPoP " + tok}, dpop: []string{proof("GET", tok), proof("GET", tok)}}, 401, hdrBadProof},
		{"bound token sent as Bearer", call{method: "GET", path: "/orders", auth: []string{"Bearer " + tok}, dpop: []string{proof("GET", tok)}}, 401, hdrBadProof},
		{"expired bound token with a valid proof", call{method: "GET", path: "/orders", auth: []string{"DPoP " + expired}, dpop: []string{proof("GET", expired)}}, 401, hdrDPoPToken},
		{"DPoP scheme with an unbound token", call{method: "GET", path: "/orders", auth: []string{"DPoP " + e.iss.Mint(nil)}, dpop: []string{proof("GET", tok)}}, 401, hdrDPoPToken},
		{"Bearer and DPoP headers together", call{method: "GET", path: "/orders", auth: []string{"Bearer " + tok, "DPoP " + tok}, dpop: []string{proof("GET", tok)}}, 400,
			`DPoP realm="api", error="invalid_request", error_description="the request must carry exactly one well-formed bearer token", ` + dpopAlgs},
		{"forwarded headers are ignored unless configured", call{method: "GET", path: "/orders", auth: []string{"DPoP " + tok},
			dpop:    []string{e.client.Proof("GET", "https://api.example.com/orders", tok)},
			headers: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}}, 401, hdrBadProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, www, body := tt.c.do(t, http.DefaultClient, srv.URL)
			if status != tt.status || www != tt.www {
				t.Fatalf("%d %q, want %d %q", status, www, tt.status, tt.www)
			}
			if status == 200 && body != tenantjwt.BindingDPoP {
				t.Errorf("Principal.Binding = %q, want dpop", body)
			}
		})
	}

	t.Run("behind a proxy: the external URL from configured forwarded headers only", func(t *testing.T) {
		behind := bindingServer(t, e.reg, middleware.Config{Forwarded: middleware.Forwarded{Proto: "X-Forwarded-Proto", Host: "X-Forwarded-Host"}})
		external := "https://api.example.com/orders"
		hdrs := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}
		c := call{method: "GET", path: "/orders", auth: []string{"DPoP " + tok}, dpop: []string{e.client.Proof("GET", external, tok)}, headers: hdrs}
		if status, www, _ := c.do(t, http.DefaultClient, behind.URL); status != 200 {
			t.Errorf("proof for the external URL: %d %q", status, www)
		}
		c.dpop = []string{e.client.Proof("GET", behind.URL+"/orders", tok)}
		if status, _, _ := c.do(t, http.DefaultClient, behind.URL); status != 401 {
			t.Errorf("proof for the internal URL behind the proxy: %d, want 401", status)
		}
		c.dpop = []string{e.client.Proof("GET", external, tok)}
		c.headers = map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example.com, api.example.com"}
		// A list could be read two ways: the request is refused before
		// any proof is looked at.
		if status, www, _ := c.do(t, http.DefaultClient, behind.URL); status != 400 || !strings.Contains(www, `error="invalid_request"`) {
			t.Errorf("a forwarded host list: %d %q, want 400 invalid_request", status, www)
		}
	})

	t.Run("a fixed origin ignores the Host the client sends", func(t *testing.T) {
		fixed := bindingServer(t, e.reg, middleware.Config{Forwarded: middleware.Forwarded{Origin: "https://api.example.com"}})
		c := call{method: "GET", path: "/orders", auth: []string{"DPoP " + tok}, dpop: []string{e.client.Proof("GET", "https://api.example.com/orders", tok)}}
		if status, www, _ := c.do(t, http.DefaultClient, fixed.URL); status != 200 {
			t.Errorf("proof for the origin: %d %q", status, www)
		}
		// A proof made for another server, replayed here with that
		// server's name as Host.
		other := "other.example.com"
		c.dpop = []string{e.client.Proof("GET", "http://"+other+"/orders", tok)}
		req, _ := http.NewRequest("GET", fixed.URL+"/orders", nil)
		req.Host = other
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", c.dpop[0])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != hdrBadProof {
			t.Errorf("proof for another host: %d %q, want 401 invalid_dpop_proof", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})

	t.Run("a verifier that cannot check presentations never sees DPoP", func(t *testing.T) {
		plain := bindingServer(t, verifierOnly{e.reg}, middleware.Config{})
		c := call{method: "GET", path: "/orders", auth: []string{"DPoP " + tok}, dpop: []string{e.client.Proof("GET", plain.URL+"/orders", tok)}}
		if status, www, _ := c.do(t, http.DefaultClient, plain.URL); status != 401 || www != hdrNoToken {
			t.Errorf("%d %q, want 401 %q", status, www, hdrNoToken)
		}
	})

	t.Run("echo", func(t *testing.T) {
		ec := echo.New()
		ec.Use(echoauth.New(e.reg, echoauth.Config{}))
		ec.GET("/orders", func(c echo.Context) error {
			p, _ := echoauth.PrincipalFrom(c)
			return c.String(200, p.Binding())
		})
		esrv := httptest.NewServer(ec)
		t.Cleanup(esrv.Close)
		c := call{method: "GET", path: "/orders", auth: []string{"DPoP " + tok}, dpop: []string{e.client.Proof("GET", esrv.URL+"/orders", tok)}}
		if status, www, body := c.do(t, http.DefaultClient, esrv.URL); status != 200 || body != "dpop" {
			t.Errorf("valid proof: %d %q %q", status, www, body)
		}
		if status, www, _ := c.do(t, http.DefaultClient, esrv.URL); status != 401 || www != hdrBadProof {
			t.Errorf("replayed proof: %d %q, want 401 %q", status, www, hdrBadProof)
		}
	})
}

// clientCert makes a self-signed client certificate.
func clientCert(t *testing.T) tls.Certificate {
	t.Helper()
	c, err := issuertest.NewClientCertificate("client")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMTLSThroughMiddleware(t *testing.T) {
	t.Parallel()
	e := newBoundEnv(t)
	h := middleware.New(e.reg, middleware.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenantjwt.FromContext(r.Context())
		io.WriteString(w, p.Binding())
	}))
	srv := httptest.NewUnstartedServer(h)
	// Self-signed client certificates (RFC 8705 §2.2): the handshake
	// proves the client holds the key; the token names the certificate.
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	tlsCert, otherTLS := clientCert(t), clientCert(t)
	bound := e.iss.Mint(map[string]any{"cnf": issuertest.CertificateConfirmation(tlsCert.Leaf)})
	clientWith := func(c tls.Certificate) *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = []tls.Certificate{c}
		return &http.Client{Transport: tr}
	}
	get := call{method: "GET", path: "/", auth: []string{"Bearer " + bound}}
	if status, www, body := get.do(t, clientWith(tlsCert), srv.URL); status != 200 || body != tenantjwt.BindingMTLS {
		t.Errorf("the bound certificate: %d %q %q", status, www, body)
	}
	if status, www, _ := get.do(t, clientWith(otherTLS), srv.URL); status != 401 || www != hdrInvalidToken {
		t.Errorf("another certificate: %d %q, want 401 invalid_token", status, www)
	}
	plain := call{method: "GET", path: "/", auth: []string{"Bearer " + e.iss.Mint(nil)}}
	if status, _, body := plain.do(t, clientWith(otherTLS), srv.URL); status != 200 || body != "" {
		t.Errorf("an unbound token over mTLS: %d %q", status, body)
	}

	// Without TLS client authentication at all, the bound token fails.
	noTLS := bindingServer(t, e.reg, middleware.Config{})
	if status, www, _ := get.do(t, http.DefaultClient, noTLS.URL); status != 401 || !strings.Contains(www, "invalid_token") {
		t.Errorf("no client certificate: %d %q", status, www)
	}
}
