// Package rpcauth is the transport-neutral core of the RPC adapters
// (middleware/grpcauth and middleware/connectauth): which calls are
// skipped, how a call's token, DPoP proof, client certificate and tenant
// are read and verified, which guards a method has, and how a refusal is
// logged and rendered. The adapters only read their transport's metadata
// and turn a middleware.Challenge into their status codes.
//
// It depends on nothing but package middleware, so neither grpc nor
// connect is compiled by the other's users.
package rpcauth

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// DefaultSkip lists the methods not authenticated by default: gRPC health
// checking and server reflection.
var DefaultSkip = []string{
	"/grpc.health.v1.Health/*",
	"/grpc.reflection.v1.ServerReflection/*",
	"/grpc.reflection.v1alpha.ServerReflection/*",
}

// Guard is a named requirement on the Principal.
type Guard struct {
	What  string
	Allow func(*tenantjwt.Principal) bool
}

// Check applies g to the Principal in ctx (middleware.CheckContext).
func (g Guard) Check(ctx context.Context) error {
	allow := g.Allow
	if allow == nil {
		// The zero Guard refuses, with the answer of any unmet guard.
		allow = func(*tenantjwt.Principal) bool { return false }
	}
	return middleware.CheckContext(ctx, g.What, allow)
}

// Config is the part of the adapters' configuration the core needs.
type Config struct {
	Realm                 string
	Optional              bool
	KeysUnavailableStatus int
	TenantKey             string   // metadata/header name for tenant selection, "" off
	Skip                  []string // nil: DefaultSkip
	Guards                map[string][]Guard
	Origin                string
	Logger                *slog.Logger
	OnError               func(ctx context.Context, procedure string, err error)
}

// Call is what the core needs to know of one call, read from its
// transport.
type Call interface {
	// Values returns the values of a request metadata entry or header.
	// The core asks for "authorization", "dpop" and the tenant key.
	Values(key string) []string
	// HTTPMethod is the method the DPoP proof's htm is checked against.
	HTTPMethod() string
	// Origin returns the call's "scheme://authority", used for the
	// proof's htu when Config.Origin is not set; "" when unknown.
	Origin() string
	// Path returns the request path the proof's htu is checked against.
	Path() string
	// ClientCertificate returns the TLS client certificate of the call.
	ClientCertificate() *x509.Certificate
}

// Core authenticates calls. It is safe for concurrent use.
type Core struct {
	v      middleware.Verifier
	pv     middleware.PresentedVerifier
	a      *middleware.Authenticator // renders challenges
	cfg    Config
	exact  map[string]bool // skipped full method names
	prefix []string        // skipped services, "/pkg.Service/"
}

// New returns a Core verifying with v.
func New(v middleware.Verifier, cfg Config) *Core {
	if cfg.Realm == "" {
		cfg.Realm = "api"
	}
	if cfg.Skip == nil {
		cfg.Skip = DefaultSkip
	}
	cfg.TenantKey = strings.ToLower(cfg.TenantKey)
	c := &Core{v: v, cfg: cfg, exact: map[string]bool{}}
	c.pv, _ = v.(middleware.PresentedVerifier)
	c.a = middleware.NewAuthenticator(v, middleware.Config{Realm: cfg.Realm, KeysUnavailableStatus: cfg.KeysUnavailableStatus})
	for _, s := range cfg.Skip {
		if svc, ok := strings.CutSuffix(s, "/*"); ok {
			c.prefix = append(c.prefix, svc+"/")
		} else {
			c.exact[s] = true
		}
	}
	return c
}

// Skipped reports whether calls of procedure are let through without
// authentication. A procedure with guards is never skipped.
func (c *Core) Skipped(procedure string) bool {
	if _, guarded := c.cfg.Guards[procedure]; guarded {
		return false
	}
	if c.exact[procedure] {
		return true
	}
	for _, p := range c.prefix {
		if strings.HasPrefix(procedure, p) && !strings.Contains(procedure[len(p):], "/") {
			return true
		}
	}
	return false
}

// coreKey carries the Core to the guards called inside handlers.
type coreKey struct{}

// FromContext returns the Core that authenticated the call of ctx, or a
// default one (realm "api") when there is none.
func FromContext(ctx context.Context) *Core {
	if c, ok := ctx.Value(coreKey{}).(*Core); ok {
		return c
	}
	return defaultCore
}

var defaultCore = New(nil, Config{})

// Authenticate verifies the call and applies its tenant selection and its
// method's guards. It returns the context for the handler, with the
// Principal (none for an Optional call without a token), and whether the
// token came with the DPoP scheme, which the challenge of a refusal needs.
func (c *Core) Authenticate(ctx context.Context, procedure string, call Call) (context.Context, bool, error) {
	ctx = context.WithValue(ctx, coreKey{}, c)
	p, dpop, err := c.verify(ctx, call)
	if err != nil {
		return ctx, dpop, err
	}
	if p != nil {
		ctx = tenantjwt.NewContext(ctx, p)
	}
	for _, g := range c.cfg.Guards[procedure] {
		if err := g.Check(ctx); err != nil {
			return ctx, dpop, err
		}
	}
	return ctx, dpop, nil
}

func (c *Core) verify(ctx context.Context, call Call) (*tenantjwt.Principal, bool, error) {
	auth := call.Values("authorization")
	switch {
	case len(auth) == 0 && c.cfg.Optional:
		return nil, false, nil
	case len(auth) == 0:
		return nil, false, middleware.ErrNoToken
	case len(auth) > 1:
		return nil, false, fmt.Errorf("rpcauth: %d authorization values: %w", len(auth), middleware.ErrMultipleTokens)
	}
	tok, dpop, err := middleware.ParseAuthorization(auth[0], c.pv != nil)
	if err == middleware.ErrNoToken && c.cfg.Optional {
		// Another scheme (Basic…) is no token of ours, as in HTTP.
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var p *tenantjwt.Principal
	if c.pv != nil {
		pr, err := c.presentation(call, dpop)
		if err != nil {
			return nil, dpop, err
		}
		if p, err = c.pv.VerifyPresented(ctx, tok, pr); err != nil {
			return nil, dpop, err
		}
	} else if p, err = c.v.Verify(ctx, tok); err != nil {
		return nil, dpop, err
	}
	if p == nil {
		// A Verifier breaking its contract must not let the call in.
		return nil, dpop, tenantjwt.ErrInvalidToken
	}
	if c.cfg.TenantKey != "" {
		switch vals := call.Values(c.cfg.TenantKey); {
		case len(vals) > 1:
			return nil, dpop, fmt.Errorf("rpcauth: %d %s values: %w", len(vals), c.cfg.TenantKey, middleware.ErrMultipleTokens)
		case len(vals) == 1:
			if p, err = middleware.SelectTenant(ctx, c.v, p, vals[0]); err != nil {
				return nil, dpop, err
			}
		}
	}
	return p, dpop, nil
}

// presentation describes how the call presented its token.
func (c *Core) presentation(call Call, dpop bool) (tenantjwt.Presentation, error) {
	pr := tenantjwt.Presentation{Scheme: "Bearer", ClientCertificate: call.ClientCertificate()}
	if !dpop {
		return pr, nil
	}
	pr.Scheme = "DPoP"
	switch vals := call.Values("dpop"); {
	case len(vals) > 1:
		// RFC 9449 §4.3: not more than one DPoP proof.
		return pr, fmt.Errorf("rpcauth: %d dpop values: %w", len(vals), tenantjwt.ErrDPoPProof)
	case len(vals) == 1 && len(vals[0]) > middleware.MaxTokenSourceBytes:
		return pr, fmt.Errorf("rpcauth: dpop value of %d bytes: %w", len(vals[0]), tenantjwt.ErrDPoPProof)
	case len(vals) == 1:
		pr.DPoP = vals[0]
	}
	origin := strings.TrimSuffix(c.cfg.Origin, "/")
	if origin == "" {
		origin = call.Origin()
	}
	path := call.Path()
	if origin == "" || !strings.HasPrefix(path, "/") {
		return pr, fmt.Errorf("rpcauth: call URL unknown (origin %.64q, path %.64q): %w", origin, path, tenantjwt.ErrDPoPProof)
	}
	pr.Method, pr.URL = call.HTTPMethod(), origin+path
	return pr, nil
}

// UsedDPoP reports whether a call with these authorization values sent
// its one token with the DPoP scheme, for the challenge of a refusal made
// after authentication (a guard in a handler).
func UsedDPoP(authorization []string) bool {
	if len(authorization) != 1 {
		return false
	}
	_, dpop, err := middleware.ParseAuthorization(authorization[0], true)
	return err == nil && dpop
}

// Refuse logs err, calls the error hook, and renders the refusal.
func (c *Core) Refuse(ctx context.Context, procedure string, dpop bool, err error) middleware.Challenge {
	if c.cfg.Logger != nil {
		status, _ := middleware.Status(err)
		c.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "call refused",
			slog.Int("status", status),
			slog.String("method", procedure),
			slog.String("error", err.Error()))
	}
	if c.cfg.OnError != nil {
		c.cfg.OnError(ctx, procedure, err)
	}
	return c.a.ChallengeScheme(err, dpop)
}

// The requirements behind the adapters' guards, named as the HTTP
// middleware's guards name them: both adapters wrap these.

// Roles is met by a Principal with at least one of roles.
func Roles(roles ...string) Guard {
	return Guard{fmt.Sprintf("any role of %q", roles), middleware.AnyRole(roles...)}
}

// AllRoles is met by a Principal with every one of roles.
func AllRoles(roles ...string) Guard {
	return Guard{fmt.Sprintf("all roles of %q", roles), middleware.AllRoles(roles...)}
}

// Permissions is met by a Principal with every one of perms.
func Permissions(perms ...string) Guard {
	return Guard{fmt.Sprintf("permissions %q", perms), middleware.AllPermissions(perms...)}
}

// Scopes is met by a Principal with every one of scopes.
func Scopes(scopes ...string) Guard {
	return Guard{fmt.Sprintf("scopes %q", scopes), middleware.AllScopes(scopes...)}
}

// Tenant is met by a Principal acting in tenant.
func Tenant(tenant string) Guard {
	return Guard{fmt.Sprintf("tenant %q", tenant), middleware.InTenant(tenant)}
}
