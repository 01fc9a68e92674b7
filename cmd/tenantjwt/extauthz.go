package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"golang.org/x/net/http/httpguts"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/tenantjwt/tenantjwt/middleware/canonical"
	"github.com/tenantjwt/tenantjwt/middleware/grpcauth"
)

// Limits of the gRPC ext_authz server. A Check carries one request's
// headers: Envoy's own defaults cap those at 60 KiB and 100 headers, so
// these bounds leave room without letting one call hold much memory.
const (
	// maxCheckMessageBytes bounds a CheckRequest on the wire. Configure
	// Envoy without with_request_body: the body is never read here.
	maxCheckMessageBytes = 256 << 10
	// maxCheckHeaders bounds the number of request headers in a Check.
	maxCheckHeaders = 200
	// maxCheckHeaderBytes bounds the names and values of those headers.
	maxCheckHeaderBytes = 96 << 10
	// maxCheckCertificateBytes bounds the URL-encoded PEM client
	// certificate (attributes.source.certificate).
	maxCheckCertificateBytes = 32 << 10
	// checkTimeout bounds one Check, whatever deadline the caller sent
	// (Envoy sends its ext_authz timeout, 200 ms by default).
	checkTimeout = 10 * time.Second
	// extAuthzService is the gRPC service name, also reported by the
	// health service.
	extAuthzService = "envoy.service.auth.v3.Authorization"
)

// extAuthz serves envoy.service.auth.v3.Authorization/Check for serve:
// the attributes Envoy sends become the canonical original request and a
// synthetic *http.Request carrying the credentials, judged by the same
// decide as every HTTP check.
type extAuthz struct {
	authv3.UnimplementedAuthorizationServer
	s *server
}

// Check answers one ext_authz check. Every refusal is a CheckResponse
// with a DeniedHttpResponse (the RPC itself succeeds), so Envoy sends the
// client the status, challenge and body decided here; an RPC error would
// make Envoy answer with its status_on_error instead.
func (a *extAuthz) Check(ctx context.Context, in *authv3.CheckRequest) (resp *authv3.CheckResponse, err error) {
	defer func() {
		// A bug must not take the server down, and must not allow: an
		// RPC error makes Envoy deny with status_on_error (fail closed).
		if v := recover(); v != nil {
			a.s.log.Error("ext_authz: panic in Check", "panic", fmt.Sprint(v))
			resp, err = nil, status.Error(codes.Internal, "internal error")
		}
	}()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	st := a.s.cur.Load()
	r, req, reqErr := checkAttributes(ctx, in, st.fa.Paths, st.fa.TenantHeader)
	d := st.decide(r, req, reqErr)
	a.s.logDecision(ctx, st, d)
	resp, code := st.checkResponse(r, d)
	a.s.metrics.checked("ext_authz_grpc", code, time.Since(start))
	return resp, nil
}

// checkResponse renders a decision as Envoy expects it, and returns the
// HTTP status it carries.
//
// Allow: OkHttpResponse whose headers set each non-empty identity header
// (X-Auth-*) with OVERWRITE_IF_EXISTS_OR_ADD, which replaces every copy
// the client sent, and whose headers_to_remove names each identity
// header without a value, so no client copy of it survives either. A
// name is never in both lists: Envoy applies headers_to_remove after
// headers (source/extensions/filters/http/ext_authz/ext_authz.cc), so a
// name in both would remove the value just set.
//
// Deny: DeniedHttpResponse with the status, WWW-Authenticate (DPoP
// challenge included), Retry-After on 503 and the fixed JSON body of the
// HTTP answer, rendered by the same Challenge; the CheckResponse status
// is the gRPC code Envoy's convention pairs with it (grpcauth.Code).
func (st *state) checkResponse(r *http.Request, d decision) (*authv3.CheckResponse, int) {
	if d.err == nil {
		h := make(http.Header)
		st.allowHeaders(h, d.p)
		ok := &authv3.OkHttpResponse{}
		for _, name := range identityHeaders(h) {
			v, key := h.Get(name), strings.ToLower(name)
			if v == "" {
				ok.HeadersToRemove = append(ok.HeadersToRemove, key)
				continue
			}
			ok.Headers = append(ok.Headers, overwrite(key, v))
		}
		return &authv3.CheckResponse{
			Status:       &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok},
		}, http.StatusOK
	}
	rec := &challengeRecorder{h: make(http.Header)}
	st.auth.ChallengeFor(r, d.err).Write(rec)
	denied := &authv3.DeniedHttpResponse{
		Status: &typev3.HttpStatus{Code: typev3.StatusCode(rec.status)},
		Body:   rec.body.String(),
	}
	names := make([]string, 0, len(rec.h))
	for name := range rec.h {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range rec.h[name] {
			denied.Headers = append(denied.Headers, overwrite(strings.ToLower(name), v))
		}
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(grpcauth.Code(rec.status)), Message: http.StatusText(rec.status)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: denied},
	}, rec.status
}

// identityHeaders returns the names allowHeaders set that go to the
// upstream, sorted: all but the caching header meant for the gateway.
func identityHeaders(h http.Header) []string {
	names := make([]string, 0, len(h))
	for name := range h {
		if name != "Cache-Control" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func overwrite(key, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: key, Value: value},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// challengeRecorder is the http.ResponseWriter a Challenge writes into,
// so the gRPC answer carries exactly the headers and body of the HTTP one.
type challengeRecorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (c *challengeRecorder) Header() http.Header { return c.h }
func (c *challengeRecorder) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}
func (c *challengeRecorder) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len()+len(p) > 4<<10 {
		return 0, errors.New("ext_authz: challenge body too large")
	}
	return c.body.Write(p)
}

// gatewayCertKey is the context key of the client certificate a gateway
// reported for a check.
type gatewayCertKey struct{}

// gatewayCertificate is serve's Config.ClientCertificate: the client
// certificate Envoy reported in a gRPC check (attributes.source
// .certificate), nil otherwise. The TLS connection serve itself sees is
// the gateway's, never the client's, so an HTTP check has none and
// certificate-bound tokens fail closed there.
func gatewayCertificate(r *http.Request) *x509.Certificate {
	c, _ := r.Context().Value(gatewayCertKey{}).(*x509.Certificate)
	return c
}

// badAttributes refuses a Check whose attributes cannot describe one
// request: 400 invalid_request, like a bad forwarded header.
func badAttributes(format string, args ...any) error {
	return &canonical.RequestError{Part: "forwarded", Reason: "ext_authz: " + fmt.Sprintf(format, args...)}
}

// singleHeaders may appear once only in a Check: the credentials and the
// request line. Envoy merges a repeated header into one value joined by
// "," (or, with encode_raw_headers, lists it twice in header_map).
var singleHeaders = []string{"Authorization", "Dpop", "Host", ":authority", ":method", ":path", ":scheme"}

// checkAttributes converts a Check into what decide judges: a synthetic
// request r carrying the original request's headers (the credentials:
// Authorization, DPoP, Cookie, the tenant header) and the client
// certificate (see gatewayCertificate), and the canonical original
// request built from attributes.request.http: method, scheme, host
// (:authority) and path (path and query, as sent). r is never nil, so a
// refusal can still answer in the scheme the client used; err wraps
// canonical.ErrRequest when the attributes are missing, malformed, too
// large or ambiguous.
func checkAttributes(ctx context.Context, in *authv3.CheckRequest, pol canonical.Policy, tenantHeader string) (*http.Request, canonical.Request, error) {
	r := (&http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: "/"},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header),
	}).WithContext(ctx)
	hr := in.GetAttributes().GetRequest().GetHttp()
	if hr == nil {
		return r, canonical.Request{}, badAttributes("no attributes.request.http")
	}
	if err := checkHeaders(r.Header, hr, tenantHeader); err != nil {
		return r, canonical.Request{}, err
	}
	if hr.GetQuery() != "" || hr.GetFragment() != "" {
		// Envoy keeps the query in path and never sets these.
		return r, canonical.Request{}, badAttributes("query or fragment attribute set")
	}
	for pseudo, want := range map[string]string{":authority": hr.GetHost(), "Host": hr.GetHost(), ":method": hr.GetMethod(), ":path": hr.GetPath(), ":scheme": hr.GetScheme()} {
		if v, ok := r.Header[pseudo]; ok && v[0] != want {
			return r, canonical.Request{}, badAttributes("header %s disagrees with the attribute", pseudo)
		}
	}
	for _, pseudo := range []string{":authority", ":method", ":path", ":scheme"} {
		delete(r.Header, pseudo)
	}
	req, err := canonical.New(hr.GetMethod(), hr.GetScheme(), hr.GetHost(), hr.GetPath(), pol)
	if err != nil {
		return r, canonical.Request{}, err
	}
	cert, err := sourceCertificate(in.GetAttributes().GetSource().GetCertificate())
	if err != nil {
		return r, canonical.Request{}, err
	}
	r.Method, r.Host, r.RequestURI = req.Method, hr.GetHost(), hr.GetPath()
	r.URL = &url.URL{Path: req.DecodedPath(), RawPath: req.Path, RawQuery: req.Query}
	if cert != nil {
		r = r.WithContext(context.WithValue(ctx, gatewayCertKey{}, cert))
	}
	return r, req, nil
}

// checkHeaders copies the request headers of hr into h: from the headers
// map (Envoy's default: lower-case names, repeated headers merged with
// ",") or from header_map (encode_raw_headers: raw values, repeats kept),
// never both. Names must be tokens (pseudo-headers start with ':'),
// compared without case; values must be valid field values; count and
// size are bounded. A header
// in singleHeaders, or the tenant header, that appears twice or holds a
// merged list is refused; merged Cookie headers are split again, so two
// token cookies are seen as two.
func checkHeaders(h http.Header, hr *authv3.AttributeContext_HttpRequest, tenantHeader string) error {
	m, raw := hr.GetHeaders(), hr.GetHeaderMap().GetHeaders()
	if len(m) > 0 && len(raw) > 0 {
		return badAttributes("both headers and header_map set")
	}
	if n := len(m) + len(raw); n > maxCheckHeaders {
		return badAttributes("%d headers", n)
	}
	size := 0
	add := func(name, value string) error {
		size += len(name) + len(value)
		switch {
		case size > maxCheckHeaderBytes:
			return badAttributes("headers larger than %d bytes", maxCheckHeaderBytes)
		case !validHeaderName(name):
			return badAttributes("header name %.64q", name)
		case !httpguts.ValidHeaderFieldValue(value):
			return badAttributes("invalid value of header %.64q", name)
		}
		// Envoy sends lower-case names; other spellings of one name
		// become one key here, so they count as a repeat.
		key := strings.ToLower(name)
		if key[0] != ':' {
			key = http.CanonicalHeaderKey(key)
		}
		h[key] = append(h[key], value)
		return nil
	}
	for name, value := range m {
		if err := add(name, value); err != nil {
			return err
		}
	}
	for _, hv := range raw {
		value := hv.GetValue()
		if rv := hv.GetRawValue(); len(rv) > 0 {
			value = string(rv)
		}
		if err := add(hv.GetKey(), value); err != nil {
			return err
		}
	}
	single := singleHeaders
	if tenantHeader != "" {
		single = append(single[:len(single):len(single)], http.CanonicalHeaderKey(tenantHeader))
	}
	for _, name := range single {
		switch v := h[name]; {
		case len(v) > 1:
			return badAttributes("%d %s headers", len(v), name)
		case len(v) == 1 && name[0] != ':' && strings.Contains(v[0], ","):
			// Envoy's merge of repeated headers: a token, a proof, a
			// tenant id and a host never hold a comma themselves.
			return badAttributes("%s holds a list (a repeated header)", name)
		}
	}
	if cookies := h["Cookie"]; len(cookies) > 0 {
		var split []string
		for _, c := range cookies {
			for _, part := range strings.Split(c, ",") {
				if part = strings.TrimSpace(part); part != "" {
					split = append(split, part)
				}
			}
		}
		h["Cookie"] = split
	}
	return nil
}

// validHeaderName accepts an RFC 9110 token, or ':' and a token for a
// pseudo-header.
func validHeaderName(name string) bool {
	name = strings.TrimPrefix(name, ":")
	return name != "" && httpguts.ValidHeaderFieldName(name)
}

// sourceCertificate parses attributes.source.certificate: the client's
// end-entity certificate as URL-encoded PEM (Envoy's
// include_peer_certificate), "" when there is none. Anything else than
// exactly one CERTIFICATE block is refused.
func sourceCertificate(enc string) (*x509.Certificate, error) {
	if enc == "" {
		return nil, nil
	}
	if len(enc) > maxCheckCertificateBytes {
		return nil, badAttributes("source certificate of %d bytes", len(enc))
	}
	// PathUnescape, not QueryUnescape: Envoy escapes '+' as %2B, and a
	// '+' must never turn into a space.
	p, err := url.PathUnescape(enc)
	if err != nil {
		return nil, badAttributes("source certificate is not URL-encoded")
	}
	block, rest := pem.Decode([]byte(p))
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) > 0 {
		return nil, badAttributes("source certificate is not one PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, badAttributes("source certificate: %v", err)
	}
	return cert, nil
}

// extAuthzServer is the gRPC listener of serve: Check and the standard
// health service on one port. Its goroutine is owned: stop waits for it.
type extAuthzServer struct {
	g      *grpc.Server
	health *health.Server
	done   chan struct{}
	once   sync.Once
}

// startExtAuthz listens on addr ("" disables gRPC: nil is returned) and
// serves in a goroutine that reports a failure on errc (which must have
// room for it).
func (s *server) startExtAuthz(addr string, errc chan<- error) (*extAuthzServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve: --grpc-listen: %w", err)
	}
	g := grpc.NewServer(
		grpc.MaxRecvMsgSize(maxCheckMessageBytes),
		grpc.MaxSendMsgSize(64<<10),
		grpc.MaxHeaderListSize(64<<10),
		grpc.MaxConcurrentStreams(1024),
		grpc.ConnectionTimeout(10*time.Second),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 10 * time.Minute, Time: time.Minute, Timeout: 20 * time.Second}),
	)
	authv3.RegisterAuthorizationServer(g, &extAuthz{s: s})
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(extAuthzService, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(g, readiness{Server: hs, s: s})
	e := &extAuthzServer{g: g, health: hs, done: make(chan struct{})}
	s.log.Info("listening for ext_authz gRPC", "addr", ln.Addr().String())
	if s.hooks != nil && s.hooks.grpcListening != nil {
		s.hooks.grpcListening(ln.Addr().String())
	}
	go func() {
		defer close(e.done)
		if err := g.Serve(ln); err != nil {
			errc <- fmt.Errorf("serve: ext_authz gRPC: %w", err)
		}
	}()
	return e, nil
}

// readiness is the gRPC health service: the standard one, except that
// Check for the Authorization service also needs the keys of every
// prefetch issuer, as /readyz does, so Envoy's grpc_health_check keeps
// checks away from an instance that would answer 503. The server as a
// whole (service "") is SERVING while it runs.
type readiness struct {
	*health.Server
	s *server
}

// Check reports the status of req's service.
func (h readiness) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	resp, err := h.Server.Check(ctx, req)
	if err == nil && req.GetService() == extAuthzService && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING && !h.s.cur.Load().reg.Ready() {
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}, nil
	}
	return resp, err
}

// stop reports NOT_SERVING, lets running checks finish until ctx ends,
// then closes what is left, and waits for the serving goroutine. It is
// safe on nil and more than once.
func (e *extAuthzServer) stop(ctx context.Context) {
	if e == nil {
		return
	}
	e.once.Do(func() {
		e.health.Shutdown()
		graceful := make(chan struct{})
		go func() {
			e.g.GracefulStop()
			close(graceful)
		}()
		select {
		case <-graceful:
		case <-ctx.Done():
			e.g.Stop()
			<-graceful
		}
		<-e.done
	})
}
