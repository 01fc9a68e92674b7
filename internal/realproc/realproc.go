// Package realproc starts the real programs the tests run against (nginx,
// Caddy, redis-server): one home for the project's rule that a missing
// program fails the test under CI=true and skips it elsewhere, for
// starting one on loopback without sleeping, and for how the tests run
// redis-server. Only tests import it.
package realproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary returns the path of the program name. Under CI=true a missing
// program fails t (CI installs it with apt-get); elsewhere t is skipped
// with a message.
func Binary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; .ci/run installs it (apt-get install %s)", name, name)
		}
		t.Skipf("%s is not installed (apt-get install %s); skipping the test that needs the real one", name, name)
	}
	return path
}

// Process is a program started by Start.
type Process struct {
	stop func()
}

// Stop ends the program (SIGTERM to its process group, SIGKILL after 10 s)
// and waits for it. It is safe to call more than once; Start's cleanup
// calls it too.
func (p *Process) Stop() { p.stop() }

// Start runs the program in its own process group, so that children
// (nginx's workers) hold no pipe open after it, and returns once a line of
// its output (stdout or stderr) contains ready. It fails t when the
// program exits first or is not ready within 30 s (a bound, not
// synchronisation). Its output is logged when t fails.
func Start(t testing.TB, ready, name string, args ...string) *Process {
	t.Helper()
	return StartEnv(t, nil, ready, name, args...)
}

// StartEnv is Start with env ("KEY=value") added to the program's
// environment, so that a test need not change its own (t.Setenv rules
// out t.Parallel).
func StartEnv(t testing.TB, env []string, ready, name string, args ...string) *Process {
	t.Helper()
	p, err := start(t, env, ready, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// start is StartEnv returning, instead of failing t, an error that holds
// the program's output when it exits before it is ready.
func start(t testing.TB, env []string, ready, name string, args ...string) (*Process, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	var (
		logMu sync.Mutex
		log   strings.Builder
	)
	found, scanned := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(out)
		var once sync.Once
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if strings.Contains(sc.Text(), ready) {
				once.Do(func() { close(found) })
			}
		}
	}()
	var stopOnce sync.Once
	p := &Process{stop: func() {
		stopOnce.Do(func() {
			cancel()
			cmd.Wait()
			<-scanned
		})
	}}
	output := func() string { logMu.Lock(); defer logMu.Unlock(); return log.String() }
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, output())
		}
	})
	select {
	case <-found:
		return p, nil
	case <-scanned:
		p.Stop()
		return nil, &exitedError{name: name, output: output()}
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("%s not ready after 30s:\n%s", name, output())
	}
}

// exitedError is a program that exited before it was ready.
type exitedError struct{ name, output string }

func (e *exitedError) Error() string {
	return e.name + " exited before it was ready:\n" + e.output
}

// Redis starts a redis-server on a free loopback port, keeping nothing on
// disk (its folder is the test's), and returns its host:port. Its
// background tasks run at 100 Hz instead of 10: it acts on SIGTERM at the
// next tick, so Stop waits 10 ms instead of 100. The port is free when
// chosen; should a connection of the test process take it before Redis
// binds it, another port is tried.
func Redis(t testing.TB) (addr string, p *Process) {
	t.Helper()
	bin := Binary(t, "redis-server")
	for attempt := 1; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
		_, port, _ := net.SplitHostPort(addr)
		p, err = start(t, nil, "Ready to accept connections", bin, "--port", port, "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--hz", "100")
		var exited *exitedError
		if err == nil {
			return addr, p
		}
		if attempt == 3 || !errors.As(err, &exited) || !strings.Contains(exited.output, "already in use") {
			t.Fatal(err)
		}
	}
}
