package grpcauth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware/grpcauth"
)

// The challenges are the HTTP middleware's WWW-Authenticate values.
const (
	hdrNoToken      = `Bearer realm="api"`
	hdrInvalidToken = `Bearer realm="api", error="invalid_token", error_description="the access token is not valid"`
	hdrBadRequest   = `Bearer realm="api", error="invalid_request", error_description="the request must carry exactly one well-formed bearer token"`
	hdrForbidden    = `Bearer realm="api", error="insufficient_scope", error_description="the access token does not allow this request"`
	dpopAlgs        = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA"`
	hdrBadProof     = `DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is not valid", ` + dpopAlgs
	hdrDPoPToken    = `DPoP realm="api", error="invalid_token", error_description="the access token is not valid", ` + dpopAlgs

	msgNoToken     = "authentication required"
	msgInvalid     = "the access token is not valid"
	msgBadRequest  = "the request must carry exactly one well-formed bearer token"
	msgForbidden   = "the access token does not allow this request"
	msgUnavailable = "the access token cannot be verified right now"
	msgBadProof    = "the DPoP proof is not valid"
)

func TestStatusMapping(t *testing.T) {
	e := newEnv(t)
	cfg := grpcauth.Config{Guards: map[string][]grpcauth.Guard{mAdmin: {grpcauth.RequireRoles("admin")}}}
	hidden := cfg
	hidden.HideOutages = true
	stranger := issuertest.New(t) // not trusted by the registry
	admin := e.acme.Mint(map[string]any{"sub": "ann", "roles": []string{"admin"}})
	viewer := e.acme.Mint(map[string]any{"sub": "vic", "roles": []string{"viewer", "Admin", "admin "}})
	tests := []struct {
		name   string
		cfg    grpcauth.Config
		method string
		md     md
		want   result
	}{
		{"good token", cfg, mWhoami, bearer(admin), result{code: codes.OK, body: "ann|acme||admin"}},
		{"no token", cfg, mWhoami, nil, result{codes.Unauthenticated, msgNoToken, "", hdrNoToken}},
		{"other scheme", cfg, mWhoami, md{"authorization": {"Basic YTpi"}}, result{codes.Unauthenticated, msgNoToken, "", hdrNoToken}},
		{"garbage token", cfg, mWhoami, bearer("abc.def.ghi"), result{codes.Unauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"not a b64token", cfg, mWhoami, md{"authorization": {"Bearer a,b"}}, result{codes.Unauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"empty credential", cfg, mWhoami, md{"authorization": {"Bearer "}}, result{codes.Unauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"untrusted issuer", cfg, mWhoami, bearer(stranger.Mint(nil)), result{codes.Unauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"expired", cfg, mWhoami, bearer(e.acme.Mint(map[string]any{"exp": 1000})), result{codes.Unauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"two tokens", cfg, mWhoami, md{"authorization": {"Bearer " + admin, "Bearer " + viewer}}, result{codes.InvalidArgument, msgBadRequest, "", hdrBadRequest}},
		{"the same token twice", cfg, mWhoami, md{"authorization": {"Bearer " + admin, "Bearer " + admin}}, result{codes.InvalidArgument, msgBadRequest, "", hdrBadRequest}},
		{"bearer and basic", cfg, mWhoami, md{"authorization": {"Bearer " + admin, "Basic YTpi"}}, result{codes.InvalidArgument, msgBadRequest, "", hdrBadRequest}},
		{"guard met", cfg, mAdmin, bearer(admin), result{code: codes.OK, body: "ann|acme||admin"}},
		{"guard not met (near misses)", cfg, mAdmin, bearer(viewer), result{codes.PermissionDenied, msgForbidden, "", hdrForbidden}},
		{"keys unavailable", cfg, mWhoami, bearer(e.down.Mint(nil)), result{codes.Unavailable, msgUnavailable, "", ""}},
		{"keys unavailable, outages hidden", hidden, mWhoami, bearer(e.down.Mint(nil)), result{codes.Unauthenticated, msgInvalid, "", hdrInvalidToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := newServer(t, e.reg, tt.cfg)
			if got := invoke(t, conn, tt.method, tt.md, ""); got != tt.want {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestTwoTenants(t *testing.T) {
	e := newEnv(t)
	conn := newServer(t, e.reg, grpcauth.Config{Guards: map[string][]grpcauth.Guard{mAdmin: {grpcauth.RequireTenant("globex"), grpcauth.RequireRoles("admin")}}})
	alice := e.acme.Mint(map[string]any{"sub": "alice", "roles": []string{"admin"}})
	bob := e.globex.Mint(map[string]any{"sub": "bob", "roles": []string{"admin"}})
	tests := []struct {
		name, method, tok string
		want              result
	}{
		{"acme's token", mWhoami, alice, result{code: codes.OK, body: "alice|acme||admin"}},
		{"globex's token", mWhoami, bob, result{code: codes.OK, body: "bob|globex||admin"}},
		{"globex's admin method, globex admin", mAdmin, bob, result{code: codes.OK, body: "bob|globex||admin"}},
		{"globex's admin method, acme admin", mAdmin, alice, result{codes.PermissionDenied, msgForbidden, "", hdrForbidden}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := invoke(t, conn, tt.method, bearer(tt.tok), ""); got != tt.want {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestTenantSelection(t *testing.T) {
	e := newEnv(t)
	tok := e.multiToken()
	cfg := grpcauth.Config{TenantMetadata: grpcauth.TenantMetadata}
	tests := []struct {
		name   string
		cfg    grpcauth.Config
		verify bool // a verifier that cannot select tenants
		tenant []string
		want   result
	}{
		{"no selection keeps the token's tenant", cfg, false, nil, result{code: codes.OK, body: "carol|t1||admin"}},
		{"select a listed tenant", cfg, false, []string{"t2"}, result{code: codes.OK, body: "carol|t2||viewer"}},
		{"select the current tenant", cfg, false, []string{"t1"}, result{code: codes.OK, body: "carol|t1||admin"}},
		{"unlisted tenant", cfg, false, []string{"t3"}, result{codes.PermissionDenied, msgForbidden, "", hdrForbidden}},
		{"near miss", cfg, false, []string{"T2"}, result{codes.PermissionDenied, msgForbidden, "", hdrForbidden}},
		{"two values", cfg, false, []string{"t1", "t2"}, result{codes.InvalidArgument, msgBadRequest, "", hdrBadRequest}},
		{"verifier cannot select", cfg, true, []string{"t2"}, result{codes.PermissionDenied, msgForbidden, "", hdrForbidden}},
		{"selection off: metadata ignored", grpcauth.Config{}, false, []string{"t2"}, result{code: codes.OK, body: "carol|t1||admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var conn *grpc.ClientConn
			if tt.verify {
				conn = newServer(t, verifierOnly{e.reg}, tt.cfg)
			} else {
				conn = newServer(t, e.reg, tt.cfg)
			}
			m := bearer(tok)
			if tt.tenant != nil {
				m["x-tenant-id"] = tt.tenant
			}
			if got := invoke(t, conn, mWhoami, m, ""); got != tt.want {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestSkipList(t *testing.T) {
	e := newEnv(t)
	tok := bearer(e.acme.Mint(nil))
	t.Run("default skips health", func(t *testing.T) {
		conn := newServer(t, e.reg, grpcauth.Config{})
		if got := healthCheck(t, conn, nil); got != codes.OK {
			t.Errorf("health without token: %v, want OK", got)
		}
		if got := invoke(t, conn, mPublic, nil, ""); got.code != codes.Unauthenticated {
			t.Errorf("other method without token: %v, want Unauthenticated", got)
		}
	})
	t.Run("empty list authenticates health", func(t *testing.T) {
		conn := newServer(t, e.reg, grpcauth.Config{Skip: []string{}})
		if got := healthCheck(t, conn, nil); got != codes.Unauthenticated {
			t.Errorf("health without token: %v, want Unauthenticated", got)
		}
		if got := healthCheck(t, conn, tok); got != codes.OK {
			t.Errorf("health with token: %v, want OK", got)
		}
	})
	t.Run("custom list", func(t *testing.T) {
		conn := newServer(t, e.reg, grpcauth.Config{
			Skip:   []string{mPublic, mAdmin, "/test.v1.Ech/*"},
			Guards: map[string][]grpcauth.Guard{mAdmin: {grpcauth.RequireRoles("admin")}},
		})
		if got := invoke(t, conn, mPublic, nil, ""); got.code != codes.OK || got.body != "anonymous" {
			t.Errorf("skipped method: %v, want OK anonymous", got)
		}
		if got := invoke(t, conn, mAdmin, nil, ""); got.code != codes.Unauthenticated {
			t.Errorf("skipped but guarded method: %v, want Unauthenticated", got)
		}
		if got := invoke(t, conn, mWhoami, nil, ""); got.code != codes.Unauthenticated {
			t.Errorf("unlisted method: %v, want Unauthenticated", got)
		}
		if got := healthCheck(t, conn, nil); got != codes.Unauthenticated {
			t.Errorf("health, not in the custom list: %v, want Unauthenticated", got)
		}
	})
	t.Run("whole service", func(t *testing.T) {
		conn := newServer(t, e.reg, grpcauth.Config{Skip: []string{"/test.v1.Echo/*"}})
		if got := invoke(t, conn, mWhoami, nil, ""); got.code != codes.OK {
			t.Errorf("method of a skipped service: %v, want OK", got)
		}
	})
}

func TestOptional(t *testing.T) {
	e := newEnv(t)
	conn := newServer(t, e.reg, grpcauth.Config{Optional: true, Guards: map[string][]grpcauth.Guard{mAdmin: {grpcauth.RequireRoles("admin")}}})
	tests := []struct {
		name, method string
		md           md
		want         result
	}{
		{"no token", mWhoami, nil, result{code: codes.OK, body: "anonymous"}},
		{"other scheme", mWhoami, md{"authorization": {"Basic YTpi"}}, result{code: codes.OK, body: "anonymous"}},
		{"bad token still refused", mWhoami, bearer("abc.def.ghi"), result{codes.Unauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"guarded method without token", mAdmin, nil, result{codes.Unauthenticated, msgNoToken, "", hdrNoToken}},
		{"token", mWhoami, bearer(e.acme.Mint(map[string]any{"sub": "ann"})), result{code: codes.OK, body: "ann|acme||"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := invoke(t, conn, tt.method, tt.md, ""); got != tt.want {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestCheckInHandler(t *testing.T) {
	e := newEnv(t)
	conn := newServer(t, e.reg, grpcauth.Config{})
	tok := bearer(e.acme.Mint(map[string]any{"sub": "ann", "roles": []string{"editor"}}))
	if got, want := invoke(t, conn, mChecked, tok, "editor"), (result{code: codes.OK, body: "ann|acme||editor"}); got != want {
		t.Errorf("role held: got %v, want %v", got, want)
	}
	if got, want := invoke(t, conn, mChecked, tok, "admin"), (result{codes.PermissionDenied, msgForbidden, "", hdrForbidden}); got != want {
		t.Errorf("role not held: got %v, want %v", got, want)
	}
	// Outside an authenticated call (a skipped method), Check finds no
	// Principal.
	if err := grpcauth.Check(context.Background(), grpcauth.RequireRoles("admin")); status.Code(err) != codes.Unauthenticated {
		t.Errorf("Check without principal: %v, want Unauthenticated", err)
	}
	if err := grpcauth.Check(context.Background(), grpcauth.Guard{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("zero Guard without principal: %v, want Unauthenticated", err)
	}
	p := tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "x", Roles: []string{"admin"}})
	ctx := tenantjwt.NewContext(context.Background(), p)
	if err := grpcauth.Check(ctx, grpcauth.RequireRoles("admin"), grpcauth.RequirePermissions("read")); status.Code(err) != codes.PermissionDenied {
		t.Errorf("second guard unmet: %v, want PermissionDenied", err)
	}
	if err := grpcauth.Check(ctx, grpcauth.Guard{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("zero Guard: %v, want PermissionDenied", err)
	}
	if err := grpcauth.Check(ctx, grpcauth.RequireRoles("admin"), grpcauth.RequireAllRoles("admin")); err != nil {
		t.Errorf("guards met: %v", err)
	}
}

func TestGuards(t *testing.T) {
	p := tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "ann", Tenant: "acme", Roles: []string{"admin", "dev"}, Permissions: []string{"read", "write"}, Scopes: []string{"api"}})
	tests := []struct {
		name string
		g    grpcauth.Guard
		ok   bool
	}{
		{"any role", grpcauth.RequireRoles("ops", "dev"), true},
		{"no role", grpcauth.RequireRoles("ops"), false},
		{"all roles", grpcauth.RequireAllRoles("admin", "dev"), true},
		{"not all roles", grpcauth.RequireAllRoles("admin", "ops"), false},
		{"permissions", grpcauth.RequirePermissions("read", "write"), true},
		{"missing permission", grpcauth.RequirePermissions("read", "delete"), false},
		{"scopes", grpcauth.RequireScopes("api"), true},
		{"missing scope", grpcauth.RequireScopes("admin"), false},
		{"tenant", grpcauth.RequireTenant("acme"), true},
		{"other tenant", grpcauth.RequireTenant("globex"), false},
		{"empty tenant", grpcauth.RequireTenant(""), false},
		{"predicate", grpcauth.Require("subject ann", func(p *tenantjwt.Principal) bool { return p.Subject() == "ann" }), true},
		{"predicate refuses", grpcauth.Require("subject bob", func(p *tenantjwt.Principal) bool { return p.Subject() == "bob" }), false},
	}
	ctx := tenantjwt.NewContext(context.Background(), p)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := grpcauth.Check(ctx, tt.g)
			if (err == nil) != tt.ok {
				t.Errorf("Check = %v, want ok %v", err, tt.ok)
			}
			if err != nil && status.Code(err) != codes.PermissionDenied {
				t.Errorf("code %v, want PermissionDenied", status.Code(err))
			}
		})
	}
}

func TestStream(t *testing.T) {
	e := newEnv(t)
	conn := newServer(t, e.reg, grpcauth.Config{Guards: map[string][]grpcauth.Guard{mChat: {grpcauth.RequireRoles("admin")}}})
	chat := func(m md, msgs ...string) ([]string, result) {
		t.Helper()
		ctx := metadata.NewOutgoingContext(t.Context(), metadata.MD(m))
		s, err := conn.NewStream(ctx, &chatDesc, mChat)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, msg := range msgs {
			if err := s.SendMsg(wrapperspb.String(msg)); err != nil {
				break // the server ended the stream; RecvMsg reports why
			}
			out := new(wrapperspb.StringValue)
			if err := s.RecvMsg(out); err != nil {
				break
			}
			got = append(got, out.GetValue())
		}
		s.CloseSend()
		err = s.RecvMsg(new(wrapperspb.StringValue))
		st := status.Convert(err)
		if errors.Is(err, context.Canceled) || err == nil {
			t.Fatalf("stream end: %v", err)
		}
		hdr, _ := s.Header()
		r := result{code: st.Code(), msg: st.Message(), header: strings.Join(hdr.Get("www-authenticate"), "\n")}
		if st.Code() == codes.Unknown && st.Message() == "EOF" {
			r = result{code: codes.OK}
		}
		return got, r
	}
	admin := e.acme.Mint(map[string]any{"sub": "ann", "roles": []string{"admin"}})
	viewer := e.globex.Mint(map[string]any{"sub": "vic", "roles": []string{"viewer"}})

	got, res := chat(bearer(admin), "a", "b")
	if want := []string{"a:ann|acme||admin", "b:ann|acme||admin"}; strings.Join(got, " ") != strings.Join(want, " ") || res.code != codes.OK {
		t.Errorf("admin: %v %v, want %v OK", got, res, want)
	}
	tests := []struct {
		name string
		md   md
		want result
	}{
		{"no token", nil, result{codes.Unauthenticated, msgNoToken, "", hdrNoToken}},
		{"bad token", bearer("abc.def.ghi"), result{codes.Unauthenticated, msgInvalid, "", hdrInvalidToken}},
		{"two tokens", md{"authorization": {"Bearer " + admin, "Bearer " + admin}}, result{codes.InvalidArgument, msgBadRequest, "", hdrBadRequest}},
		{"guard not met", bearer(viewer), result{codes.PermissionDenied, msgForbidden, "", hdrForbidden}},
		{"keys unavailable", bearer(e.down.Mint(nil)), result{codes.Unavailable, msgUnavailable, "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res := chat(tt.md, "a")
			if len(got) != 0 || res != tt.want {
				t.Errorf("got %v %v\nwant no messages, %v", got, res, tt.want)
			}
		})
	}
}

func TestErrorHookAndLogger(t *testing.T) {
	e := newEnv(t)
	var (
		mu    sync.Mutex
		calls []string
		errs  []error
		logs  bytes.Buffer
	)
	conn := newServer(t, e.reg, grpcauth.Config{
		Logger: slog.New(slog.NewTextHandler(&syncWriter{mu: &mu, w: &logs}, nil)),
		OnError: func(_ context.Context, method string, err error) {
			mu.Lock()
			defer mu.Unlock()
			calls, errs = append(calls, method), append(errs, err)
		},
	})
	expired := e.acme.Mint(map[string]any{"exp": 1000})
	got := invoke(t, conn, mWhoami, bearer(expired), "")
	if got.msg != msgInvalid {
		t.Errorf("message %q, want the fixed %q", got.msg, msgInvalid)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 || calls[0] != mWhoami || !errors.Is(errs[0], tenantjwt.ErrExpired) {
		t.Fatalf("hook saw %v %v, want one expired error for %s", calls, errs, mWhoami)
	}
	if strings.Contains(got.msg, "exp") {
		t.Errorf("wire message %q carries the detail", got.msg)
	}
	if l := logs.String(); !strings.Contains(l, "call refused") || !strings.Contains(l, mWhoami) || !strings.Contains(l, errs[0].Error()) || strings.Contains(l, expired) {
		t.Errorf("log %q: want the method and the detailed error, never the token", l)
	}
}

type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
