package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// buildVersion is what the binary knows about its own build, from the build
// information the Go toolchain embeds. Fields it could not learn are empty.
type buildVersion struct {
	Module    string // main module path
	Version   string // module version: a tag from `go install …@v1.2.3`, a pseudo-version, or "(devel)"
	Revision  string // VCS revision, when built in a checkout with VCS stamping
	Time      string // VCS commit time (RFC 3339)
	Modified  bool   // the checkout had uncommitted changes
	GoVersion string // toolchain that built the binary
}

// readBuildVersion reads the running binary's build information.
func readBuildVersion() buildVersion {
	bi, ok := debug.ReadBuildInfo()
	return versionFrom(bi, ok)
}

// versionFrom extracts a buildVersion; without build information (a binary
// built without module support) only the runtime's Go version is known.
func versionFrom(bi *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Version: "(unknown)", GoVersion: runtime.Version()}
	if !ok || bi == nil {
		return v
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	v.Module = bi.Main.Path
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String renders the version for people: the first line is
// "tenantjwt VERSION", then one "key: value" line per known fact.
func (v buildVersion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tenantjwt %s\n", v.Version)
	if v.Module != "" {
		fmt.Fprintf(&b, "module: %s\n", v.Module)
	}
	if v.Revision != "" {
		rev := v.Revision
		if v.Modified {
			rev += " (modified)"
		}
		fmt.Fprintf(&b, "revision: %s\n", rev)
	}
	if v.Time != "" {
		fmt.Fprintf(&b, "commit time: %s\n", v.Time)
	}
	fmt.Fprintf(&b, "go: %s %s/%s\n", v.GoVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// runVersion prints the version: `tenantjwt version` and `tenantjwt --version`.
func runVersion(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError{"version: unexpected arguments"}
	}
	_, err := io.WriteString(stdout, readBuildVersion().String())
	return err
}
