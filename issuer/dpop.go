package issuer

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
)

// BindingMode says whether an issuer's tokens may be bound to a proof of
// possession: the type of Config.DPoP and Config.MTLS, spelled as in the
// config file.
type BindingMode string

// Binding modes of Config.DPoP and Config.MTLS.
const (
	// BindingAllowed (the default): bound and unbound tokens are both
	// accepted, but a bound token only with its proof of possession.
	BindingAllowed BindingMode = "allowed"
	// BindingRequired: only bound tokens, each with its proof.
	BindingRequired BindingMode = "required"
	// BindingDisabled: the binding is not checked, and for DPoP the DPoP
	// scheme is refused. A bound token then works as a bearer token, which
	// is what binding exists to prevent: use it only for IdPs that put cnf
	// in tokens no client can prove.
	BindingDisabled BindingMode = "disabled"
)

// confirmation is what a token's cnf claim binds it to.
type confirmation struct {
	jkt string // cnf.jkt: SHA-256 thumbprint of the client's DPoP key
	x5t string // cnf["x5t#S256"]: SHA-256 thumbprint of its certificate
}

// readConfirmation reads cnf. An absent cnf binds nothing; a cnf of the
// wrong shape, or a confirmation member that is not a non-empty string,
// rejects the token. A cnf with no member this library checks (only RFC
// 7800's jwk, jwe, kid or jku, or unknown ones, or none at all) also
// rejects it: the issuer meant the token to be bound, and passing it as a
// bearer token would drop that binding (fail closed). An issuer that
// disables both DPoP and MTLS skips the check (see Config.DPoP).
func (e *entry) readConfirmation(c *jwt.Claims) (confirmation, error) {
	raw, ok := c.Member("cnf")
	if !ok {
		return confirmation{}, nil
	}
	cnf, err := readConfirmation(raw)
	if err != nil {
		return cnf, err
	}
	if cnf.jkt == "" && cnf.x5t == "" && (e.dpop != BindingDisabled || e.mtls != BindingDisabled) {
		return cnf, fmt.Errorf("cnf has no supported confirmation method (jkt, x5t#S256): %w", tenantjwt.ErrTokenBinding)
	}
	return cnf, nil
}

// readConfirmation reads the cnf object raw.
func readConfirmation(raw []byte) (confirmation, error) {
	obj, err := jwt.ParseObject(raw, "cnf")
	if err != nil {
		return confirmation{}, fmt.Errorf("cnf: %v: %w", err, tenantjwt.ErrClaims)
	}
	var cnf confirmation
	for _, m := range []struct {
		name string
		dst  *string
	}{{"jkt", &cnf.jkt}, {"x5t#S256", &cnf.x5t}} {
		v, ok := obj.Get(m.name)
		if !ok {
			continue
		}
		if *m.dst, err = jwt.StringValue(v); err != nil || *m.dst == "" {
			return confirmation{}, fmt.Errorf("cnf.%s is not a non-empty string: %w", m.name, tenantjwt.ErrClaims)
		}
	}
	return cnf, nil
}

// binding is the Principal.Binding of a token with cnf verified by e.
func (e *entry) binding(cnf confirmation) string {
	dpop := cnf.jkt != "" && e.dpop != BindingDisabled
	mtls := cnf.x5t != "" && e.mtls != BindingDisabled
	switch {
	case dpop && mtls:
		return tenantjwt.BindingDPoP + "+" + tenantjwt.BindingMTLS
	case dpop:
		return tenantjwt.BindingDPoP
	case mtls:
		return tenantjwt.BindingMTLS
	}
	return ""
}

// checkPresentation checks at now that the request proves what the
// verified token's cnf binds it to, under e's binding modes. Errors are
// *VerifyError of the binding step.
func (r *Registry) checkPresentation(ctx context.Context, e *entry, cnf confirmation, token string, pr *tenantjwt.Presentation, now time.Time) error {
	if err := r.presentation(ctx, e, cnf, token, pr, now); err != nil {
		return fail(e, stepBinding, err)
	}
	return nil
}

// presentation is checkPresentation without the wrapping.
func (r *Registry) presentation(ctx context.Context, e *entry, cnf confirmation, token string, pr *tenantjwt.Presentation, now time.Time) error {
	dpopScheme := strings.EqualFold(pr.Scheme, "DPoP")
	switch {
	case e.dpop == BindingDisabled:
		if dpopScheme {
			return fmt.Errorf("DPoP is disabled for this issuer: %w", tenantjwt.ErrTokenBinding)
		}
	case dpopScheme:
		if cnf.jkt == "" {
			return fmt.Errorf("DPoP scheme with a token not bound to a key (no cnf.jkt): %w", tenantjwt.ErrTokenBinding)
		}
		req := dpop.Request{Token: token, Method: pr.Method, URL: pr.URL}
		if err := r.proofs.Check(ctx, pr.DPoP, cnf.jkt, req, now); err != nil {
			return err
		}
	case cnf.jkt != "":
		return fmt.Errorf("DPoP-bound token sent without the DPoP scheme: %w", tenantjwt.ErrDPoPProof)
	case e.dpop == BindingRequired:
		return fmt.Errorf("the issuer requires DPoP-bound tokens: %w", tenantjwt.ErrDPoPProof)
	}

	if e.mtls == BindingDisabled {
		return nil
	}
	if cnf.x5t == "" {
		if e.mtls == BindingRequired {
			return fmt.Errorf("the issuer requires certificate-bound tokens: %w", tenantjwt.ErrTokenBinding)
		}
		return nil
	}
	if pr.ClientCertificate == nil {
		return fmt.Errorf("certificate-bound token without a TLS client certificate: %w", tenantjwt.ErrTokenBinding)
	}
	if got := certThumbprint(pr.ClientCertificate); got != cnf.x5t {
		return fmt.Errorf("client certificate thumbprint %s is not cnf x5t#S256 %.64q: %w", got, cnf.x5t, tenantjwt.ErrTokenBinding)
	}
	return nil
}

// certThumbprint returns the x5t#S256 of cert (RFC 8705 §3.1): the
// base64url SHA-256 of its DER encoding.
func certThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// DPoPAlgorithms returns the proof algorithms the registry accepts, for
// the algs parameter of a DPoP challenge.
func (r *Registry) DPoPAlgorithms() []string { return r.proofs.Algorithms() }
