package dpop_test

import (
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/dpop"
)

// TestNormalizeHTURefusesEmptyHost: a URL whose authority has a port but
// no host names no origin; it must not normalise to one ("http://:80/"
// used to give "http:///").
func TestNormalizeHTURefusesEmptyHost(t *testing.T) {
	for _, in := range []string{"http://:80/", "https://:443/x", "http://:8080", "https://@/", "http://[]/"} {
		if got, err := dpop.NormalizeHTU(in); err == nil {
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
		n, err := dpop.NormalizeHTU(s)
		if err != nil {
			return
		}
		rest := n[strings.Index(n, "://")+3:]
		if rest == "" || rest[0] == '/' || rest[0] == ':' {
			t.Fatalf("NormalizeHTU(%q) = %q: no host", s, n)
		}
		again, err := dpop.NormalizeHTU(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeHTU(%q) = %q, but NormalizeHTU(%q) = %q, %v", s, n, n, again, err)
		}
	})
}

func TestNormalizeHTU(t *testing.T) {
	same := [][2]string{
		{"https://API.Example.COM/a", "https://api.example.com/a"},
		{"HTTPS://api.example.com:443/a", "https://api.example.com/a"},
		{"http://api.example.com:80/a", "http://api.example.com/a"},
		{"https://api.example.com", "https://api.example.com/"},
		{"https://api.example.com/a?x=1#f", "https://api.example.com/a"},
		{"https://api.example.com/a/./b/../c", "https://api.example.com/a/c"},
		{"https://api.example.com/%7Euser/%61", "https://api.example.com/~user/a"},
		{"https://api.example.com/a%2fb", "https://api.example.com/a%2Fb"},
		{"https://[::1]:8443/a", "https://[::1]:8443/a"},
	}
	for _, s := range same {
		a, err1 := dpop.NormalizeHTU(s[0])
		b, err2 := dpop.NormalizeHTU(s[1])
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("%q → %q (%v), %q → %q (%v): want equal", s[0], a, err1, s[1], b, err2)
		}
	}
	differ := [][2]string{
		{"https://api.example.com/a", "http://api.example.com/a"},
		{"https://api.example.com/a", "https://api.example.com:444/a"},
		{"https://api.example.com/a", "https://api.example.com/a/"},
		{"https://api.example.com/a", "https://api.example.com/A"},
		{"https://api.example.com/a%2Fb", "https://api.example.com/a/b"},
		{"https://api.example.com/a", "https://api.example.com.evil/a"},
	}
	for _, s := range differ {
		a, _ := dpop.NormalizeHTU(s[0])
		b, _ := dpop.NormalizeHTU(s[1])
		if a == b {
			t.Errorf("%q and %q normalise alike (%q)", s[0], s[1], a)
		}
	}
	for _, bad := range []string{"", "/a", "ftp://x/a", "https://u@x/a", "mailto:a@b", "https:///a", "https://x/%zz"} {
		if got, err := dpop.NormalizeHTU(bad); err == nil {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}
