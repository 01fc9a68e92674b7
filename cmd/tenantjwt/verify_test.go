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
	t.Parallel()
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
			err := run(context.Background(), []string{"verify", "--config", cfg, tt.token}, nil, &out, &errOut)
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
		if err := run(context.Background(), []string{"verify", "--config", cfg, "--json", a.Mint(nil)}, nil, &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), `"valid": true`) {
			t.Errorf("json output: %s", out.String())
		}
	})
	t.Run("token on stdin", func(t *testing.T) {
		for _, args := range [][]string{{"-"}, nil} {
			var out bytes.Buffer
			stdin := strings.NewReader("Bearer " + a.Mint(map[string]any{"sub": "stdin-user"}) + "\n")
			err := run(context.Background(), append([]string{"verify", "--config", cfg}, args...), stdin, &out, &bytes.Buffer{})
			if err != nil || !strings.Contains(out.String(), `"Subject": "stdin-user"`) {
				t.Errorf("args %q: %v\n%s", args, err, out.String())
			}
		}
		err := run(context.Background(), []string{"verify", "--config", cfg}, nil, &bytes.Buffer{}, &bytes.Buffer{})
		if exitCode(err) != 2 {
			t.Errorf("no token and no stdin: %v, want a usage error", err)
		}
	})
	t.Run("bad config is one line", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		os.WriteFile(bad, []byte("issuers:\n  - name: x\n    issuer: https://x.example/\n    algoritms: [RS256]\n"), 0o600)
		err := run(context.Background(), []string{"verify", "--config", bad, "a.b.c"}, nil, &bytes.Buffer{}, &bytes.Buffer{})
		if exitCode(err) != 1 || strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %q", err)
		}
	})
}

// TestVerifyServeConfig: verify reads the serve config and, given a
// request, explains serve's decision about it, with hints a human needs.
func TestVerifyServeConfig(t *testing.T) {
	t.Parallel()
	a := issuertest.New(t)
	cfg := writeConfig(t, `
forward_auth:
  hosts:
    t0.example.com: t0
    other.example.com: other
  rules:
    - name: admin
      path_prefix: /admin
      roles: [admin]
`, a)
	viewer := a.Mint(map[string]any{"sub": "vic", "roles": []string{"viewer"}})
	verify := func(args ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"verify", "--config", cfg}, args...), nil, &out, &bytes.Buffer{})
		return exitCode(err), out.String()
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"token only", []string{viewer}, 0, []string{"token: VALID", "hint: exp: 20", "(expires in "}},
		{"a rule refuses", []string{"--host", "t0.example.com", "--path", "/admin/users", viewer}, 1,
			[]string{"rule: admin: path_prefix /admin, roles (any) [admin]", "serve would answer: 403", `needs any role of ["admin"]`, `the token has roles ["viewer"]`}},
		{"canonical spelling", []string{"--host", "T0.example.com.", "--path", "/%61dmin", viewer}, 1,
			[]string{"request: GET t0.example.com/admin", "serve would answer: 403"}},
		{"no rule", []string{"--method", "POST", "--host", "t0.example.com", "--path", "/orders?x=1", viewer}, 0,
			[]string{"rule: none applies", "serve would answer: 200"}},
		{"host bound to another tenant", []string{"--host", "other.example.com", "--path", "/", viewer}, 1,
			[]string{`host other.example.com is bound to tenant "other"; the token acts in "t0"`, "serve would answer: 403"}},
		{"refused target", []string{"--host", "t0.example.com", "--path", "/a/../admin", viewer}, 1,
			[]string{"serve would answer: 400", "dot segment"}},
		{"lower-case method", []string{"--method", "get", "--host", "t0.example.com", "--path", "/", viewer}, 1,
			[]string{"serve would answer: 400"}},
		{"expired token", []string{"--host", "t0.example.com", "--path", "/", a.Mint(map[string]any{"exp": time.Now().Add(-2 * time.Hour).Unix()})}, 1,
			[]string{"(expires 2h0m", "ago)", "serve would answer: 401", "exp 20"}},
		{"wrong audience", []string{a.Mint(map[string]any{"aud": "https://wrong.example"})}, 1,
			[]string{`hint: token aud https://wrong.example; t0 accepts ["` + a.Audience() + `"]`}},
		{"unknown kid", []string{a.MintWith(map[string]any{"kid": "nope"}, nil)}, 1,
			[]string{`hint: token kid "nope"; t0 has keys ["` + a.KID() + `"]`}},
		{"unknown issuer near miss", []string{a.Mint(map[string]any{"iss": a.URL() + "/"})}, 1,
			[]string{"hint: iss", "differ by a trailing slash", "hint: trusted issuers: " + a.URL()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := verify(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	if code, _ := verify("--host", "t0.example.com", viewer); code != 2 {
		t.Errorf("--host without --path: exit %d, want 2", code)
	}
}
