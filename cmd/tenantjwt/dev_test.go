package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer"
)

// startDev runs `dev` in process until the test ends and returns its address.
func startDev(t *testing.T, args ...string) (addr string, out *syncBuffer) {
	t.Helper()
	listening := make(chan string, 1)
	testHooks = &serveHooks{listening: func(a string) { listening <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out = &syncBuffer{}
	go func() { done <- run(ctx, append([]string{"dev"}, args...), out, io.Discard) }()
	select {
	case addr = <-listening:
	case err := <-done:
		t.Fatalf("dev exited: %v", err)
	}
	stop := func() {
		cancel()
		<-done
		testHooks = nil
	}
	t.Cleanup(stop)
	return addr, out
}

func mint(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"dev", "mint"}, args...), &out, io.Discard); err != nil {
		t.Fatalf("dev mint: %v", err)
	}
	return strings.TrimSpace(out.String())
}

func verifyWith(t *testing.T, iss, tok string) error {
	t.Helper()
	reg, err := issuer.New(issuer.Options{}, issuer.Config{Issuer: iss, Discovery: true, Audiences: []string{devAudience}, Algorithms: []string{"RS256", "ES256", "EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	p, err := reg.Verify(context.Background(), tok)
	if err == nil && (p.Subject != "alice" || strings.Join(p.Roles, ",") != "admin,ops") {
		t.Errorf("principal %+v", p)
	}
	return err
}

func TestDevMintVerifyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	addr, out := startDevOnce(t, dir, "127.0.0.1:0")
	if !strings.Contains(out.String(), "issuer: http://"+addr+"/acme") || !strings.Contains(out.String(), "discovery: true") || !strings.Contains(out.String(), "audiences: ["+devAudience+"]") {
		t.Errorf("config snippet missing:\n%s", out.String())
	}
	tok := mint(t, "--dir", dir, "--tenant", "acme", "--sub", "alice", "--roles", "admin,ops", "--claim", `org={"id":1}`)
	if err := verifyWith(t, "http://"+addr+"/acme", tok); err != nil {
		t.Fatalf("verify minted token: %v", err)
	}
	// The EdDSA tenant has its own key: its token does not verify as acme.
	other := mint(t, "--dir", dir, "--tenant", "globex", "--sub", "alice", "--roles", "admin,ops")
	if err := verifyWith(t, "http://"+addr+"/acme", other); err == nil {
		t.Error("globex token verified as acme")
	}
	if info, err := os.Stat(filepath.Join(dir, "acme.pem")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v, want mode 0600", info.Mode(), err)
	}
}

// startDevOnce starts dev with two tenants in dir.
func startDevOnce(t *testing.T, dir, listen string) (string, *syncBuffer) {
	return startDev(t, "--dir", dir, "--listen", listen, "--tenant", "acme", "--tenant", "globex", "--alg", "RS256")
}

func TestDevKeysSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	var addr, tok string
	t.Run("first run", func(t *testing.T) {
		addr, _ = startDevOnce(t, dir, "127.0.0.1:0")
		tok = mint(t, "--dir", dir, "--tenant", "acme", "--sub", "alice", "--roles", "admin,ops")
	}) // dev stops here
	t.Run("second run on the same address", func(t *testing.T) {
		startDevOnce(t, dir, addr)
		if err := verifyWith(t, "http://"+addr+"/acme", tok); err != nil {
			t.Fatalf("token from before the restart: %v", err)
		}
	})
}

func TestDevRefusesNonLoopback(t *testing.T) {
	err := run(context.Background(), []string{"dev", "--listen", "0.0.0.0:8931", "--dir", t.TempDir()}, io.Discard, io.Discard)
	if exitCode(err) != 2 {
		t.Errorf("err = %v, want a usage error", err)
	}
}
