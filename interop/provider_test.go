package interop_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The provider side: one zitadel/oidc OpenID provider per tenant. We reuse
// the library's own in-memory example storage for everything a provider
// needs, and override only what the example does not offer: a service
// client that receives JWT (not opaque) access tokens through the
// client_credentials grant, a tenant claim in those tokens, and a signing
// key that can be rotated while old keys stay published.

const (
	clientID     = "svc-reporting"
	clientSecret = "s3cret-for-tests-only"
	apiAudience  = "https://api.tenantjwt.test"
	tenantClaim  = "org_id"
)

// rsaKey is one of a provider's signing keys; it serves as both
// op.SigningKey (private half) and op.Key (public half, in /keys).
type rsaKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *rsaKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *rsaKey) Algorithm() jose.SignatureAlgorithm          { return jose.RS256 }
func (k *rsaKey) ID() string                                  { return k.id }
func (k *rsaKey) Use() string                                 { return "sig" }

// signingView and publicView make Key return the right half.
type signingView struct{ *rsaKey }

func (v signingView) Key() any { return v.rsaKey.key }

type publicView struct{ *rsaKey }

func (v publicView) Key() any { return &v.rsaKey.key.PublicKey }

// tenantStorage is the example storage plus our overrides.
type tenantStorage struct {
	*storage.Storage
	tenant string

	mu   sync.Mutex
	keys []*rsaKey // all published keys; the last one signs
}

var _ op.Storage = (*tenantStorage)(nil)
var _ op.ClientCredentialsStorage = (*tenantStorage)(nil)

// newRSAKey takes a distinct key from the shared test key pool: the
// provider needs a key of its own, not a freshly generated one.
func newRSAKey(t *testing.T, id string) *rsaKey {
	t.Helper()
	k, err := issuertest.FixtureKey("RS256")
	if err != nil {
		t.Fatalf("RSA key: %v", err)
	}
	return &rsaKey{id: id, key: k.(*rsa.PrivateKey)}
}

func (s *tenantStorage) current() *rsaKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1]
}

// SigningKey overrides the example's fixed key with the newest one.
func (s *tenantStorage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingView{s.current()}, nil
}

// SignatureAlgorithms matches SigningKey.
func (s *tenantStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet publishes every key, old ones included, as a provider does
// during a rotation overlap.
func (s *tenantStorage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]op.Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, publicView{k})
	}
	return out, nil
}

// ClientCredentials authenticates our single service client.
func (s *tenantStorage) ClientCredentials(_ context.Context, id, secret string) (op.Client, error) {
	if id != clientID || secret != clientSecret {
		return nil, errors.New("wrong client or secret")
	}
	return serviceClient{}, nil
}

// ClientCredentialsTokenRequest makes the token for the API audience.
func (s *tenantStorage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	if id != clientID {
		return nil, errors.New("unknown client")
	}
	return &oidc.JWTTokenRequest{Subject: id, Audience: []string{apiAudience}, Scopes: scopes}, nil
}

// GetPrivateClaimsFromScopes adds the tenant and the granted scopes
// (zitadel/oidc v3 does not put scope into JWT access tokens by itself).
func (s *tenantStorage) GetPrivateClaimsFromScopes(_ context.Context, _, _ string, scopes []string) (map[string]any, error) {
	return map[string]any{tenantClaim: s.tenant, "scope": strings.Join(scopes, " ")}, nil
}

// serviceClient is a confidential client allowed only client_credentials
// and given JWT access tokens.
type serviceClient struct{}

func (serviceClient) GetID() string                       { return clientID }
func (serviceClient) RedirectURIs() []string              { return nil }
func (serviceClient) PostLogoutRedirectURIs() []string    { return nil }
func (serviceClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (serviceClient) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (serviceClient) ResponseTypes() []oidc.ResponseType  { return nil }
func (serviceClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
func (serviceClient) LoginURL(string) string               { return "" }
func (serviceClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (serviceClient) IDTokenLifetime() time.Duration       { return time.Hour }
func (serviceClient) DevMode() bool                        { return false }
func (serviceClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (serviceClient) ClockSkew() time.Duration             { return 0 }
func (serviceClient) IsScopeAllowed(s string) bool {
	return s == "reports:read" || s == "reports:write"
}
func (serviceClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (serviceClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// provider is one tenant's running OP.
type provider struct {
	Tenant string
	Issuer string // http://127.0.0.1:port, exactly as the OP puts it in iss
	store  *tenantStorage
	srv    *httptest.Server

	mu       sync.Mutex
	requests map[string]int // by path, from the verifier only
	rotated  int
}

// startProvider runs a fresh OP for tenant on a loopback httptest server.
func startProvider(t *testing.T, tenant string) *provider {
	t.Helper()
	p := &provider{Tenant: tenant, requests: map[string]int{}}
	p.srv = httptest.NewUnstartedServer(nil)
	p.Issuer = "http://" + p.srv.Listener.Addr().String()

	p.store = &tenantStorage{
		Storage: storage.NewStorageWithClients(storage.NewUserStore(p.Issuer), map[string]*storage.Client{}),
		tenant:  tenant,
		keys:    []*rsaKey{newRSAKey(t, tenant+"-key-1")},
	}
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		t.Fatalf("crypto key: %v", err)
	}
	cfg := &op.Config{CryptoKey: cryptoKey, SupportedScopes: []string{"openid", "reports:read", "reports:write"}}
	// WithAllowInsecure: the OP refuses a plain-http issuer otherwise; the
	// server only listens on loopback.
	o, err := op.NewProvider(cfg, p.store, op.StaticIssuer(p.Issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatalf("op.NewProvider(%s): %v", tenant, err)
	}
	p.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Count only what the verifier asks for; the test's own client
		// marks its requests.
		if r.Header.Get(clientMarker) == "" {
			p.mu.Lock()
			p.requests[r.URL.Path]++
			p.mu.Unlock()
		}
		o.ServeHTTP(w, r)
	})
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

// clientMarker is set on requests of the test's own OAuth client, so
// that provider.Requests counts only the verifier's fetches.
const clientMarker = "X-Interop-Client"

// Requests returns how many requests the verifier sent to path so far.
func (p *provider) Requests(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[path]
}

// Rotate adds a new signing key; the old one stays published. It returns
// the new key's kid.
func (p *provider) Rotate(t *testing.T) string {
	t.Helper()
	p.mu.Lock()
	p.rotated++
	id := fmt.Sprintf("%s-key-%d", p.Tenant, p.rotated+1)
	p.mu.Unlock()
	k := newRSAKey(t, id)
	p.store.mu.Lock()
	p.store.keys = append(p.store.keys, k)
	p.store.mu.Unlock()
	return id
}

// tokenResponse is the part of RFC 6749 §5.1 we read.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// Token obtains an access token the way a client does: read the token
// endpoint from discovery, then POST a client_credentials grant.
func (p *provider) Token(t *testing.T, scopes ...string) string {
	t.Helper()
	c := p.srv.Client()
	var meta struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
		JWKSURI       string `json:"jwks_uri"`
	}
	getJSON(t, c, p.Issuer+"/.well-known/openid-configuration", &meta)
	if meta.Issuer != p.Issuer {
		t.Fatalf("discovery issuer = %q, want %q", meta.Issuer, p.Issuer)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(scopes, " ")}}
	req, err := http.NewRequest(http.MethodPost, meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(clientMarker, "1")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", meta.TokenEndpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("token endpoint status %d: %v", resp.StatusCode, e)
	}
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatalf("decode token response: %v", err)
	}
	if !strings.EqualFold(tr.TokenType, "bearer") || tr.AccessToken == "" {
		t.Fatalf("token response = %+v, want a bearer access token", tr)
	}
	return tr.AccessToken
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	req.Header.Set(clientMarker, "1")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", u, err)
	}
}

// decodeSegment reads one base64url JSON segment of a compact JWS
// without verifying anything: for looking at what the OP minted.
func decodeSegment(t *testing.T, tok string, i int, v any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("segment %d: %v", i, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("segment %d: %v", i, err)
	}
}

// relabel returns tok with its payload's iss replaced by iss and the
// original signature kept: what an attacker holding A's token could send.
func relabel(t *testing.T, tok, iss string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	var claims map[string]any
	decodeSegment(t, tok, 1, &claims)
	claims["iss"] = iss
	raw, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2]
}

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

type payload struct {
	Iss   string          `json:"iss"`
	Sub   string          `json:"sub"`
	Aud   json.RawMessage `json:"aud"`
	Exp   int64           `json:"exp"`
	Iat   int64           `json:"iat"`
	Scope string          `json:"scope"`
	Org   string          `json:"org_id"`
}

// TestProviderIssuesJWTAccessTokens checks the provider side alone: each
// tenant's OP hands out RS256 JWTs with its own issuer, its own kid, the
// tenant claim and the scopes, before tenantjwt is involved at all.
func TestProviderIssuesJWTAccessTokens(t *testing.T) {
	a := startProvider(t, "acme")
	b := startProvider(t, "globex")
	if a.Issuer == b.Issuer {
		t.Fatalf("both providers have issuer %q", a.Issuer)
	}
	for _, p := range []*provider{a, b} {
		t.Run(p.Tenant, func(t *testing.T) {
			tok := p.Token(t, "reports:read")
			var h header
			var c payload
			decodeSegment(t, tok, 0, &h)
			decodeSegment(t, tok, 1, &c)
			// zitadel/oidc v3 labels access tokens "JWT", not RFC 9068's
			// "at+jwt", so the registry below does not set RequireTyp.
			if h.Typ != "JWT" {
				t.Errorf("typ = %q, want JWT", h.Typ)
			}
			if h.Alg != "RS256" {
				t.Errorf("alg = %q, want RS256", h.Alg)
			}
			if want := p.Tenant + "-key-1"; h.Kid != want {
				t.Errorf("kid = %q, want %q", h.Kid, want)
			}
			if c.Iss != p.Issuer {
				t.Errorf("iss = %q, want %q", c.Iss, p.Issuer)
			}
			if c.Sub != clientID {
				t.Errorf("sub = %q, want %q", c.Sub, clientID)
			}
			if !strings.Contains(string(c.Aud), apiAudience) {
				t.Errorf("aud = %s, want it to contain %q", c.Aud, apiAudience)
			}
			if c.Org != p.Tenant {
				t.Errorf("org_id = %q, want %q", c.Org, p.Tenant)
			}
			if c.Scope != "reports:read" {
				t.Errorf("scope = %q, want %q", c.Scope, "reports:read")
			}
			if c.Exp <= c.Iat {
				t.Errorf("exp %d not after iat %d", c.Exp, c.Iat)
			}
			var set struct {
				Keys []struct {
					Kid string `json:"kid"`
					Kty string `json:"kty"`
				} `json:"keys"`
			}
			getJSON(t, p.srv.Client(), p.Issuer+"/keys", &set)
			if n := p.Requests("/keys") + p.Requests("/.well-known/openid-configuration"); n != 0 {
				t.Errorf("unmarked requests = %d, want 0 (the client marks its own)", n)
			}
			if len(set.Keys) != 1 || set.Keys[0].Kid != h.Kid || set.Keys[0].Kty != "RSA" {
				t.Errorf("JWKS keys = %+v, want one RSA key %q", set.Keys, h.Kid)
			}
		})
	}
}
