package dpop

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/tenantjwt/tenantjwt/internal/pct"
)

// AccessTokenHash returns the ath a DPoP proof carries for token (RFC 9449
// §4.2): the base64url SHA-256 of its ASCII bytes.
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// NormalizeHTU normalises an htu value or a request URL for comparison, as
// RFC 9449 §4.3 asks (RFC 3986 §6.2.2 and §6.2.3): scheme and host in
// lower case, default port removed, percent-encodings of unreserved
// characters decoded and the others in upper case, dot segments removed,
// an empty path made "/", query and fragment dropped. Only absolute http
// and https URLs with a host and without user info are accepted. The
// result normalises to itself.
func NormalizeHTU(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", fmt.Errorf("not an absolute http(s) URL")
	}
	host := strings.ToLower(u.Hostname())
	// An empty host ("http://:80/") names no origin; an IPv6 zone
	// ("[fe80::1%25eth0]") is local to one machine and would not survive
	// a second normalisation.
	if host == "" || strings.Contains(host, "%") {
		return "", fmt.Errorf("no host, or a host with a zone")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && !(scheme == "http" && p == "80" || scheme == "https" && p == "443") {
		host += ":" + p
	}
	path := removeDotSegments(normalizeEscapes(u.EscapedPath()))
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

// normalizeEscapes decodes percent-encoded unreserved characters and puts
// the hex digits of the others in upper case; an invalid escape is kept
// as it is.
func normalizeEscapes(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c, ok := pct.Decode(p, i)
		switch {
		case !ok:
			b.WriteByte(p[i])
			continue
		case pct.Unreserved(c):
			b.WriteByte(c)
		default:
			pct.WriteEscape(&b, c)
		}
		i += 2
	}
	return b.String()
}

// removeDotSegments is the algorithm of RFC 3986 §5.2.4.
func removeDotSegments(in string) string {
	var out []string // output segments, each with its leading "/"
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "/..":
			in = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "." || in == "..":
			in = ""
		default:
			// Move the first segment, with its leading "/" if any, up to
			// (not including) the next "/".
			i := strings.IndexByte(in[1:], '/')
			if i < 0 {
				out = append(out, in)
				in = ""
			} else {
				out = append(out, in[:i+1])
				in = in[i+1:]
			}
		}
	}
	return strings.Join(out, "")
}
