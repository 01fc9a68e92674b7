package issuer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// fakeSources records what the registry asks for.
type fakeSources struct {
	src   jwks.Source
	calls []string
}

func (f *fakeSources) Remote(url string, ro jwks.RemoteOptions) (jwks.Source, error) {
	f.calls = append(f.calls, fmt.Sprintf("remote %s %+v", url, ro))
	return f.src, nil
}

func (f *fakeSources) Discover(iss string, ro jwks.RemoteOptions) (jwks.Source, error) {
	f.calls = append(f.calls, fmt.Sprintf("discover %s %+v", iss, ro))
	return f.src, nil
}

// ReleaseSource has nothing to free.
func (*fakeSources) ReleaseSource(jwks.Source) {}

func TestRemoteKeySourcesWiring(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	remote := idp.Config()
	remote.Name = "r"
	disc := issuer.Config{Name: "d", Issuer: "https://d.example/", Discovery: true, AllowInsecureHTTP: true,
		AllowPrivateNetwork: true, JWKSSameOrigin: true, AllowAnyAudience: true}

	fs := &fakeSources{src: idp.Source()}
	reg := newRegistry(t, issuer.Options{Keys: fs}, remote, disc)
	want := []string{
		"remote " + idp.JWKSURL() + " {Label:r AllowInsecureHTTP:false AllowPrivateNetwork:false JWKSSameOrigin:false MinTTL:0s MaxTTL:0s MaxStale:0s Timeout:0s Cooldown:0s RootCAs:[] Background:false}",
		"discover https://d.example/ {Label:d AllowInsecureHTTP:true AllowPrivateNetwork:true JWKSSameOrigin:true MinTTL:0s MaxTTL:0s MaxStale:0s Timeout:0s Cooldown:0s RootCAs:[] Background:false}",
	}
	if strings.Join(fs.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls = %q, want %q", fs.calls, want)
	}
	if _, err := reg.Verify(t.Context(), idp.Mint(nil)); err != nil {
		t.Errorf("Verify through the remote source: %v", err)
	}
}

// Without Options.Keys the registry owns a jwks.Cache: jwks_uri and
// discovery issuers verify over real HTTP, one fetch per key set, and a
// rotated key is picked up by one refetch.
func TestOwnedKeyCacheOverHTTP(t *testing.T) {
	t.Parallel()
	byURI := issuertest.New(t, issuertest.WithPath("/uri"))
	byDisc := issuertest.New(t, issuertest.WithPath("/disc"), issuertest.WithAlgorithm("ES256"))
	disc := byDisc.Config()
	disc.JWKSURI, disc.Discovery = "", true
	reg := newRegistry(t, issuer.Options{TokenCacheSize: -1}, byURI.Config(), disc)
	ctx := t.Context()
	for i := range 3 {
		if _, err := reg.Verify(ctx, byURI.Mint(map[string]any{"n": i})); err != nil {
			t.Fatalf("jwks_uri issuer: %v", err)
		}
		if _, err := reg.Verify(ctx, byDisc.Mint(map[string]any{"n": i})); err != nil {
			t.Fatalf("discovery issuer: %v", err)
		}
	}
	if got := byURI.JWKSRequests(); got != 1 {
		t.Errorf("jwks_uri issuer: %d JWKS requests, want 1", got)
	}
	if d, j := byDisc.DiscoveryRequests(), byDisc.JWKSRequests(); d != 1 || j != 1 {
		t.Errorf("discovery issuer: %d discovery and %d JWKS requests, want 1 and 1", d, j)
	}
	byURI.Rotate()
	if _, err := reg.Verify(ctx, byURI.Mint(nil)); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if got := byURI.JWKSRequests(); got != 2 {
		t.Errorf("after rotation: %d JWKS requests, want 2", got)
	}
}
