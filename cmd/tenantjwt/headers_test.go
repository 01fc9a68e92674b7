package main

import (
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
)

func TestHeaderValueEncoding(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"alice":        "alice",
		"a b:c/d=e":    "a b:c/d=e",
		"a,b":          "a%2Cb",
		"50%":          "50%25",
		"%2C":          "%252C",
		"x\r\nSet: y":  "x%0D%0ASet: y",
		"tab\there":    "tab%09here",
		"\x00\x1f\x7f": "%00%1F%7F",
		"é":            "%C3%A9",
		",,":           "%2C%2C",
	} {
		if got := headerValue(in); got != want {
			t.Errorf("headerValue(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{}, ""},
		{[]string{""}, ""},
		{[]string{"admin"}, "admin"},
		{[]string{"a,b"}, "a%2Cb"},
		{[]string{"admin", "a,b", "", "é"}, "admin,a%2Cb,,%C3%A9"},
		{[]string{"", ""}, ","},
	} {
		if got := headerList(tt.in); got != tt.want {
			t.Errorf("headerList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestHeaderValueProperties checks the encoding on random bytes: the
// output is printable ASCII without ',' and decodes back to the input,
// and a value that needs no encoding comes back unchanged.
func TestHeaderValueProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = byte(' ' + rng.IntN(95))
			}
		}
		in := string(b)
		out := headerValue(in)
		for i := 0; i < len(out); i++ {
			if c := out[i]; c < 0x20 || c >= 0x7f || c == ',' {
				t.Fatalf("headerValue(%q) = %q: byte %#x", in, out, c)
			}
		}
		if dec, err := url.PathUnescape(out); err != nil || dec != in {
			t.Fatalf("headerValue(%q) = %q, decodes to %q, %v", in, out, dec, err)
		}
		if !strings.ContainsFunc(in, func(r rune) bool { return r < 0x20 || r >= 0x7f || r == '%' || r == ',' }) && out != in {
			t.Fatalf("headerValue(%q) = %q, want it unchanged", in, out)
		}
		if got := headerList([]string{in, in}); got != out+","+out {
			t.Fatalf("headerList of %q twice = %q", in, got)
		}
	}
}

func TestWriteIdentity(t *testing.T) {
	names := []string{"X-Auth-Issuer", "X-Auth-Subject", "X-Auth-Tenant", "X-Auth-Roles", "X-Auth-Permissions", "X-Auth-Scopes"}
	t.Run("anonymous: every header, empty", func(t *testing.T) {
		h := http.Header{}
		writeIdentity(h, nil)
		for _, n := range names {
			if v, ok := h[n]; !ok || len(v) != 1 || v[0] != "" {
				t.Errorf("%s = %q (present %v), want one empty value", n, v, ok)
			}
		}
		if h.Get("Cache-Control") != "no-store" || len(h) != 7 {
			t.Errorf("headers %v", h)
		}
	})
	t.Run("principal", func(t *testing.T) {
		h := http.Header{}
		// A client's copy, in another case, is replaced.
		h.Set("x-auth-subject", "eve")
		p := tenantjwt.NewPrincipal(tenantjwt.Identity{Issuer: "acme", Subject: "ann\r\nX-Evil: 1", Tenant: "t,1",
			Roles: []string{"admin", "a,b"}, Permissions: []string{"billing:write"}, Scopes: []string{"read", "write"}})
		writeIdentity(h, p)
		want := map[string]string{
			"X-Auth-Issuer": "acme", "X-Auth-Subject": "ann%0D%0AX-Evil: 1", "X-Auth-Tenant": "t%2C1",
			"X-Auth-Roles": "admin,a%2Cb", "X-Auth-Permissions": "billing:write", "X-Auth-Scopes": "read,write",
			"Cache-Control": "no-store",
		}
		for n, v := range want {
			if got := h.Values(n); len(got) != 1 || got[0] != v {
				t.Errorf("%s = %q, want [%q]", n, got, v)
			}
		}
		if len(h) != len(want) {
			t.Errorf("headers %v", h)
		}
		// The values share one array: adding to one header must not
		// touch the next.
		for _, n := range names {
			h.Add(n, "added")
		}
		for n, v := range want {
			if got := h.Values(n); got[0] != v {
				t.Errorf("after Add: %s = %q, want %q first", n, got, v)
			}
		}
	})
	t.Run("allocations", func(t *testing.T) {
		p := tenantjwt.NewPrincipal(tenantjwt.Identity{Issuer: "acme", Subject: "ann", Tenant: "t1",
			Roles: []string{"admin", "editor"}, Permissions: []string{"a", "b", "c"}, Scopes: []string{"read"}})
		h := make(http.Header, 16)
		if n := testing.AllocsPerRun(100, func() { writeIdentity(h, p) }); n > 2 {
			t.Errorf("writeIdentity: %v allocations, want at most 2", n)
		}
		if n := testing.AllocsPerRun(100, func() { _ = headerValue("ann") }); n != 0 {
			t.Errorf("headerValue of a clean value: %v allocations, want 0", n)
		}
	})
}

// TestCheckedSeries: the cached series of checked count like the labelled
// ones, and a series appears only once used.
func TestCheckedSeries(t *testing.T) {
	m := newMetrics(true)
	for range 3 {
		m.checked("forward_auth", 200, time.Millisecond)
	}
	m.checked("ext_authz_grpc", 403, time.Millisecond)
	m.checked("forward_auth", 999, time.Millisecond) // outside the cache
	counts := map[string]float64{}
	modes := map[string]uint64{}
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			switch f.GetName() {
			case "tenantjwt_forward_auth_responses_total":
				counts[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
			case "tenantjwt_check_duration_seconds":
				modes[s.GetLabel()[0].GetValue()] = s.GetHistogram().GetSampleCount()
			}
		}
	}
	// Only the codes and modes seen have series.
	if want := map[string]float64{"200": 3, "403": 1, "999": 1}; !maps.Equal(counts, want) {
		t.Errorf("responses by code %v, want %v", counts, want)
	}
	if want := map[string]uint64{"forward_auth": 4, "ext_authz_grpc": 1}; !maps.Equal(modes, want) {
		t.Errorf("checks by mode %v, want %v", modes, want)
	}
}
