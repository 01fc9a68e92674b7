package issuer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// Verify checks a compact JWS access token and returns who it speaks for.
//
// The steps, in order: size cap and strict shape; one decode of header and
// payload; issuer lookup by the unverified iss (an unknown issuer is
// rejected with no key lookup and no network request); the issuer's key for
// kid; algorithm allowed for the issuer and fitting the key; signature;
// claims (iss, exp, nbf, iat, lifetime, aud, typ, tenant binding, preset
// checks); claim mapping.
//
// Every rejection of the token matches tenantjwt.ErrInvalidToken and a
// specific cause (ErrMalformed, ErrExpired, …) with errors.Is. When the
// issuer is trusted but its keys cannot be had, the error matches
// tenantjwt.ErrKeysUnavailable instead (answer 503, not 401). The error
// is a *VerifyError naming the step that refused the token, the steps
// Explain reports. Error texts are for logs; they quote at most short,
// truncated token values.
//
// The returned Principal is immutable and, when the verified-token cache
// answers (see Options.TokenCacheSize), the same one every caller of the
// token gets; Principal.Identity gives a writable copy.
//
// Verify checks the token as presented with the Bearer scheme over a
// connection without a client certificate, so a sender-constrained token
// (cnf.jkt, cnf["x5t#S256"]) is refused unless its issuer disables that
// binding. Use VerifyPresented to verify such tokens with their proof.
func (r *Registry) Verify(ctx context.Context, token string) (*tenantjwt.Principal, error) {
	return r.VerifyPresented(ctx, token, tenantjwt.Presentation{})
}

// VerifyPresented is Verify for a token presented as pr says: after the
// token itself, it checks the token's binding to its presenter under the
// issuer's DPoP and MTLS modes. A DPoP-bound token needs pr.Scheme "DPoP"
// and a proof in pr.DPoP that passes RFC 9449 §4.3: typ dpop+jwt, an
// allowed asymmetric alg, a valid signature by the public key in its jwk
// header, whose RFC 7638 thumbprint is the token's cnf.jkt, htm and htu
// equal to pr.Method and pr.URL (htu normalised, see dpop.NormalizeHTU), iat
// within dpop.Options.MaxAge (plus Leeway), ath the hash of token, and a
// (jkt, jti) pair not seen before. A certificate-bound token needs
// pr.ClientCertificate with the thumbprint of cnf["x5t#S256"].
//
// Binding failures match tenantjwt.ErrDPoPProof or
// tenantjwt.ErrTokenBinding, both in the ErrInvalidToken category. The
// verified-token cache applies to the token only: the proof is checked on
// every call.
func (r *Registry) VerifyPresented(ctx context.Context, token string, pr tenantjwt.Presentation) (*tenantjwt.Principal, error) {
	now := r.opts.Now()
	c, e, hit, err := r.verify(ctx, token, now)
	if err == nil {
		err = r.checkPresentation(ctx, e, c.cnf, token, &pr, now)
	}
	if hook := r.opts.Hooks.Verified; hook != nil {
		ev := VerifyEvent{Err: err, CacheHit: hit, Duration: r.opts.Now().Sub(now)}
		if e != nil {
			ev.Issuer = e.name
		}
		hook(ev)
	}
	if err != nil {
		return nil, err
	}
	return c.p, nil // immutable: every caller of this token may share it
}

// verify checks the token alone at now, through the cache. On success
// the *cached holds the principal and the token's confirmation; it may be
// shared with the cache and must not be modified. e is the matched issuer
// entry, also on failure (nil when none matched).
func (r *Registry) verify(ctx context.Context, raw string, now time.Time) (c *cached, e *entry, hit bool, err error) {
	if r.cache != nil {
		if c, ok := r.cache.get(raw, now); ok {
			return c, c.e, true, nil
		}
	}
	var res result
	if err := r.verifyToken(ctx, raw, now, &res); err != nil {
		return nil, res.e, false, err
	}
	c = &cached{p: res.p, e: res.e, key: res.key, kid: res.tok.Header.Kid, cnf: res.cnf}
	if r.cache != nil {
		r.cache.put(raw, c, res.reg, r.opts.Leeway, now)
	}
	return c, res.e, false, nil
}

// verifyToken runs the steps of DESIGN.md "The flow of one request" on
// raw at now, without the cache, recording in res what each step learned.
// Every error is a *VerifyError naming the step that failed.
func (r *Registry) verifyToken(ctx context.Context, raw string, now time.Time, res *result) error {
	t, err := jwt.Parse(raw, r.opts.MaxTokenBytes)
	if err != nil {
		return fail(nil, stepShape, err)
	}
	res.tok = t
	if err := t.Header.Check(); err != nil {
		return fail(nil, stepHeader, err)
	}
	// Issuer lookup by the unverified iss: nothing below runs, and nothing
	// is fetched, for an issuer we do not trust.
	if err := r.findIssuer(ctx, t, res); err != nil {
		return fail(res.e, stepIssuer, err)
	}
	e, alg := res.e, t.Header.Alg
	if !slices.Contains(e.algs, alg) {
		return fail(e, stepAlgorithm, fmt.Errorf("alg %.16q not in %v: %w", alg, e.algs, tenantjwt.ErrAlgorithm))
	}
	if res.key, err = e.key(ctx, t.Header.Kid, alg, res.iss); err != nil {
		return fail(e, stepKey, err)
	}
	if err := jwt.VerifySignature(alg, res.key, t.SigningInput, t.Sig); err != nil {
		return fail(e, stepSignature, err)
	}
	// Only now is the JSON judged (see jwt.Parse): I-JSON, bounded; the
	// same pass lists the claims.
	if err := t.CheckSigned(); err != nil {
		return fail(e, stepJSON, err)
	}
	if step, err := e.checkClaims(t, res, now, r.opts.Leeway); err != nil {
		return fail(e, step, err)
	}
	// A bad cnf is reported after a bad mapping, as the steps run.
	cnf, cnfErr := e.readConfirmation(t.Claims())
	if res.p, err = e.principal(t, res, cnf); err != nil {
		return fail(e, stepMapping, err)
	}
	if cnfErr != nil {
		return fail(e, stepBinding, cnfErr)
	}
	res.cnf = cnf
	return nil
}

// findIssuer sets res.e, res.iss and res.bound from the token's
// unverified iss: the trusted issuer entry, and for a template issuer the
// tenant the iss names, which must be one the entry allows.
func (r *Registry) findIssuer(ctx context.Context, t *jwt.Token, res *result) error {
	iss, err := tokenIssuer(t)
	if err != nil {
		if merr := t.CheckUnsigned(); merr != nil {
			err = merr
		}
		return err
	}
	e, bound, err := r.lookup(ctx, r.snap.Load(), iss)
	if err != nil {
		return err
	}
	res.e, res.iss, res.bound = e, iss, bound
	if e.tpl != nil && !e.cfg.AllTenants && !e.tenants[bound] {
		return fmt.Errorf("tenant %.64q of iss is not allowed: %w", bound, tenantjwt.ErrTenant)
	}
	return nil
}

// key returns e's key for kid, which must allow alg and, when the key
// names an issuer, be bound to iss.
func (e *entry) key(ctx context.Context, kid, alg, iss string) (*jwks.Key, error) {
	key, err := e.src.Lookup(ctx, kid)
	if err != nil {
		return nil, err
	}
	if !key.Allows(alg) {
		return nil, fmt.Errorf("key %.64q does not allow alg %s: %w", key.ID, alg, tenantjwt.ErrAlgorithm)
	}
	if !keyIssuerMatches(key.Issuer, iss) {
		return nil, fmt.Errorf("key %.64q is bound to issuer %.64q: %w", key.ID, key.Issuer, tenantjwt.ErrKeyNotFound)
	}
	return key, nil
}

// tokenIssuer reads iss of t, which must be present and a JSON string, straight
// from the payload without listing its members.
func tokenIssuer(t *jwt.Token) (string, error) {
	raw, ok, err := jwt.LookupMember(t.Payload, "iss")
	if err != nil {
		return "", fmt.Errorf("issuer: payload: %v: %w", err, tenantjwt.ErrMalformed)
	}
	if !ok {
		return "", fmt.Errorf("issuer: token has no iss: %w", tenantjwt.ErrUnknownIssuer)
	}
	iss, err := jwt.StringValue(raw)
	if err != nil {
		return "", fmt.Errorf("issuer: iss is not a string: %w", tenantjwt.ErrUnknownIssuer)
	}
	return iss, nil
}

// keyIssuerMatches applies a JWK's issuer member (published by Entra ID):
// empty binds nothing; otherwise it must equal iss, or be a template whose
// one {…} placeholder, replaced by one path segment, gives iss.
func keyIssuerMatches(keyIss, iss string) bool {
	if keyIss == "" || keyIss == iss {
		return true
	}
	i := strings.IndexByte(keyIss, '{')
	j := strings.IndexByte(keyIss, '}')
	if i < 0 || j < i {
		return false
	}
	t := template{prefix: keyIss[:i], suffix: keyIss[j+1:]}
	_, ok := t.match(iss)
	return ok
}

// describeKey says what kind of key verified a token, for Explain.
func describeKey(k *jwks.Key) string {
	s := fmt.Sprintf("kid %.64q", k.ID)
	if k.Algorithm != "" {
		s += " alg " + k.Algorithm
	}
	if k.Issuer != "" {
		s += fmt.Sprintf(" issuer %.64q", k.Issuer)
	}
	return s + " " + keyType(k)
}

// SelectTenant returns a copy of p acting in tenant, with roles,
// permissions and scopes mapped anew for that tenant from p's verified
// claims. tenant must be one of p.Tenants(); an issuer with a fixed or
// template-bound tenant allows no other tenant. p is never modified; when
// tenant is already p.Tenant(), p itself is returned.
//
// Errors wrap tenantjwt.ErrTenant (or tenantjwt.ErrUnknownIssuer when p's
// issuer is no longer trusted); once the issuer is found they are
// *VerifyError of the tenant or mapping step.
func (r *Registry) SelectTenant(ctx context.Context, p *tenantjwt.Principal, tenant string) (*tenantjwt.Principal, error) {
	if p == nil {
		return nil, fmt.Errorf("issuer: no principal: %w", tenantjwt.ErrTenant)
	}
	e, ok := r.named(p)
	if !ok {
		return nil, fmt.Errorf("issuer: %.64q is no longer trusted: %w", p.Issuer(), tenantjwt.ErrUnknownIssuer)
	}
	if tenant == p.Tenant() && tenant != "" {
		return p, nil
	}
	if e.cfg.Tenant != "" || e.tpl != nil {
		return nil, fail(e, stepTenant, fmt.Errorf("tenant is bound to %.64q, not %.64q: %w", p.Tenant(), tenant, tenantjwt.ErrTenant))
	}
	if tenant == "" || !p.Tenants().Contains(tenant) {
		return nil, fail(e, stepTenant, fmt.Errorf("token does not authorize tenant %.64q: %w", tenant, tenantjwt.ErrTenant))
	}
	raw, err := p.RawClaims()
	if err != nil {
		return nil, fail(e, stepMapping, fmt.Errorf("principal claims: %w", err))
	}
	c, err := jwt.NewClaims(raw)
	if err != nil {
		return nil, fail(e, stepMapping, fmt.Errorf("principal claims: %w", err))
	}
	id := p.Identity()
	id.Tenant = tenant
	id.Roles, id.Permissions, id.Scopes = nil, nil, nil
	if err := e.mapTenant(c, &id); err != nil {
		return nil, fail(e, stepMapping, err)
	}
	return tenantjwt.NewPrincipal(id), nil
}
