package jwks

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckURL applies the rule every key set and issuer URL obeys, for the
// jwks package and for issuer.Config validation alike: an absolute URL
// with a host, scheme https (http only to a loopback host, see
// IsLoopbackHost, or anywhere when allowInsecureHTTP), no user info and no
// fragment, not even an empty one ("…/jwks#"). It returns the parsed URL.
func CheckURL(raw string, allowInsecureHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("jwks: URL %.128q does not parse", raw)
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("jwks: URL %.128q has no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("jwks: URL %.128q carries user info", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("jwks: URL %.128q has a fragment", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowInsecureHTTP && !IsLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("jwks: URL %.128q: plain http to a non-loopback host refused (allow_insecure_http)", raw)
		}
	default:
		return nil, fmt.Errorf("jwks: URL %.128q: scheme must be https", raw)
	}
	return u, nil
}

// IsLoopbackHost is the one loopback rule of the project: host (as
// url.URL.Hostname returns it, without brackets or port) is "localhost" in
// any letter case, or an IPv4 address in 127.0.0.0/8, or ::1 (also as an
// IPv4-mapped address). Other names are not loopback, whatever they
// resolve to.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin reports whether a and b have the same scheme, host and port
// (RFC 6454), with the scheme's default port made explicit.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}
