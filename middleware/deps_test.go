package middleware_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHeavyDependenciesStayInAdapters checks with `go list -deps` that a
// program importing the library's core packages compiles no adapter
// framework: grpc, connect and echo are compiled only by importers of
// grpcauth, connectauth and echoauth, and the Redis client only by
// importers of dpop/redisreplay.
func TestHeavyDependenciesStayInAdapters(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the go command is needed for go list -deps")
		}
		t.Skip("no go command in PATH: go list -deps cannot run")
	}
	const mod = "github.com/tenantjwt/tenantjwt"
	heavy := map[string]string{
		"grpc":    "google.golang.org/grpc",
		"connect": "connectrpc.com/connect",
		"echo":    "github.com/labstack/echo",
		"redis":   "github.com/redis/go-redis",
	}
	tests := []struct {
		pkg     string
		allowed []string // heavy dependencies this package may compile
	}{
		{mod, nil},
		{mod + "/jwks", nil},
		{mod + "/issuer", nil},
		{mod + "/middleware", nil},
		{mod + "/middleware/grpcauth", []string{"grpc"}},
		{mod + "/middleware/connectauth", []string{"connect"}},
		{mod + "/middleware/echoauth", []string{"echo"}},
		{mod + "/dpop/redisreplay", []string{"redis"}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.pkg, mod+"/"), func(t *testing.T) {
			out, err := exec.Command(gobin, "list", "-deps", tt.pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", tt.pkg, err)
			}
			deps := strings.Fields(string(out))
			for name, prefix := range heavy {
				found := ""
				for _, d := range deps {
					if d == prefix || strings.HasPrefix(d, prefix+"/") {
						found = d
						break
					}
				}
				want := false
				for _, a := range tt.allowed {
					want = want || a == name
				}
				// The adapter itself must compile its framework, which
				// proves the check can see it.
				if (found != "") != want {
					t.Errorf("%s compiles %s: %v (found %q), want %v", tt.pkg, name, found != "", found, want)
				}
			}
		})
	}
}
