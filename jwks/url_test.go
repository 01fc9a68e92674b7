package jwks_test

import (
	"testing"

	"github.com/tenantjwt/tenantjwt/jwks"
)

// TestIsLoopbackHost is the one loopback rule, used by the URL rule, by
// issuer validation, by discovery and by the dev command.
func TestIsLoopbackHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "LocalHost": true,
		"127.0.0.1": true, "127.255.0.9": true, "::1": true, "::ffff:127.0.0.1": true,
		"localhost.": false, "localhost.example": false, "foo.localhost": false,
		"128.0.0.1": false, "0.0.0.0": false, "::": false, "[::1]": false, "": false,
		"10.0.0.1": false, "169.254.169.254": false,
	} {
		if got := jwks.IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
