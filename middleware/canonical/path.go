package canonical

import (
	"fmt"
	"strings"

	"github.com/tenantjwt/tenantjwt/internal/pct"
)

// MaxTargetBytes bounds a request target (path and query) before it is
// looked at. Gateways cap request lines at a similar size (nginx's default
// large_client_header_buffers is 8 KiB).
const MaxTargetBytes = 8 << 10

// Policy relaxes the path rules for upstreams that need a refused form.
// The zero value is the strict default; each switch names what it lets
// through and why that is safe only for some upstreams.
type Policy struct {
	// AllowEncodedSlash accepts %2F in a path segment. Allow it only when
	// every router behind the gateway keeps %2F inside a segment (as Go's
	// ServeMux and Envoy's default do); a router that decodes it first
	// sees more segments than the rules did. Rules still match the decoded
	// path, so /admin%2Fusers is judged as /admin/users.
	AllowEncodedSlash bool `yaml:"allow_encoded_slash" json:"allow_encoded_slash"`
	// AllowSemicolon accepts ';' in a path, as an ordinary character.
	// Servlet containers read ";name=value" as a path parameter and strip
	// it before routing, so /admin;x=1 reaches /admin there: allow it only
	// when no upstream does that.
	AllowSemicolon bool `yaml:"allow_semicolon" json:"allow_semicolon"`
	// AllowEncodedPercent accepts %25 (an encoded '%'). An upstream or
	// framework that decodes twice reads %252e as '.', so the default
	// refuses it.
	AllowEncodedPercent bool `yaml:"allow_encoded_percent" json:"allow_encoded_percent"`
}

// Target splits a request target into its canonical path and its query
// (without the '?'). Only origin-form is accepted (RFC 9112 §3.2.1): the
// target must start with '/'; absolute-form ("http://h/p") and
// asterisk-form ("*") are refused. The query is kept as sent but may not
// hold control bytes, spaces or '#'.
func Target(target string, pol Policy) (path, query string, err error) {
	if len(target) > MaxTargetBytes {
		return "", "", reject("target", "request target of %d bytes", len(target))
	}
	if !strings.HasPrefix(target, "/") {
		return "", "", reject("target", "request target %.64q is not in origin-form", target)
	}
	rawPath, query, _ := strings.Cut(target, "?")
	if path, err = Path(rawPath, pol); err != nil {
		return "", "", err
	}
	for i := 0; i < len(query); i++ {
		if c := query[i]; c <= ' ' || c == 0x7f || c == '#' {
			return "", "", reject("query", "byte 0x%02x in the query", c)
		}
	}
	return path, query, nil
}

// Path returns the canonical form of an origin-form path, or an error
// wrapping ErrRequest when a router could read it differently from the
// rules that judge it.
//
// Canonical means: percent-encoded unreserved characters (RFC 3986
// §2.3) decoded, the remaining escapes in upper case, and bytes that may
// not appear raw in a path (RFC 3986 §3.3: '"', '<', '>', '[', ']', '^',
// '`', '{', '|', '}' and non-ASCII) percent-encoded. Canonicalising a
// canonical path changes nothing.
//
// Refused, unless pol allows it: encoded '/' or '\' (%2F, %5C), a raw
// '\', NUL, control bytes and spaces (raw or encoded), '#', ';' path
// parameters, encoded '%' (%25), an invalid escape, empty segments
// ("//"; a single trailing '/' is fine), and "." or ".." segments
// (however spelled: %2e, %2E%2e, …).
func Path(p string, pol Policy) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", reject("path", "path %.64q does not start with /", p)
	}
	if len(p) > MaxTargetBytes {
		return "", reject("path", "path of %d bytes", len(p))
	}
	if plain(p, pol) {
		// Nothing to decode or encode: the common case, without copying.
		if err := checkSegments(p); err != nil {
			return "", err
		}
		return p, nil
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' {
			var ok bool
			if c, ok = pct.Decode(p, i); !ok {
				return "", reject("path", "invalid or truncated escape %.3q in path", p[i:])
			}
			i += 2
			switch {
			case c == '/' && pol.AllowEncodedSlash, c == '%' && pol.AllowEncodedPercent:
				pct.WriteEscape(&b, c)
			case c == '/' || c == '\\':
				return "", reject("path", "encoded %q in path", c)
			case c == '%':
				return "", reject("path", "encoded %% in path")
			case c < 0x20 || c == 0x7f:
				return "", reject("path", "encoded control byte 0x%02x in path", c)
			case pct.Unreserved(c):
				b.WriteByte(c)
			default:
				pct.WriteEscape(&b, c)
			}
			continue
		}
		switch {
		case c <= ' ' || c == 0x7f:
			return "", reject("path", "byte 0x%02x in path", c)
		case c == '\\':
			return "", reject("path", "backslash in path")
		case c == '#':
			return "", reject("path", "'#' in path")
		case c == ';' && !pol.AllowSemicolon:
			return "", reject("path", "';' path parameter")
		case c >= 0x80 || !pathChar(c):
			pct.WriteEscape(&b, c)
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	if len(out) > MaxTargetBytes {
		// Checked again after encoding, so a canonical path is a fixed point.
		return "", reject("path", "canonical path of %d bytes", len(out))
	}
	if err := checkSegments(out); err != nil {
		return "", err
	}
	return out, nil
}

// plain reports a path of bytes that stand for themselves: no escape, no
// byte to encode or refuse.
func plain(p string, pol Policy) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' || !pathChar(c) || (c == ';' && !pol.AllowSemicolon) {
			return false
		}
	}
	return true
}

// checkSegments refuses empty segments (but a trailing slash) and dot
// segments in a path whose unreserved escapes are already decoded, so
// "%2e" has become ".".
func checkSegments(p string) error {
	rest := p[1:]
	for rest != "" {
		seg, tail, more := strings.Cut(rest, "/")
		switch {
		case seg == "" && more:
			return reject("path", "empty segment in path")
		case seg == "." || seg == "..":
			return reject("path", "dot segment in path")
		}
		rest = tail
	}
	return nil
}

// Decode returns a canonical path with every escape decoded: the path as
// a router that decodes before matching sees it. Rules match this form,
// so an encoded reserved character ("/a%3Ab") is judged as the router
// that decodes it would route it ("/a:b"). Without Policy switches a
// canonical path holds no %2F, %5C or %25, so decoding adds no segment
// and cannot create a new escape.
func Decode(canonicalPath string) string {
	if !strings.Contains(canonicalPath, "%") {
		return canonicalPath
	}
	var b strings.Builder
	b.Grow(len(canonicalPath))
	for i := 0; i < len(canonicalPath); i++ {
		c := canonicalPath[i]
		if d, ok := pct.Decode(canonicalPath, i); ok {
			b.WriteByte(d)
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// HasPrefix reports whether the decoded path p lies under prefix by whole
// segments: "/admin" covers "/admin", "/admin/" and "/admin/x", not
// "/administrators". A trailing slash on prefix changes nothing. With
// fold, segments compare under Unicode case folding, for upstreams that
// route case-insensitively. Both are decoded paths (see Decode).
func HasPrefix(p, prefix string, fold bool) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if len(p) < len(prefix) {
		return false
	}
	if fold {
		// Case folding may change byte lengths: compare segment by segment.
		ps := strings.Split(strings.TrimPrefix(p, "/"), "/")
		want := strings.Split(strings.TrimPrefix(prefix, "/"), "/")
		if prefix == "" {
			return true
		}
		if len(ps) < len(want) {
			return false
		}
		for i, w := range want {
			if !strings.EqualFold(ps[i], w) {
				return false
			}
		}
		return true
	}
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || p[len(prefix)] == '/'
}

// pathChar reports the bytes that may stand raw in a path: pchar and '/'
// (RFC 3986 §3.3), '%' excepted (escapes are handled by the caller).
func pathChar(c byte) bool {
	if pct.Unreserved(c) {
		return true
	}
	switch c {
	case '/', ':', '@', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}

// reject returns an error wrapping ErrRequest; what names the part of the
// request that was refused, for logs.
func reject(what, format string, args ...any) error {
	return &RequestError{Part: what, Reason: fmt.Sprintf(format, args...)}
}
