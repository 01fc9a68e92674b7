package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

const audience = "https://api.example.com"

// fixture is one algorithm's issuer, key and pre-minted token.
type fixture struct {
	alg   string
	iss   *issuertest.Issuer
	token string
	pub   crypto.PublicKey
}

var (
	fixturesOnce sync.Once
	fixtures     []*fixture
)

// claims are realistic: registered claims, scopes, and a Descope-like
// per-tenant roles map (about 700 bytes of JSON).
func claims(iss string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": iss, "sub": "U2b3x9QwLmNoPqRsTuVwXyZ01", "aud": audience,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(24 * time.Hour).Unix(),
		"jti": "8f14e45f-ceea-467f-a8f2-7b1d0c2f6a3e", "scope": "openid profile projects:read projects:write billing:read",
		"dct": "T2acme",
		"tenants": map[string]any{
			"T2acme":    map[string]any{"roles": []string{"admin", "billing-admin", "editor"}, "permissions": []string{"projects:read", "projects:write", "projects:delete", "billing:read", "billing:write"}},
			"T2globex":  map[string]any{"roles": []string{"viewer"}, "permissions": []string{"projects:read"}},
			"T2initech": map[string]any{"roles": []string{"editor", "reviewer"}, "permissions": []string{"projects:read", "projects:write", "reports:read"}},
		},
		"amr": []string{"pwd", "mfa"}, "sid": "S2x8b0c1d2e3f4a5b6c7d8e9f0a1b2c3d",
	}
}

func loadFixtures() []*fixture {
	fixturesOnce.Do(func() {
		for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
			iss, err := issuertest.NewServer(issuertest.WithAlgorithm(alg), issuertest.WithPath("/"+strings.ToLower(alg)))
			if err != nil {
				panic(err)
			}
			fixtures = append(fixtures, &fixture{alg: alg, iss: iss, token: iss.Mint(claims(iss.URL())), pub: iss.Signer().Public()})
		}
	})
	return fixtures
}

// config trusts f's issuer with its key set parsed once and held in memory,
// as a remote source holds it between refreshes.
func (f *fixture) config() issuer.Config {
	set, _, err := jwks.Parse(f.iss.JWKS(), jwks.ParseOptions{})
	if err != nil {
		panic(err)
	}
	c := f.iss.LocalConfig()
	c.Keys = jwks.NewStatic(set)
	c.Audiences = []string{audience}
	c.Algorithms = []string{f.alg}
	c.Claims = issuer.ClaimMapping{Tenant: "dct", Tenants: "tenants", Roles: "tenants.{tenant}.roles", Permissions: "tenants.{tenant}.permissions"}
	return c
}

var b64 = base64.RawURLEncoding

// cryptoOnly is the signature check alone: split, decode the signature, hash
// and verify with the standard library, nothing else. No verifier can be
// faster; first-seen verification is reported as a ratio to it.
func cryptoOnly(tok string, pub crypto.PublicKey) error {
	i := strings.IndexByte(tok, '.')
	j := strings.LastIndexByte(tok, '.')
	if i < 0 || j <= i {
		return errors.New("shape")
	}
	sig, err := b64.DecodeString(tok[j+1:])
	if err != nil {
		return err
	}
	input := []byte(tok[:j])
	switch k := pub.(type) {
	case *rsa.PublicKey:
		h := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig)
	case *ecdsa.PublicKey:
		h := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(k, h[:], r, s) {
			return errors.New("ecdsa")
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(k, input, sig) {
			return errors.New("ed25519")
		}
	}
	return nil
}

// floor is the least any verifier must do: the signature check (cryptoOnly),
// then decode the payload, the claims into a map, and check exp. It is
// what "floor" means in BENCHMARKS.md.
func floor(tok string, pub crypto.PublicKey) error {
	if err := cryptoOnly(tok, pub); err != nil {
		return err
	}
	i, j := strings.IndexByte(tok, '.'), strings.LastIndexByte(tok, '.')
	payload, err := b64.DecodeString(tok[i+1 : j])
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		return err
	}
	if exp, _ := m["exp"].(float64); int64(exp) < time.Now().Unix() {
		return errors.New("expired")
	}
	return nil
}
