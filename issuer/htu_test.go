package issuer_test

import (
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer"
)

// TestNormalizeHTURefusesEmptyHost: a URL whose authority has a port but
// no host names no origin; it must not normalise to one ("http://:80/"
// used to give "http:///").
func TestNormalizeHTURefusesEmptyHost(t *testing.T) {
	for _, in := range []string{"http://:80/", "https://:443/x", "http://:8080", "https://@/", "http://[]/"} {
		if got, err := issuer.NormalizeHTU(in); err == nil {
			t.Errorf("NormalizeHTU(%q) = %q, want an error", in, got)
		}
	}
}

// FuzzNormalizeHTU: an accepted URL normalises to a URL that is accepted
// again, unchanged (idempotence), with a host.
func FuzzNormalizeHTU(f *testing.F) {
	for _, s := range []string{
		"https://EXAMPLE.com:443/a/../b/%7e%2f?q#f", "http://[::1]:80/", "http://[fe80::1%25eth0]/",
		"http://a/%2e%2e/%2E/x", "http://a/b c", "http://:80/", "https://é.example/ü", "HTTP://A:0080/.",
		"http://a/%zz", "http://a/%25", "http://a:/x", "http://a/./../../b/", "https://a/%c3%A9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := issuer.NormalizeHTU(s)
		if err != nil {
			return
		}
		rest := n[strings.Index(n, "://")+3:]
		if rest == "" || rest[0] == '/' || rest[0] == ':' {
			t.Fatalf("NormalizeHTU(%q) = %q: no host", s, n)
		}
		again, err := issuer.NormalizeHTU(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeHTU(%q) = %q, but NormalizeHTU(%q) = %q, %v", s, n, n, again, err)
		}
	})
}
