package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"demo"}, nil, &out, &errOut); err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"accepted 200  alice (Auth0, org_acme) reads /me",
		"tenant=org_acme roles=[admin] permissions=[projects:read projects:delete] scopes=[openid projects]",
		"accepted 200  carol switches to shop-b (X-Tenant-ID)",
		"tenant=shop-b roles=[viewer]",
		"refused  403  carol in shop-b opens /admin",
		"refused  403  cross-tenant: alice's token on globex.localhost",
		"refused  403  carol selects shop-z, not in her token",
		"refused  401  expired token",
		"token expired",
		"refused  401  token for another audience",
		"refused  401  unknown issuer (no network call made)",
		"refused  401  forged: globex's iss, signed with descope's key",
		"refused  401  no token",
		"rogue 0 (untrusted issuers are never contacted)",
		"accepted 200  dave (DPoP-bound token) with a proof of his key",
		"sub=auth0|dave tenant=org_acme roles=[] permissions=[] scopes=[] bound=dpop",
		"refused  401  dave's proof replayed",
		"jti already used",
		"refused  401  dave's token stolen and sent as Bearer",
		`DPoP realm="demo", error="invalid_dpop_proof"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// One JWKS fetch per trusted issuer, however many requests.
	if !regexp.MustCompile(`JWKS fetches: acme-auth0 1, descope 1, globex 1, rogue 0`).MatchString(got) {
		t.Errorf("unexpected fetch counts:\n%s", got)
	}
	if t.Failed() {
		t.Log(got)
	}
}

func TestHelpAndUsageErrors(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"demo", "serve", "verify", "dev"} {
		t.Run(cmd+" --help", func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), []string{cmd, "--help"}, nil, &out, &errOut); err != nil {
				t.Fatalf("--help: %v", err)
			}
			if !strings.HasPrefix(out.String(), "usage: tenantjwt "+cmd) {
				t.Errorf("--help output = %q", out.String())
			}
		})
		t.Run(cmd+" bad flag", func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{cmd, "--no-such-flag"}, nil, &out, &errOut)
			if exitCode(err) != 2 || strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("err = %v (exit %d), want a one-line usage error", err, exitCode(err))
			}
		})
	}
	if err := run(context.Background(), []string{"frobnicate"}, nil, &bytes.Buffer{}, &bytes.Buffer{}); exitCode(err) != 2 {
		t.Errorf("unknown command: exit %d, want 2", exitCode(err))
	}
}
