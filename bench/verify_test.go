package bench

import (
	"context"
	"crypto"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/auth0/go-jwt-middleware/v3/validator"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantjwt/tenantjwt/issuer"
)

// verifier is one library's way to verify a fixture token.
type verifier struct {
	name string
	make func(tb testing.TB, f *fixture) func(tok string) error
}

var verifiers = []verifier{
	{"crypto", func(tb testing.TB, f *fixture) func(string) error {
		return func(tok string) error { return cryptoOnly(tok, f.pub) }
	}},
	{"floor", func(tb testing.TB, f *fixture) func(string) error {
		return func(tok string) error { return floor(tok, f.pub) }
	}},
	{"tenantjwt-first", func(tb testing.TB, f *fixture) func(string) error {
		reg, err := issuer.New(issuer.Options{TokenCacheSize: -1}, f.config())
		if err != nil {
			tb.Fatal(err)
		}
		return func(tok string) error { _, err := reg.Verify(context.Background(), tok); return err }
	}},
	{"tenantjwt-cached", func(tb testing.TB, f *fixture) func(string) error {
		reg, err := issuer.New(issuer.Options{}, f.config())
		if err != nil {
			tb.Fatal(err)
		}
		return func(tok string) error { _, err := reg.Verify(context.Background(), tok); return err }
	}},
	{"golang-jwt+keyfunc", func(tb testing.TB, f *fixture) func(string) error {
		kf, err := keyfunc.NewJWKSetJSON(f.iss.JWKS())
		if err != nil {
			tb.Fatal(err)
		}
		p := jwt.NewParser(jwt.WithValidMethods([]string{f.alg}), jwt.WithIssuer(f.iss.URL()),
			jwt.WithAudience(audience), jwt.WithExpirationRequired())
		return func(tok string) error {
			_, err := p.Parse(tok, kf.Keyfunc)
			return err
		}
	}},
	{"auth0-v3", func(tb testing.TB, f *fixture) func(string) error {
		// The validator with a key function returning the issuer's public
		// key; its MultiIssuerProvider fetches over HTTP, which the static
		// comparison leaves out.
		v, err := validator.New(
			validator.WithKeyFunc(func(context.Context) (any, error) { return f.pub, nil }),
			validator.WithAlgorithm(validator.SignatureAlgorithm(f.alg)),
			validator.WithIssuer(f.iss.URL()),
			validator.WithAudience(audience),
		)
		if err != nil {
			tb.Fatal(err)
		}
		return func(tok string) error {
			_, err := v.ValidateToken(context.Background(), tok)
			return err
		}
	}},
	{"go-oidc", func(tb testing.TB, f *fixture) func(string) error {
		v := oidc.NewVerifier(f.iss.URL(), &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{f.pub}},
			&oidc.Config{ClientID: audience, SupportedSigningAlgs: []string{f.alg}})
		return func(tok string) error {
			idt, err := v.Verify(context.Background(), tok)
			if err != nil {
				return err
			}
			var m map[string]any
			return idt.Claims(&m)
		}
	}},
}

// TestPeersAcceptAndReject proves every benchmarked setup really verifies:
// the fixture token passes and a tampered one fails. A benchmark of a
// verifier that rejects would measure nothing.
func TestPeersAcceptAndReject(t *testing.T) {
	for _, f := range loadFixtures() {
		tampered := f.token[:len(f.token)-6] + "AAAAAA"
		if tampered == f.token {
			tampered = f.token[:len(f.token)-6] + "BBBBBB"
		}
		for _, v := range verifiers {
			t.Run(f.alg+"/"+v.name, func(t *testing.T) {
				verify := v.make(t, f)
				if err := verify(f.token); err != nil {
					t.Fatalf("fixture token refused: %v", err)
				}
				if err := verify(tampered); err == nil {
					t.Fatal("tampered token accepted")
				}
			})
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, f := range loadFixtures() {
		for _, v := range verifiers {
			b.Run(f.alg+"/"+v.name, func(b *testing.B) {
				verify := v.make(b, f)
				if err := verify(f.token); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := verify(f.token); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
