package middleware_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHeavyDependenciesStayInAdapters checks with `go list` that a
// program importing the library's core packages compiles no adapter
// framework: grpc, connect and echo are compiled only by importers of
// grpcauth, connectauth and echoauth, and the Redis client only by
// importers of dpop/redisreplay.
func TestHeavyDependenciesStayInAdapters(t *testing.T) {
	t.Parallel()
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
	// One go list for all: each line is a package and what it compiles
	// (its transitive imports, as go list -deps would print them).
	args := []string{"list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`}
	for _, tt := range tests {
		args = append(args, tt.pkg)
	}
	out, err := exec.Command(gobin, args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	depsOf := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		depsOf[f[0]] = f[1:]
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.pkg, mod+"/"), func(t *testing.T) {
			deps, ok := depsOf[tt.pkg]
			if !ok {
				t.Fatalf("go list printed nothing for %s", tt.pkg)
			}
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
