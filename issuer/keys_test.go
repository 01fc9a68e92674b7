package issuer_test

import (
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

func (f *fakeSources) RemoteSource(url, label string, insecure bool) (jwks.Source, error) {
	f.calls = append(f.calls, "remote "+url+" "+label+" "+map[bool]string{true: "insecure", false: "secure"}[insecure])
	return f.src, nil
}

func (f *fakeSources) DiscoverSource(iss, label string, insecure bool) (jwks.Source, error) {
	f.calls = append(f.calls, "discover "+iss+" "+label+" "+map[bool]string{true: "insecure", false: "secure"}[insecure])
	return f.src, nil
}

func TestRemoteKeySourcesWiring(t *testing.T) {
	idp := issuertest.New(t)
	remote := idp.Config()
	remote.Name = "r"
	disc := issuer.Config{Name: "d", Issuer: "https://d.example/", Discovery: true, AllowInsecureHTTP: true}

	if _, err := issuer.New(issuer.Options{}, remote); err == nil || !strings.Contains(err.Error(), "jwks_uri") {
		t.Errorf("New without KeySources: err = %v, want one naming jwks_uri", err)
	}
	fs := &fakeSources{src: idp.Source()}
	reg := newRegistry(t, issuer.Options{Keys: fs}, remote, disc)
	want := []string{"remote " + idp.JWKSURL() + " r secure", "discover https://d.example/ d insecure"}
	if strings.Join(fs.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls = %q, want %q", fs.calls, want)
	}
	if _, err := reg.Verify(t.Context(), idp.Mint(nil)); err != nil {
		t.Errorf("Verify through the remote source: %v", err)
	}
}
