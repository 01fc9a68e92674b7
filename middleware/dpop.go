package middleware

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware/canonical"
)

// PresentedVerifier is a Verifier that also checks how a token was
// presented: DPoP proofs (RFC 9449) and TLS client certificates (RFC
// 8705). *issuer.Registry implements it. With a Verifier that does not,
// the DPoP scheme is not recognised (such requests carry no token, as far
// as the middleware knows) and no binding is checked.
type PresentedVerifier interface {
	Verifier
	VerifyPresented(ctx context.Context, token string, pr tenantjwt.Presentation) (*tenantjwt.Principal, error)
	// DPoPAlgorithms lists the proof algorithms VerifyPresented accepts,
	// for the algs attribute of DPoP challenges (RFC 9449 §7.1); empty
	// leaves the attribute out.
	DPoPAlgorithms() []string
}

// Forwarded names the headers of a trusted reverse proxy that carry the
// original request; see canonical.Forwarded.
type Forwarded = canonical.Forwarded

// TraefikForwarded names the headers Traefik's forwardAuth middleware
// sets (and nginx auth_request configurations and Caddy's forward_auth
// usually set too). It is canonical.GatewayHeaders.
var TraefikForwarded = canonical.GatewayHeaders

// presentation describes how r presented its credential; orig yields the
// original request, which DPoP proofs are checked against.
func (a *Authenticator) presentation(r *http.Request, c credential, orig *original) (tenantjwt.Presentation, error) {
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
		req, err := orig.get()
		if err != nil {
			return pr, err
		}
		pr.Method, pr.URL = req.Method, req.URL()
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
