package canonical_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/middleware/canonical"
)

func TestPath(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means refused
		pol            canonical.Policy
	}{
		{name: "root", in: "/", want: "/"},
		{name: "plain", in: "/admin/users", want: "/admin/users"},
		{name: "trailing slash", in: "/admin/", want: "/admin/"},
		{name: "encoded unreserved", in: "/%61dmin/users", want: "/admin/users"},
		{name: "encoded unreserved upper", in: "/%41DMIN", want: "/ADMIN"},
		{name: "encoded tilde", in: "/%7euser", want: "/~user"},
		{name: "reserved escape upper-cased", in: "/a%3ab", want: "/a%3Ab"},
		{name: "raw reserved kept", in: "/a:b@c!$&'()*+,=", want: "/a:b@c!$&'()*+,="},
		{name: "raw unsafe encoded", in: "/a\"<>[]^`{|}", want: "/a%22%3C%3E%5B%5D%5E%60%7B%7C%7D"},
		{name: "raw non-ASCII encoded", in: "/caf\xc3\xa9", want: "/caf%C3%A9"},
		{name: "encoded non-ASCII upper-cased", in: "/caf%c3%a9", want: "/caf%C3%A9"},

		{name: "encoded slash", in: "/admin%2fusers"},
		{name: "encoded slash upper", in: "/admin%2Fusers"},
		{name: "encoded backslash", in: "/admin%5cusers"},
		{name: "raw backslash", in: "/admin\\users"},
		{name: "backslash prefix", in: "/\\admin"},
		{name: "NUL raw", in: "/admin\x00"},
		{name: "NUL encoded", in: "/admin%00"},
		{name: "control raw", in: "/admin\x1f"},
		{name: "control encoded", in: "/admin%0a"},
		{name: "DEL encoded", in: "/admin%7f"},
		{name: "space raw", in: "/ad min"},
		{name: "tab raw", in: "/admin\t"},
		{name: "hash", in: "/admin#x"},
		{name: "semicolon", in: "/admin;jsessionid=1"},
		{name: "semicolon segment", in: "/;/admin"},
		{name: "encoded percent", in: "/%252e%252e/admin"},
		{name: "double slash", in: "//admin"},
		{name: "inner double slash", in: "/x//admin"},
		{name: "dot", in: "/./admin"},
		{name: "dot dot", in: "/x/../admin"},
		{name: "trailing dot dot", in: "/admin/.."},
		{name: "encoded dot", in: "/%2e/admin"},
		{name: "encoded dot dot", in: "/x/%2e%2E/admin"},
		{name: "half encoded dot dot", in: "/x/.%2e/admin"},
		{name: "invalid escape", in: "/admin%zz"},
		{name: "truncated escape", in: "/admin%4"},
		{name: "lone percent", in: "/admin%"},
		{name: "no leading slash", in: "admin"},
		{name: "empty", in: ""},

		{name: "dots inside a segment are fine", in: "/a..b/.well-known/...", want: "/a..b/.well-known/..."},
		{name: "allowed encoded slash", in: "/files/a%2fb", want: "/files/a%2Fb", pol: canonical.Policy{AllowEncodedSlash: true}},
		{name: "allowed semicolon", in: "/m;v=1", want: "/m;v=1", pol: canonical.Policy{AllowSemicolon: true}},
		{name: "allowed encoded percent", in: "/100%25", want: "/100%25", pol: canonical.Policy{AllowEncodedPercent: true}},
		{name: "encoded backslash refused even when slash allowed", in: "/a%5Cb", pol: canonical.Policy{AllowEncodedSlash: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := canonical.Path(tt.in, tt.pol)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Path(%q) = %q, want refusal", tt.in, got)
				}
				if !errors.Is(err, canonical.ErrRequest) {
					t.Fatalf("error %v is not ErrRequest", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Path(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if again, err := canonical.Path(got, tt.pol); err != nil || again != got {
				t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
			}
		})
	}
}

func TestTarget(t *testing.T) {
	tests := []struct {
		in, path, query string
		ok              bool
	}{
		{"/a?b=1&c=%zz", "/a", "b=1&c=%zz", true},
		{"/%61?x", "/a", "x", true},
		{"/a?", "/a", "", true},
		{"*", "", "", false},
		{"http://evil.example/admin", "", "", false},
		{"/a?b c", "", "", false},
		{"/a?b#c", "", "", false},
		{"/" + strings.Repeat("a", canonical.MaxTargetBytes), "", "", false},
	}
	for _, tt := range tests {
		p, q, err := canonical.Target(tt.in, canonical.Policy{})
		if (err == nil) != tt.ok || p != tt.path || q != tt.query {
			t.Errorf("Target(%.40q) = %q, %q, %v; want %q, %q, ok=%v", tt.in, p, q, err, tt.path, tt.query, tt.ok)
		}
	}
}

func TestHost(t *testing.T) {
	tests := []struct {
		in, host, port string // host "" means refused
	}{
		{"api.example.com", "api.example.com", ""},
		{"API.Example.COM", "api.example.com", ""},
		{"api.example.com.", "api.example.com", ""},
		{"api.example.com.:8443", "api.example.com", "8443"},
		{"api.example.com:443", "api.example.com", "443"},
		{"127.0.0.1:8080", "127.0.0.1", "8080"},
		{"[::1]:8080", "[::1]", "8080"},
		{"[2001:DB8::1]", "[2001:db8::1]", ""},
		{"my_host.internal", "my_host.internal", ""},
		{"", "", ""},
		{".", "", ""},
		{"api.example.com..", "", ""},
		{"api..example.com", "", ""},
		{".api.example.com", "", ""},
		{"api.example.com:", "", ""},
		{"api.example.com:99999", "", ""},
		{"api.example.com:+80", "", ""},
		{"api.example.com:8a", "", ""},
		{"user@api.example.com", "", ""},
		{"api%2eexample.com", "", ""},
		{"api.example.com\x00", "", ""},
		{"api example.com", "", ""},
		{"bücher.example", "", ""},
		{"::1", "", ""},
		{"[::1", "", ""},
		{"[zz::1]", "", ""},
		{"[::1]x", "", ""},
		{strings.Repeat("a", 300), "", ""},
	}
	for _, tt := range tests {
		h, p, err := canonical.Host(tt.in)
		if tt.host == "" {
			if err == nil || !errors.Is(err, canonical.ErrRequest) {
				t.Errorf("Host(%.40q) = %q, %q, %v; want ErrRequest", tt.in, h, p, err)
			}
			continue
		}
		if err != nil || h != tt.host || p != tt.port {
			t.Errorf("Host(%q) = %q, %q, %v; want %q, %q", tt.in, h, p, err, tt.host, tt.port)
		}
	}
}

func TestHostPattern(t *testing.T) {
	tests := []struct {
		pattern, host, label string
		ok                   bool
	}{
		{"api.example.com", "api.example.com", "", true},
		{"API.example.com.", "api.example.com", "", true},
		{"api.example.com", "xapi.example.com", "", false},
		{"*.example.com", "acme.example.com", "acme", true},
		{"*.Example.com", "acme.example.com", "acme", true},
		{"*.example.com", "example.com", "", false},
		{"*.example.com", "a.b.example.com", "", false},
		{"*.example.com", "acme.example.com.evil", "", false},
	}
	for _, tt := range tests {
		p, err := canonical.ParseHostPattern(tt.pattern)
		if err != nil {
			t.Fatalf("ParseHostPattern(%q): %v", tt.pattern, err)
		}
		label, ok := p.Match(tt.host)
		if ok != tt.ok || label != tt.label {
			t.Errorf("%q.Match(%q) = %q, %v; want %q, %v", tt.pattern, tt.host, label, ok, tt.label, tt.ok)
		}
	}
	for _, bad := range []string{"", "*.", "*", "a.example.com:80", "*.a..b", "a b"} {
		if _, err := canonical.ParseHostPattern(bad); err == nil {
			t.Errorf("ParseHostPattern(%q) accepted", bad)
		}
	}
}

func TestMethod(t *testing.T) {
	for _, ok := range []string{"GET", "HEAD", "POST", "PURGE", "PROPFIND", "M-SEARCH"} {
		if got, err := canonical.Method(ok); err != nil || got != ok {
			t.Errorf("Method(%q) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"", "get", "Get", "post", "dElEtE", "G ET", "GET\x00", "GET/", strings.Repeat("X", 33)} {
		if _, err := canonical.Method(bad); !errors.Is(err, canonical.ErrRequest) {
			t.Errorf("Method(%q) = %v, want ErrRequest", bad, err)
		}
	}
}

func TestHasPrefix(t *testing.T) {
	tests := []struct {
		path, prefix string
		fold, want   bool
	}{
		{"/admin", "/admin", false, true},
		{"/admin/", "/admin", false, true},
		{"/admin/x", "/admin", false, true},
		{"/admin/x", "/admin/", false, true},
		{"/admin", "/admin/", false, true},
		{"/administrators", "/admin", false, false},
		{"/Admin/x", "/admin", false, false},
		{"/Admin/x", "/admin", true, true},
		{"/ADMINISTRATORS", "/admin", true, false},
		{"/x", "/", false, true},
		{"/x", "/", true, true},
		{"/a", "/a/b", true, false},
	}
	for _, tt := range tests {
		if got := canonical.HasPrefix(tt.path, tt.prefix, tt.fold); got != tt.want {
			t.Errorf("HasPrefix(%q, %q, %v) = %v", tt.path, tt.prefix, tt.fold, got)
		}
	}
}

func TestFromHTTP(t *testing.T) {
	fwd := canonical.GatewayHeaders
	req := func(h map[string][]string) *http.Request {
		r := httptest.NewRequest("GET", "http://serve.internal/verify", nil)
		for k, v := range h {
			r.Header[k] = v
		}
		return r
	}
	full := map[string][]string{
		"X-Forwarded-Method": {"POST"}, "X-Forwarded-Proto": {"HTTPS"},
		"X-Forwarded-Host": {"API.example.com:8443"}, "X-Forwarded-Uri": {"/%61dmin/x?a=1,2"},
	}
	got, err := canonical.FromHTTP(req(full), fwd, true, canonical.Policy{})
	want := canonical.Request{Method: "POST", Scheme: "https", Host: "api.example.com", Port: "8443", Path: "/admin/x", Query: "a=1,2"}
	if err != nil || got != want {
		t.Fatalf("FromHTTP = %+v, %v; want %+v", got, err, want)
	}
	if u := got.URL(); u != "https://api.example.com:8443/admin/x" {
		t.Fatalf("URL() = %q", u)
	}

	without := func(name string) map[string][]string {
		m := map[string][]string{}
		for k, v := range full {
			if k != name {
				m[k] = v
			}
		}
		return m
	}
	with := func(name string, v ...string) map[string][]string {
		m := without(name)
		m[name] = v
		return m
	}
	refused := map[string]map[string][]string{
		"no method":            without("X-Forwarded-Method"),
		"no host":              without("X-Forwarded-Host"),
		"no uri":               without("X-Forwarded-Uri"),
		"two hosts":            with("X-Forwarded-Host", "a.example.com", "b.example.com"),
		"host list":            with("X-Forwarded-Host", "a.example.com, b.example.com"),
		"proto list":           with("X-Forwarded-Proto", "https,http"),
		"two uris":             with("X-Forwarded-Uri", "/a", "/b"),
		"method list":          with("X-Forwarded-Method", "GET,POST"),
		"lower-case method":    with("X-Forwarded-Method", "post"),
		"bad scheme":           with("X-Forwarded-Proto", "ftp"),
		"encoded slash in uri": with("X-Forwarded-Uri", "/admin%2Fx"),
		"absolute uri":         with("X-Forwarded-Uri", "http://x/admin"),
		"host with dot dot":    with("X-Forwarded-Host", "a..example.com"),
	}
	for name, h := range refused {
		if r, err := canonical.FromHTTP(req(h), fwd, true, canonical.Policy{}); !errors.Is(err, canonical.ErrRequest) {
			t.Errorf("%s: FromHTTP = %+v, %v; want ErrRequest", name, r, err)
		}
	}

	// Not required: absent headers fall back to the request itself.
	r := httptest.NewRequest("DELETE", "https://self.example.com/x/%7ey?q", nil)
	r.RequestURI = "/x/%7ey?q" // as a server sees origin-form
	r.TLS = &tls.ConnectionState{}
	got, err = canonical.FromHTTP(r, fwd, false, canonical.Policy{})
	want = canonical.Request{Method: "DELETE", Scheme: "https", Host: "self.example.com", Path: "/x/~y", Query: "q"}
	if err != nil || got != want {
		t.Fatalf("fallback: %+v, %v; want %+v", got, err, want)
	}
	// The raw request URI is judged, not net/http's cleaned URL.
	r = httptest.NewRequest("GET", "http://self.example.com/x", nil)
	r.RequestURI = "/x/../admin"
	if _, err := canonical.FromHTTP(r, canonical.Forwarded{}, false, canonical.Policy{}); err == nil {
		t.Fatal("dot segments in RequestURI accepted")
	}
	// Origin pins scheme and host.
	got, err = canonical.FromHTTP(req(full), canonical.Forwarded{Origin: "https://pinned.example.com", URI: "X-Forwarded-Uri", Method: "X-Forwarded-Method"}, true, canonical.Policy{})
	if err != nil || got.URL() != "https://pinned.example.com/admin/x" {
		t.Fatalf("origin: %+v, %v", got, err)
	}
}

// FuzzPath checks the canonicaliser's properties: an accepted path is a
// fixed point, holds no dot segment, no "//", no '\' and no encoded '/',
// and matching rules on its decoded form sees the same segments.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"/", "/admin", "/%61dmin", "/a%2fb", "/a/../b", "//a", "/a;b", "/a%252e", "/%2e%2E", "/caf\xc3\xa9", "/a%3ab/", "/a\\b", "/%00", "/a?b"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, lax bool) {
		pol := canonical.Policy{AllowSemicolon: lax}
		out, err := canonical.Path(in, pol)
		if err != nil {
			if !errors.Is(err, canonical.ErrRequest) {
				t.Fatalf("error %v is not ErrRequest", err)
			}
			return
		}
		again, err := canonical.Path(out, pol)
		if err != nil || again != out {
			t.Fatalf("not a fixed point: %.80q -> %.80q -> %.80q, %v", in, out, again, err)
		}
		if strings.Contains(out, "//") || strings.Contains(out, "\\") || strings.Contains(strings.ToUpper(out), "%2F") {
			t.Fatalf("accepted %.80q as %.80q", in, out)
		}
		dec := canonical.Decode(out)
		for i, seg := range strings.Split(out, "/")[1:] {
			if seg == "." || seg == ".." {
				t.Fatalf("dot segment in %.80q", out)
			}
			if d := strings.Split(dec, "/")[1+i]; d == "." || d == ".." {
				t.Fatalf("decoded dot segment in %.80q", dec)
			}
		}
		if strings.Count(dec, "/") != strings.Count(out, "/") {
			t.Fatalf("decoding %.80q changed its segments: %.80q", out, dec)
		}
	})
}

// FuzzHost: an accepted host is lower case, has no empty label and no
// byte outside the host alphabet, and canonicalising it again changes
// nothing; nothing panics.
func FuzzHost(f *testing.F) {
	for _, s := range []string{"a.example.com", "A.b.", "a..b", "[::1]:80", "x:1", ".", "a.b.:8080", "ß.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, port, err := canonical.Host(in)
		if err != nil {
			if !errors.Is(err, canonical.ErrRequest) {
				t.Fatalf("error %v is not ErrRequest", err)
			}
			return
		}
		if h == "" || h != strings.ToLower(h) || strings.Contains(h, "..") || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") {
			t.Fatalf("Host(%.80q) = %.80q", in, h)
		}
		again := h
		if port != "" {
			again += ":" + port
		}
		if h2, p2, err := canonical.Host(again); err != nil || h2 != h || p2 != port {
			t.Fatalf("not a fixed point: %.80q -> %.80q %q -> %.80q %q %v", in, h, port, h2, p2, err)
		}
	})
}
