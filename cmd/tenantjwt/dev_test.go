package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// startDev runs `dev` in process until the test ends and returns its address.
func startDev(t *testing.T, args ...string) (addr string, out *syncBuffer) {
	t.Helper()
	listening := make(chan string, 1)
	hooks := &serveHooks{listening: func(a string) { listening <- a }, newKey: issuertest.FixtureKey}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out = &syncBuffer{}
	go func() { done <- runWith(ctx, append([]string{"dev"}, args...), nil, out, io.Discard, hooks) }()
	select {
	case addr = <-listening:
	case err := <-done:
		t.Fatalf("dev exited: %v", err)
	}
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return addr, out
}

func mint(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"dev", "mint"}, args...), nil, &out, io.Discard); err != nil {
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
	if err == nil && (p.Subject() != "alice" || strings.Join(p.Roles().Strings(), ",") != "admin,ops") {
		t.Errorf("principal %+v", p)
	}
	return err
}

func TestDevMintVerifyRoundTrip(t *testing.T) {
	t.Parallel()
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

// Not parallel: the second run listens on the first one's port again,
// which a parallel test's connection could take meanwhile.
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
	t.Parallel()
	err := run(context.Background(), []string{"dev", "--listen", "0.0.0.0:8931", "--dir", t.TempDir()}, nil, io.Discard, io.Discard)
	if exitCode(err) != 2 {
		t.Errorf("err = %v, want a usage error", err)
	}
}

// TestDevRefusesLiveBase: a second dev on the same directory would replace
// the base that tokens and configs of the first one name; it refuses, says
// why, and takes over only with --force.
func TestDevRefusesLiveBase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, _ := startDev(t, "--dir", dir, "--listen", "127.0.0.1:0", "--tenant", "acme")
	basePath := filepath.Join(dir, "base")
	readBase := func() string {
		b, err := os.ReadFile(basePath)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	err := runDevUntilListening(t, "--dir", dir, "--listen", "127.0.0.1:0", "--tenant", "acme")
	if err == nil || !strings.Contains(err.Error(), "another tenantjwt dev serves") || !strings.Contains(err.Error(), "http://"+first) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second dev: err = %v, want a refusal naming the running one and --force", err)
	}
	if got, want := readBase(), "http://"+first; got != want {
		t.Fatalf("base after refusal = %q, want %q", got, want)
	}
	second, _ := startDev(t, "--dir", dir, "--listen", "127.0.0.1:0", "--tenant", "acme", "--force")
	if got, want := readBase(), "http://"+second; got != want {
		t.Errorf("base after --force = %q, want %q", got, want)
	}
}

// runDevUntilListening runs dev and returns its error if it exits before
// listening; if it listens instead, it is stopped and the error is nil.
func runDevUntilListening(t *testing.T, args ...string) error {
	t.Helper()
	listening := make(chan struct{})
	hooks := &serveHooks{listening: func(string) { close(listening) }, newKey: issuertest.FixtureKey}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runWith(ctx, append([]string{"dev"}, args...), nil, io.Discard, io.Discard, hooks) }()
	select {
	case err := <-done:
		return err
	case <-listening:
		cancel()
		<-done
		return nil
	}
}

// TestDevTakesOverStaleBase: a base left by a dev that is gone (killed, or
// another program on that port) does not block a new dev.
func TestDevTakesOverStaleBase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stale := httptest.NewServer(http.NotFoundHandler()) // answers, but is no dev
	defer stale.Close()
	if err := os.WriteFile(filepath.Join(dir, "base"), []byte(stale.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _ := startDev(t, "--dir", dir, "--listen", "127.0.0.1:0", "--tenant", "acme")
	tok := mint(t, "--dir", dir, "--tenant", "acme", "--sub", "alice", "--roles", "admin,ops")
	if err := verifyWith(t, "http://"+addr+"/acme", tok); err != nil {
		t.Fatalf("token minted after the takeover: %v", err)
	}
}

// TestDevMintWaitsForDev is the quick start's race: `dev mint` runs while
// `dev` is still starting. mint waits for dev's base and key instead of
// failing or signing for a stale base.
func TestDevMintWaitsForDev(t *testing.T) {
	dir := t.TempDir()
	waiting := make(chan struct{})
	hooks := &serveHooks{mintWaiting: func() { close(waiting) }}
	type result struct {
		tok string
		err error
	}
	minted := make(chan result, 1)
	go func() {
		var out bytes.Buffer
		err := runWith(context.Background(), []string{"dev", "mint", "--dir", dir, "--tenant", "acme", "--sub", "alice", "--roles", "admin,ops", "--wait", "30s"}, nil, &out, io.Discard, hooks)
		minted <- result{strings.TrimSpace(out.String()), err}
	}()
	select {
	case <-waiting:
	case r := <-minted:
		t.Fatalf("mint did not wait for dev: %+v", r)
	}
	addr, _ := startDev(t, "--dir", dir, "--listen", "127.0.0.1:0", "--tenant", "acme")
	r := <-minted
	if r.err != nil {
		t.Fatalf("dev mint: %v", r.err)
	}
	if err := verifyWith(t, "http://"+addr+"/acme", r.tok); err != nil {
		t.Fatalf("token minted while dev started: %v", err)
	}
}

func TestDevMintWaitIsBounded(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"dev", "mint", "--dir", t.TempDir(), "--tenant", "acme", "--wait", "0"}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "start `tenantjwt dev") {
		t.Errorf("mint without dev: err = %v, want advice to start dev", err)
	}
}

// TestDevMintRoleLists: spaces around list items are trimmed; an empty item
// is a usage error rather than an empty role.
func TestDevMintRoleLists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr, _ := startDev(t, "--dir", dir, "--listen", "127.0.0.1:0", "--tenant", "acme")
	tok := mint(t, "--dir", dir, "--tenant", "acme", "--sub", "alice", "--roles", " admin , ops")
	if err := verifyWith(t, "http://"+addr+"/acme", tok); err != nil { // wants roles exactly admin,ops
		t.Fatalf("verify: %v", err)
	}
	for _, bad := range [][]string{{"--roles", "admin,,ops"}, {"--roles", "admin, "}, {"--permissions", ",x"}} {
		err := run(context.Background(), append([]string{"dev", "mint", "--dir", dir, "--tenant", "acme"}, bad...), nil, io.Discard, io.Discard)
		if exitCode(err) != 2 {
			t.Errorf("mint %q: err = %v, want a usage error", bad, err)
		}
	}
}

// TestDevGeneratesKeys: outside tests dev makes each new tenant's key
// with newKey (the tests above take fixture keys through the hook).
func TestDevGeneratesKeys(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		k, err := newKey(alg)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if got := algOf(k); got != alg {
			t.Errorf("newKey(%s) made a %s key", alg, got)
		}
	}
	if _, err := newKey("HS256"); exitCode(err) != 2 {
		t.Errorf("newKey(HS256): err = %v, want a usage error", err)
	}
}
