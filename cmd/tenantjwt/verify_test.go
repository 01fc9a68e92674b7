package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// writeConfig writes a config trusting the given issuers by jwks_uri.
func writeConfig(t *testing.T, extra string, issuers ...*issuertest.Issuer) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("issuers:\n")
	for i, iss := range issuers {
		fmt.Fprintf(&b, "  - name: t%d\n    issuer: %s\n    jwks_uri: %s\n    audiences: [%s]\n    algorithms: [%s]\n    tenant: t%d\n", i, iss.URL(), iss.JWKSURL(), iss.Audience(), iss.Algorithm(), i)
	}
	b.WriteString(extra)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerify(t *testing.T) {
	a := issuertest.New(t)
	untrusted := issuertest.New(t)
	cfg := writeConfig(t, "", a)
	tests := []struct {
		name  string
		token string
		code  int
		want  []string
	}{
		{"valid", a.Mint(map[string]any{"sub": "alice", "roles": []string{"admin"}}), 0,
			[]string{"token: VALID", "issuer: t0", "ok   signature", `"Subject": "alice"`}},
		{"expired", a.Mint(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), 1,
			[]string{"token: INVALID", "issuer: t0", "FAIL", "token expired"}},
		{"unknown issuer", untrusted.Mint(nil), 1,
			[]string{"token: INVALID", "issuer: no trusted issuer matched", "unknown issuer"}},
		{"bearer prefix pasted", "Bearer " + a.Mint(nil), 0, []string{"token: VALID"}},
		{"garbage", "not-a-token", 1, []string{"token: INVALID", "malformed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"verify", "--config", cfg, tt.token}, &out, &errOut)
			if got := exitCode(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d\n%s", got, err, tt.code, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	if got := untrusted.JWKSRequests(); got != 0 {
		t.Errorf("untrusted issuer got %d JWKS requests, want 0", got)
	}
	t.Run("json", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"verify", "--config", cfg, "--json", a.Mint(nil)}, &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), `"valid": true`) {
			t.Errorf("json output: %s", out.String())
		}
	})
	t.Run("bad config is one line", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		os.WriteFile(bad, []byte("issuers:\n  - name: x\n    issuer: https://x.example/\n    algoritms: [RS256]\n"), 0o600)
		err := run(context.Background(), []string{"verify", "--config", bad, "a.b.c"}, &bytes.Buffer{}, &bytes.Buffer{})
		if exitCode(err) != 1 || strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %q", err)
		}
	})
}
