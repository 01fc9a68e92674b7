package grpcauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/grpcauth"
)

// The test service, test.v1.Echo, is declared by hand (no generated code):
// Whoami and Admin answer with the caller's Principal, Chat is a
// bidirectional stream answering each message with it, and Checked runs
// grpcauth.Check in the handler.
const (
	mWhoami  = "/test.v1.Echo/Whoami"
	mAdmin   = "/test.v1.Echo/Admin"
	mChecked = "/test.v1.Echo/Checked"
	mPublic  = "/test.v1.Echo/Public"
	mChat    = "/test.v1.Echo/Chat"
	mHealth  = "/grpc.health.v1.Health/Check"
)

// describe renders the Principal of ctx for the assertions.
func describe(ctx context.Context) string {
	p, ok := tenantjwt.FromContext(ctx)
	if !ok {
		return "anonymous"
	}
	return fmt.Sprintf("%s|%s|%s|%s", p.Subject(), p.Tenant(), p.Binding(), strings.Join(p.Roles().Strings(), ","))
}

func unary(name string, fn func(ctx context.Context, in string) (string, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) {
				out, err := fn(ctx, req.(*wrapperspb.StringValue).GetValue())
				if err != nil {
					return nil, err
				}
				return wrapperspb.String(out), nil
			}
			if icpt == nil {
				return h(ctx, in)
			}
			return icpt(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/test.v1.Echo/" + name}, h)
		},
	}
}

var whoami = func(ctx context.Context, _ string) (string, error) { return describe(ctx), nil }

var chatDesc = grpc.StreamDesc{StreamName: "Chat", ServerStreams: true, ClientStreams: true}

var echoService = grpc.ServiceDesc{
	ServiceName: "test.v1.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		unary("Whoami", whoami),
		unary("Admin", whoami),
		unary("Public", whoami),
		unary("Checked", func(ctx context.Context, in string) (string, error) {
			if err := grpcauth.Check(ctx, grpcauth.RequireRoles(in)); err != nil {
				return "", err
			}
			return describe(ctx), nil
		}),
	},
	Streams: []grpc.StreamDesc{{
		StreamName: "Chat", ServerStreams: true, ClientStreams: true,
		Handler: func(_ any, ss grpc.ServerStream) error {
			for {
				in := new(wrapperspb.StringValue)
				if err := ss.RecvMsg(in); errors.Is(err, io.EOF) {
					return nil
				} else if err != nil {
					return err
				}
				if err := ss.SendMsg(wrapperspb.String(in.GetValue() + ":" + describe(ss.Context()))); err != nil {
					return err
				}
			}
		},
	}},
}

// newServer serves the test service and the health service behind the
// interceptors over an in-memory connection (bufconn, authority "bufnet").
func newServer(t *testing.T, v middleware.Verifier, cfg grpcauth.Config) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpcauth.New(v, cfg).ServerOptions()...)
	srv.RegisterService(&echoService, struct{}{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// newTLSServer serves over TLS on loopback TCP, asking for (not
// verifying) client certificates, and returns the address and the server
// certificate to trust.
func newTLSServer(t *testing.T, v middleware.Verifier, cfg grpcauth.Config) (string, *x509.Certificate) {
	t.Helper()
	cert := serverCertificate(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS13})
	opts := append(grpcauth.New(v, cfg).ServerOptions(), grpc.Creds(creds))
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&echoService, struct{}{})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), cert.Leaf
}

// dialTLS connects to addr trusting root, presenting client when given.
func dialTLS(t *testing.T, addr string, root *x509.Certificate, client *tls.Certificate) *grpc.ClientConn {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(root)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// serverCertificate is a self-signed certificate for 127.0.0.1.
func serverCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// md is the request metadata of a call: "authorization", "dpop",
// "x-tenant-id" and so on, each possibly repeated.
type md map[string][]string

// result is what a client saw of a call.
type result struct {
	code   codes.Code
	msg    string
	body   string
	header string // www-authenticate
}

func (r result) String() string {
	return fmt.Sprintf("%v %q body %q www-authenticate %q", r.code, r.msg, r.body, r.header)
}

// invoke makes a unary call of method with metadata m.
func invoke(t *testing.T, conn *grpc.ClientConn, method string, m md, in string) result {
	t.Helper()
	ctx := metadata.NewOutgoingContext(t.Context(), metadata.MD(m))
	var hdr metadata.MD
	out := new(wrapperspb.StringValue)
	err := conn.Invoke(ctx, method, wrapperspb.String(in), out, grpc.Header(&hdr))
	st := status.Convert(err)
	return result{code: st.Code(), msg: st.Message(), body: out.GetValue(), header: strings.Join(hdr.Get("www-authenticate"), "\n")}
}

// health calls the standard health check.
func healthCheck(t *testing.T, conn *grpc.ClientConn, m md) codes.Code {
	t.Helper()
	ctx := metadata.NewOutgoingContext(t.Context(), metadata.MD(m))
	_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return status.Code(err)
}

// env is two tenants' issuers behind one registry: acme (RS256, fixed
// tenant), globex (ES256, fixed tenant), a multi-tenant issuer whose
// tokens list tenants, and an issuer whose JWKS endpoint fails.
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
	// down is trusted through its real JWKS URL, which answers 502.
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

func (e *env) multiToken() string {
	return e.multi.Mint(map[string]any{
		"sub": "carol", "dct": "t1",
		"tenants": map[string]any{
			"t1": map[string]any{"roles": []string{"admin"}},
			"t2": map[string]any{"roles": []string{"viewer"}},
		},
	})
}

func bearer(tok string) md { return md{"authorization": {"Bearer " + tok}} }

// verifierOnly hides every interface of the registry but Verifier.
type verifierOnly struct{ v middleware.Verifier }

func (o verifierOnly) Verify(ctx context.Context, tok string) (*tenantjwt.Principal, error) {
	return o.v.Verify(ctx, tok)
}
