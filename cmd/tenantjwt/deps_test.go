package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The command must not link the testing package: it uses issuertest for
// dev and demo, and issuertest hands out its public fixture keys only in
// binaries where the testing package registered its flags.
func TestCommandDoesNotLinkTesting(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skipf("go tool not found: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/tenantjwt/tenantjwt/issuer/issuertest") {
		t.Fatal("the command no longer uses issuertest: drop this test or change its package")
	}
	if slices.Contains(deps, "testing") {
		t.Error("cmd/tenantjwt links the testing package")
	}
}
