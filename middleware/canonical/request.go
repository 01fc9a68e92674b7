package canonical

import (
	"errors"
	"net/http"
	"strings"
)

// ErrRequest is the category of every refusal of a request this package
// makes: a request target, host, method or forwarded header that could be
// read two ways. Middleware answers 400 invalid_request with fixed text.
var ErrRequest = errors.New("canonical: request refused")

// RequestError says which part of a request was refused and why. It
// matches ErrRequest with errors.Is. Its text is for logs, never for the
// wire: it may quote (truncated) request bytes.
type RequestError struct {
	Part   string // "target", "path", "query", "host", "method", "scheme" or "forwarded"
	Reason string
}

func (e *RequestError) Error() string { return "canonical: " + e.Part + ": " + e.Reason }

// Is reports membership in the ErrRequest category.
func (e *RequestError) Is(target error) bool { return target == ErrRequest }

// Request is the original request a check is about, in canonical form:
// every consumer (rules, host→tenant binding, DPoP htm/htu, logs) reads
// this value and nothing else re-parses the headers it came from.
type Request struct {
	// Method is an RFC 9110 token, as sent ("GET", "PURGE").
	Method string
	// Scheme is "http" or "https".
	Scheme string
	// Host is lower case, without port or trailing dot; an IPv6 literal
	// keeps its brackets.
	Host string
	// Port is the explicit port, digits only, or "" when none was sent.
	Port string
	// Path is the canonical path (see Path).
	Path string
	// Query is the query as sent, without '?'.
	Query string
}

// URL returns scheme://host[:port]path, the default port omitted: the URL
// a DPoP proof's htu names (RFC 9449 §4.3 compares without the query).
func (r Request) URL() string {
	auth := r.Host
	if r.Port != "" && !(r.Scheme == "http" && r.Port == "80" || r.Scheme == "https" && r.Port == "443") {
		auth += ":" + r.Port
	}
	return r.Scheme + "://" + auth + r.Path
}

// DecodedPath is Decode(r.Path): the form rules match.
func (r Request) DecodedPath() string { return Decode(r.Path) }

// New builds the canonical Request from its parts as a gateway reports
// them: method, scheme, authority (host[:port]) and origin-form target
// (path and query). Every mode of a forward-auth server ends here.
func New(method, scheme, authority, target string, pol Policy) (Request, error) {
	var r Request
	var err error
	if r.Method, err = Method(method); err != nil {
		return Request{}, err
	}
	if r.Scheme, err = Scheme(scheme); err != nil {
		return Request{}, err
	}
	if r.Host, r.Port, err = Host(authority); err != nil {
		return Request{}, err
	}
	if r.Path, r.Query, err = Target(target, pol); err != nil {
		return Request{}, err
	}
	return r, nil
}

// standardMethods are RFC 9110's methods and PATCH (RFC 5789): a method
// spelled as one of these in another case is refused, not passed by a
// rule that names the upper-case spelling.
var standardMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// Method checks that m is an RFC 9110 token (at most 32 bytes) and not a
// differently-cased spelling of a standard method ("get", "Post"), which
// methods are case-sensitive and so not the same method to a rule.
func Method(m string) (string, error) {
	if m == "" || len(m) > 32 {
		return "", reject("method", "method of %d bytes", len(m))
	}
	for i := 0; i < len(m); i++ {
		if !tokenChar(m[i]) {
			return "", reject("method", "byte 0x%02x in method", m[i])
		}
	}
	for _, s := range standardMethods {
		if m != s && strings.EqualFold(m, s) {
			return "", reject("method", "method %q is %s in another case", m, s)
		}
	}
	return m, nil
}

// Scheme lower-cases s and accepts only http and https.
func Scheme(s string) (string, error) {
	switch ls := strings.ToLower(s); ls {
	case "http", "https":
		return ls, nil
	}
	return "", reject("scheme", "scheme %.16q", s)
}

// tokenChar reports RFC 9110 §5.6.2 tchar.
func tokenChar(c byte) bool {
	if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Forwarded names the request headers through which a reverse proxy
// passes the request as the client sent it. Only the headers named here
// are read: name a header only when every request reaches this server
// through a proxy that sets it, overwriting whatever the client sent, or a
// client could claim any request.
//
// A named header must hold exactly one value: a repeated header, or a
// Proto, Host or Method header listing several values (a proxy chain that
// appends), is refused rather than one value being picked.
type Forwarded struct {
	// Origin, if set, is the external "scheme://host[:port]" used for every
	// request instead of the request's Host (which the client chooses) and
	// the Proto and Host headers. Set it when the API answers on one name,
	// so that a DPoP proof made for another server cannot be replayed here
	// by sending that server's name as Host.
	Origin string
	// Proto is the header with the external scheme, such as
	// "X-Forwarded-Proto". Without it the scheme is https when the request
	// came over TLS, http otherwise.
	Proto string
	// Host is the header with the external host[:port], such as
	// "X-Forwarded-Host". Without it, the request's Host.
	Host string
	// Method is the header with the original method, for forward-auth
	// endpoints that receive a different one ("X-Forwarded-Method").
	Method string
	// URI is the header with the original path and query, for
	// forward-auth endpoints ("X-Forwarded-Uri").
	URI string
}

// GatewayHeaders names the headers that nginx auth_request configurations,
// Traefik's forwardAuth and Caddy's forward_auth set.
var GatewayHeaders = Forwarded{Proto: "X-Forwarded-Proto", Host: "X-Forwarded-Host", Method: "X-Forwarded-Method", URI: "X-Forwarded-Uri"}

// FromHTTP derives the original request of r: from the headers f names,
// and for a header that is not named, or named but absent, from r itself.
// With require set, an absent Method, Host or URI header is refused
// instead (a forward-auth check must never be judged as its own request).
func FromHTTP(r *http.Request, f Forwarded, require bool, pol Policy) (Request, error) {
	method, scheme, authority := r.Method, "http", r.Host
	// What the client sent, before net/http's parsing cleaned it; the
	// URL only for a request built in process.
	target := r.RequestURI
	if target == "" && (f.URI == "" || len(r.Header.Values(f.URI)) == 0) {
		target = r.URL.RequestURI()
	}
	if r.TLS != nil {
		scheme = "https"
	}
	// The values by index rather than through pointers, which would move
	// the four variables to the heap on every call.
	got := [4]string{method, scheme, authority, target}
	for i, h := range [4]struct {
		name     string
		list     bool // a comma means a list: refused
		required bool
	}{
		{f.Method, true, true},
		{f.Proto, true, false},
		{f.Host, true, true},
		{f.URI, false, true},
	} {
		if h.name == "" {
			continue
		}
		vals := r.Header.Values(h.name)
		switch {
		case len(vals) == 0 && require && h.required:
			return Request{}, reject("forwarded", "no %s header", h.name)
		case len(vals) == 0:
			continue
		case len(vals) > 1:
			return Request{}, reject("forwarded", "%d %s headers", len(vals), h.name)
		case h.list && strings.Contains(vals[0], ","):
			return Request{}, reject("forwarded", "%s lists several values", h.name)
		}
		got[i] = strings.TrimSpace(vals[0])
	}
	method, scheme, authority, target = got[0], got[1], got[2], got[3]
	if f.Origin != "" {
		s, a, ok := strings.Cut(f.Origin, "://")
		if !ok {
			return Request{}, reject("forwarded", "origin %.64q is not scheme://host", f.Origin)
		}
		scheme, authority = s, strings.TrimSuffix(a, "/")
	}
	return New(method, scheme, authority, target, pol)
}
