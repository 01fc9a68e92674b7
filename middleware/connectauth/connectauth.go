// Package connectauth is the connect-go (connectrpc.com/connect) adapter
// of tenantjwt's middleware: an interceptor, for unary and streaming
// handlers, that verifies each call's access token with a Verifier
// (usually an *issuer.Registry) and puts the verified Principal on the
// call's context, where tenantjwt.FromContext finds it. It serves the
// Connect, gRPC and gRPC-Web protocols alike.
//
// It has the semantics of package middleware/grpcauth: the token comes
// from the Authorization header (Bearer, or DPoP with the proof in the
// DPoP header when the verifier is a middleware.PresentedVerifier), two
// Authorization values are refused, a tenant may be selected with a header
// (Config.TenantHeader), guards apply per procedure, and health checking
// and reflection are skipped by default.
//
// Refusals are *connect.Error values with fixed messages, the HTTP
// middleware's error_description: CodeUnauthenticated for a missing or bad
// token or DPoP proof, CodeInvalidArgument for two tokens,
// CodePermissionDenied when a guard or the tenant selection refuses,
// CodeUnavailable when the issuer's keys cannot be fetched. The error's
// metadata carries the WWW-Authenticate challenge of the HTTP middleware,
// which Connect sends as a response header. The detailed error goes to
// Config.Logger and Config.OnError only.
//
// Connect does not show interceptors the HTTP request, so the TLS client
// certificate (for certificate-bound tokens, RFC 8705) and the URL the
// client called (for the DPoP proof's htu) are recorded by Wrap, which
// must be around the handler for those features: without it, bound tokens
// are refused, and DPoP proofs are checked against Config.Origin followed
// by the procedure, or refused when Origin is not set.
//
// Importing this package compiles connect-go; importing package
// middleware does not.
package connectauth

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"

	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/internal/rpcauth"
)

// DefaultSkip lists the procedures Config.Skip defaults to: gRPC health
// checking and server reflection (v1 and v1alpha), as served by
// connectrpc.com/grpchealth and connectrpc.com/grpcreflect.
var DefaultSkip = append([]string(nil), rpcauth.DefaultSkip...)

// Config tunes the interceptor. The zero value is usable: Bearer tokens
// (and DPoP with a PresentedVerifier), realm "api", every procedure but
// health checking and reflection must be authenticated.
type Config struct {
	// Realm is the realm of the WWW-Authenticate challenge. Default "api".
	Realm string
	// Optional lets calls without a token through, without a Principal.
	// A token that is present but bad is still refused, and a procedure
	// with guards refuses a call without a Principal.
	Optional bool
	// HideOutages answers CodeUnauthenticated (with the invalid_token
	// challenge) instead of CodeUnavailable when the issuer's keys cannot
	// be fetched. CodeUnavailable, the default, tells clients to retry.
	HideOutages bool
	// TenantHeader, if set, names a request header (usually "X-Tenant-ID")
	// with which a caller picks the tenant to act in among the tenants its
	// token lists, as in the HTTP middleware. The verifier must implement
	// middleware.TenantSelector. A tenant the token does not list is
	// refused with CodePermissionDenied, two values with
	// CodeInvalidArgument.
	TenantHeader string
	// Skip lists the procedures that are not authenticated: full names
	// ("/package.Service/Method") or whole services ("/package.Service/*").
	// nil means DefaultSkip; an empty, non-nil slice authenticates every
	// procedure. A procedure with guards is never skipped.
	Skip []string
	// Guards maps procedures to requirements every call must meet:
	// CodePermissionDenied when one is not met, CodeUnauthenticated for an
	// Optional call without a token.
	Guards map[string][]Guard
	// Origin, if set, is the service's external "scheme://host[:port]",
	// used for the DPoP proof's htu instead of the request's scheme and
	// Host (which the client chooses).
	Origin string
	// ClientCertificate returns the TLS client certificate of the call,
	// checked against certificate-bound tokens. Default: the certificate
	// Wrap recorded. Behind a proxy that terminates TLS, return the
	// certificate the proxy verified, or nil (bound tokens then fail).
	ClientCertificate func(ctx context.Context) *x509.Certificate
	// Logger receives one record per refused call with the detailed error
	// (never the token). Default: no logging.
	Logger *slog.Logger
	// OnError, if set, is called with the detailed error of every refused
	// call, before the error is returned. It must not block.
	OnError func(ctx context.Context, procedure string, err error)
}

// Interceptor is a connect.Interceptor that authenticates calls on the
// handler side; on a client it does nothing. It is safe for concurrent
// use.
type Interceptor struct {
	core *rpcauth.Core
	cert func(ctx context.Context) *x509.Certificate
}

var _ connect.Interceptor = (*Interceptor)(nil)

// New returns an Interceptor verifying with v, to install with
// connect.WithInterceptors. When v is a middleware.PresentedVerifier, the
// DPoP scheme is accepted and bound tokens are checked against each call.
func New(v middleware.Verifier, cfg Config) *Interceptor {
	rc := rpcauth.Config{
		Realm:     cfg.Realm,
		Optional:  cfg.Optional,
		TenantKey: cfg.TenantHeader,
		Skip:      cfg.Skip,
		Guards:    make(map[string][]rpcauth.Guard, len(cfg.Guards)),
		Origin:    cfg.Origin,
		Logger:    cfg.Logger,
		OnError:   cfg.OnError,
	}
	if cfg.HideOutages {
		rc.KeysUnavailableStatus = http.StatusUnauthorized
	}
	for p, gs := range cfg.Guards {
		for _, g := range gs {
			rc.Guards[p] = append(rc.Guards[p], g.g)
		}
	}
	i := &Interceptor{core: rpcauth.New(v, rc), cert: cfg.ClientCertificate}
	if i.cert == nil {
		i.cert = ClientCertificate
	}
	return i
}

// WrapUnary authenticates unary calls.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		spec := req.Spec()
		if spec.IsClient || i.core.Skipped(spec.Procedure) {
			return next(ctx, req)
		}
		actx, err := i.authenticate(ctx, spec.Procedure, req.Header(), req.HTTPMethod())
		if err != nil {
			if info, ok := connect.CallInfoForHandlerContext(ctx); ok {
				trailerSafe(req.Peer(), info.ResponseHeader(), err)
			}
			return nil, err
		}
		return next(actx, req)
	}
}

// WrapStreamingClient returns next: the interceptor acts on handlers only.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler authenticates streaming calls once, before the
// handler runs and before any message is read.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		procedure := conn.Spec().Procedure
		if i.core.Skipped(procedure) {
			return next(ctx, conn)
		}
		// Streams are always POSTs.
		actx, err := i.authenticate(ctx, procedure, conn.RequestHeader(), http.MethodPost)
		if err != nil {
			trailerSafe(conn.Peer(), conn.ResponseHeader(), err)
			return err
		}
		return next(actx, conn)
	}
}

// authenticate verifies the call described by its procedure and headers.
func (i *Interceptor) authenticate(ctx context.Context, procedure string, h http.Header, method string) (context.Context, *connect.Error) {
	c := &call{ctx: ctx, procedure: procedure, header: h, method: method, cert: i.cert}
	c.req, _ = ctx.Value(requestKey{}).(*http.Request)
	actx, dpop, err := i.core.Authenticate(ctx, procedure, c)
	if err != nil {
		return nil, refusal(i.core.Refuse(actx, procedure, dpop, err))
	}
	return actx, nil
}

// call reads a Connect call for the core.
type call struct {
	ctx       context.Context
	procedure string
	header    http.Header
	method    string
	req       *http.Request // recorded by Wrap, nil without it
	cert      func(context.Context) *x509.Certificate
}

// Values reads a header; the core asks in lower case, and the two keys
// of every call are looked up in canonical form without converting.
func (c *call) Values(key string) []string {
	switch key {
	case "authorization":
		return c.header["Authorization"]
	case "dpop":
		return c.header["Dpop"]
	}
	return c.header.Values(key)
}

func (c *call) HTTPMethod() string                   { return c.method }
func (c *call) ClientCertificate() *x509.Certificate { return c.cert(c.ctx) }

// Origin is "scheme://host" of the recorded request: https when it came
// over TLS, and its Host.
func (c *call) Origin() string {
	if c.req == nil || c.req.Host == "" {
		return ""
	}
	if c.req.TLS != nil {
		return "https://" + c.req.Host
	}
	return "http://" + c.req.Host
}

// Path is the recorded request's path (with any prefix the handler is
// mounted under), or the procedure without Wrap.
func (c *call) Path() string {
	if c.req == nil {
		return c.procedure
	}
	return c.req.URL.EscapedPath()
}

// trailerSafe copies the challenge of err to the response headers for the
// gRPC protocol, which sends an error's metadata as HTTP/2 trailers: Go's
// HTTP server drops WWW-Authenticate there (RFC 9110 §6.5.1 forbids it in
// trailers). The Connect and gRPC-Web protocols carry it as they are.
func trailerSafe(peer connect.Peer, h http.Header, err *connect.Error) {
	if peer.Protocol != connect.ProtocolGRPC || h == nil {
		return
	}
	if v := err.Meta().Get("WWW-Authenticate"); v != "" {
		h.Set("WWW-Authenticate", v)
		err.Meta().Del("WWW-Authenticate")
	}
}

// requestKey carries the *http.Request recorded by Wrap.
type requestKey struct{}

// Wrap records the HTTP request of each call for the interceptor: its TLS
// client certificate and the URL the client called. Put it around the
// handler that connect's NewXxxHandler returns, or around the mux serving
// it; when the handlers are mounted under http.StripPrefix, put Wrap
// outside it, so that the recorded path is the one the client sent. When
// Wraps nest, the outermost one's record is kept.
func Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(requestKey{}).(*http.Request); ok {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, r)))
	})
}

// ClientCertificate returns the certificate the client authenticated the
// call's TLS connection with, as recorded by Wrap; nil when none or when
// Wrap is not in front. It is the default of Config.ClientCertificate.
func ClientCertificate(ctx context.Context) *x509.Certificate {
	r, ok := ctx.Value(requestKey{}).(*http.Request)
	if !ok || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}

// refusal renders ch as a *connect.Error with the challenge in its
// metadata.
func refusal(ch middleware.Challenge) *connect.Error {
	err := connect.NewError(code(ch.Status), errors.New(ch.Description))
	if ch.WWWAuthenticate != "" {
		err.Meta().Set("WWW-Authenticate", ch.WWWAuthenticate)
	}
	return err
}

// code maps the HTTP status middleware.Status chose to a Connect code.
func code(httpStatus int) connect.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return connect.CodeInvalidArgument
	case http.StatusForbidden:
		return connect.CodePermissionDenied
	case http.StatusServiceUnavailable:
		return connect.CodeUnavailable
	default:
		return connect.CodeUnauthenticated
	}
}
