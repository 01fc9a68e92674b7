package connectauth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/connectauth"
)

const (
	pWhoami  = "/test.v1.Echo/Whoami"
	pAdmin   = "/test.v1.Echo/Admin"
	pChecked = "/test.v1.Echo/Checked"
	pStream  = "/test.v1.Echo/Stream"
	pHealth  = "/grpc.health.v1.Health/Check"

	hdrNoToken      = `Bearer realm="api"`
	hdrInvalidToken = `Bearer realm="api", error="invalid_token", error_description="the access token is not valid"`
	hdrBadRequest   = `Bearer realm="api", error="invalid_request", error_description="the request must carry exactly one well-formed bearer token"`
	hdrForbidden    = `Bearer realm="api", error="insufficient_scope", error_description="the access token does not allow this request"`
	dpopAlgs        = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA"`
	hdrBadProof     = `DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is not valid", ` + dpopAlgs

	msgNoToken     = "authentication required"
	msgInvalid     = "the access token is not valid"
	msgBadRequest  = "the request must carry exactly one well-formed bearer token"
	msgForbidden   = "the access token does not allow this request"
	msgUnavailable = "the access token cannot be verified right now"
	msgBadProof    = "the DPoP proof is not valid"
)

type msg = wrapperspb.StringValue

func describe(ctx context.Context) string {
	p, ok := tenantjwt.FromContext(ctx)
	if !ok {
		return "anonymous"
	}
	return fmt.Sprintf("%s|%s|%s|%s", p.Subject(), p.Tenant(), p.Binding(), strings.Join(p.Roles().Strings(), ","))
}

// newMux serves the test procedures behind the interceptor, wrapped by
// connectauth.Wrap.
func newMux(v middleware.Verifier, cfg connectauth.Config) http.Handler {
	opts := []connect.HandlerOption{connect.WithInterceptors(connectauth.New(v, cfg)), connect.WithIdempotency(connect.IdempotencyNoSideEffects)}
	whoami := func(ctx context.Context, _ *connect.Request[msg]) (*connect.Response[msg], error) {
		return connect.NewResponse(wrapperspb.String(describe(ctx))), nil
	}
	mux := http.NewServeMux()
	for _, p := range []string{pWhoami, pAdmin, pHealth} {
		mux.Handle(p, connect.NewUnaryHandler(p, whoami, opts...))
	}
	mux.Handle(pChecked, connect.NewUnaryHandler(pChecked, func(ctx context.Context, req *connect.Request[msg]) (*connect.Response[msg], error) {
		if err := connectauth.Check(ctx, connectauth.RequireRoles(req.Msg.GetValue())); err != nil {
			return nil, err
		}
		return whoami(ctx, req)
	}, opts...))
	mux.Handle(pStream, connect.NewServerStreamHandler(pStream, func(ctx context.Context, req *connect.Request[msg], s *connect.ServerStream[msg]) error {
		for i := range 2 {
			if err := s.Send(wrapperspb.String(fmt.Sprintf("%d:%s", i, describe(ctx)))); err != nil {
				return err
			}
		}
		return nil
	}, opts...))
	return connectauth.Wrap(mux)
}

func newServer(t *testing.T, v middleware.Verifier, cfg connectauth.Config) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newMux(v, cfg))
	t.Cleanup(srv.Close)
	return srv
}

type result struct {
	code   connect.Code // 0 for success
	msg    string
	body   string
	header string
}

func (r result) String() string {
	return fmt.Sprintf("%v %q body %q WWW-Authenticate %q", r.code, r.msg, r.body, r.header)
}

func errResult(err error) result {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return result{code: connect.CodeUnknown, msg: err.Error()}
	}
	return result{code: ce.Code(), msg: ce.Message(), header: strings.Join(ce.Meta().Values("WWW-Authenticate"), "\n")}
}

type hdr map[string][]string

func call(t *testing.T, client *http.Client, base, procedure string, h hdr, in string, opts ...connect.ClientOption) result {
	t.Helper()
	c := connect.NewClient[msg, msg](client, base+procedure, opts...)
	req := connect.NewRequest(wrapperspb.String(in))
	for k, vs := range h {
		for _, v := range vs {
			req.Header().Add(k, v)
		}
	}
	resp, err := c.CallUnary(t.Context(), req)
	if err != nil {
		return errResult(err)
	}
	return result{body: resp.Msg.GetValue()}
}

func bearer(tok string) hdr { return hdr{"Authorization": {"Bearer " + tok}} }

type env struct {
	acme, globex, multi, down *issuertest.Issuer
	reg                       *issuer.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		acme:   issuertest.New(t, issuertest.WithPath("/acme")),
		globex: issuertest.New(t, issuertest.WithPath("/globex"), issuertest.WithAlgorithm("ES256")),
		multi:  issuertest.New(t, issuertest.WithPath("/multi")),
		down:   issuertest.New(t, issuertest.WithPath("/down")),
	}
	acme := e.acme.LocalConfig()
	acme.Name, acme.Tenant = "acme", "acme"
	globex := e.globex.LocalConfig()
	globex.Name, globex.Tenant = "globex", "globex"
	multi := e.multi.LocalConfig()
	multi.Name = "multi"
	multi.Claims = issuer.ClaimMapping{Tenant: "dct", Tenants: "tenants", Roles: "tenants.{tenant}.roles"}
	e.down.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	down := e.down.Config()
	down.Name, down.Tenant = "down", "down"
	reg, err := issuer.New(issuer.Options{}, acme, globex, multi, down)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	e.reg = reg
	return e
}

func TestStatusMapping(t *testing.T) {
	e := newEnv(t)
	cfg := connectauth.Config{
		Guards:       map[string][]connectauth.Guard{pAdmin: {connectauth.RequireRoles("admin")}},
		TenantHeader: "X-Tenant-ID",
	}
	hidden := cfg
	hidden.HideOutages = true
	admin := e.acme.Mint(map[string]any{"sub": "ann", "roles": []string{"admin"}})
	viewer := e.globex.Mint(map[string]any{"sub": "vic", "roles": []string{"viewer", "Admin"}})
	multi := e.multi.Mint(map[string]any{"sub": "carol", "dct": "t1", "tenants": map[string]any{
		"t1": map[string]any{"roles": []string{"admin"}}, "t2": map[string]any{"roles": []string{"viewer"}}}})
	withTenant := func(tok string, tenants ...string) hdr {
		h := bearer(tok)
		h["X-Tenant-ID"] = tenants
		return h
	}
	tests := []struct {
		name      string
		cfg       connectauth.Config
		procedure string
		h         hdr
		want      result
	}{
		{"acme's token", cfg, pWhoami, bearer(admin), result{body: "ann|acme||admin"}},
		{"globex's token", cfg, pWhoami, bearer(viewer), result{body: "vic|globex||viewer,Admin"}},
		{"no token", cfg, pWhoami, nil, result{connect.CodeUnauthenticated, msgNoToken, "", hdrNoToken}},
		{"bad token", cfg, pWhoami, bearer("abc.def.ghi"), result{connect.CodeUnauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"expired", cfg, pWhoami, bearer(e.acme.Mint(map[string]any{"exp": 1000})), result{connect.CodeUnauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"two tokens", cfg, pWhoami, hdr{"Authorization": {"Bearer " + admin, "Bearer " + viewer}}, result{connect.CodeInvalidArgument, msgBadRequest, "", hdrBadRequest}},
		{"guard met", cfg, pAdmin, bearer(admin), result{body: "ann|acme||admin"}},
		{"guard not met", cfg, pAdmin, bearer(viewer), result{connect.CodePermissionDenied, msgForbidden, "", hdrForbidden}},
		{"keys unavailable", cfg, pWhoami, bearer(e.down.Mint(nil)), result{connect.CodeUnavailable, msgUnavailable, "", ""}},
		{"keys unavailable, outages hidden", hidden, pWhoami, bearer(e.down.Mint(nil)), result{connect.CodeUnauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"select a listed tenant", cfg, pWhoami, withTenant(multi, "t2"), result{body: "carol|t2||viewer"}},
		{"select an unlisted tenant", cfg, pWhoami, withTenant(multi, "t3"), result{connect.CodePermissionDenied, msgForbidden, "", hdrForbidden}},
		{"two tenants selected", cfg, pWhoami, withTenant(multi, "t1", "t2"), result{connect.CodeInvalidArgument, msgBadRequest, "", hdrBadRequest}},
		{"health skipped", cfg, pHealth, nil, result{body: "anonymous"}},
		{"health authenticated when the list is empty", connectauth.Config{Skip: []string{}}, pHealth, nil, result{connect.CodeUnauthenticated, msgNoToken, "", hdrNoToken}},
		{"handler check met", cfg, pChecked, bearer(admin), result{body: "ann|acme||admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, e.reg, tt.cfg)
			if got := call(t, srv.Client(), srv.URL, tt.procedure, tt.h, "admin"); got != tt.want {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("handler check not met", func(t *testing.T) {
		srv := newServer(t, e.reg, cfg)
		if got, want := call(t, srv.Client(), srv.URL, pChecked, bearer(admin), "owner"), (result{connect.CodePermissionDenied, msgForbidden, "", hdrForbidden}); got != want {
			t.Errorf("got %v\nwant %v", got, want)
		}
	})
}

func TestStreaming(t *testing.T) {
	e := newEnv(t)
	srv := newServer(t, e.reg, connectauth.Config{Guards: map[string][]connectauth.Guard{pStream: {connectauth.RequireTenant("acme")}}})
	stream := func(h hdr) ([]string, result) {
		c := connect.NewClient[msg, msg](srv.Client(), srv.URL+pStream)
		req := connect.NewRequest(wrapperspb.String(""))
		for k, vs := range h {
			for _, v := range vs {
				req.Header().Add(k, v)
			}
		}
		s, err := c.CallServerStream(t.Context(), req)
		if err != nil {
			return nil, errResult(err)
		}
		defer s.Close()
		var got []string
		for s.Receive() {
			got = append(got, s.Msg().GetValue())
		}
		if err := s.Err(); err != nil {
			return got, errResult(err)
		}
		return got, result{}
	}
	got, res := stream(bearer(e.acme.Mint(map[string]any{"sub": "ann"})))
	if strings.Join(got, " ") != "0:ann|acme|| 1:ann|acme||" || res != (result{}) {
		t.Errorf("acme: %v %v", got, res)
	}
	tests := []struct {
		name string
		h    hdr
		want result
	}{
		{"no token", nil, result{connect.CodeUnauthenticated, msgNoToken, "", hdrNoToken}},
		{"bad token", bearer("abc.def.ghi"), result{connect.CodeUnauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"other tenant", bearer(e.globex.Mint(nil)), result{connect.CodePermissionDenied, msgForbidden, "", hdrForbidden}},
		{"keys unavailable", bearer(e.down.Mint(nil)), result{connect.CodeUnavailable, msgUnavailable, "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res := stream(tt.h)
			if len(got) != 0 || res != tt.want {
				t.Errorf("got %v %v\nwant no messages, %v", got, res, tt.want)
			}
		})
	}
}

func TestDPoP(t *testing.T) {
	iss := issuertest.New(t, issuertest.WithPath("/bound"))
	reg := issuertest.NewRegistry(t, issuer.Options{}, iss)
	client, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := iss.Mint(map[string]any{"sub": "ann", "cnf": client.Confirmation()})
	srv := newServer(t, reg, connectauth.Config{})
	dpop := func(proof string) hdr { return hdr{"Authorization": {"DPoP " + tok}, "DPoP": {proof}} }
	ok := result{body: "ann||dpop|"}
	bad := result{connect.CodeUnauthenticated, msgBadProof, "", hdrBadProof}
	tests := []struct {
		name  string
		h     hdr
		opts  []connect.ClientOption
		want  result
		proxy string // the handler's mount point
	}{
		{"proof for the procedure's URL", dpop(client.Proof("POST", srv.URL+pWhoami, tok)), nil, ok, ""},
		{"proof for another procedure", dpop(client.Proof("POST", srv.URL+pAdmin, tok)), nil, bad, ""},
		{"proof for GET on a POST", dpop(client.Proof("GET", srv.URL+pWhoami, tok)), nil, bad, ""},
		{"Connect GET with a GET proof", dpop(client.Proof("GET", srv.URL+pWhoami, tok)), []connect.ClientOption{connect.WithHTTPGet(), connect.WithIdempotency(connect.IdempotencyNoSideEffects)}, ok, ""},
		{"Connect GET with a POST proof", dpop(client.Proof("POST", srv.URL+pWhoami, tok)), []connect.ClientOption{connect.WithHTTPGet(), connect.WithIdempotency(connect.IdempotencyNoSideEffects)}, bad, ""},
		{"gRPC-Web protocol", dpop(client.Proof("POST", srv.URL+pWhoami, tok)), []connect.ClientOption{connect.WithGRPCWeb()}, ok, ""},
		{"no proof", hdr{"Authorization": {"DPoP " + tok}}, nil, bad, ""},
		{"bound token as Bearer", bearer(tok), nil, bad, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := call(t, srv.Client(), srv.URL, pWhoami, tt.h, "", tt.opts...); got != tt.want {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("mounted under a prefix", func(t *testing.T) {
		// Wrap outside http.StripPrefix records the path the client sent,
		// also with another Wrap inside (newMux has one).
		inner := newMux(reg, connectauth.Config{})
		mounted := httptest.NewServer(connectauth.Wrap(http.StripPrefix("/api", inner)))
		defer mounted.Close()
		base := mounted.URL + "/api"
		if got := call(t, mounted.Client(), base, pWhoami, dpop(client.Proof("POST", base+pWhoami, tok)), ""); got != ok {
			t.Errorf("proof for the external URL: got %v, want %v", got, ok)
		}
		if got := call(t, mounted.Client(), base, pWhoami, dpop(client.Proof("POST", mounted.URL+pWhoami, tok)), ""); got != bad {
			t.Errorf("proof for the stripped URL: got %v, want %v", got, bad)
		}
	})
	t.Run("without Wrap, Origin gives the URL", func(t *testing.T) {
		// The interceptor alone: a handler not wrapped.
		opts := connect.WithInterceptors(connectauth.New(reg, connectauth.Config{Origin: "https://api.example.com"}))
		mux := http.NewServeMux()
		mux.Handle(pWhoami, connect.NewUnaryHandler(pWhoami, func(ctx context.Context, _ *connect.Request[msg]) (*connect.Response[msg], error) {
			return connect.NewResponse(wrapperspb.String(describe(ctx))), nil
		}, opts))
		bare := httptest.NewServer(mux)
		defer bare.Close()
		if got := call(t, bare.Client(), bare.URL, pWhoami, dpop(client.Proof("POST", "https://api.example.com"+pWhoami, tok)), ""); got != ok {
			t.Errorf("proof for the origin: got %v, want %v", got, ok)
		}
		if got := call(t, bare.Client(), bare.URL, pWhoami, dpop(client.Proof("POST", bare.URL+pWhoami, tok)), ""); got != bad {
			t.Errorf("proof for the server's own URL: got %v, want %v", got, bad)
		}
	})
	t.Run("without Wrap or Origin, DPoP fails closed", func(t *testing.T) {
		opts := connect.WithInterceptors(connectauth.New(reg, connectauth.Config{}))
		bare := httptest.NewServer(connect.NewUnaryHandler(pWhoami, func(ctx context.Context, _ *connect.Request[msg]) (*connect.Response[msg], error) {
			return connect.NewResponse(wrapperspb.String(describe(ctx))), nil
		}, opts))
		defer bare.Close()
		if got := call(t, bare.Client(), bare.URL, pWhoami, dpop(client.Proof("POST", bare.URL+pWhoami, tok)), ""); got != bad {
			t.Errorf("got %v, want %v", got, bad)
		}
	})
}

func TestCertificateBound(t *testing.T) {
	iss := issuertest.New(t, issuertest.WithPath("/bound"))
	reg := issuertest.NewRegistry(t, issuer.Options{}, iss)
	right, err := issuertest.NewClientCertificate("right")
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := issuertest.NewClientCertificate("wrong")
	if err != nil {
		t.Fatal(err)
	}
	bound := iss.Mint(map[string]any{"sub": "ann", "cnf": issuertest.CertificateConfirmation(right.Leaf)})
	srv := httptest.NewUnstartedServer(newMux(reg, connectauth.Config{}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	clientWith := func(c *tls.Certificate) *http.Client {
		hc := srv.Client()
		tr := hc.Transport.(*http.Transport).Clone()
		if c != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*c}
		}
		hc.Transport = tr
		t.Cleanup(tr.CloseIdleConnections)
		return hc
	}
	tests := []struct {
		name string
		cert *tls.Certificate
		opts []connect.ClientOption
		want result
	}{
		{"right certificate", &right, nil, result{body: "ann||mtls|"}},
		{"right certificate, gRPC protocol", &right, []connect.ClientOption{connect.WithGRPC()}, result{body: "ann||mtls|"}},
		{"wrong certificate", &wrong, nil, result{connect.CodeUnauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"wrong certificate, gRPC protocol", &wrong, []connect.ClientOption{connect.WithGRPC()}, result{connect.CodeUnauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"no certificate", nil, nil, result{connect.CodeUnauthenticated, msgInvalid, "", hdrInvalidToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := call(t, clientWith(tt.cert), srv.URL, pWhoami, bearer(bound), "", tt.opts...); got != tt.want {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("handler check refuses, gRPC protocol", func(t *testing.T) {
		got := call(t, clientWith(&right), srv.URL, pChecked, bearer(bound), "owner", connect.WithGRPC())
		if want := (result{connect.CodePermissionDenied, msgForbidden, "", hdrForbidden}); got != want {
			t.Errorf("got %v\nwant %v", got, want)
		}
	})
}
