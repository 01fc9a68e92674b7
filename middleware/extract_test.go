package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware"
)

func TestExtract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		auth    []string
		want    string
		wantErr error
	}{
		{"bearer", []string{"Bearer a.b.c"}, "a.b.c", nil},
		{"b64token padding", []string{"Bearer abc+/~-_.=="}, "abc+/~-_.==", nil},
		{"none", nil, "", middleware.ErrNoToken},
		{"basic", []string{"Basic Zm9vOmJhcg=="}, "", middleware.ErrNoToken},
		{"dpop scheme is not bearer", []string{"DPoP a.b.c"}, "", middleware.ErrNoToken},
		{"bearerx is another scheme", []string{"Bearerx a.b.c"}, "", middleware.ErrNoToken},
		{"tab instead of space", []string{"Bearer\ta.b.c"}, "", middleware.ErrNoToken},
		{"empty", []string{"Bearer "}, "", tenantjwt.ErrMalformed},
		{"padding in the middle", []string{"Bearer ab=c"}, "", tenantjwt.ErrMalformed},
		{"starts with padding", []string{"Bearer =abc"}, "", tenantjwt.ErrMalformed},
		{"trailing space", []string{"Bearer a.b.c "}, "", tenantjwt.ErrMalformed},
		{"quote", []string{`Bearer "a.b.c"`}, "", tenantjwt.ErrMalformed},
		{"huge", []string{"Bearer " + strings.Repeat("a", middleware.MaxTokenSourceBytes)}, "", tenantjwt.ErrMalformed},
		{"bearer and basic", []string{"Basic Zm9v", "Bearer a.b.c"}, "a.b.c", nil},
		{"two bearers", []string{"Bearer a.b.c", "Bearer a.b.c"}, "", middleware.ErrMultipleTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for _, v := range tt.auth {
				r.Header.Add("Authorization", v)
			}
			got, err := middleware.TokenSources{}.Extract(r)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Extract = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// FuzzExtract feeds arbitrary Authorization, cookie and custom header
// values: extraction never panics and never yields a token with bytes
// outside the RFC 6750 b64token alphabet.
func FuzzExtract(f *testing.F) {
	f.Add("Bearer a.b.c", "", "")
	f.Add("bearer  eyJ.eyJ.sig", "DS=x.y.z", "")
	f.Add("Bearer", "", "t")
	f.Add("Basic Zm9v", "DS=a; DS=b", "a.b.c")
	f.Add("Bearer a\r\nX: y", "", "")
	f.Fuzz(func(t *testing.T, auth, cookie, header string) {
		r := &http.Request{Header: http.Header{}}
		r.Header["Authorization"] = []string{auth}
		if cookie != "" {
			r.Header["Cookie"] = []string{cookie}
		}
		if header != "" {
			r.Header["X-Token"] = []string{header}
		}
		tok, err := middleware.TokenSources{Cookie: "DS", Header: "X-Token"}.Extract(r)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with error %v", tok, err)
			}
			return
		}
		if tok == "" {
			t.Fatal("empty token without error")
		}
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if c <= ' ' || c >= 0x7f || strings.ContainsRune(`"\,;`, rune(c)) {
				t.Fatalf("token %q has byte %q", tok, c)
			}
		}
	})
}
