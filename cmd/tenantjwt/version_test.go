package main

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFrom(t *testing.T) {
	t.Parallel()
	platform := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{
			name: "release with VCS stamp",
			bi: &debug.BuildInfo{
				GoVersion: "go1.25.0",
				Main:      debug.Module{Path: "github.com/tenantjwt/tenantjwt", Version: "v0.2.0"},
				Settings: []debug.BuildSetting{
					{Key: "-trimpath", Value: "true"},
					{Key: "vcs", Value: "git"},
					{Key: "vcs.revision", Value: "c73fdd2e0d1f"},
					{Key: "vcs.time", Value: "2026-12-01T05:00:00Z"},
					{Key: "vcs.modified", Value: "false"},
				},
			},
			ok:   true,
			want: "tenantjwt v0.2.0\nmodule: github.com/tenantjwt/tenantjwt\nrevision: c73fdd2e0d1f\ncommit time: 2026-12-01T05:00:00Z\ngo: go1.25.0 " + platform + "\n",
		},
		{
			name: "modified checkout",
			bi: &debug.BuildInfo{
				GoVersion: "go1.26.8",
				Main:      debug.Module{Path: "github.com/tenantjwt/tenantjwt", Version: "(devel)"},
				Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}},
			},
			ok:   true,
			want: "tenantjwt (devel)\nmodule: github.com/tenantjwt/tenantjwt\nrevision: abc (modified)\ngo: go1.26.8 " + platform + "\n",
		},
		{
			name: "no VCS information",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/tenantjwt/tenantjwt", Version: "v0.1.0"}},
			ok:   true,
			want: "tenantjwt v0.1.0\nmodule: github.com/tenantjwt/tenantjwt\ngo: go1.26.8 " + platform + "\n",
		},
		{
			name: "no build information",
			want: "tenantjwt (unknown)\ngo: " + runtime.Version() + " " + platform + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionFrom(tt.bi, tt.ok).String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	var sub, flag bytes.Buffer
	if err := run(context.Background(), []string{"version"}, nil, &sub, io.Discard); err != nil {
		t.Fatalf("version: %v", err)
	}
	if err := run(context.Background(), []string{"--version"}, nil, &flag, io.Discard); err != nil {
		t.Fatalf("--version: %v", err)
	}
	if sub.String() != flag.String() {
		t.Errorf("version printed\n%s\n--version printed\n%s", sub.String(), flag.String())
	}
	// The test binary's own build information: its Go version at least.
	if !strings.HasPrefix(sub.String(), "tenantjwt ") || !strings.Contains(sub.String(), "go: "+runtime.Version()+" ") {
		t.Errorf("version output:\n%s", sub.String())
	}
	if err := run(context.Background(), []string{"version", "extra"}, nil, io.Discard, io.Discard); exitCode(err) != 2 {
		t.Errorf("version extra: err = %v, want a usage error", err)
	}
}
