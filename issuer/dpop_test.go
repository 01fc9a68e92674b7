package issuer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

const resource = "https://api.example.com/v1/orders"

// dpopEnv is an issuer minting DPoP-bound tokens for a client, behind a
// registry with a test clock.
type dpopEnv struct {
	clk    *clock
	iss    *issuertest.Issuer
	client *issuertest.DPoPClient
	reg    *issuer.Registry
}

func newDPoPEnv(t *testing.T, opts issuer.Options, adjust func(*issuer.Config)) *dpopEnv {
	t.Helper()
	clk := newClock(t0)
	iss := issuertest.New(t, issuertest.WithPath("/dpop"), issuertest.WithClock(clk.now))
	client, err := issuertest.NewDPoPClient("ES256", clk.now)
	if err != nil {
		t.Fatal(err)
	}
	c := iss.LocalConfig()
	c.Name = "dpop"
	if adjust != nil {
		adjust(&c)
	}
	opts.Now = clk.now
	return &dpopEnv{clk: clk, iss: iss, client: client, reg: newRegistry(t, opts, c)}
}

// bound mints a token bound to the env's client.
func (d *dpopEnv) bound() string {
	return d.iss.Mint(map[string]any{"cnf": d.client.Confirmation()})
}

func dpopPresentation(proof string) tenantjwt.Presentation {
	return tenantjwt.Presentation{Scheme: "DPoP", DPoP: proof, Method: "GET", URL: resource}
}

func TestDPoPProofChecks(t *testing.T) {
	t.Parallel()
	d := newDPoPEnv(t, issuer.Options{}, nil)
	other, err := issuertest.NewDPoPClient("ES256", d.clk.now)
	if err != nil {
		t.Fatal(err)
	}
	tok := d.bound()
	c := d.client
	privTok, privProof := proofWithPrivateJWK(t, d)
	stripSig := func(p string) string { return p[:strings.LastIndexByte(p, '.')+1] }

	tests := []struct {
		name  string
		proof string
		pr    func(*tenantjwt.Presentation) // adjusts the request
		want  error                         // nil: accepted
		why   string                        // in the error text
		tok   string                        // default: tok
	}{
		{"valid proof", c.Proof("GET", resource, tok), nil, nil, "", ""},
		{"htu differing only as RFC 3986 normalisation allows", c.Proof("GET", "HTTPS://API.Example.com:443/v1/./x/../%6Frders?page=2#frag", tok), nil, nil, "", ""},
		{"EdDSA, RS256 and PS256 proofs are accepted too", "", nil, nil, "", ""}, // see below
		{"wrong htm", c.Proof("POST", resource, tok), nil, tenantjwt.ErrDPoPProof, "htm", ""},
		{"htm in another case", c.Proof("get", resource, tok), nil, tenantjwt.ErrDPoPProof, "htm", ""},
		{"wrong htu path", c.Proof("GET", "https://api.example.com/v1/invoices", tok), nil, tenantjwt.ErrDPoPProof, "htu", ""},
		{"wrong htu host", c.Proof("GET", "https://evil.example.com/v1/orders", tok), nil, tenantjwt.ErrDPoPProof, "htu", ""},
		{"wrong htu scheme", c.Proof("GET", "http://api.example.com/v1/orders", tok), nil, tenantjwt.ErrDPoPProof, "htu", ""},
		{"htu with another port", c.Proof("GET", "https://api.example.com:8443/v1/orders", tok), nil, tenantjwt.ErrDPoPProof, "htu", ""},
		{"htu with a trailing slash", c.Proof("GET", resource+"/", tok), nil, tenantjwt.ErrDPoPProof, "htu", ""},
		{"htu relative", c.Proof("GET", "/v1/orders", tok), nil, tenantjwt.ErrDPoPProof, "htu", ""},
		{"htu with user info", c.Proof("GET", "https://u:p@api.example.com/v1/orders", tok), nil, tenantjwt.ErrDPoPProof, "htu", ""},
		{"stale iat", c.ProofWith("GET", resource, tok, nil, map[string]any{"iat": t0.Add(-2 * time.Minute).Unix()}), nil, tenantjwt.ErrDPoPProof, "older", ""},
		{"iat in the future", c.ProofWith("GET", resource, tok, nil, map[string]any{"iat": t0.Add(2 * time.Minute).Unix()}), nil, tenantjwt.ErrDPoPProof, "future", ""},
		{"iat in the year 3000", c.ProofWith("GET", resource, tok, nil, map[string]any{"iat": time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()}), nil, tenantjwt.ErrDPoPProof, "future", ""},
		{"iat as a string", c.ProofWith("GET", resource, tok, nil, map[string]any{"iat": fmt.Sprint(t0.Unix())}), nil, tenantjwt.ErrDPoPProof, "", ""},
		{"missing iat", c.ProofWith("GET", resource, tok, nil, map[string]any{"iat": nil}), nil, tenantjwt.ErrDPoPProof, "", ""},
		{"missing jti", c.ProofWith("GET", resource, tok, nil, map[string]any{"jti": nil}), nil, tenantjwt.ErrDPoPProof, "", ""},
		{"jti of 1 KiB", c.ProofWith("GET", resource, tok, nil, map[string]any{"jti": strings.Repeat("j", 1024)}), nil, tenantjwt.ErrDPoPProof, "", ""},
		{"missing htm", c.ProofWith("GET", resource, tok, nil, map[string]any{"htm": nil}), nil, tenantjwt.ErrDPoPProof, "", ""},
		{"missing ath", c.Proof("GET", resource, ""), nil, tenantjwt.ErrDPoPProof, "no ath", ""},
		{"wrong ath", c.Proof("GET", resource, d.bound()+"x"), nil, tenantjwt.ErrDPoPProof, "ath is not", ""},
		{"thumbprint mismatch: valid proof by another client", other.Proof("GET", resource, tok), nil, tenantjwt.ErrDPoPProof, "thumbprint", ""},
		{"proof signed by another key than its jwk", other.ProofWith("GET", resource, tok, map[string]any{"jwk": c.JWK()}, nil), nil, tenantjwt.ErrDPoPProof, "signature", ""},
		{"alg none, empty signature", stripSig(c.ProofWith("GET", resource, tok, map[string]any{"alg": "none"}, nil)), nil, tenantjwt.ErrDPoPProof, "empty segment", ""},
		{"alg none over a genuine signature", c.ProofWith("GET", resource, tok, map[string]any{"alg": "none"}, nil), nil, tenantjwt.ErrDPoPProof, "alg", ""},
		{"alg HS256", c.ProofWith("GET", resource, tok, map[string]any{"alg": "HS256"}, nil), nil, tenantjwt.ErrDPoPProof, "alg", ""},
		{"alg of another key type", c.ProofWith("GET", resource, tok, map[string]any{"alg": "RS256"}, nil), nil, tenantjwt.ErrDPoPProof, "", ""},
		{"proof with private key members", privProof, nil, tenantjwt.ErrDPoPProof, "private", privTok},
		{"jwk is a symmetric key", c.ProofWith("GET", resource, tok, map[string]any{"jwk": map[string]any{"kty": "oct", "k": "c2VjcmV0"}}, nil), nil, tenantjwt.ErrDPoPProof, "symmetric", ""},
		{"no jwk", c.ProofWith("GET", resource, tok, map[string]any{"jwk": nil}, nil), nil, tenantjwt.ErrDPoPProof, "no jwk", ""},
		{"typ JWT", c.ProofWith("GET", resource, tok, map[string]any{"typ": "JWT"}, nil), nil, tenantjwt.ErrDPoPProof, "typ", ""},
		{"no typ", c.ProofWith("GET", resource, tok, map[string]any{"typ": nil}, nil), nil, tenantjwt.ErrDPoPProof, "typ", ""},
		{"crit header", c.ProofWith("GET", resource, tok, map[string]any{"crit": []string{"x"}}, nil), nil, tenantjwt.ErrDPoPProof, "", ""},
		{"claims of one proof with the signature of another", splice(c.Proof("GET", resource, tok), c.Proof("POST", resource, tok)), nil, tenantjwt.ErrDPoPProof, "signature", ""},
		{"not a JWT", "not-a-proof", nil, tenantjwt.ErrDPoPProof, "", ""},
		{"oversize proof", c.ProofWith("GET", resource, tok, nil, map[string]any{"pad": strings.Repeat("p", dpop.MaxProofBytes)}), nil, tenantjwt.ErrDPoPProof, "", ""},
		{"no proof with the DPoP scheme", "", nil, tenantjwt.ErrDPoPProof, "none in the request", ""},
		{"bound token sent as Bearer (with a valid proof)", c.Proof("GET", resource, tok), func(p *tenantjwt.Presentation) { p.Scheme = "Bearer" }, tenantjwt.ErrDPoPProof, "without the DPoP scheme", ""},
		{"request URL invalid", c.Proof("GET", resource, tok), func(p *tenantjwt.Presentation) { p.URL = "/v1/orders" }, tenantjwt.ErrDPoPProof, "", ""},
		{"scheme compared case-insensitively", c.Proof("GET", resource, tok), func(p *tenantjwt.Presentation) { p.Scheme = "dpop" }, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.HasPrefix(tt.name, "EdDSA") {
				for _, alg := range []string{"EdDSA", "RS256", "PS256", "ES384"} {
					cl, err := issuertest.NewDPoPClient(alg, d.clk.now)
					if err != nil {
						t.Fatal(err)
					}
					tk := d.iss.Mint(map[string]any{"cnf": cl.Confirmation()})
					if _, err := d.reg.VerifyPresented(context.Background(), tk, dpopPresentation(cl.Proof("GET", resource, tk))); err != nil {
						t.Errorf("%s proof: %v", alg, err)
					}
				}
				return
			}
			pr := dpopPresentation(tt.proof)
			if tt.pr != nil {
				tt.pr(&pr)
			}
			tk := tok
			if tt.tok != "" {
				tk = tt.tok
			}
			p, err := d.reg.VerifyPresented(context.Background(), tk, pr)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == nil && p.Binding() != tenantjwt.BindingDPoP:
				t.Errorf("Binding = %q, want dpop", p.Binding())
			case tt.want != nil && (!errors.Is(err, tt.want) || p != nil):
				t.Fatalf("err = %v, principal %v; want %v", err, p, tt.want)
			case tt.want != nil && !errors.Is(err, tenantjwt.ErrInvalidToken):
				t.Errorf("err = %v is not in the ErrInvalidToken category", err)
			case tt.want != nil && !strings.Contains(err.Error(), tt.why):
				t.Errorf("err = %v, want it to say %q", err, tt.why)
			}
		})
	}
}

// TestDPoPReplay: a proof is accepted once, and the same jti with another
// key is another proof.
func TestDPoPReplay(t *testing.T) {
	t.Parallel()
	d := newDPoPEnv(t, issuer.Options{}, nil)
	tok := d.bound()
	proof := d.client.ProofWith("GET", resource, tok, nil, map[string]any{"jti": "fixed"})
	if _, err := d.reg.VerifyPresented(context.Background(), tok, dpopPresentation(proof)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.VerifyPresented(context.Background(), tok, dpopPresentation(proof)); !errors.Is(err, tenantjwt.ErrDPoPProof) {
		t.Fatalf("replayed proof: err = %v, want ErrDPoPProof", err)
	}
	// A new proof reusing the jti (same key) is a replay too.
	again := d.client.ProofWith("GET", resource, tok, nil, map[string]any{"jti": "fixed", "iat": t0.Add(-time.Second).Unix()})
	if _, err := d.reg.VerifyPresented(context.Background(), tok, dpopPresentation(again)); !errors.Is(err, tenantjwt.ErrDPoPProof) {
		t.Errorf("same jti, same key: err = %v, want ErrDPoPProof", err)
	}
	// Another client's jti "fixed" is its own.
	other, _ := issuertest.NewDPoPClient("ES256", d.clk.now)
	otherTok := d.iss.Mint(map[string]any{"cnf": other.Confirmation()})
	op := other.ProofWith("GET", resource, otherTok, nil, map[string]any{"jti": "fixed"})
	if _, err := d.reg.VerifyPresented(context.Background(), otherTok, dpopPresentation(op)); err != nil {
		t.Errorf("same jti, another key: %v", err)
	}
}

// TestReplayCacheConcurrency: of many simultaneous presentations of one
// proof exactly one wins; distinct proofs all pass.
func TestReplayCacheConcurrency(t *testing.T) {
	t.Parallel()
	d := newDPoPEnv(t, issuer.Options{}, nil)
	tok := d.bound()
	const n = 64
	proof := d.client.Proof("GET", resource, tok)
	distinct := make([]string, n)
	for i := range distinct {
		distinct[i] = d.client.Proof("GET", resource, tok)
	}
	var start, wg sync.WaitGroup
	start.Add(1)
	var sameOK, distinctOK atomic.Int64
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			start.Wait()
			if _, err := d.reg.VerifyPresented(context.Background(), tok, dpopPresentation(proof)); err == nil {
				sameOK.Add(1)
			} else if !errors.Is(err, tenantjwt.ErrDPoPProof) {
				t.Errorf("unexpected error: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			start.Wait()
			if _, err := d.reg.VerifyPresented(context.Background(), tok, dpopPresentation(distinct[i])); err == nil {
				distinctOK.Add(1)
			}
		}()
	}
	start.Done()
	wg.Wait()
	if sameOK.Load() != 1 || distinctOK.Load() != n {
		t.Errorf("one proof accepted %d times (want 1); %d of %d distinct proofs accepted", sameOK.Load(), distinctOK.Load(), n)
	}
}

// TestReplayCacheBound: a full cache refuses new proofs instead of
// forgetting old ones, and a shared cache spans registries.
func TestReplayCacheBound(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	replay := dpop.NewReplayCache(dpop.ReplayOptions{Size: 3, PerKey: 3, Now: clk.now})
	d := newDPoPEnv(t, issuer.Options{DPoP: dpop.Options{Replay: replay}}, nil)
	tok := d.bound()
	var proofs []string
	for range 4 {
		proofs = append(proofs, d.client.Proof("GET", resource, tok))
	}
	for i, p := range proofs {
		_, err := d.reg.VerifyPresented(context.Background(), tok, dpopPresentation(p))
		if (i < 3) != (err == nil) {
			t.Errorf("proof %d: err = %v", i, err)
		}
	}
	if replay.Len() != 3 {
		t.Errorf("replay cache holds %d proofs, want 3", replay.Len())
	}
	// A second registry sharing the cache (a config reload) still refuses
	// the first proof.
	c := d.iss.LocalConfig()
	reg2 := newRegistry(t, issuer.Options{Now: d.clk.now, DPoP: dpop.Options{Replay: replay}}, c)
	if _, err := reg2.VerifyPresented(context.Background(), tok, dpopPresentation(proofs[0])); !errors.Is(err, tenantjwt.ErrDPoPProof) {
		t.Errorf("replay after reload: err = %v", err)
	}
}

func TestDPoPModes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("required: an unbound bearer token is refused", func(t *testing.T) {
		d := newDPoPEnv(t, issuer.Options{}, func(c *issuer.Config) { c.DPoP = issuer.BindingRequired })
		if _, err := d.reg.Verify(ctx, d.iss.Mint(nil)); !errors.Is(err, tenantjwt.ErrDPoPProof) {
			t.Errorf("err = %v, want ErrDPoPProof", err)
		}
		tok := d.bound()
		if _, err := d.reg.VerifyPresented(ctx, tok, dpopPresentation(d.client.Proof("GET", resource, tok))); err != nil {
			t.Errorf("bound token with proof: %v", err)
		}
	})
	t.Run("allowed: unbound bearer passes, DPoP scheme with an unbound token does not", func(t *testing.T) {
		d := newDPoPEnv(t, issuer.Options{}, nil)
		plain := d.iss.Mint(nil)
		if p, err := d.reg.Verify(ctx, plain); err != nil || p.Binding() != "" {
			t.Errorf("unbound bearer: %v %v", p, err)
		}
		if _, err := d.reg.VerifyPresented(ctx, plain, dpopPresentation(d.client.Proof("GET", resource, plain))); !errors.Is(err, tenantjwt.ErrTokenBinding) {
			t.Errorf("DPoP scheme, unbound token: err = %v, want ErrTokenBinding", err)
		}
		if _, err := d.reg.Verify(ctx, d.bound()); !errors.Is(err, tenantjwt.ErrDPoPProof) {
			t.Errorf("bound token through Verify: err = %v, want ErrDPoPProof", err)
		}
	})
	t.Run("disabled: cnf.jkt is not checked and the DPoP scheme is refused", func(t *testing.T) {
		d := newDPoPEnv(t, issuer.Options{}, func(c *issuer.Config) { c.DPoP = issuer.BindingDisabled })
		tok := d.bound()
		if p, err := d.reg.Verify(ctx, tok); err != nil || p.Binding() != "" {
			t.Errorf("bound token as bearer: %v %v", p, err)
		}
		if _, err := d.reg.VerifyPresented(ctx, tok, dpopPresentation(d.client.Proof("GET", resource, tok))); !errors.Is(err, tenantjwt.ErrTokenBinding) {
			t.Errorf("DPoP scheme: err = %v, want ErrTokenBinding", err)
		}
	})
	t.Run("cached token still needs a fresh proof every time", func(t *testing.T) {
		var opts issuer.Options
		hits := countHits(&opts)
		d := newDPoPEnv(t, opts, nil)
		tok := d.bound()
		for i := range 3 {
			if _, err := d.reg.VerifyPresented(ctx, tok, dpopPresentation(d.client.Proof("GET", resource, tok))); err != nil {
				t.Fatalf("presentation %d: %v", i, err)
			}
		}
		if n := hits.Load(); n < 2 {
			t.Errorf("cache hits %d, want the token cached", n)
		}
		if _, err := d.reg.VerifyPresented(ctx, tok, dpopPresentation("")); !errors.Is(err, tenantjwt.ErrDPoPProof) {
			t.Errorf("cached token without proof: err = %v", err)
		}
		if _, err := d.reg.Verify(ctx, tok); !errors.Is(err, tenantjwt.ErrDPoPProof) {
			t.Errorf("cached token as bearer: err = %v", err)
		}
	})
	t.Run("cnf of the wrong shape", func(t *testing.T) {
		d := newDPoPEnv(t, issuer.Options{}, nil)
		for _, cnf := range []any{"jkt", []string{"a"}, map[string]any{"jkt": 1}, map[string]any{"jkt": ""}, map[string]any{"x5t#S256": false}} {
			if _, err := d.reg.Verify(ctx, d.iss.Mint(map[string]any{"cnf": cnf})); !errors.Is(err, tenantjwt.ErrClaims) {
				t.Errorf("cnf %v: err = %v, want ErrClaims", cnf, err)
			}
		}
	})
	t.Run("invalid modes are configuration errors", func(t *testing.T) {
		for _, c := range []issuer.Config{{Issuer: "https://a.example/", JWKSURI: "https://a.example/k", DPoP: "on"}, {Issuer: "https://a.example/", JWKSURI: "https://a.example/k", MTLS: "Required"}} {
			if err := c.Validate(); err == nil {
				t.Errorf("%+v accepted", c)
			}
		}
		if _, err := issuer.New(issuer.Options{DPoP: dpop.Options{Algorithms: []string{"HS256"}}}); err == nil {
			t.Error("HS256 accepted as a proof algorithm")
		}
	})
}

// clientCert makes a self-signed client certificate.
func clientCert(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	c, err := issuertest.NewClientCertificate(cn)
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf
}

func TestMTLSBoundTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cert, otherCert := clientCert(t, "client"), clientCert(t, "other")
	x5t := issuertest.CertificateConfirmation(cert)["x5t#S256"]
	if issuer.CertThumbprint(cert) != x5t {
		t.Fatal("certThumbprint differs from SHA-256 of the DER")
	}
	withCert := func(c *x509.Certificate) tenantjwt.Presentation {
		return tenantjwt.Presentation{Scheme: "Bearer", ClientCertificate: c}
	}
	d := newDPoPEnv(t, issuer.Options{}, nil)
	bound := d.iss.Mint(map[string]any{"cnf": map[string]any{"x5t#S256": x5t}})
	tests := []struct {
		name string
		tok  string
		pr   tenantjwt.Presentation
		want error
	}{
		{"matching certificate", bound, withCert(cert), nil},
		{"another certificate", bound, withCert(otherCert), tenantjwt.ErrTokenBinding},
		{"no certificate", bound, withCert(nil), tenantjwt.ErrTokenBinding},
		{"unbound token with a certificate", d.iss.Mint(nil), withCert(cert), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := d.reg.VerifyPresented(ctx, tt.tok, tt.pr)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && (p.Binding() == tenantjwt.BindingMTLS) != (tt.tok == bound) {
				t.Errorf("Binding = %q", p.Binding())
			}
		})
	}
	t.Run("required", func(t *testing.T) {
		r := newDPoPEnv(t, issuer.Options{}, func(c *issuer.Config) { c.MTLS = issuer.BindingRequired })
		if _, err := r.reg.VerifyPresented(ctx, r.iss.Mint(nil), withCert(cert)); !errors.Is(err, tenantjwt.ErrTokenBinding) {
			t.Errorf("unbound token: err = %v, want ErrTokenBinding", err)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		r := newDPoPEnv(t, issuer.Options{}, func(c *issuer.Config) { c.MTLS = issuer.BindingDisabled })
		tok := r.iss.Mint(map[string]any{"cnf": map[string]any{"x5t#S256": x5t}})
		if p, err := r.reg.Verify(ctx, tok); err != nil || p.Binding() != "" {
			t.Errorf("bound token without certificate: %v %v", p, err)
		}
	})
	t.Run("both bindings", func(t *testing.T) {
		tok := d.iss.Mint(map[string]any{"cnf": map[string]any{"x5t#S256": x5t, "jkt": d.client.Thumbprint()}})
		pr := dpopPresentation(d.client.Proof("GET", resource, tok))
		if _, err := d.reg.VerifyPresented(ctx, tok, pr); !errors.Is(err, tenantjwt.ErrTokenBinding) {
			t.Errorf("proof without certificate: err = %v", err)
		}
		pr = dpopPresentation(d.client.Proof("GET", resource, tok))
		pr.ClientCertificate = cert
		if p, err := d.reg.VerifyPresented(ctx, tok, pr); err != nil || p.Binding() != "dpop+mtls" {
			t.Errorf("proof and certificate: %v %v", p, err)
		}
	})
}

// ecdsaPrivateJWK returns a fresh EC key and its JWK with the private d.
func ecdsaPrivateJWK(t *testing.T) (*ecdsa.PrivateKey, map[string]any) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := issuertest.NewDPoPClientWithKey(key, "ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := cl.JWK()
	ek, _ := key.ECDH()
	m["d"] = base64.RawURLEncoding.EncodeToString(ek.Bytes())
	return key, m
}

// proofWithPrivateJWK returns a token bound to a fresh key and a proof
// for it whose jwk header includes the private key: everything else is
// right, so only the private members can make it fail.
func proofWithPrivateJWK(t *testing.T, d *dpopEnv) (tok, proof string) {
	key, m := ecdsaPrivateJWK(t)
	cl, _ := issuertest.NewDPoPClientWithKey(key, "ES256", d.clk.now)
	tok = d.iss.Mint(map[string]any{"cnf": cl.Confirmation()})
	return tok, cl.ProofWith("GET", resource, tok, map[string]any{"jwk": m}, nil)
}

// splice returns a's header and signature around b's payload.
func splice(a, b string) string {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	return pa[0] + "." + pb[1] + "." + pa[2]
}
