package issuer

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// Report explains one verification step by step, for humans (the
// `tenantjwt verify` command). It is built by Explain and contains only
// what the token itself and the configuration say: show it to the token's
// owner, not to arbitrary clients.
type Report struct {
	// Valid reports whether the token was accepted.
	Valid bool `json:"valid"`
	// Err is the rejection, nil when Valid.
	Err error `json:"-"`
	// Error is Err's text.
	Error string `json:"error,omitempty"`

	// Header members as read (empty when the token did not parse).
	Algorithm string `json:"alg,omitempty"`
	KeyID     string `json:"kid,omitempty"`
	Type      string `json:"typ,omitempty"`
	// IgnoredHeaders lists key-carrying header members present in the
	// token (jwk, jku, x5u, x5c); they are never used.
	IgnoredHeaders []string `json:"ignored_headers,omitempty"`

	// Issuer is the matched issuer's name, "" when none matched.
	Issuer string `json:"issuer,omitempty"`
	// IssuerURL is the token's iss when an issuer matched.
	IssuerURL string `json:"iss,omitempty"`
	// Template is the matched template and BoundTenant its tenant.
	Template    string `json:"template,omitempty"`
	BoundTenant string `json:"bound_tenant,omitempty"`
	// Preset is the issuer's preset, if any.
	Preset string `json:"preset,omitempty"`
	// Mapping is the effective claim mapping (field → path).
	Mapping map[string]string `json:"mapping,omitempty"`
	// Key describes the key that was used.
	Key string `json:"key,omitempty"`

	// Checks lists every step run, in order, up to the first failure.
	Checks []Check `json:"checks"`
	// Principal is the result when Valid.
	Principal *tenantjwt.Principal `json:"principal,omitempty"`
}

// Check is one step of a Report.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Explain verifies token like Verify, without the verified-token cache,
// and reports each step. Like Verify it never fetches keys for an issuer
// it does not trust. It may fetch keys of a trusted issuer.
func (r *Registry) Explain(ctx context.Context, token string) Report {
	rep := &Report{}
	c, e, _, err := r.verify(ctx, token, rep)
	if err == nil {
		// As Verify: presented with the Bearer scheme, no certificate.
		err = r.checkPresentation(ctx, e, c.cnf, token, &tenantjwt.Presentation{})
		detail := "not bound: a bearer token"
		if c.p.Binding != "" {
			detail = "bound (" + c.p.Binding + ")"
		}
		rep.step("binding", err, detail)
	}
	if err == nil {
		rep.Principal = c.p
	}
	rep.Valid, rep.Err = err == nil, err
	if err != nil {
		rep.Error = err.Error()
	}
	if rep.Checks == nil {
		rep.Checks = []Check{}
	}
	return *rep
}

// step records a check and returns err unchanged. Nil-safe.
func (rep *Report) step(name string, err error, detail string) error {
	if rep == nil {
		return err
	}
	c := Check{Name: name, OK: err == nil, Detail: detail}
	if err != nil {
		c.Detail = err.Error()
	}
	rep.Checks = append(rep.Checks, c)
	return err
}

func (rep *Report) setHeader(t *token) {
	if rep == nil {
		return
	}
	h := &t.header
	rep.Algorithm, rep.KeyID, rep.Type = h.alg, h.kid, h.typ
	for _, m := range []struct {
		name    string
		present bool
	}{{"jwk", h.jwk}, {"jku", h.jku}, {"x5u", h.x5u}, {"x5c", h.x5c}} {
		if m.present {
			rep.IgnoredHeaders = append(rep.IgnoredHeaders, m.name)
		}
	}
}

func (rep *Report) setIssuer(e *entry, iss, bound string) {
	if rep == nil {
		return
	}
	rep.Issuer, rep.IssuerURL, rep.BoundTenant = e.name, iss, bound
	if e.tpl != nil {
		rep.Template = e.cfg.Issuer
	}
	if e.preset != nil {
		rep.Preset = e.preset.Name
	}
	m := e.mapping
	rep.Mapping = map[string]string{}
	for name, p := range map[string]claimPath{
		"subject": m.subject, "tenant": m.tenant, "tenants": m.tenants,
		"roles": m.roles, "permissions": m.permissions, "scopes": m.scopes,
	} {
		if !p.empty() {
			rep.Mapping[name] = p.src
		}
	}
	switch {
	case e.cfg.Tenant != "":
		rep.Mapping["tenant"] = "(fixed) " + e.cfg.Tenant
	case e.tpl != nil:
		rep.Mapping["tenant"] = "(from iss, bound by " + e.tenantClaim.src + ")"
	}
}

func (rep *Report) setKey(k *jwks.Key) {
	if rep == nil {
		return
	}
	rep.Key = describeKey(k)
}

// keyType names a key's type and size.
func keyType(k *jwks.Key) string {
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", pub.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC " + pub.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", k.Public)
}
