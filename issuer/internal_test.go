package issuer

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tenantjwt/tenantjwt"
)

func TestKeyIssuerMatches(t *testing.T) {
	t.Parallel()
	const ms = "https://login.microsoftonline.com/"
	tests := []struct {
		name, keyIss, iss string
		want              bool
	}{
		{"no binding", "", ms + "t1/v2.0", true},
		{"exact", ms + "t1/v2.0", ms + "t1/v2.0", true},
		{"exact other tenant", ms + "t1/v2.0", ms + "t2/v2.0", false},
		{"entra template", ms + "{tenantid}/v2.0", ms + "t2/v2.0", true},
		{"template, other host", ms + "{tenantid}/v2.0", "https://evil.example/t2/v2.0", false},
		{"template, two segments", ms + "{tenantid}/v2.0", ms + "a/b/v2.0", false},
		{"template, empty", ms + "{tenantid}/v2.0", ms + "/v2.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keyIssuerMatches(tt.keyIss, tt.iss); got != tt.want {
				t.Errorf("keyIssuerMatches(%q, %q) = %v, want %v", tt.keyIss, tt.iss, got, tt.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	t.Setenv("TJ_A", "alpha")
	t.Setenv("TJ_EMPTY", "")
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"plain", "plain", false},
		{"${TJ_A}", "alpha", false},
		{"x-${TJ_A}-${TJ_A}", "x-alpha-alpha", false},
		{"${TJ_EMPTY}", "", false},
		{"$$", "$", false},
		{"$${TJ_A}", "${TJ_A}", false},
		{"a$b", "a$b", false},
		{"end$", "end$", false},
		{"${TJ_UNSET_X}", "", true},
		{"${TJ_A", "", true},
		{"${}", "", true},
		{"${A-B}", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expand(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("expand(%q) = %q, %v; want %q, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestTemplateMatch(t *testing.T) {
	t.Parallel()
	tpl, err := parseTemplate("https://login.microsoftonline.com/{tenant}/v2.0")
	if err != nil || tpl == nil {
		t.Fatalf("parseTemplate: %v, %v", tpl, err)
	}
	tests := []struct {
		iss, want string
		ok        bool
	}{
		{"https://login.microsoftonline.com/t1/v2.0", "t1", true},
		{"https://login.microsoftonline.com//v2.0", "", false},
		{"https://login.microsoftonline.com/a/b/v2.0", "", false},
		{"https://login.microsoftonline.com/a%2Fb/v2.0", "", false},
		{"https://login.microsoftonline.com/a b/v2.0", "", false},
		{"https://login.microsoftonline.com/t1/v2.0/", "", false},
		{"http://login.microsoftonline.com/t1/v2.0", "", false},
	}
	for _, tt := range tests {
		got, ok := tpl.match(tt.iss)
		if ok != tt.ok || got != tt.want {
			t.Errorf("match(%q) = %q, %v; want %q, %v", tt.iss, got, ok, tt.want, tt.ok)
		}
	}
	if tpl, err := parseTemplate("https://x.example/{tenant}"); err != nil || tpl == nil {
		t.Errorf("placeholder as last segment: %v, %v", tpl, err)
	}
}

func TestRegisterPresetRejectsDefects(t *testing.T) {
	tests := []struct {
		name string
		p    preset
	}{
		{"no name", preset{}},
		{"bad path", preset{Name: "t-bad-path", Claims: ClaimMapping{Roles: "a..b"}}},
		{"bad alg", preset{Name: "t-bad-alg", Algorithms: []string{"HS256"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("registerPreset did not panic")
				}
			}()
			registerPreset(tt.p)
		})
	}
}

// TestEnsureCauseKeepsEveryCause: a preset's error that already names a
// cause keeps it alone, for every cause of the one list; the issuer's own
// copy of the list used to lack ErrDPoPProof and ErrTokenBinding, so such
// errors also matched ErrClaims.
func TestEnsureCauseKeepsEveryCause(t *testing.T) {
	t.Parallel()
	for _, c := range tenantjwt.Causes() {
		err := ensureCause(fmt.Errorf("preset: %w", c.Err), tenantjwt.ErrClaims)
		if !errors.Is(err, c.Err) || c.Err != tenantjwt.ErrClaims && errors.Is(err, tenantjwt.ErrClaims) {
			t.Errorf("ensureCause(%v) = %v: want %s alone", c.Err, err, c.Name)
		}
	}
	if err := ensureCause(errors.New("x"), tenantjwt.ErrClaims); !errors.Is(err, tenantjwt.ErrClaims) {
		t.Errorf("ensureCause without a cause = %v, want ErrClaims", err)
	}
}
