package dpop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// Proof defaults.
const (
	// DefaultMaxAge is how old a proof's iat may be.
	DefaultMaxAge = time.Minute
	// MaxProofBytes caps a proof, checked before decoding: room for a jwk
	// of an 8192-bit RSA key and its signature.
	MaxProofBytes = 8192
	// maxJTIBytes caps a proof's jti.
	maxJTIBytes = 256
)

// DefaultAlgorithms lists the proof algorithms accepted by default: every
// supported asymmetric algorithm. "none" and HMAC algorithms are never
// accepted, whatever the configuration says.
func DefaultAlgorithms() []string { return slices.Clone(jwks.Algorithms) }

// Options tune the checking of DPoP proofs (RFC 9449 §4.3).
type Options struct {
	// MaxAge is how old a proof's iat may be; the leeway given to
	// NewChecker is allowed on top, and into the future. Default
	// DefaultMaxAge.
	MaxAge time.Duration
	// Algorithms is the allowlist of proof algorithms, from
	// jwks.Algorithms. Default DefaultAlgorithms.
	Algorithms []string
	// Replay remembers recent proofs so that each is accepted once. Share
	// one between checkers (for example across config reloads) so that a
	// reload does not forget them: a *ReplayCache, reconfigured in place
	// with Configure, or a store shared by replicas. When nil, NewChecker
	// makes a ReplayCache of ReplayCacheSize and ReplayPerKey proofs on
	// its clock.
	Replay ReplayStore
	// ReplayCacheSize is the size of the replay cache NewChecker makes
	// when Replay is nil. Default DefaultReplayCacheSize.
	ReplayCacheSize int
	// ReplayPerKey is the share of one client key (jkt) in the replay
	// cache NewChecker makes when Replay is nil. Default
	// ReplayCacheSize / DefaultReplayShare.
	ReplayPerKey int
}

// Request is what a proof is checked against: the access token it must
// carry the hash of (ath), and the request's method and absolute URL (htm,
// htu).
type Request struct {
	Token  string // the access token, as sent
	Method string // the request method, as sent
	URL    string // the absolute request URL, normalised by NormalizeHTU
}

// Checker checks DPoP proofs (RFC 9449 §4.3). It is safe for concurrent
// use.
type Checker struct {
	maxAge time.Duration
	leeway time.Duration
	algs   []string
	replay ReplayStore
}

// NewChecker returns a Checker configured by o, allowing leeway of clock
// skew (at least 0). now is the clock of the replay cache it makes when
// o.Replay is nil (nil: time.Now).
func NewChecker(o Options, leeway time.Duration, now func() time.Time) (*Checker, error) {
	c := &Checker{maxAge: o.MaxAge, leeway: max(leeway, 0), algs: slices.Clone(o.Algorithms), replay: o.Replay}
	if c.maxAge <= 0 {
		c.maxAge = DefaultMaxAge
	}
	if len(c.algs) == 0 {
		c.algs = DefaultAlgorithms()
	}
	if err := CheckAlgorithms(c.algs); err != nil {
		return nil, fmt.Errorf("dpop: %w", err)
	}
	if c.replay == nil {
		c.replay = NewReplayCache(ReplayOptions{Size: o.ReplayCacheSize, PerKey: o.ReplayPerKey, Now: now})
	}
	return c, nil
}

// CheckAlgorithms rejects names outside jwks.Algorithms (so "none" and
// HMAC algorithms), naming the first by its index.
func CheckAlgorithms(algs []string) error {
	for i, a := range algs {
		if !jwks.KnownAlgorithm(a) {
			return fmt.Errorf("algorithms[%d]: unknown algorithm %.32q (allowed: %s)", i, a, strings.Join(jwks.Algorithms, ", "))
		}
	}
	return nil
}

// Algorithms returns the proof algorithms the checker accepts, for the
// algs parameter of a DPoP challenge.
func (c *Checker) Algorithms() []string { return slices.Clone(c.algs) }

// proofErr wraps a proof rejection: it matches ErrDPoPProof (and
// ErrInvalidToken), not the cause a token with the same defect would get.
func proofErr(format string, a ...any) error {
	return fmt.Errorf("issuer: DPoP proof: "+format+": %w", append(a, tenantjwt.ErrDPoPProof)...)
}

// Check checks proof, at now, for the request r and the client key of
// SHA-256 thumbprint jkt (the token's cnf.jkt), following RFC 9449 §4.3.
// Rejections wrap tenantjwt.ErrDPoPProof; an outage of the replay store
// wraps tenantjwt.ErrStoreUnavailable instead. The replay check comes
// last, so only proofs that pass everything else (and so are signed by
// the token's key) take room in the replay store. It is longer than 60
// lines because it is the §4.3 checklist read top to bottom; split, the
// order (which is what keeps unsigned proofs out of the replay store)
// would be harder to see.
func (c *Checker) Check(ctx context.Context, proof, jkt string, r Request, now time.Time) error {
	if proof == "" {
		return proofErr("none in the request")
	}
	t, err := jwt.Parse(proof, MaxProofBytes)
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
	if !slices.Contains(c.algs, h.Alg) {
		return proofErr("alg %.16q not in %v", h.Alg, c.algs)
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

	claims := t.Claims()
	str := func(name string, max int) (string, error) {
		raw, ok := claims.Member(name)
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
	if htm != r.Method {
		return proofErr("htm %.32q is not the request method %.32q", htm, r.Method)
	}
	htu, err := str("htu", MaxProofBytes)
	if err != nil {
		return err
	}
	want, err := NormalizeHTU(r.URL)
	if err != nil {
		return proofErr("request URL: %v", err)
	}
	if got, err := NormalizeHTU(htu); err != nil || got != want {
		return proofErr("htu %.128q is not the request URL %.128q", htu, want)
	}
	rawIat, ok := claims.Member("iat")
	if !ok {
		return proofErr("no iat")
	}
	iat, err := jwt.ParseNumericDate(rawIat)
	if err != nil {
		return proofErr("iat is not a NumericDate")
	}
	if iat.Time().After(now.Add(c.leeway)) {
		return proofErr("iat %.0f is in the future", iat.Sec)
	}
	expires := iat.Time().Add(c.maxAge + c.leeway)
	if !now.Before(expires) {
		return proofErr("iat %.0f is older than %s", iat.Sec, c.maxAge)
	}
	ath, err := str("ath", 64)
	if err != nil {
		return err
	}
	if ath != AccessTokenHash(r.Token) {
		return proofErr("ath is not the hash of the access token")
	}
	stored, err := c.replay.SetIfAbsent(ctx, tp, jti, expires.Sub(now))
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
