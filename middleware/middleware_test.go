package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/echoauth"
)

const (
	hdrNoToken      = `Bearer realm="api"`
	hdrInvalidToken = `Bearer realm="api", error="invalid_token", error_description="the access token is not valid"`
	hdrBadRequest   = `Bearer realm="api", error="invalid_request", error_description="the request must carry exactly one well-formed bearer token"`
	hdrForbidden    = `Bearer realm="api", error="insufficient_scope", error_description="the access token does not allow this request"`
)

// env is two real issuers of two tenants behind one registry: acme with a
// fixed tenant, and a Descope-shaped multi-tenant issuer.
type env struct {
	acme, multi, down *issuertest.Issuer
	reg               *issuer.Registry
}

// downSource is a key source whose IdP is unreachable.
type downSource struct{}

func (downSource) Lookup(context.Context, string) (*jwks.Key, error) {
	return nil, fmt.Errorf("test: idp down: %w", tenantjwt.ErrKeysUnavailable)
}
func (downSource) Current() *jwks.Set { return nil }

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		acme:  issuertest.New(t, issuertest.WithPath("/acme")),
		multi: issuertest.New(t, issuertest.WithPath("/multi"), issuertest.WithAlgorithm("ES256")),
		down:  issuertest.New(t, issuertest.WithPath("/down")),
	}
	acme := e.acme.LocalConfig()
	acme.Name, acme.Tenant = "acme", "acme"
	multi := e.multi.LocalConfig()
	multi.Name = "multi"
	multi.Claims = issuer.ClaimMapping{Tenant: "dct", Tenants: "tenants", Roles: "tenants.{tenant}.roles"}
	down := e.down.LocalConfig()
	down.Name, down.Keys = "down", downSource{}
	reg, err := issuer.New(issuer.Options{}, acme, multi, down)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	e.reg = reg
	return e
}

func (e *env) multiToken() string {
	return e.multi.Mint(map[string]any{
		"sub": "carol", "dct": "t1",
		"tenants": map[string]any{
			"t1": map[string]any{"roles": []string{"admin"}},
			"t2": map[string]any{"roles": []string{"viewer"}},
		},
	})
}

// adapter runs a request through one framework with cfg and reports whether
// the handler ran and with which principal.
type adapter struct {
	name  string
	serve func(v middleware.Verifier, cfg middleware.Config, r *http.Request) (rec *httptest.ResponseRecorder, reached bool, p *tenantjwt.Principal)
}

var adapters = []adapter{
	{"net/http", func(v middleware.Verifier, cfg middleware.Config, r *http.Request) (*httptest.ResponseRecorder, bool, *tenantjwt.Principal) {
		var reached bool
		var got *tenantjwt.Principal
		h := middleware.New(v, cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached = true
			got, _ = tenantjwt.FromContext(r.Context())
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec, reached, got
	}},
	{"echo", func(v middleware.Verifier, cfg middleware.Config, r *http.Request) (*httptest.ResponseRecorder, bool, *tenantjwt.Principal) {
		var reached bool
		var got *tenantjwt.Principal
		e := echo.New()
		e.Use(echoauth.New(v, echoauth.Config{Auth: cfg}))
		e.Any("/*", func(c echo.Context) error {
			reached = true
			got, _ = echoauth.PrincipalFrom(c)
			if q, _ := c.Get(echoauth.DefaultContextKey).(*tenantjwt.Principal); q != got {
				return fmt.Errorf("echo context holds %v, request context %v", q, got)
			}
			return c.NoContent(http.StatusOK)
		})
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, r)
		return rec, reached, got
	}},
}

func TestStatuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := e.acme.Mint(map[string]any{"sub": "alice"})
	forged := e.multi.Mint(map[string]any{"iss": e.acme.URL(), "sub": "mallory"}) // A's iss, B's key
	expired := e.acme.Mint(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})
	marker := e.acme.Mint(map[string]any{"sub": "MARKER-1234567890"})

	tests := []struct {
		name    string
		cfg     middleware.Config
		req     func(r *http.Request)
		status  int
		header  string
		subject string // when the handler must run
	}{
		{"valid token", middleware.Config{}, bearer(good), 200, "", "alice"},
		{"lower-case bearer", middleware.Config{}, setAuth("bearer " + good), 200, "", "alice"},
		{"upper-case BEARER and two spaces", middleware.Config{}, setAuth("BEARER  " + good), 200, "", "alice"},
		{"no Authorization", middleware.Config{}, func(*http.Request) {}, 401, hdrNoToken, ""},
		{"Basic scheme is no token", middleware.Config{}, setAuth("Basic YWxhZGRpbjpvcGVuc2VzYW1l"), 401, hdrNoToken, ""},
		{"Bearer with nothing after it", middleware.Config{}, setAuth("Bearer"), 401, hdrInvalidToken, ""},
		{"Bearer with spaces only", middleware.Config{}, setAuth("Bearer    "), 401, hdrInvalidToken, ""},
		{"two tokens in one header", middleware.Config{}, setAuth("Bearer " + good + " " + good), 401, hdrInvalidToken, ""},
		{"garbage token", middleware.Config{}, setAuth("Bearer abc"), 401, hdrInvalidToken, ""},
		{"forged: iss A signed by B", middleware.Config{}, bearer(forged), 401, hdrInvalidToken, ""},
		{"expired", middleware.Config{}, bearer(expired), 401, hdrInvalidToken, ""},
		{"marker token tampered", middleware.Config{}, bearer(marker[:len(marker)-4] + "AAAA"), 401, hdrInvalidToken, ""},
		{"two Authorization headers", middleware.Config{}, func(r *http.Request) {
			r.Header.Add("Authorization", "Bearer "+good)
			r.Header.Add("Authorization", "Bearer "+good)
		}, 400, hdrBadRequest, ""},
		{"header and cookie", middleware.Config{Sources: middleware.TokenSources{Cookie: "DS"}}, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+good)
			r.AddCookie(&http.Cookie{Name: "DS", Value: good})
		}, 400, hdrBadRequest, ""},
		{"cookie source", middleware.Config{Sources: middleware.TokenSources{Cookie: "DS"}}, func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: "DS", Value: good})
		}, 200, "", "alice"},
		{"cookie ignored unless enabled", middleware.Config{}, func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: "DS", Value: good})
		}, 401, hdrNoToken, ""},
		{"custom header source", middleware.Config{Sources: middleware.TokenSources{Header: "X-Access-Token"}}, func(r *http.Request) {
			r.Header.Set("X-Access-Token", good)
		}, 200, "", "alice"},
		{"query ignored unless enabled", middleware.Config{}, func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + good
		}, 401, hdrNoToken, ""},
		{"query when enabled", middleware.Config{Sources: middleware.TokenSources{Query: "access_token"}}, func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + good
		}, 200, "", "alice"},
		{"keys unavailable", middleware.Config{}, bearer(e.down.Mint(nil)), 503, "", ""},
		{"keys unavailable as 401", middleware.Config{KeysUnavailableStatus: 401}, bearer(e.down.Mint(nil)), 401, hdrInvalidToken, ""},
		{"realm is quoted", middleware.Config{Realm: `my "api"`}, func(*http.Request) {}, 401, `Bearer realm="my \"api\""`, ""},
	}
	for _, a := range adapters {
		for _, tt := range tests {
			t.Run(a.name+"/"+tt.name, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodGet, "/things", nil)
				tt.req(r)
				rec, reached, p := a.serve(e.reg, tt.cfg, r)
				if rec.Code != tt.status {
					t.Fatalf("status = %d, want %d (body %s)", rec.Code, tt.status, rec.Body)
				}
				if got := rec.Header().Get("WWW-Authenticate"); got != tt.header {
					t.Errorf("WWW-Authenticate = %q, want %q", got, tt.header)
				}
				if reached != (tt.status == 200) {
					t.Errorf("handler reached = %v, want %v", reached, tt.status == 200)
				}
				if tt.status == 200 && (p == nil || p.Subject() != tt.subject) {
					t.Errorf("principal = %+v, want subject %q", p, tt.subject)
				}
				body := rec.Body.String()
				if strings.Contains(body, "MARKER") || strings.Contains(body, good[:20]) {
					t.Errorf("body echoes the token: %s", body)
				}
				if tt.status != 200 && !strings.Contains(rec.Header().Get("Content-Type"), "application/json") {
					t.Errorf("Content-Type = %q, want JSON", rec.Header().Get("Content-Type"))
				}
			})
		}
	}
}

func bearer(tok string) func(*http.Request) { return setAuth("Bearer " + tok) }

func setAuth(v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", v) }
}

func TestOptionalMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := middleware.Config{Optional: true}
	for _, a := range adapters {
		t.Run(a.name+"/no token passes without principal", func(t *testing.T) {
			rec, reached, p := a.serve(e.reg, cfg, httptest.NewRequest("GET", "/", nil))
			if rec.Code != 200 || !reached || p != nil {
				t.Fatalf("status %d reached %v principal %v, want 200 true nil", rec.Code, reached, p)
			}
		})
		t.Run(a.name+"/bad token still refused", func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer x.y.z")
			rec, reached, _ := a.serve(e.reg, cfg, r)
			if rec.Code != 401 || reached {
				t.Fatalf("status %d reached %v, want 401 false", rec.Code, reached)
			}
		})
	}
}

func TestRequestBoundTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.acme.Mint(nil)
	cfg := middleware.Config{RequestTenant: middleware.HostTenants(map[string]string{
		"acme.example.com":   "acme",
		"globex.example.com": "globex",
		"*.tenants.example":  "",
	})}
	tests := []struct {
		name, host, token string
		status            int
	}{
		{"own host", "acme.example.com", acme, 200},
		{"own host with port and capitals", "ACME.example.com:8443", acme, 200},
		{"another tenant's host", "globex.example.com", acme, 403},
		{"unbound host", "api.example.com", acme, 200},
		{"wildcard names the tenant", "acme.tenants.example", acme, 200},
		{"wildcard, other tenant", "globex.tenants.example", acme, 403},
		{"wildcard needs one label", "a.acme.tenants.example", acme, 200},
		{"own host with a trailing dot", "acme.example.com.", acme, 200},
		{"another tenant's host with a trailing dot and port", "GLOBEX.example.com.:443", acme, 403},
		{"wildcard label is lower-cased", "ACME.tenants.example", acme, 200},
		{"host that could be read two ways", "globex..example.com", acme, 400},
	}
	for _, a := range adapters {
		for _, tt := range tests {
			t.Run(a.name+"/"+tt.name, func(t *testing.T) {
				r := httptest.NewRequest("GET", "/", nil)
				r.Host = tt.host
				r.Header.Set("Authorization", "Bearer "+tt.token)
				rec, reached, _ := a.serve(e.reg, cfg, r)
				if rec.Code != tt.status || reached != (tt.status == 200) {
					t.Fatalf("status %d reached %v, want %d", rec.Code, reached, tt.status)
				}
				if tt.status == 403 && rec.Header().Get("WWW-Authenticate") != hdrForbidden {
					t.Errorf("WWW-Authenticate = %q", rec.Header().Get("WWW-Authenticate"))
				}
			})
		}
	}
}

// TestHostTenants: host bindings are compared in canonical form, and a
// binding the map cannot express fails closed: ParseHostTenants reports
// it, and HostTenants refuses every request.
func TestHostTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.acme.Mint(nil)
	for name, hosts := range map[string]map[string]string{
		"empty tenant":           {"acme.example.com": ""},
		"invalid host":           {"acme..example.com": "acme"},
		"host with port":         {"acme.example.com:443": "acme"},
		"wildcard with a tenant": {"*.example.com": "acme"},
		"same host twice":        {"acme.example.com": "acme", "ACME.example.com.": "acme"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := middleware.ParseHostTenants(hosts); err == nil {
				t.Fatal("ParseHostTenants accepted it")
			}
			for _, a := range adapters {
				r := httptest.NewRequest("GET", "/", nil)
				r.Host = "api.example.com"
				r.Header.Set("Authorization", "Bearer "+acme)
				cfg := middleware.Config{RequestTenant: middleware.HostTenants(hosts)}
				if rec, reached, _ := a.serve(e.reg, cfg, r); rec.Code != 403 || reached {
					t.Errorf("%s: status %d reached %v, want 403", a.name, rec.Code, reached)
				}
			}
		})
	}
}

// verifierOnly hides the registry's SelectTenant.
type verifierOnly struct{ v middleware.Verifier }

func (o verifierOnly) Verify(ctx context.Context, tok string) (*tenantjwt.Principal, error) {
	return o.v.Verify(ctx, tok)
}

func TestTenantSelection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.multiToken()
	cfg := middleware.Config{TenantHeader: "X-Tenant-ID"}
	bound := cfg
	bound.RequestTenant = middleware.HostTenants(map[string]string{"t1.example.com": "t1", "t2.example.com": "t2"})
	tests := []struct {
		name     string
		v        middleware.Verifier
		cfg      middleware.Config
		host     string
		selected []string
		status   int
		tenant   string
		roles    string
	}{
		{"no header keeps the token's tenant", e.reg, cfg, "", nil, 200, "t1", "admin"},
		{"select a listed tenant", e.reg, cfg, "", []string{"t2"}, 200, "t2", "viewer"},
		{"select the current tenant", e.reg, cfg, "", []string{"t1"}, 200, "t1", "admin"},
		{"unlisted tenant", e.reg, cfg, "", []string{"t3"}, 403, "", ""},
		{"near miss", e.reg, cfg, "", []string{"T2"}, 403, "", ""},
		{"two headers", e.reg, cfg, "", []string{"t1", "t2"}, 400, "", ""},
		{"verifier cannot select", verifierOnly{e.reg}, cfg, "", []string{"t2"}, 403, "", ""},
		{"selection matches host binding", e.reg, bound, "t2.example.com", []string{"t2"}, 200, "t2", "viewer"},
		{"selection against host binding", e.reg, bound, "t1.example.com", []string{"t2"}, 403, "", ""},
		{"host of another tenant without selection", e.reg, bound, "t2.example.com", nil, 403, "", ""},
	}
	for _, a := range adapters {
		for _, tt := range tests {
			t.Run(a.name+"/"+tt.name, func(t *testing.T) {
				r := httptest.NewRequest("GET", "/", nil)
				if tt.host != "" {
					r.Host = tt.host
				}
				r.Header.Set("Authorization", "Bearer "+tok)
				for _, s := range tt.selected {
					r.Header.Add("X-Tenant-ID", s)
				}
				rec, reached, p := a.serve(tt.v, tt.cfg, r)
				if rec.Code != tt.status || reached != (tt.status == 200) {
					t.Fatalf("status %d reached %v, want %d (%s)", rec.Code, reached, tt.status, rec.Body)
				}
				if tt.status != 200 {
					return
				}
				if p.Tenant() != tt.tenant || strings.Join(p.Roles().Strings(), ",") != tt.roles {
					t.Errorf("tenant %q roles %q, want %q %q", p.Tenant(), p.Roles(), tt.tenant, tt.roles)
				}
			})
		}
	}
}

func TestErrorHandlerSeesDetailedError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expired := e.acme.Mint(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})
	var seen error
	h := middleware.New(e.reg, middleware.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		seen = err
		w.WriteHeader(http.StatusTeapot)
	}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler reached") }))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+expired)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusTeapot {
		t.Errorf("status = %d, want the handler's 418", rec.Code)
	}
	if !errors.Is(seen, tenantjwt.ErrExpired) || !errors.Is(seen, tenantjwt.ErrInvalidToken) {
		t.Errorf("ErrorHandler saw %v, want ErrExpired", seen)
	}
}

func TestStatusMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{middleware.ErrNoToken, 401, ""},
		{fmt.Errorf("wrapped: %w", middleware.ErrMultipleTokens), 400, "invalid_request"},
		{tenantjwt.ErrForbidden, 403, "insufficient_scope"},
		{tenantjwt.ErrKeysUnavailable, 503, ""},
		{tenantjwt.ErrExpired, 401, "invalid_token"},
		{tenantjwt.ErrUnknownIssuer, 401, "invalid_token"},
		{errors.New("something unexpected"), 401, "invalid_token"},
	}
	for _, tt := range tests {
		status, code := middleware.Status(tt.err)
		if status != tt.status || code != tt.code {
			t.Errorf("Status(%v) = %d %q, want %d %q", tt.err, status, code, tt.status, tt.code)
		}
	}
}
