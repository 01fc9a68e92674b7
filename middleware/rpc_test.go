package middleware_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware"
)

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", middleware.MaxTokenSourceBytes)
	tests := []struct {
		name, v string
		dpop    bool
		tok     string
		isDPoP  bool
		wantErr error
	}{
		{"bearer", "Bearer a.b.c", false, "a.b.c", false, nil},
		{"scheme case", "bEARER a.b.c", false, "a.b.c", false, nil},
		{"spaces after scheme", "Bearer   a.b.c", false, "a.b.c", false, nil},
		{"padding", "Bearer abc==", false, "abc==", false, nil},
		{"dpop accepted", "DPoP a.b.c", true, "a.b.c", true, nil},
		{"dpop not accepted", "DPoP a.b.c", false, "", false, middleware.ErrNoToken},
		{"basic", "Basic YTpi", true, "", false, middleware.ErrNoToken},
		{"empty", "", true, "", false, middleware.ErrNoToken},
		{"empty credential", "Bearer ", false, "", false, tenantjwt.ErrMalformed},
		{"comma", "Bearer a,b", false, "", false, tenantjwt.ErrMalformed},
		{"inner space", "Bearer a b", false, "", false, tenantjwt.ErrMalformed},
		{"padding inside", "Bearer a=b", false, "", false, tenantjwt.ErrMalformed},
		{"only padding", "Bearer ==", false, "", false, tenantjwt.ErrMalformed},
		{"too long", "Bearer " + long, false, "", false, tenantjwt.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, isDPoP, err := middleware.ParseAuthorization(tt.v, tt.dpop)
			if tok != tt.tok || isDPoP != tt.isDPoP || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("ParseAuthorization(%.20q) = %q, %v, %v; want %q, %v, %v", tt.v, tok, isDPoP, err, tt.tok, tt.isDPoP, tt.wantErr)
			}
		})
	}
}

// TestB64tokenEveryByte puts every byte value at every position of a
// token longer than two eight-byte steps, against the RFC 6750 grammar
// written out here.
func TestB64tokenEveryByte(t *testing.T) {
	t.Parallel()
	allowed := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0
	}
	const n = 19
	for pos := range n {
		for c := range 256 {
			b := []byte(strings.Repeat("x", n))
			b[pos] = byte(c)
			// Spaces before the token belong to the scheme's separator.
			want := allowed(byte(c)) || (c == '=' && pos == n-1 && pos > 0) || (c == ' ' && pos == 0)
			_, _, err := middleware.ParseAuthorization("Bearer "+string(b), false)
			if (err == nil) != want {
				t.Fatalf("byte %#x at %d: err %v, want accepted %v", c, pos, err, want)
			}
		}
	}
}

func TestSelectTenant(t *testing.T) {
	t.Parallel()
	p := tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "carol", Tenant: "t1", Tenants: []string{"t1", "t2"}})
	sel := selector{"t2": tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "carol", Tenant: "t2"}), "odd": tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "carol", Tenant: "t9"})}
	tests := []struct {
		name   string
		v      middleware.Verifier
		tenant string
		want   string
		ok     bool
	}{
		{"current tenant without a selector", verifierOnlyFunc{}, "t1", "t1", true},
		{"other tenant without a selector", verifierOnlyFunc{}, "t2", "", false},
		{"listed", sel, "t2", "t2", true},
		{"refused by the selector", sel, "t3", "", false},
		{"selector answers another tenant", sel, "odd", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			np, err := middleware.SelectTenant(context.Background(), tt.v, p, tt.tenant)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, tenantjwt.ErrForbidden)) {
				t.Fatalf("err %v, want ok %v (or ErrForbidden)", err, tt.ok)
			}
			if tt.ok && np.Tenant() != tt.want {
				t.Errorf("tenant %q, want %q", np.Tenant(), tt.want)
			}
		})
	}
}

type verifierOnlyFunc struct{}

func (verifierOnlyFunc) Verify(context.Context, string) (*tenantjwt.Principal, error) {
	return nil, tenantjwt.ErrInvalidToken
}

// selector switches to the principals it knows.
type selector map[string]*tenantjwt.Principal

func (s selector) Verify(context.Context, string) (*tenantjwt.Principal, error) {
	return nil, tenantjwt.ErrInvalidToken
}

func (s selector) SelectTenant(_ context.Context, _ *tenantjwt.Principal, tenant string) (*tenantjwt.Principal, error) {
	if p, ok := s[tenant]; ok {
		return p, nil
	}
	return nil, tenantjwt.ErrTenant
}
