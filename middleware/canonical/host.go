package canonical

import (
	"strconv"
	"strings"
)

// maxHostBytes is the longest DNS name (RFC 1035 §2.3.4) plus room for an
// IPv6 literal's brackets; a longer host is refused before it is read.
const maxHostBytes = 255

// Host splits an authority ("Host" header, X-Forwarded-Host, :authority)
// into its canonical host and port. The host is lower-cased and one
// trailing dot removed (Traefik and most resolvers treat "a.example." as
// "a.example"); the port is kept apart, digits only, for the URL a DPoP
// proof names. Refused: an empty host, empty labels ("a..b", a leading
// dot), characters outside letters, digits, '-' and '_' (so no user info,
// no percent-encoding, no Unicode: clients send IDNs in punycode), a
// malformed port, and an IPv6 literal that is not bracketed hex.
func Host(authority string) (host, port string, err error) {
	if len(authority) > maxHostBytes+6 {
		return "", "", reject("host", "host of %d bytes", len(authority))
	}
	h := authority
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", "", reject("host", "unterminated IPv6 literal %.64q", authority)
		}
		host, rest := h[:end+1], h[end+1:]
		if rest != "" {
			if port, err = portOf(rest, authority); err != nil {
				return "", "", err
			}
		}
		inner := host[1 : len(host)-1]
		if inner == "" || strings.Trim(inner, "0123456789abcdefABCDEF:.") != "" {
			return "", "", reject("host", "invalid IPv6 literal %.64q", authority)
		}
		return strings.ToLower(host), port, nil
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if port, err = portOf(h[i:], authority); err != nil {
			return "", "", err
		}
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", "", reject("host", "empty host in %.64q", authority)
	}
	if h[0] == '.' || h[len(h)-1] == '.' || strings.Contains(h, "..") {
		return "", "", reject("host", "empty label in host %.64q", authority)
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !hostChar(c) {
			return "", "", reject("host", "byte 0x%02x in host %.64q", c, authority)
		}
	}
	return strings.ToLower(h), port, nil
}

// portOf reads ":digits" (at most 65535); an empty port (":") is refused.
func portOf(s, authority string) (string, error) {
	p := s[1:]
	n, err := strconv.Atoi(p)
	if s[0] != ':' || p == "" || len(p) > 5 || err != nil || n < 0 || n > 65535 || strings.Trim(p, "0123456789") != "" {
		return "", reject("host", "invalid port in %.64q", authority)
	}
	return p, nil
}

func hostChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// HostPattern is a canonical host name, or "*.suffix" for every direct
// subdomain of suffix (one label, so "*.example.com" covers
// "acme.example.com", not "example.com" nor "a.b.example.com").
type HostPattern struct {
	exact  string
	suffix string // ".example.com" for a wildcard
}

// ParseHostPattern canonicalises a configured host or wildcard with the
// rules of Host; a port is refused, since patterns match the host alone.
func ParseHostPattern(s string) (HostPattern, error) {
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		h, port, err := Host(rest)
		if err != nil || port != "" {
			return HostPattern{}, reject("host", "invalid host pattern %.64q", s)
		}
		return HostPattern{suffix: "." + h}, nil
	}
	h, port, err := Host(s)
	if err != nil || port != "" {
		return HostPattern{}, reject("host", "invalid host pattern %.64q", s)
	}
	return HostPattern{exact: h}, nil
}

// Wildcard reports whether the pattern is "*.suffix".
func (p HostPattern) Wildcard() bool { return p.suffix != "" }

// Match reports whether the canonical host h matches, and for a wildcard
// the label that stood for '*' (lower case, as every canonical host is).
func (p HostPattern) Match(h string) (label string, ok bool) {
	if p.suffix == "" {
		return "", p.exact != "" && h == p.exact
	}
	label, ok = strings.CutSuffix(h, p.suffix)
	if !ok || label == "" || strings.Contains(label, ".") {
		return "", false
	}
	return label, true
}

// String returns the pattern as configured, in canonical form.
func (p HostPattern) String() string {
	if p.suffix != "" {
		return "*" + p.suffix
	}
	return p.exact
}
