// Package grpcauth is the grpc-go adapter of tenantjwt's middleware: unary
// and stream server interceptors that verify each call's access token with
// a Verifier (usually an *issuer.Registry) and put the verified Principal
// on the call's context, where tenantjwt.FromContext finds it.
//
// # Tokens
//
// The token comes from the "authorization" metadata entry, "Bearer <token>"
// or, when the verifier is a middleware.PresentedVerifier, "DPoP <token>"
// with the proof in the "dpop" entry (RFC 9449). A call must carry exactly
// one authorization value: two are refused with InvalidArgument, never
// resolved by picking one. A DPoP proof is checked against htm "POST" (every
// gRPC call is an HTTP/2 POST) and htu "scheme://authority/package.Service/Method":
// the scheme is https when the connection is TLS, http otherwise, and the
// authority is the call's :authority, which the client chooses; set
// Config.Origin to the external origin when the service answers on one
// name. Certificate-bound tokens (RFC 8705) are checked against the TLS
// client certificate of the connection (peer.FromContext and
// credentials.TLSInfo).
//
// # Errors
//
// Refusals are status errors with fixed messages, the same text as the
// HTTP middleware's error_description:
//
//   - no token, bad token, bad DPoP proof: Unauthenticated
//   - two authorization (or tenant) values: InvalidArgument
//   - a guard or the tenant selection refuses: PermissionDenied
//   - the issuer's keys cannot be fetched: Unavailable
//
// The response header metadata carries "www-authenticate" with the same
// challenge as the HTTP middleware's WWW-Authenticate header. The detailed
// error goes to Config.Logger and Config.OnError, never to the client.
//
// # Skipped methods
//
// Health checking (grpc.health.v1.Health) and server reflection are not
// authenticated by default (DefaultSkip); Config.Skip replaces the list. A
// method with guards is never skipped.
//
// Importing this package compiles grpc-go; importing package middleware
// does not.
package grpcauth

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/internal/rpcauth"
)

// TenantMetadata is the conventional metadata key for tenant selection, to
// set as Config.TenantMetadata.
const TenantMetadata = "x-tenant-id"

// DefaultSkip lists the methods Config.Skip defaults to: gRPC health
// checking and server reflection (v1 and v1alpha), which load balancers
// and tools call without credentials.
var DefaultSkip = append([]string(nil), rpcauth.DefaultSkip...)

// Config tunes the interceptors. The zero value is usable: Bearer tokens
// (and DPoP with a PresentedVerifier), realm "api", every method but
// health checking and reflection must be authenticated.
type Config struct {
	// Realm is the realm of the www-authenticate challenge. Default "api".
	Realm string
	// Optional lets calls without a token through, without a Principal.
	// A token that is present but bad is still refused, and a method with
	// guards refuses a call without a Principal.
	Optional bool
	// HideOutages answers Unauthenticated (with the invalid_token
	// challenge) instead of Unavailable when the issuer's keys cannot be
	// fetched. Unavailable, the default, tells clients to retry.
	HideOutages bool
	// TenantMetadata, if set, names a metadata key (usually
	// TenantMetadata, "x-tenant-id") with which a caller picks the tenant
	// to act in among the tenants its token lists, as the HTTP
	// middleware's TenantHeader does. The verifier must implement
	// middleware.TenantSelector. A tenant the token does not list is
	// refused with PermissionDenied, two values with InvalidArgument.
	TenantMetadata string
	// Skip lists the methods that are not authenticated: full method names
	// ("/package.Service/Method") or whole services ("/package.Service/*").
	// nil means DefaultSkip; an empty, non-nil slice authenticates every
	// method. A skipped method's handler sees no Principal. Names are
	// matched exactly; with an UnknownServiceHandler (a proxy), a skipped
	// name the server does not register reaches that handler
	// unauthenticated.
	Skip []string
	// Guards maps full method names to requirements every call of that
	// method must meet, checked after authentication: PermissionDenied
	// when one is not met, Unauthenticated for an Optional call without a
	// token. Methods not in the map have no guard.
	Guards map[string][]Guard
	// Origin, if set, is the service's external "scheme://host[:port]",
	// used for the DPoP proof's htu instead of the connection's scheme and
	// the call's :authority (which the client chooses).
	Origin string
	// ClientCertificate returns the TLS client certificate of the call,
	// checked against certificate-bound tokens. Default
	// PeerCertificate. Behind a proxy that terminates TLS, return the
	// certificate the proxy verified, or nil (bound tokens then fail).
	ClientCertificate func(ctx context.Context) *x509.Certificate
	// Logger receives one record per refused call with the detailed error
	// (never the token). Default: no logging.
	Logger *slog.Logger
	// OnError, if set, is called with the detailed error of every refused
	// call (for metrics or audit), before the status is returned. It must
	// not block.
	OnError func(ctx context.Context, fullMethod string, err error)
}

// Interceptor authenticates gRPC calls. It is safe for concurrent use.
type Interceptor struct {
	core *rpcauth.Core
	cert func(ctx context.Context) *x509.Certificate
}

// New returns an Interceptor verifying with v. When v is a
// middleware.PresentedVerifier, the DPoP scheme is accepted and bound
// tokens are checked against each call.
func New(v middleware.Verifier, cfg Config) *Interceptor {
	rc := rpcauth.Config{
		Realm:     cfg.Realm,
		Optional:  cfg.Optional,
		TenantKey: cfg.TenantMetadata,
		Skip:      cfg.Skip,
		Guards:    make(map[string][]rpcauth.Guard, len(cfg.Guards)),
		Origin:    cfg.Origin,
		Logger:    cfg.Logger,
		OnError:   cfg.OnError,
	}
	if cfg.HideOutages {
		rc.KeysUnavailableStatus = http.StatusUnauthorized
	}
	for m, gs := range cfg.Guards {
		for _, g := range gs {
			rc.Guards[m] = append(rc.Guards[m], g.g)
		}
	}
	i := &Interceptor{core: rpcauth.New(v, rc), cert: cfg.ClientCertificate}
	if i.cert == nil {
		i.cert = PeerCertificate
	}
	return i
}

// ServerOptions returns the options that install both interceptors, for
// grpc.NewServer. They chain with other interceptors.
func (i *Interceptor) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(i.Unary()),
		grpc.ChainStreamInterceptor(i.Stream()),
	}
}

// Unary returns the unary server interceptor.
func (i *Interceptor) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if i.core.Skipped(info.FullMethod) {
			return handler(ctx, req)
		}
		ctx, err := i.authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream returns the stream server interceptor. The call is authenticated
// once, before the handler runs and before any message is read.
func (i *Interceptor) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if i.core.Skipped(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx, err := i.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &stream{ServerStream: ss, ctx: ctx})
	}
}

// stream is a ServerStream with the authenticated context.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// authenticate verifies the call of ctx to method.
func (i *Interceptor) authenticate(ctx context.Context, method string) (context.Context, error) {
	actx, dpop, err := i.core.Authenticate(ctx, method, &call{ctx: ctx, method: method, cert: i.cert})
	if err != nil {
		return nil, refusal(actx, i.core.Refuse(actx, method, dpop, err))
	}
	return actx, nil
}

// call reads a gRPC call for the core.
type call struct {
	ctx    context.Context
	method string
	cert   func(context.Context) *x509.Certificate
}

func (c *call) Values(key string) []string { return metadata.ValueFromIncomingContext(c.ctx, key) }

// HTTPMethod is POST: every gRPC call is an HTTP/2 POST.
func (c *call) HTTPMethod() string { return http.MethodPost }

// Path is the full method name, the path of the call's HTTP/2 request.
func (c *call) Path() string { return c.method }

func (c *call) ClientCertificate() *x509.Certificate { return c.cert(c.ctx) }

// Origin is the call's "scheme://authority" as the client addressed it:
// https when the connection is TLS, and the :authority pseudo-header.
func (c *call) Origin() string {
	auth := metadata.ValueFromIncomingContext(c.ctx, ":authority")
	if len(auth) != 1 || auth[0] == "" {
		return ""
	}
	scheme := "http"
	if p, ok := peer.FromContext(c.ctx); ok {
		if _, tls := p.AuthInfo.(credentials.TLSInfo); tls {
			scheme = "https"
		}
	}
	return scheme + "://" + auth[0]
}

// PeerCertificate returns the certificate the client authenticated the
// call's TLS connection with, nil when none (no TLS, or no client
// certificate). It is the default of Config.ClientCertificate.
func PeerCertificate(ctx context.Context) *x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.PeerCertificates) == 0 {
		return nil
	}
	return info.State.PeerCertificates[0]
}

// refusal sets the challenge on the response header metadata and returns
// the status error for ch.
func refusal(ctx context.Context, ch middleware.Challenge) error {
	if ch.WWWAuthenticate != "" {
		// Fails only when headers were already sent (a guard late in a
		// stream); the status still refuses the call.
		_ = grpc.SetHeader(ctx, metadata.Pairs("www-authenticate", ch.WWWAuthenticate))
	}
	return status.Error(Code(ch.Status), ch.Description)
}

// Code maps an HTTP status of a refusal, as middleware.Status chooses it,
// to the gRPC code of the same meaning: 400 InvalidArgument, 403
// PermissionDenied, 503 Unavailable, and Unauthenticated otherwise (401).
// Envoy's gRPC ext_authz answers in `tenantjwt serve` use it too.
func Code(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	default:
		return codes.Unauthenticated
	}
}
