package issuer

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/tenantjwt/tenantjwt"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in      string
		want    []segment
		wantErr bool
	}{
		{"", nil, false},
		{"roles", []segment{{key: "roles"}}, false},
		{"realm_access.roles", []segment{{key: "realm_access"}, {key: "roles"}}, false},
		{"cognito:groups", []segment{{key: "cognito:groups"}}, false},
		{"urn:zitadel:iam:org:project:roles", []segment{{key: "urn:zitadel:iam:org:project:roles"}}, false},
		{"https://example.com/roles", []segment{{key: "https://example.com/roles"}}, false},
		{"https://example.com/a.b", []segment{{key: "https://example.com/a.b"}}, false},
		{`"https://x.com/claims".roles`, []segment{{key: "https://x.com/claims"}, {key: "roles"}}, false},
		{`"a.b"`, []segment{{key: "a.b"}}, false},
		{`"a\"b".c`, []segment{{key: `a"b`}, {key: "c"}}, false},
		{`"a\\b"`, []segment{{key: `a\b`}}, false},
		{"tenants.{tenant}.roles", []segment{{key: "tenants"}, {tenant: true, key: "{tenant}"}, {key: "roles"}}, false},
		{`o.rol`, []segment{{key: "o"}, {key: "rol"}}, false},
		{"a..b", nil, true},
		{".a", nil, true},
		{"a.", nil, true},
		{`"a`, nil, true},
		{`""`, nil, true},
		{`"a"b`, nil, true},
		{`a"b`, nil, true},
		{`"a\x"`, nil, true},
		{"x.{org}", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := parsePath(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parsePath(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && !reflect.DeepEqual(p.segs, tt.want) {
				t.Errorf("parsePath(%q) = %+v, want %+v", tt.in, p.segs, tt.want)
			}
		})
	}
}

func TestKeyIssuerMatches(t *testing.T) {
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

func TestParseNumericDate(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"0", 0, false},
		{"1700000000", 1700000000, false},
		{"1700000000.5", 1700000000.5, false},
		{"1.7e9", 1.7e9, false},
		{"253402300799", 253402300799, false},
		{"253402300800", 0, true},
		{"-1", 0, true},
		{`"1700000000"`, 0, true},
		{"null", 0, true},
		{"true", 0, true},
		{"1e400", 0, true},
		{"[1]", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := parseNumericDate(json.RawMessage(tt.in))
			if (err != nil) != tt.wantErr || (err == nil && d.sec != tt.want) {
				t.Errorf("parseNumericDate(%s) = %v, %v; want %v, err %v", tt.in, d.sec, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestTemplateMatch(t *testing.T) {
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
		p    Preset
	}{
		{"no name", Preset{}},
		{"bad path", Preset{Name: "t-bad-path", Claims: ClaimMapping{Roles: "a..b"}}},
		{"bad alg", Preset{Name: "t-bad-alg", Algorithms: []string{"HS256"}}},
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
