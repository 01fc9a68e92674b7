package jwt

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
)

func TestParsePath(t *testing.T) {
	t.Parallel()
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
			p, err := ParsePath(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParsePath(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && !reflect.DeepEqual(p.segs, tt.want) {
				t.Errorf("ParsePath(%q) = %+v, want %+v", tt.in, p.segs, tt.want)
			}
		})
	}
}

func TestParseNumericDate(t *testing.T) {
	t.Parallel()
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
			d, err := ParseNumericDate(json.RawMessage(tt.in))
			if (err != nil) != tt.wantErr || (err == nil && d.Sec != tt.want) {
				t.Errorf("ParseNumericDate(%s) = %v, %v; want %v, err %v", tt.in, d.Sec, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestSmallIntegerMatchesParseFloat checks the integer fast path of
// ParseNumericDate against strconv.ParseFloat, and that it leaves every
// other spelling to ParseFloat.
func TestSmallIntegerMatchesParseFloat(t *testing.T) {
	for _, in := range []string{"0", "7", "1700000000", "253402300799", "999999999999999", "100000000000000"} {
		got, ok := smallInteger([]byte(in))
		want, err := strconv.ParseFloat(in, 64)
		if !ok || err != nil || got != want {
			t.Errorf("smallInteger(%s) = %v, %v; ParseFloat %v, %v", in, got, ok, want, err)
		}
	}
	for _, in := range []string{"", "00", "01", "-1", "+1", "1.5", "1e3", "1000000000000000", " 1", "1 ", `"1"`, "0x10"} {
		if got, ok := smallInteger([]byte(in)); ok {
			t.Errorf("smallInteger(%q) = %v, want it left to ParseFloat", in, got)
		}
	}
}
