package issuertest

import (
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// Option configures an Issuer.
type Option func(*options)

type options struct {
	aud    string
	alg    string
	path   string
	signer crypto.Signer
	kid    string
	maxAge time.Duration
	now    func() time.Time
}

// WithAlgorithm sets the signing algorithm: RS256 (default), RS384, RS512,
// PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA. A key of the fitting
// type is generated (in a test binary, taken from the fixture pool: see
// FixtureKey) unless WithKey gives one.
func WithAlgorithm(alg string) Option { return func(o *options) { o.alg = alg } }

// WithPath puts the issuer under a path of the server: the issuer URL is
// the server URL followed by p verbatim, so "/realms/acme" gives
// "http://127.0.0.1:port/realms/acme" and "/" gives a trailing slash (as
// Auth0 issuers have). A path with a "{tenant}" segment makes a template
// issuer (like Entra ID's): discovery then answers for any tenant, and
// Config returns the template.
func WithPath(p string) Option { return func(o *options) { o.path = p } }

// WithKey signs with the given key instead of a generated one (the dev
// command persists its keys). kid "" derives a stable kid from the public
// key. Without WithAlgorithm the algorithm follows the key type.
func WithKey(signer crypto.Signer, kid string) Option {
	return func(o *options) { o.signer, o.kid = signer, kid }
}

// WithMaxAge makes the JWKS response carry Cache-Control max-age.
func WithMaxAge(d time.Duration) Option { return func(o *options) { o.maxAge = d } }

// DefaultAudience is the aud Mint puts in tokens and Config accepts,
// unless WithAudience says otherwise.
const DefaultAudience = "https://api.issuertest.example"

// WithAudience sets the audience Mint puts in tokens and Config accepts.
func WithAudience(aud string) Option { return func(o *options) { o.aud = aud } }

// WithClock sets the clock Mint uses for iat and exp. Default time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Issuer is a fake token issuer. Its methods are safe for concurrent use.
type Issuer struct {
	srv    *httptest.Server
	aud    string
	path   string // as given to WithPath
	maxAge time.Duration

	mu      sync.Mutex // protects the fields below
	keys    []*signingKey
	current *signingKey
	now     func() time.Time
	jwksH   http.Handler

	jwksRequests      atomic.Int64
	discoveryRequests atomic.Int64
}

// NewServer starts a fake issuer on the loopback interface. It needs no
// *testing.T; call Close when done.
func NewServer(opts ...Option) (*Issuer, error) {
	o := options{now: time.Now, aud: DefaultAudience}
	for _, opt := range opts {
		opt(&o)
	}
	if o.signer == nil {
		if o.alg == "" {
			o.alg = "RS256"
		}
		s, err := newKey(o.alg)
		if err != nil {
			return nil, err
		}
		o.signer = s
	} else if o.alg == "" {
		a, err := algorithmFor(o.signer.Public())
		if err != nil {
			return nil, err
		}
		o.alg = a
	}
	if !fits(o.alg, o.signer.Public()) {
		return nil, fmt.Errorf("issuertest: algorithm %q does not fit key type %T", o.alg, o.signer.Public())
	}
	if strings.Count(o.path, "{tenant}") > 1 || (o.path != "" && !strings.HasPrefix(o.path, "/")) {
		return nil, fmt.Errorf("issuertest: bad path %q", o.path)
	}
	k, err := newSigningKey(o.signer, o.kid, o.alg)
	if err != nil {
		return nil, err
	}
	iss := &Issuer{aud: o.aud, path: o.path, maxAge: o.maxAge, now: o.now, keys: []*signingKey{k}, current: k}
	iss.srv = httptest.NewServer(http.HandlerFunc(iss.serve))
	return iss, nil
}

// TB is the part of testing.TB that New and NewRegistry use; *testing.T,
// *testing.B and *testing.F satisfy it. Taking it instead of testing.TB
// keeps the testing package out of programs that use this one (the
// tenantjwt command's dev and demo).
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// New starts a fake issuer for a test and closes it when the test ends.
// It fails the test if the issuer cannot start.
func New(t TB, opts ...Option) *Issuer {
	t.Helper()
	iss, err := NewServer(opts...)
	if err != nil {
		t.Fatalf("issuertest.New: %v", err)
	}
	t.Cleanup(iss.Close)
	return iss
}

func newSigningKey(signer crypto.Signer, kid, alg string) (*signingKey, error) {
	if kid == "" {
		var err error
		if kid, err = thumbprintKID(signer.Public()); err != nil {
			return nil, err
		}
	}
	return &signingKey{kid: kid, alg: alg, signer: signer, published: true}, nil
}

// Close shuts the server down.
func (i *Issuer) Close() { i.srv.Close() }

// base is the server URL, "http://127.0.0.1:port".
func (i *Issuer) base() string { return i.srv.URL }

// URL returns the issuer identifier, the iss value of minted tokens. For a
// template path it contains the "{tenant}" placeholder.
func (i *Issuer) URL() string { return i.base() + i.path }

// TenantURL returns the issuer identifier with the template's placeholder
// replaced by tenant (for a non-template issuer, URL).
func (i *Issuer) TenantURL(tenant string) string {
	return strings.Replace(i.URL(), "{tenant}", tenant, 1)
}

// prefix is the path under which the endpoints live, without trailing
// slash. A template's placeholder is replaced by "common", like Entra ID's
// shared key endpoint.
func (i *Issuer) prefix() string {
	return strings.TrimSuffix(strings.Replace(i.path, "{tenant}", "common", 1), "/")
}

// JWKSURL returns the URL of the key set.
func (i *Issuer) JWKSURL() string { return i.base() + i.prefix() + "/jwks.json" }

// DiscoveryURL returns the URL of the OpenID Connect metadata.
func (i *Issuer) DiscoveryURL() string {
	return i.base() + i.prefix() + "/.well-known/openid-configuration"
}

// Config returns a Config trusting this issuer through its jwks_uri, its
// algorithm and its audience (the aud Mint puts in tokens). A template
// issuer needs Tenants (or AllTenants) and TenantClaim added by the caller.
func (i *Issuer) Config() issuer.Config {
	return issuer.Config{
		Issuer:     i.URL(),
		JWKSURI:    i.JWKSURL(),
		Audiences:  []string{i.aud},
		Algorithms: []string{i.Algorithm()},
	}
}

// Audience returns the aud Mint puts in tokens and Config accepts
// (DefaultAudience unless WithAudience set another).
func (i *Issuer) Audience() string { return i.aud }

// StaticConfig is like Config, but trusts the keys published now through
// jwks.NewStatic instead of fetching them: no network at all.
func (i *Issuer) StaticConfig() issuer.Config {
	c := i.Config()
	c.JWKSURI = ""
	set, _, err := jwks.Parse(i.JWKS(), jwks.ParseOptions{})
	if err != nil {
		set = jwks.NewSet() // no published keys: verification fails closed
	}
	c.Keys = jwks.NewStatic(set)
	return c
}

// Algorithm returns the algorithm of the current key.
func (i *Issuer) Algorithm() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.current.alg
}

// KID returns the kid of the current key.
func (i *Issuer) KID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.current.kid
}

// Signer returns the current private key.
func (i *Issuer) Signer() crypto.Signer {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.current.signer
}

// PublicKeyInfo describes one key the issuer holds.
type PublicKeyInfo struct {
	KID       string
	Algorithm string
	Public    crypto.PublicKey
	Published bool // served in the JWKS
	Current   bool // signs new tokens
}

// Keys lists the issuer's keys, oldest first.
func (i *Issuer) Keys() []PublicKeyInfo {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := make([]PublicKeyInfo, 0, len(i.keys))
	for _, k := range i.keys {
		out = append(out, PublicKeyInfo{KID: k.kid, Algorithm: k.alg, Public: k.signer.Public(),
			Published: k.published, Current: k == i.current})
	}
	return out
}

// Rotate makes a new current key of the same algorithm (as NewServer
// does) and returns its kid. Old keys stay published until Retire or
// RemoveOldKeys.
func (i *Issuer) Rotate() string {
	alg := i.Algorithm()
	s, err := newKey(alg)
	if err != nil {
		panic(err) // alg was accepted at start, so this cannot fail
	}
	k, err := newSigningKey(s, "", alg)
	if err != nil {
		panic(err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, k)
	i.current = k
	return k.kid
}

// Retire stops publishing the key kid and reports whether it was
// published. Retiring the current key is allowed: Mint then makes tokens
// no published key verifies.
func (i *Issuer) Retire(kid string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, k := range i.keys {
		if k.kid == kid && k.published {
			k.published = false
			return true
		}
	}
	return false
}

// RemoveOldKeys stops publishing every key but the current one.
func (i *Issuer) RemoveOldKeys() {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, k := range i.keys {
		k.published = k == i.current
	}
}

// SetNow replaces the clock used by Mint.
func (i *Issuer) SetNow(now func() time.Time) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.now = now
}

// SetJWKSHandler makes h answer JWKS requests (which are still counted),
// so a test can make the endpoint fail, stall or serve bad content. nil
// restores the real key set.
func (i *Issuer) SetJWKSHandler(h http.Handler) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.jwksH = h
}

// JWKSRequests returns how many JWKS requests the server has received.
func (i *Issuer) JWKSRequests() int { return int(i.jwksRequests.Load()) }

// DiscoveryRequests returns how many discovery requests it has received.
func (i *Issuer) DiscoveryRequests() int { return int(i.discoveryRequests.Load()) }

// JWKS returns the JWKS document currently served.
func (i *Issuer) JWKS() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	keys := []any{}
	for _, k := range i.keys {
		if !k.published {
			continue
		}
		m, err := k.jwk()
		if err != nil {
			continue // cannot happen for keys accepted at start
		}
		keys = append(keys, m)
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// serve answers discovery and JWKS requests.
func (i *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == i.prefix()+"/jwks.json":
		i.jwksRequests.Add(1)
		i.mu.Lock()
		h := i.jwksH
		i.mu.Unlock()
		if h != nil {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if i.maxAge > 0 {
			w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(i.maxAge/time.Second)))
		}
		w.Write(i.JWKS())
	case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		iss, ok := i.discoveredIssuer(strings.TrimSuffix(r.URL.Path, "/.well-known/openid-configuration"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		i.discoveryRequests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss,
			"jwks_uri":                              i.JWKSURL(),
			"id_token_signing_alg_values_supported": []string{i.Algorithm()},
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
		})
	default:
		http.NotFound(w, r)
	}
}

// discoveredIssuer maps the path before "/.well-known/…" to the issuer it
// describes: the issuer itself, or for a template any single tenant.
func (i *Issuer) discoveredIssuer(p string) (string, bool) {
	trimmed := strings.TrimSuffix(i.path, "/")
	if !strings.Contains(trimmed, "{tenant}") {
		return i.URL(), p == trimmed
	}
	before, after, _ := strings.Cut(trimmed, "{tenant}")
	if !strings.HasPrefix(p, before) || !strings.HasSuffix(p, after) || len(p) <= len(before)+len(after) {
		return "", false
	}
	tenant := p[len(before) : len(p)-len(after)]
	if strings.Contains(tenant, "/") {
		return "", false
	}
	return i.TenantURL(tenant), true
}
