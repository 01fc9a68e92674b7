package issuer_test

import (
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// TestURLRuleIsOne: the config check (issuer.Config.Validate) and the
// fetcher (jwks.Cache.Remote, Discover) apply one URL rule. The rows where
// the two copies used to disagree come first: LOCALHOST in capitals, and a
// trailing, empty fragment.
func TestURLRuleIsOne(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"http://LOCALHOST/jwks", false, true},
		{"http://LocalHost:8080/jwks", false, true},
		{"https://idp.example/jwks#", false, false},
		{"https://idp.example/#", false, false},
		{"http://localhost/jwks", false, true},
		{"http://127.0.0.2:9/jwks", false, true},
		{"http://[::1]:9/jwks", false, true},
		{"http://localhost./jwks", false, false},
		{"http://idp.example/jwks", false, false},
		{"http://idp.example/jwks", true, true},
		{"https://idp.example/jwks#frag", false, false},
		{"https://user@idp.example/jwks", false, false},
		{"https:opaque", false, false},
		{"ftp://idp.example/jwks", true, false},
	}
	c := jwks.NewCache(jwks.Options{})
	t.Cleanup(func() { c.Close() })
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			byURI := issuer.Config{Issuer: "https://iss.example/", JWKSURI: tt.url, Audiences: []string{"api"}, AllowInsecureHTTP: tt.insecure}
			byDisc := issuer.Config{Issuer: tt.url, Discovery: true, Audiences: []string{"api"}, AllowInsecureHTTP: tt.insecure}
			_, remoteErr := c.Remote(tt.url, jwks.RemoteOptions{AllowInsecureHTTP: tt.insecure})
			_, discErr := c.Discover(tt.url, jwks.RemoteOptions{AllowInsecureHTTP: tt.insecure})
			for what, err := range map[string]error{
				"Config.Validate (jwks_uri)":  byURI.Validate(),
				"Config.Validate (discovery)": byDisc.Validate(),
				"jwks.Cache.Remote":           remoteErr,
				"jwks.Cache.Discover":         discErr,
			} {
				if (err == nil) != tt.ok {
					t.Errorf("%s: err = %v, want ok = %v", what, err, tt.ok)
				}
			}
		})
	}
}

// TestDiscoveryOnlySettings: allow_private_network and jwks_same_origin
// restrict or relax a discovered jwks_uri; set without discovery they
// would promise something they do not do, so the config is refused.
func TestDiscoveryOnlySettings(t *testing.T) {
	t.Parallel()
	for _, c := range []issuer.Config{
		{Name: "p", Issuer: "https://iss.example/", JWKSURI: "https://iss.example/jwks", Audiences: []string{"api"}, AllowPrivateNetwork: true},
		{Name: "s", Issuer: "https://iss.example/", JWKSURI: "https://iss.example/jwks", Audiences: []string{"api"}, JWKSSameOrigin: true},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted without discovery", c.Name)
		}
		c.JWKSURI, c.Discovery = "", true
		if err := c.Validate(); err != nil {
			t.Errorf("%s with discovery: %v", c.Name, err)
		}
	}
}

// TestDiscoverySettingsFromFile: the config file keys reach the Config.
func TestDiscoverySettingsFromFile(t *testing.T) {
	t.Parallel()
	f, err := issuer.ParseConfig([]byte(`
issuers:
  - name: internal
    issuer: https://idp.internal.example/
    discovery: true
    audiences: [api]
    allow_private_network: true
    jwks_same_origin: true
`), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := f.Issuers[0]; !c.AllowPrivateNetwork || !c.JWKSSameOrigin {
		t.Errorf("config %+v lacks allow_private_network or jwks_same_origin", c)
	}
}
