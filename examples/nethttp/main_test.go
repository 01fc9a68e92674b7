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
		"alice (acme admin) reads /me       -> 200 alice of tenant acme",
		"alice deletes an acme project      -> 200 project 7 deleted in tenant acme",
		"bob (globex viewer) reads /me      -> 200 bob of tenant globex",
		"bob tries to delete                -> 403",
		"alice's token on globex's host     -> 403",
		"no token                           -> 401",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
