package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestExampleRuns(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), filepath.Join(t.TempDir(), "tenants.db"), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"acme (onboarded):                  200 hello alice of acme",
		"globex (not onboarded):            401",
		"key fetches for globex:            0",
		"globex (onboarded):                200 hello bob of globex",
		"acme (offboarded):                 401",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
