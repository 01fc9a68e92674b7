package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestExampleRuns(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"alice (acme admin) says hello    -> hello world, from alice of tenant acme",
		"alice resets acme's counts       -> counts reset in tenant acme",
		"bob (globex viewer) says hello   -> hello world, from bob of tenant globex",
		"bob tries to reset counts        -> PermissionDenied: the access token does not allow this request",
		`www-authenticate: Bearer realm="api", error="insufficient_scope"`,
		"no token                         -> Unauthenticated: authentication required",
		"health check without a token     -> OK",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
