package issuer

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// Binding modes of Config.DPoP and Config.MTLS.
const (
	// BindingAllowed (the default): bound and unbound tokens are both
	// accepted, but a bound token only with its proof of possession.
	BindingAllowed = "allowed"
	// BindingRequired: only bound tokens, each with its proof.
	BindingRequired = "required"
	// BindingDisabled: the binding is not checked, and for DPoP the DPoP
	// scheme is refused. A bound token then works as a bearer token, which
	// is what binding exists to prevent: use it only for IdPs that put cnf
	// in tokens no client can prove.
	BindingDisabled = "disabled"
)

// DPoP proof defaults.
const (
	// DefaultDPoPMaxAge is how old a proof's iat may be.
	DefaultDPoPMaxAge = time.Minute
	// MaxDPoPProofBytes caps a proof, checked before decoding: room for a
	// jwk of an 8192-bit RSA key and its signature.
	MaxDPoPProofBytes = 8192
	// maxJTIBytes caps a proof's jti.
	maxJTIBytes = 256
)

// DefaultDPoPAlgorithms lists the proof algorithms accepted by default:
// every supported asymmetric algorithm. "none" and HMAC algorithms are
// never accepted, whatever the configuration says.
func DefaultDPoPAlgorithms() []string { return slices.Clone(jwks.Algorithms) }

// DPoPOptions tune the checking of DPoP proofs (RFC 9449 §4.3).
type DPoPOptions struct {
	// MaxAge is how old a proof's iat may be; Options.Leeway is allowed on
	// top, and into the future. Default DefaultDPoPMaxAge.
	MaxAge time.Duration
	// Algorithms is the allowlist of proof algorithms, from jwks.Algorithms.
	// Default DefaultDPoPAlgorithms.
	Algorithms []string
	// Replay remembers recent proofs so that each is accepted once. Share
	// one between registries (for example across config reloads) so that
	// a reload does not forget them: a *ReplayCache, reconfigured in place
	// with Configure, or a store shared by replicas. When nil, the
	// registry makes a ReplayCache of ReplayCacheSize and ReplayPerKey
	// proofs on its clock.
	Replay dpop.ReplayStore
	// ReplayCacheSize is the size of the replay cache the registry makes
	// when Replay is nil. Default DefaultReplayCacheSize.
	ReplayCacheSize int
	// ReplayPerKey is the share of one client key (jkt) in the replay
	// cache the registry makes when Replay is nil. Default
	// ReplayCacheSize / DefaultReplayShare.
	ReplayPerKey int
}

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
		if err := r.checkProof(ctx, cnf.jkt, token, pr, now); err != nil {
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
	if got := CertificateThumbprint(pr.ClientCertificate); got != cnf.x5t {
		return fmt.Errorf("client certificate thumbprint %s is not cnf x5t#S256 %.64q: %w", got, cnf.x5t, tenantjwt.ErrTokenBinding)
	}
	return nil
}

// CertificateThumbprint returns the x5t#S256 of cert (RFC 8705 §3.1): the
// base64url SHA-256 of its DER encoding.
func CertificateThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// proofErr wraps a proof rejection: it matches ErrDPoPProof (and
// ErrInvalidToken), not the cause a token with the same defect would get.
func proofErr(format string, a ...any) error {
	return fmt.Errorf("issuer: DPoP proof: "+format+": %w", append(a, tenantjwt.ErrDPoPProof)...)
}

// checkProof checks the DPoP proof of pr for token, bound to the key with
// thumbprint jkt, following RFC 9449 §4.3. The replay check comes last, so
// only proofs that pass everything else (and so are signed by the token's
// key) take room in the replay cache. It is longer than 60 lines because
// it is the §4.3 checklist read top to bottom; split, the order (which is
// what keeps unsigned proofs out of the replay cache) would be harder to see.
func (r *Registry) checkProof(ctx context.Context, jkt, token string, pr *tenantjwt.Presentation, now time.Time) error {
	if pr.DPoP == "" {
		return proofErr("none in the request")
	}
	t, err := jwt.Parse(pr.DPoP, MaxDPoPProofBytes)
	if err != nil {
		return proofErr("%v", err)
	}
	h := &t.Header
	if err := h.Check(); err != nil {
		return proofErr("%v", err)
	}
	if !strings.EqualFold(h.Typ, "dpop+jwt") {
		return proofErr("typ %.32q is not dpop+jwt", h.Typ)
	}
	if !slices.Contains(r.dpop.algs, h.Alg) {
		return proofErr("alg %.16q not in %v", h.Alg, r.dpop.algs)
	}
	if h.JWKRaw == nil {
		return proofErr("no jwk header")
	}
	key, tp, err := jwks.ParseProofKey(h.JWKRaw)
	if err != nil {
		return proofErr("%v", err)
	}
	if tp != jkt {
		return proofErr("key thumbprint %s is not the token's cnf.jkt %.64q", tp, jkt)
	}
	if !key.Allows(h.Alg) {
		return proofErr("alg %s does not fit the proof key", h.Alg)
	}
	if err := jwt.VerifySignature(h.Alg, key, t.SigningInput, t.Sig); err != nil {
		return proofErr("%v", err)
	}
	if err := t.CheckSigned(); err != nil {
		return proofErr("%v", err)
	}

	c := t.Claims()
	str := func(name string, max int) (string, error) {
		raw, ok := c.Member(name)
		if !ok {
			return "", proofErr("no %s", name)
		}
		s, err := jwt.StringValue(raw)
		if err != nil || s == "" || len(s) > max {
			return "", proofErr("%s is not a string of 1 to %d bytes", name, max)
		}
		return s, nil
	}
	jti, err := str("jti", maxJTIBytes)
	if err != nil {
		return err
	}
	htm, err := str("htm", 32)
	if err != nil {
		return err
	}
	if htm != pr.Method {
		return proofErr("htm %.32q is not the request method %.32q", htm, pr.Method)
	}
	htu, err := str("htu", MaxDPoPProofBytes)
	if err != nil {
		return err
	}
	want, err := dpop.NormalizeHTU(pr.URL)
	if err != nil {
		return proofErr("request URL: %v", err)
	}
	if got, err := dpop.NormalizeHTU(htu); err != nil || got != want {
		return proofErr("htu %.128q is not the request URL %.128q", htu, want)
	}
	rawIat, ok := c.Member("iat")
	if !ok {
		return proofErr("no iat")
	}
	iat, err := jwt.ParseNumericDate(rawIat)
	if err != nil {
		return proofErr("iat is not a NumericDate")
	}
	leeway := r.opts.Leeway
	if iat.Time().After(now.Add(leeway)) {
		return proofErr("iat %.0f is in the future", iat.Sec)
	}
	expires := iat.Time().Add(r.dpop.maxAge + leeway)
	if !now.Before(expires) {
		return proofErr("iat %.0f is older than %s", iat.Sec, r.dpop.maxAge)
	}
	ath, err := str("ath", 64)
	if err != nil {
		return err
	}
	if ath != dpop.AccessTokenHash(token) {
		return proofErr("ath is not the hash of the access token")
	}
	stored, err := r.dpop.replay.SetIfAbsent(ctx, tp, jti, expires.Sub(now))
	switch {
	case errors.Is(err, tenantjwt.ErrStoreUnavailable):
		// An outage of the store: refused, but not the proof's fault.
		return fmt.Errorf("issuer: DPoP proof: replay check: %w", err)
	case err != nil:
		return proofErr("replay check: %v", err)
	case !stored:
		return proofErr("jti already used with this key")
	}
	return nil
}

// dpopChecker is the registry's proof configuration.
type dpopChecker struct {
	maxAge time.Duration
	algs   []string
	replay dpop.ReplayStore
}

func newDPoPChecker(o DPoPOptions, now func() time.Time) (dpopChecker, error) {
	d := dpopChecker{maxAge: o.MaxAge, algs: slices.Clone(o.Algorithms), replay: o.Replay}
	if err := checkProofAlgorithms(d.algs); err != nil {
		return d, fmt.Errorf("issuer: dpop %w", err)
	}
	if d.replay == nil {
		d.replay = dpop.NewReplayCache(dpop.ReplayOptions{Size: o.ReplayCacheSize, PerKey: o.ReplayPerKey, Now: now})
	}
	return d, nil
}

// checkProofAlgorithms rejects names outside jwks.Algorithms (so "none"
// and HMAC algorithms), naming the first by its index.
func checkProofAlgorithms(algs []string) error {
	for i, a := range algs {
		if !jwks.KnownAlgorithm(a) {
			return fmt.Errorf("algorithms[%d]: unknown algorithm %.32q (allowed: %s)", i, a, strings.Join(jwks.Algorithms, ", "))
		}
	}
	return nil
}

// DPoPAlgorithms returns the proof algorithms the registry accepts, for
// the algs parameter of a DPoP challenge.
func (r *Registry) DPoPAlgorithms() []string { return slices.Clone(r.dpop.algs) }
