//go:build linux

package deploy

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestPodmanImage builds the image with deploy/build-image.sh, checks what
// is in it (user, entrypoint, port, the files: a static binary and the CA
// bundle, nothing else), and runs it as the Deployment does: read-only root
// filesystem, no capabilities, no privilege escalation, the ConfigMap's
// config mounted, until /healthz answers 200.
func TestPodmanImage(t *testing.T) {
	podman := requireBinary(t, "podman")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	pm := func(args ...string) (string, error) {
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, podman, args...)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return string(out), fmt.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, stderr.String())
		}
		return string(out), nil
	}
	id := fmt.Sprintf("tenantjwt-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	image := "localhost/" + id + ":test"

	build := exec.CommandContext(ctx, "bash", "build-image.sh", image)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build-image.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", image).Run() })

	t.Run("config", func(t *testing.T) {
		out, err := pm("image", "inspect", image)
		if err != nil {
			t.Fatal(err)
		}
		var info []struct {
			Size   int64
			Config struct {
				User         string
				Entrypoint   []string
				Cmd          []string
				ExposedPorts map[string]struct{}
			}
		}
		if err := json.Unmarshal([]byte(out), &info); err != nil || len(info) != 1 {
			t.Fatalf("podman image inspect: %v\n%s", err, out)
		}
		c := info[0].Config
		if c.User != "65532:65532" {
			t.Errorf("user = %q, want 65532:65532 (numeric, non-root)", c.User)
		}
		if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/tenantjwt"}) {
			t.Errorf("entrypoint = %q", c.Entrypoint)
		}
		if want := []string{"serve", "--config", "/etc/tenantjwt/config.yaml", "--listen", ":8080"}; !slices.Equal(c.Cmd, want) {
			t.Errorf("cmd = %q, want %q", c.Cmd, want)
		}
		if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 {
			t.Errorf("exposed ports = %v, want 8080/tcp", c.ExposedPorts)
		}
		t.Logf("image size %.1f MB", float64(info[0].Size)/1e6)
		if info[0].Size > 40e6 {
			t.Errorf("image size %d bytes: want a small image", info[0].Size)
		}
	})

	// The image's files, from `podman export` of a created container.
	dir := t.TempDir()
	binary := filepath.Join(dir, "tenantjwt")
	t.Run("files", func(t *testing.T) {
		name := id + "-export"
		if _, err := pm("create", "--name", name, image); err != nil {
			t.Fatal(err)
		}
		defer exec.Command(podman, "rm", "-f", name).Run()
		out, err := pm("export", name)
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		tr := tar.NewReader(strings.NewReader(out))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			files = append(files, strings.TrimPrefix(h.Name, "/"))
			if h.Name == "usr/local/bin/tenantjwt" || h.Name == "/usr/local/bin/tenantjwt" {
				data, _ := io.ReadAll(tr)
				if err := os.WriteFile(binary, data, 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
		slices.Sort(files)
		// podman may add empty mount-point files (/etc/hosts, /etc/resolv.conf ...)
		files = slices.DeleteFunc(files, func(f string) bool {
			return strings.HasPrefix(f, "etc/") && f != "etc/ssl/certs/ca-certificates.crt" || f == ".containerenv" || strings.HasPrefix(f, "run/")
		})
		if want := []string{"etc/ssl/certs/ca-certificates.crt", "usr/local/bin/tenantjwt"}; !slices.Equal(files, want) {
			t.Errorf("image files = %q, want %q", files, want)
		}
		f, err := elf.Open(binary)
		if err != nil {
			t.Fatalf("binary: %v", err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("binary has a dynamic loader (PT_INTERP): not static, CGO_ENABLED=0 was lost")
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("binary links %v: want a static binary", libs)
		}
	})

	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(configMapConfig(t)), 0o644); err != nil { // the image's user must read it
		t.Fatal(err)
	}
	t.Run("serve", func(t *testing.T) {
		name := id + "-serve"
		args := append([]string{"run", "-d", "--name", name}, runArgs()...)
		args = append(args, "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
			"-p", "127.0.0.1::8080", "-v", cfg+":/etc/tenantjwt/config.yaml:ro", image)
		_, err := pm(args...)
		defer exec.Command(podman, "rm", "-f", name).Run()
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the container does not start: %v", err)
			}
			// A container runtime that cannot start containers here (see
			// deploy/kubernetes/README.md): check the image's own binary.
			t.Logf("the container does not start here, so the binary taken out of the image is run instead: %v", err)
			healthzOfBinary(t, ctx, binary, cfg)
			return
		}
		out, err := pm("port", name, "8080/tcp")
		if err != nil {
			t.Fatal(err)
		}
		addr := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
		if err := waitHealthy(ctx, "http://"+addr+"/healthz"); err != nil {
			logs, _ := exec.Command(podman, "logs", name).CombinedOutput()
			t.Fatalf("%v\ncontainer logs:\n%s", err, logs)
		}
		out, err = pm(append(append([]string{"run", "--rm"}, runArgs()...), image, "version")...)
		if err != nil || !strings.HasPrefix(out, "tenantjwt ") {
			t.Errorf("version in the container: %q %v", out, err)
		}
		t.Logf("container version:\n%s", out)
	})
}

// runArgs are podman run flags that let a container start where podman's
// defaults cannot: its default RLIMIT_NOFILE (1048576) is above this
// process's hard limit, which only CAP_SYS_RESOURCE may raise, so ask for
// our own limits; and crun refuses a hybrid cgroup v1/v2 host, where runc
// (Debian package runc) works. Both are harmless elsewhere.
func runArgs() []string {
	var args []string
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		args = append(args, "--ulimit", fmt.Sprintf("nofile=%d:%d", lim.Cur, lim.Max))
	}
	// RLIMIT_NPROC (6 on Linux; package syscall does not name it). runc
	// is refused even our own hard limit here, so ask for a modest one: a
	// Go server needs few threads.
	const rlimitNproc = 6
	if syscall.Getrlimit(rlimitNproc, &lim) == nil {
		n := min(lim.Max, 4096)
		args = append(args, "--ulimit", fmt.Sprintf("nproc=%d:%d", n, n))
	}
	if _, err := exec.LookPath("runc"); err == nil {
		args = append(args, "--runtime", "runc")
	}
	return args
}

// configMapConfig is the serve config of kubernetes/configmap.yaml: the
// container runs with what the Deployment mounts.
func configMapConfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("kubernetes/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(data, &cm); err != nil || cm.Data["config.yaml"] == "" {
		t.Fatalf("configmap.yaml: %v", err)
	}
	return cm.Data["config.yaml"]
}

// waitHealthy polls url until it answers 200, for at most 30 seconds: the
// process is outside the test, so there is nothing to wait on but its port.
func waitHealthy(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET %s: no 200 within 30s: %v", url, last)
		case <-tick.C:
		}
	}
}

// healthzOfBinary runs the binary taken out of the image on loopback and
// waits for its /healthz.
func healthzOfBinary(t *testing.T, ctx context.Context, binary, cfg string) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
		close(addr)
	}()
	a, ok := <-addr
	if !ok {
		t.Fatal("serve exited before listening")
	}
	if err := waitHealthy(ctx, "http://"+a+"/healthz"); err != nil {
		t.Fatal(err)
	}
}
