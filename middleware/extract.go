package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tenantjwt/tenantjwt"
)

// MaxTokenSourceBytes bounds a single Authorization header, cookie or
// parameter value before it is looked at further. The verifier applies its
// own, usually smaller, cap to the token itself.
const MaxTokenSourceBytes = 64 << 10

// Request errors. They are returned by TokenSources.Extract and mapped by
// Status.
var (
	// ErrNoToken means the request carries no token at all (no
	// Authorization header, or a scheme other than Bearer). It is answered
	// with 401 and a challenge without an error code (RFC 6750 §3.1).
	ErrNoToken = errors.New("middleware: no bearer token")
	// ErrMultipleTokens means the request carries more than one token (two
	// Authorization headers, or a header and a cookie): 400
	// invalid_request. RFC 6750 §2 forbids more than one method.
	ErrMultipleTokens = errors.New("middleware: more than one token in the request")
)

// TokenSources says where a request may carry its access token. The zero
// value reads only the Authorization header with the Bearer scheme, which is
// what RFC 6750 recommends; every other source is an explicit opt-in.
//
// Whatever the sources, a request must carry exactly one token: two tokens
// (in two places, or twice in one) are refused with ErrMultipleTokens rather
// than one being picked, so a proxy and the API can never disagree about
// which token was checked.
type TokenSources struct {
	// Cookie, if set, is the name of a cookie holding the token (Descope's
	// session cookie is "DS"). Cookies are sent by browsers automatically:
	// use them only with CSRF protection.
	Cookie string
	// Header, if set, is the name of a request header holding the bare
	// token (no scheme), for clients that cannot set Authorization.
	Header string
	// Query, if set, is the name of a URL query parameter holding the token.
	// Query strings end up in logs and browser history (RFC 6750 §5.3):
	// enable it only where nothing else is possible.
	Query string
}

// Extract returns the request's one access token.
//
// It returns ErrNoToken when there is none, ErrMultipleTokens when there are
// several, and an error wrapping tenantjwt.ErrMalformed when a source holds
// something that cannot be a token (an empty Bearer credential, spaces or
// control characters, more than MaxTokenSourceBytes). The token returned
// only contains RFC 6750 b64token characters.
func (s TokenSources) Extract(r *http.Request) (string, error) {
	c, err := s.extract(r, false)
	return c.token, err
}

// credential is the one token of a request and how it came.
type credential struct {
	token string
	dpop  bool // Authorization: DPoP
}

// extract is Extract; with dpop it also accepts the DPoP scheme in the
// Authorization header (RFC 9449 §7.1), which counts as a token like any
// other, so "Bearer" and "DPoP" headers together are two tokens.
func (s TokenSources) extract(r *http.Request, dpop bool) (credential, error) {
	var found []string
	isDPoP := false
	for _, v := range r.Header.Values("Authorization") {
		tok, scheme, err := authorization(v, dpop)
		if err != nil {
			return credential{}, err
		}
		if scheme != "" {
			found = append(found, tok)
			isDPoP = scheme == "DPoP"
		}
	}
	if s.Header != "" {
		found = append(found, r.Header.Values(s.Header)...)
	}
	if s.Cookie != "" {
		for _, c := range r.Cookies() {
			if c.Name == s.Cookie {
				found = append(found, c.Value)
			}
		}
	}
	if s.Query != "" && r.URL != nil {
		found = append(found, r.URL.Query()[s.Query]...)
	}
	switch len(found) {
	case 0:
		return credential{}, ErrNoToken
	case 1:
	default:
		return credential{}, ErrMultipleTokens
	}
	c := credential{token: found[0], dpop: isDPoP}
	if err := checkToken(c.token); err != nil {
		return credential{}, err
	}
	return c, nil
}

// authorization reads one Authorization header value: scheme is "Bearer",
// "DPoP" (only when dpop is set) or "" for other schemes (Basic…), which
// are not ours to judge.
func authorization(v string, dpop bool) (tok, scheme string, err error) {
	if len(v) > MaxTokenSourceBytes {
		return "", "", fmt.Errorf("middleware: authorization header of %d bytes: %w", len(v), tenantjwt.ErrMalformed)
	}
	s, rest, _ := strings.Cut(v, " ")
	switch {
	case strings.EqualFold(s, "Bearer"):
		scheme = "Bearer"
	case dpop && strings.EqualFold(s, "DPoP"):
		scheme = "DPoP"
	default:
		return "", "", nil
	}
	// RFC 7235 allows one or more spaces after the scheme.
	rest = strings.TrimLeft(rest, " ")
	if rest == "" {
		return "", "", fmt.Errorf("middleware: empty %s credential: %w", scheme, tenantjwt.ErrMalformed)
	}
	return rest, scheme, nil
}

// checkToken enforces the b64token syntax of RFC 6750 §2.1:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func checkToken(tok string) error {
	if tok == "" {
		return fmt.Errorf("middleware: empty token: %w", tenantjwt.ErrMalformed)
	}
	if len(tok) > MaxTokenSourceBytes {
		return fmt.Errorf("middleware: token of %d bytes: %w", len(tok), tenantjwt.ErrMalformed)
	}
	i := 0
	// Eight bytes per step with one branch, then byte by byte.
	for ; i+8 <= len(tok); i += 8 {
		t := &b64tokenByte
		if t[tok[i]]&t[tok[i+1]]&t[tok[i+2]]&t[tok[i+3]]&t[tok[i+4]]&t[tok[i+5]]&t[tok[i+6]]&t[tok[i+7]] == 0 {
			break
		}
	}
	for i < len(tok) && b64tokenByte[tok[i]] == 1 {
		i++
	}
	if i == 0 {
		return fmt.Errorf("middleware: token starts with a byte outside b64token: %w", tenantjwt.ErrMalformed)
	}
	for ; i < len(tok); i++ {
		if tok[i] != '=' {
			return fmt.Errorf("middleware: token has a byte outside b64token at %d: %w", i, tenantjwt.ErrMalformed)
		}
	}
	return nil
}

// b64tokenByte is 1 for the bytes allowed in a b64token before its '='
// padding, 0 for the others: table lookups, as every request's token
// (often over a kilobyte) passes through checkToken.
var b64tokenByte = func() (t [256]byte) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/") {
		t[c] = 1
	}
	return t
}()
