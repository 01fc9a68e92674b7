package issuer

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
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

// Check is what a Report says of one step: whether it passed, and what
// it found or why it failed.
type Check struct {
	Step   Step   `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Explain verifies token like Verify, without the verified-token cache,
// and reports each step. Like Verify it never fetches keys for an issuer
// it does not trust. It may fetch keys of a trusted issuer.
func (r *Registry) Explain(ctx context.Context, token string) Report {
	now := r.opts.Now()
	var res result
	err := r.verifyToken(ctx, token, now, &res)
	if err == nil {
		// As Verify: presented with the Bearer scheme, no certificate.
		err = r.checkPresentation(ctx, res.e, res.cnf, token, &tenantjwt.Presentation{}, now)
	}
	return report(&res, err)
}

// report renders what verification learned (res) and how it ended (err,
// a *VerifyError or nil): every step that passed, in order, with what it
// found, then the step that failed.
func report(res *result, err error) Report {
	rep := Report{Valid: err == nil, Err: err, Checks: []Check{}}
	failed := Step("")
	if err != nil {
		rep.Error = err.Error()
		failed = stepShape // not a *VerifyError: blame the first step
		var ve *VerifyError
		if errors.As(err, &ve) {
			failed = ve.Step
		}
	} else {
		rep.Principal = res.p
	}
	if res.tok != nil {
		rep.setHeader(res.tok)
	}
	if res.e != nil {
		rep.setIssuer(res.e, res.iss, res.bound)
	}
	if res.key != nil {
		rep.Key = describeKey(res.key)
	}
	for _, s := range steps {
		if s.name == failed || !res.reached(s.name) {
			rep.Checks = append(rep.Checks, Check{Step: s.name, Detail: rep.Error})
			break
		}
		if detail, ran := s.passed(res); ran {
			rep.Checks = append(rep.Checks, Check{Step: s.name, OK: true, Detail: detail})
		}
	}
	return rep
}

// steps lists the steps of verification in order, each with what a
// passed step reports: its detail, and whether it ran at all for this
// token and issuer (some run only when configured or when the claim is
// present; json and jti are reported only when they fail).
var steps = []struct {
	name   Step
	passed func(res *result) (detail string, ran bool)
}{
	{stepShape, func(*result) (string, bool) { return "compact JWS, base64url, JSON objects", true }},
	{stepHeader, func(*result) (string, bool) { return "no crit, b64, enc/zip, nested JWT", true }},
	{stepIssuer, func(res *result) (string, bool) { return "trusted as " + res.e.name, true }},
	{stepAlgorithm, func(res *result) (string, bool) {
		return fmt.Sprintf("%s allowed (%s)", res.tok.Header.Alg, strings.Join(res.e.algs, ", ")), true
	}},
	{stepKey, func(res *result) (string, bool) { return describeKey(res.key), true }},
	{stepSignature, func(res *result) (string, bool) { return res.tok.Header.Alg, true }},
	{stepJSON, func(*result) (string, bool) { return "", false }},
	{stepIss, func(*result) (string, bool) { return "equals the configured issuer", true }},
	{stepExp, func(res *result) (string, bool) { return rfc3339(res.reg.exp) }},
	{stepNbf, func(res *result) (string, bool) { return rfc3339(res.reg.nbf) }},
	{stepIat, func(res *result) (string, bool) { return rfc3339(res.reg.iat) }},
	{stepLifetime, func(res *result) (string, bool) {
		max := res.e.cfg.MaxLifetime
		return "within " + max.String(), max > 0
	}},
	{stepAud, func(res *result) (string, bool) {
		return "names an accepted audience", len(res.e.cfg.Audiences) > 0
	}},
	{stepTyp, func(res *result) (string, bool) { return res.tok.Header.Typ, res.e.typ != "" }},
	{stepTenant, func(res *result) (string, bool) {
		if res.e.tpl == nil {
			return "", false
		}
		return fmt.Sprintf("%s bound by %s", res.bound, res.e.tenantClaim.String()), true
	}},
	{stepJTI, func(*result) (string, bool) { return "", false }},
	{stepPreset, func(res *result) (string, bool) {
		if p := res.e.preset; p != nil && p.Check != nil {
			return p.Name, true
		}
		return "", false
	}},
	{stepMapping, func(*result) (string, bool) { return "", true }},
	{stepBinding, func(res *result) (string, bool) {
		if res.p.Binding() != "" {
			return "bound (" + res.p.Binding() + ")", true
		}
		return "not bound: a bearer token", true
	}},
}

// reached reports whether res holds what step s reads when it passed;
// fields are set in step order, so this keeps report from reading past
// what verification learned, whatever the error says.
func (res *result) reached(s Step) bool {
	switch s {
	case stepShape, stepHeader:
		return res.tok != nil
	case stepIssuer, stepAlgorithm:
		return res.e != nil
	case stepBinding:
		return res.p != nil
	}
	return res.key != nil
}

// rfc3339 is a NumericDate claim's detail; a claim not set did not run.
func rfc3339(d jwt.NumericDate) (string, bool) {
	return d.Time().Format(time.RFC3339), d.Set
}

func (rep *Report) setHeader(t *jwt.Token) {
	h := &t.Header
	rep.Algorithm, rep.KeyID, rep.Type = h.Alg, h.Kid, h.Typ
	for _, m := range []struct {
		name    string
		present bool
	}{{"jwk", h.JWK}, {"jku", h.JKU}, {"x5u", h.X5U}, {"x5c", h.X5C}} {
		if m.present {
			rep.IgnoredHeaders = append(rep.IgnoredHeaders, m.name)
		}
	}
}

func (rep *Report) setIssuer(e *entry, iss, bound string) {
	rep.Issuer, rep.IssuerURL, rep.BoundTenant = e.name, iss, bound
	if e.tpl != nil {
		rep.Template = e.cfg.Issuer
	}
	if e.preset != nil {
		rep.Preset = e.preset.Name
	}
	m := e.mapping
	rep.Mapping = map[string]string{}
	for name, p := range map[string]jwt.Path{
		"subject": m.subject, "tenant": m.tenant, "tenants": m.tenants,
		"roles": m.roles, "permissions": m.permissions, "scopes": m.scopes,
	} {
		if !p.Empty() {
			rep.Mapping[name] = p.String()
		}
	}
	switch {
	case e.cfg.Tenant != "":
		rep.Mapping["tenant"] = "(fixed) " + e.cfg.Tenant
	case e.tpl != nil:
		rep.Mapping["tenant"] = "(from iss, bound by " + e.tenantClaim.String() + ")"
	}
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
