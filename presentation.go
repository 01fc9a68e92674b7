package tenantjwt

import "crypto/x509"

// Values of Principal.Binding.
const (
	// BindingDPoP: the token is bound to a client key by cnf.jkt, and the
	// request carried a valid DPoP proof signed by that key (RFC 9449).
	BindingDPoP = "dpop"
	// BindingMTLS: the token is bound to a client certificate by
	// cnf["x5t#S256"], and the request came over a TLS connection
	// authenticated with that certificate (RFC 8705).
	BindingMTLS = "mtls"
)

// Presentation is how a request presented its access token: what a
// verifier needs to check a sender-constrained token beyond the token
// itself. The middleware fills it from the request; a verifier given the
// zero Presentation treats the token as sent with the Bearer scheme, over
// a connection without a client certificate.
type Presentation struct {
	// Scheme is the Authorization scheme the token came with: "Bearer"
	// (or "" for another source such as a cookie) or "DPoP", compared
	// case-insensitively.
	Scheme string
	// DPoP is the value of the request's one DPoP header, "" when absent.
	DPoP string
	// Method is the request's method, compared with the proof's htm.
	Method string
	// URL is the absolute URL the client sent the request to, as the
	// client saw it (behind a proxy: the external URL), compared with the
	// proof's htu after normalisation; its query and fragment are ignored.
	URL string
	// ClientCertificate is the end-entity certificate the client
	// authenticated the TLS connection with, nil when none. Whether its
	// chain had to verify is the server's TLS policy; the binding check
	// only needs the handshake's proof that the client holds its key.
	ClientCertificate *x509.Certificate
}
