package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/tenantjwt/tenantjwt/middleware/canonical"
)

// FuzzCheckAttributes feeds arbitrary CheckRequest attributes to the
// conversion into the request model. Properties:
//   - it never panics and always returns a request to answer with;
//   - a refusal is a canonical.ErrRequest (400 invalid_request);
//   - an accepted check is exactly canonical.New of its attributes (the
//     conversion invents nothing), its path is canonical (canonicalising
//     it again changes nothing; no dot segment, "//", "\" or %2F), and
//     the synthetic request carries no pseudo-header and at most one of
//     each credential header, without a merged list in it.
func FuzzCheckAttributes(f *testing.F) {
	f.Add("GET", "https", "api.example.com", "/admin?x=1", "authorization", "Bearer a.b.c", "", false)
	f.Add("POST", "http", "API.example.com.:8443", "/%61dmin/../x", "dpop", "p,q", "", false)
	f.Add("get", "https", "a..b", "//x;y", "cookie", "DS=a,DS=b", "", true)
	f.Add("OPTIONS", "HTTPS", "[::1]:443", "*", ":path", "/other", "-----BEGIN%20CERTIFICATE-----%0AAA%3D%3D%0A-----END%20CERTIFICATE-----%0A", false)
	f.Add("GET", "https", "h", "/%2e%2E/%5c", "X-Upper", "v\r\nx", "%zz", true)
	f.Fuzz(func(t *testing.T, method, scheme, host, path, name, value, cert string, raw bool) {
		hr := &authv3.AttributeContext_HttpRequest{Method: method, Scheme: scheme, Host: host, Path: path}
		if raw {
			hr.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: name, RawValue: []byte(value)}, {Key: "authorization", Value: "Bearer x"}}}
		} else {
			hr.Headers = map[string]string{name: value, ":authority": host}
		}
		in := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			Source:  &authv3.AttributeContext_Peer{Certificate: cert},
			Request: &authv3.AttributeContext_Request{Http: hr},
		}}
		r, req, err := checkAttributes(context.Background(), in, canonical.Policy{}, "X-Tenant-ID")
		if r == nil || r.Header == nil {
			t.Fatal("no request to answer with")
		}
		if err != nil {
			if !errors.Is(err, canonical.ErrRequest) {
				t.Fatalf("refusal %v is not canonical.ErrRequest", err)
			}
			return
		}
		want, werr := canonical.New(method, scheme, host, path, canonical.Policy{})
		if werr != nil || want != req {
			t.Fatalf("accepted %+v, canonical.New gives %+v, %v", req, want, werr)
		}
		if again, err := canonical.Path(req.Path, canonical.Policy{}); err != nil || again != req.Path {
			t.Fatalf("path %q not canonical: %q %v", req.Path, again, err)
		}
		if strings.Contains(req.Path, "//") {
			t.Fatalf("accepted path %q holds //", req.Path)
		}
		for _, bad := range []string{"/./", "/../", `\`, "%2F", "%5C"} {
			if strings.Contains(req.Path+"/", bad) {
				t.Fatalf("accepted path %q holds %q", req.Path, bad)
			}
		}
		for key, vals := range r.Header {
			if strings.HasPrefix(key, ":") {
				t.Fatalf("pseudo-header %s left in the request", key)
			}
			if key != http.CanonicalHeaderKey(key) {
				t.Fatalf("header key %q not canonical", key)
			}
			for _, v := range vals {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("header %s holds a control byte", key)
				}
			}
		}
		for _, key := range []string{"Authorization", "Dpop", "Host", "X-Tenant-Id"} {
			if v := r.Header[key]; len(v) > 1 || len(v) == 1 && strings.Contains(v[0], ",") {
				t.Fatalf("%s = %q accepted", key, v)
			}
		}
		if (gatewayCertificate(r) != nil) != (cert != "") {
			t.Fatalf("certificate %q accepted as %v", cert, gatewayCertificate(r))
		}
	})
}
