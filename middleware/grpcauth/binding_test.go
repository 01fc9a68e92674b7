package grpcauth_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/grpcauth"
)

// boundEnv is an issuer, a DPoP client and a registry trusting the issuer.
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
	cfg := iss.LocalConfig()
	cfg.Tenant = "acme"
	reg, err := issuer.New(issuer.Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return &boundEnv{iss: iss, client: client, reg: reg}
}

func TestDPoP(t *testing.T) {
	e := newBoundEnv(t)
	other, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := e.iss.Mint(map[string]any{"sub": "ann", "cnf": e.client.Confirmation()})
	plain := e.iss.Mint(map[string]any{"sub": "bob"})
	// Over bufconn the client addresses "bufnet" without TLS.
	url := "http://bufnet" + mWhoami
	dpop := func(tok, proof string) md {
		m := md{"authorization": {"DPoP " + tok}}
		if proof != "" {
			m["dpop"] = []string{proof}
		}
		return m
	}
	tests := []struct {
		name string
		cfg  grpcauth.Config
		md   md
		want result
	}{
		{"proof for the method's URL", grpcauth.Config{}, dpop(tok, e.client.Proof("POST", url, tok)), result{code: codes.OK, body: "ann|acme|dpop|"}},
		{"proof for another method", grpcauth.Config{}, dpop(tok, e.client.Proof("POST", "http://bufnet"+mAdmin, tok)), result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}},
		{"proof for another authority", grpcauth.Config{}, dpop(tok, e.client.Proof("POST", "http://api.example.com"+mWhoami, tok)), result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}},
		{"proof for https", grpcauth.Config{}, dpop(tok, e.client.Proof("POST", "https://bufnet"+mWhoami, tok)), result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}},
		{"proof for GET", grpcauth.Config{}, dpop(tok, e.client.Proof("GET", url, tok)), result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}},
		{"proof by another key", grpcauth.Config{}, dpop(tok, other.Proof("POST", url, tok)), result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}},
		{"proof for another token", grpcauth.Config{}, dpop(tok, e.client.Proof("POST", url, plain)), result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}},
		{"no proof", grpcauth.Config{}, dpop(tok, ""), result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}},
		{"two proofs", grpcauth.Config{}, md{"authorization": {"DPoP " + tok}, "dpop": {e.client.Proof("POST", url, tok), e.client.Proof("POST", url, tok)}}, result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}},
		{"bound token as Bearer", grpcauth.Config{}, bearer(tok), result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}},
		{"bound token as Bearer with a proof", grpcauth.Config{}, md{"authorization": {"Bearer " + tok}, "dpop": {e.client.Proof("POST", url, tok)}}, result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}},
		{"unbound token with the DPoP scheme", grpcauth.Config{}, dpop(plain, e.client.Proof("POST", url, plain)), result{codes.Unauthenticated, msgInvalid, "", hdrDPoPToken}},
		{"DPoP and Bearer together", grpcauth.Config{}, md{"authorization": {"DPoP " + tok, "Bearer " + plain}, "dpop": {e.client.Proof("POST", url, tok)}}, result{codes.InvalidArgument, msgBadRequest, "", hdrBadRequest}},
		{"origin configured", grpcauth.Config{Origin: "https://api.example.com/"}, dpop(tok, e.client.Proof("POST", "https://api.example.com"+mWhoami, tok)), result{code: codes.OK, body: "ann|acme|dpop|"}},
		{"origin configured, proof for the authority", grpcauth.Config{Origin: "https://api.example.com"}, dpop(tok, e.client.Proof("POST", url, tok)), result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := newServer(t, e.reg, tt.cfg)
			if got := invoke(t, conn, mWhoami, tt.md, ""); got != tt.want {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("replayed proof", func(t *testing.T) {
		conn := newServer(t, e.reg, grpcauth.Config{})
		m := dpop(tok, e.client.Proof("POST", url, tok))
		if got := invoke(t, conn, mWhoami, m, ""); got.code != codes.OK {
			t.Fatalf("first use: %v", got)
		}
		if got, want := invoke(t, conn, mWhoami, m, ""), (result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}); got != want {
			t.Errorf("replay: got %v, want %v", got, want)
		}
	})
	t.Run("verifier without presentations", func(t *testing.T) {
		// The DPoP scheme is not recognised: the call has no token.
		conn := newServer(t, verifierOnly{e.reg}, grpcauth.Config{})
		if got, want := invoke(t, conn, mWhoami, dpop(tok, e.client.Proof("POST", url, tok)), ""), (result{codes.Unauthenticated, msgNoToken, "", hdrNoToken}); got != want {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestDPoPOverTLS(t *testing.T) {
	e := newBoundEnv(t)
	tok := e.iss.Mint(map[string]any{"sub": "ann", "cnf": e.client.Confirmation()})
	addr, root := newTLSServer(t, e.reg, grpcauth.Config{})
	conn := dialTLS(t, addr, root, nil)
	m := md{"authorization": {"DPoP " + tok}, "dpop": {e.client.Proof("POST", "https://"+addr+mWhoami, tok)}}
	if got, want := invoke(t, conn, mWhoami, m, ""), (result{code: codes.OK, body: "ann|acme|dpop|"}); got != want {
		t.Errorf("https proof: got %v, want %v", got, want)
	}
	m = md{"authorization": {"DPoP " + tok}, "dpop": {e.client.Proof("POST", "http://"+addr+mWhoami, tok)}}
	if got, want := invoke(t, conn, mWhoami, m, ""), (result{codes.Unauthenticated, msgBadProof, "", hdrBadProof}); got != want {
		t.Errorf("http proof over TLS: got %v, want %v", got, want)
	}
}

func TestCertificateBound(t *testing.T) {
	e := newBoundEnv(t)
	right, err := issuertest.NewClientCertificate("right")
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := issuertest.NewClientCertificate("wrong")
	if err != nil {
		t.Fatal(err)
	}
	bound := e.iss.Mint(map[string]any{"sub": "ann", "cnf": issuertest.CertificateConfirmation(right.Leaf)})
	plain := e.iss.Mint(map[string]any{"sub": "bob"})
	addr, root := newTLSServer(t, e.reg, grpcauth.Config{})
	tests := []struct {
		name string
		use  int // 0 none, 1 right, 2 wrong
		tok  string
		want result
	}{
		{"right certificate", 1, bound, result{code: codes.OK, body: "ann|acme|mtls|"}},
		{"wrong certificate", 2, bound, result{codes.Unauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"no certificate", 0, bound, result{codes.Unauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"unbound token with a certificate", 1, plain, result{code: codes.OK, body: "bob|acme||"}},
		{"unbound token without certificate", 0, plain, result{code: codes.OK, body: "bob|acme||"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := dialTLS(t, addr, root, []*tls.Certificate{nil, &right, &wrong}[tt.use])
			if got := invoke(t, conn, mWhoami, bearer(tt.tok), ""); got != tt.want {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("certificate hook", func(t *testing.T) {
		// A proxy-terminated deployment: the hook answers for the call.
		conn := newServer(t, e.reg, grpcauth.Config{ClientCertificate: func(context.Context) *x509.Certificate { return right.Leaf }})
		if got, want := invoke(t, conn, mWhoami, bearer(bound), ""), (result{code: codes.OK, body: "ann|acme|mtls|"}); got != want {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

var _ middleware.PresentedVerifier = (*issuer.Registry)(nil)
