package middleware

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware/canonical"
)

// Verifier verifies a raw access token. *issuer.Registry implements it.
type Verifier interface {
	Verify(ctx context.Context, token string) (*tenantjwt.Principal, error)
}

// TenantSelector switches a verified principal to another of its tenants.
// *issuer.Registry implements it; the middleware uses it for
// Config.TenantHeader.
type TenantSelector interface {
	SelectTenant(ctx context.Context, p *tenantjwt.Principal, tenant string) (*tenantjwt.Principal, error)
}

// Config tunes the middleware. The zero value is usable: Bearer tokens
// only, realm "api", every request must be authenticated.
type Config struct {
	// Realm is the realm of the WWW-Authenticate challenge. Default "api".
	Realm string
	// Sources says where tokens may come from besides the Authorization
	// header (see TokenSources).
	Sources TokenSources
	// Optional lets requests without any token through, without a
	// Principal, for routes that serve both anonymous and signed-in users.
	// A token that is present but bad is still refused.
	Optional bool
	// KeysUnavailableStatus replaces the status used when the issuer's
	// keys cannot be fetched (default 503 Service Unavailable, which tells
	// clients and load balancers to retry). Set 401 to hide outages. It
	// applies to an unavailable DPoP replay store as well
	// (tenantjwt.ErrStoreUnavailable).
	KeysUnavailableStatus int
	// RequestTenant, if set, binds the request to a tenant, for example by
	// its host (see HostTenants) or a path parameter. It is given the
	// request and its canonical form (host lower case without port, path
	// canonical; see package canonical), derived once per request with
	// Forwarded and Paths. A token whose tenant differs is refused with
	// 403, so a token of tenant A cannot be used on tenant B's host. ok
	// false means the request is not bound; a binding to the empty tenant
	// refuses every token.
	RequestTenant func(r *http.Request, req canonical.Request) (tenant string, ok bool)
	// TenantHeader, if set, names a request header (for example
	// "X-Tenant-ID") with which a caller picks the tenant to act in among
	// the tenants its token lists (Principal.Tenants). The verifier must
	// implement TenantSelector; the switched principal, with that tenant's
	// roles and permissions, goes on the context. A tenant the token does
	// not list is refused with 403.
	TenantHeader string
	// ErrorHandler, if set, writes every error response instead of the
	// default RFC 6750 writer. It sees the detailed error; what it sends is
	// its own responsibility (use NewChallenge to keep the standard
	// answer). Guards use it too.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives one record per refused request, with the detailed
	// error (never the token). Default: no logging.
	Logger *slog.Logger
	// Forwarded names the headers of a trusted reverse proxy that carry
	// the external method and URL, which DPoP proofs and RequestTenant
	// read. Default: none; the request itself is the external request.
	Forwarded Forwarded
	// Paths relaxes the canonical path rules (package canonical) for the
	// original request, derived when a DPoP proof or RequestTenant needs
	// it. A request whose target could be read two ways is refused with
	// 400 invalid_request. Default: strict.
	Paths canonical.Policy
	// ClientCertificate returns the TLS client certificate of the
	// request, checked against certificate-bound tokens (RFC 8705).
	// Default TLSClientCertificate. Behind a proxy that terminates TLS the
	// default sees the proxy's connection, not the client's: return the
	// certificate the proxy verified, or nil (bound tokens then fail).
	ClientCertificate func(r *http.Request) *x509.Certificate
}

// Authenticator is the framework-neutral core of the middleware: New and
// the echo adapter are thin shells around it. It is safe for concurrent
// use.
type Authenticator struct {
	v    Verifier
	pv   PresentedVerifier // v, when it checks presentations
	cfg  Config
	algs string // DPoP proof algorithms, space-separated, for challenges
}

// NewAuthenticator returns an Authenticator verifying with v. When v is a
// PresentedVerifier, the DPoP scheme is accepted and bound tokens are
// checked against each request.
func NewAuthenticator(v Verifier, cfg Config) *Authenticator {
	if cfg.Realm == "" {
		cfg.Realm = "api"
	}
	a := &Authenticator{v: v, cfg: cfg}
	if pv, ok := v.(PresentedVerifier); ok {
		a.pv, a.algs = pv, strings.Join(pv.DPoPAlgorithms(), " ")
	}
	return a
}

// Config returns the configuration with defaults applied.
func (a *Authenticator) Config() Config { return a.cfg }

// Authenticate extracts, verifies and binds the token of r. It returns
// (nil, nil) for a request without a token when Config.Optional is set.
// The original request (for DPoP proofs and RequestTenant) is derived
// from r with Config.Forwarded and Config.Paths, once, when needed.
func (a *Authenticator) Authenticate(r *http.Request) (*tenantjwt.Principal, error) {
	o := original{a: a, r: r}
	return a.authenticate(r, &o)
}

// AuthenticateRequest is Authenticate for a check about another request,
// as in a forward-auth server: req is that original request, already
// derived and canonical, and is what DPoP proofs and RequestTenant see.
// The token, proof and tenant selection still come from r's headers.
func (a *Authenticator) AuthenticateRequest(r *http.Request, req canonical.Request) (*tenantjwt.Principal, error) {
	o := original{req: req, done: true}
	return a.authenticate(r, &o)
}

// original is the original request of one authentication, derived on
// first use: most requests need it for neither DPoP nor tenant binding.
type original struct {
	a    *Authenticator
	r    *http.Request
	req  canonical.Request
	err  error
	done bool
}

func (o *original) get() (canonical.Request, error) {
	if !o.done {
		o.req, o.err = canonical.FromHTTP(o.r, o.a.cfg.Forwarded, false, o.a.cfg.Paths)
		o.done = true
	}
	return o.req, o.err
}

func (a *Authenticator) authenticate(r *http.Request, orig *original) (*tenantjwt.Principal, error) {
	c, err := a.cfg.Sources.extract(r, a.pv != nil)
	if err != nil {
		if a.cfg.Optional && err == ErrNoToken {
			return nil, nil
		}
		return nil, err
	}
	var p *tenantjwt.Principal
	if a.pv != nil {
		pr, err := a.presentation(r, c, orig)
		if err != nil {
			return nil, err
		}
		p, err = a.pv.VerifyPresented(r.Context(), c.token, pr)
		if err != nil {
			return nil, err
		}
	} else if p, err = a.v.Verify(r.Context(), c.token); err != nil {
		return nil, err
	}
	if p == nil {
		// A Verifier breaking its contract must not let the request in.
		return nil, tenantjwt.ErrInvalidToken
	}
	return a.bindTenant(r, p, orig)
}

// Challenge renders err as this authenticator's error response. A DPoP
// proof error gets the DPoP scheme's challenge, with the accepted proof
// algorithms.
func (a *Authenticator) Challenge(err error) Challenge {
	return a.challenge(err, false)
}

// ChallengeFor is Challenge for a refusal of r: when r sent its token
// with the DPoP scheme, the challenge uses that scheme too (RFC 9449
// §7.1).
func (a *Authenticator) ChallengeFor(r *http.Request, err error) Challenge {
	return a.challenge(err, a.pv != nil && r != nil && usedDPoP(r))
}

// challenge renders err, with the DPoP scheme (and its algs) for proof
// errors or when dpop is set.
func (a *Authenticator) challenge(err error, dpop bool) Challenge {
	c := NewChallenge(a.cfg.Realm, err, a.cfg.KeysUnavailableStatus)
	if c.WWWAuthenticate != "" && (dpop || c.Code == CodeInvalidDPoPProof) {
		c.WWWAuthenticate = dpopChallengeHeader(a.cfg.Realm, c.Code, c.Description, a.algs)
	}
	return c
}

// Fail logs err and writes the error response (through
// Config.ErrorHandler when set).
func (a *Authenticator) Fail(w http.ResponseWriter, r *http.Request, err error) {
	a.log(r, err)
	if a.cfg.ErrorHandler != nil {
		a.cfg.ErrorHandler(w, r, err)
		return
	}
	a.ChallengeFor(r, err).Write(w)
}

func (a *Authenticator) log(r *http.Request, err error) {
	if a.cfg.Logger == nil {
		return
	}
	status, _ := Status(err)
	a.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request refused",
		slog.Int("status", status),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("error", err.Error()))
}

// New returns net/http middleware that authenticates every request with v
// and puts the Principal on the request context (tenantjwt.FromContext).
// Refused requests never reach the next handler.
func New(v Verifier, cfg Config) func(http.Handler) http.Handler {
	a := NewAuthenticator(v, cfg)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.Authenticate(r)
			if err != nil {
				a.Fail(w, r, err)
				return
			}
			ctx := context.WithValue(r.Context(), authKey{}, a)
			if p != nil {
				ctx = tenantjwt.NewContext(ctx, p)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// authKey carries the Authenticator to the guards, so they answer with the
// same realm and error handler.
type authKey struct{}

// authenticatorFrom returns the request's Authenticator, or a default one
// for guards used without New.
func authenticatorFrom(ctx context.Context) *Authenticator {
	if a, ok := ctx.Value(authKey{}).(*Authenticator); ok {
		return a
	}
	return NewAuthenticator(nil, Config{})
}
