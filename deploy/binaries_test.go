// Package deploy tests the container image (Dockerfile, build-image.sh) and
// the Kubernetes manifests in kubernetes/. It is its own module, so the
// Kubernetes API types it decodes the manifests into never reach users of
// tenantjwt.
package deploy

import (
	"os"
	"os/exec"
	"testing"
)

// requireBinary returns the path of a tool the test runs. Under CI=true a
// missing tool is a failure (CI installs it); elsewhere the test is skipped.
func requireBinary(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found and CI=true: install it (.ci/run does): %v", name, err)
	}
	t.Skipf("%s not installed; skipping (CI=true makes this a failure)", name)
	return ""
}
