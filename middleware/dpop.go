package middleware

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"

	"github.com/tenantjwt/tenantjwt"
)

// PresentedVerifier is a Verifier that also checks how a token was
// presented: DPoP proofs (RFC 9449) and TLS client certificates (RFC
// 8705). *issuer.Registry implements it. With a Verifier that does not,
// the DPoP scheme is not recognised (such requests carry no token, as far
// as the middleware knows) and no binding is checked.
type PresentedVerifier interface {
	Verifier
	VerifyPresented(ctx context.Context, token string, pr tenantjwt.Presentation) (*tenantjwt.Principal, error)
}

// Forwarded names request headers through which a reverse proxy passes the
// request as the client sent it. They are read only for the DPoP proof's
// htm and htu, and only the headers named here are read: name a header
// only when every request reaches this server through a proxy that sets it,
// overwriting whatever the client sent, or a client could claim any URL.
// An unnamed or absent header falls back to the request itself. A named
// header sent more than once, or a Proto or Host listing several values
// (a proxy chain that appends), makes the request URL ambiguous and the
// proof check fails.
type Forwarded struct {
	// Origin, if set, is this API's external "scheme://host[:port]", used
	// for every request instead of the request's Host (which the client
	// chooses) and the Proto and Host headers. Set it when the API answers
	// on one name, so that a proof made for another server cannot be
	// replayed here by sending that server's name as Host.
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

// TraefikForwarded names the headers Traefik's forwardAuth middleware
// sets (and that nginx auth_request configurations usually set too).
var TraefikForwarded = Forwarded{Proto: "X-Forwarded-Proto", Host: "X-Forwarded-Host", Method: "X-Forwarded-Method", URI: "X-Forwarded-Uri"}

// request returns the method and absolute URL the client used.
func (f Forwarded) request(r *http.Request) (method, url string, err error) {
	method, scheme, host, path := r.Method, "http", r.Host, r.URL.EscapedPath()
	if r.TLS != nil {
		scheme = "https"
	}
	for _, h := range []struct {
		name   string
		dst    *string
		single bool // one value, no comma-separated list
	}{{f.Method, &method, true}, {f.Proto, &scheme, true}, {f.Host, &host, true}, {f.URI, &path, false}} {
		if h.name == "" {
			continue
		}
		vals := r.Header.Values(h.name)
		switch {
		case len(vals) == 0:
			continue
		case len(vals) > 1:
			return "", "", fmt.Errorf("middleware: %d %s headers", len(vals), h.name)
		case h.single && strings.Contains(vals[0], ","):
			return "", "", fmt.Errorf("middleware: %s lists several values", h.name)
		}
		*h.dst = strings.TrimSpace(vals[0])
	}
	path, _, _ = strings.Cut(path, "?")
	if f.Origin != "" {
		return method, strings.TrimSuffix(f.Origin, "/") + path, nil
	}
	if host == "" || !strings.HasPrefix(path, "/") {
		return "", "", fmt.Errorf("middleware: request URL unknown (host %.64q, path %.64q)", host, path)
	}
	return method, strings.ToLower(scheme) + "://" + host + path, nil
}

// presentation describes how r presented its credential.
func (a *Authenticator) presentation(r *http.Request, c credential) (tenantjwt.Presentation, error) {
	pr := tenantjwt.Presentation{Scheme: "Bearer"}
	if c.dpop {
		pr.Scheme = "DPoP"
		switch vals := r.Header.Values("DPoP"); {
		case len(vals) > 1:
			// RFC 9449 §4.3: not more than one DPoP header.
			return pr, fmt.Errorf("middleware: %d DPoP headers: %w", len(vals), tenantjwt.ErrDPoPProof)
		case len(vals) == 1 && len(vals[0]) > MaxTokenSourceBytes:
			return pr, fmt.Errorf("middleware: DPoP header of %d bytes: %w", len(vals[0]), tenantjwt.ErrDPoPProof)
		case len(vals) == 1:
			pr.DPoP = vals[0]
		}
		var err error
		if pr.Method, pr.URL, err = a.cfg.Forwarded.request(r); err != nil {
			return pr, fmt.Errorf("%w: %w", err, tenantjwt.ErrDPoPProof)
		}
	}
	if a.cfg.ClientCertificate != nil {
		pr.ClientCertificate = a.cfg.ClientCertificate(r)
	} else {
		pr.ClientCertificate = TLSClientCertificate(r)
	}
	return pr, nil
}

// TLSClientCertificate returns the certificate the client authenticated
// r's TLS connection with, nil when none. It is the default of
// Config.ClientCertificate.
func TLSClientCertificate(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}

// usedDPoP reports whether r sent its token with the DPoP scheme.
func usedDPoP(r *http.Request) bool {
	for _, v := range r.Header.Values("Authorization") {
		if s, _, _ := strings.Cut(v, " "); strings.EqualFold(s, "DPoP") {
			return true
		}
	}
	return false
}
