package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer"
)

// serveStartIssuers is the registry size BenchmarkServeStart measures.
const serveStartIssuers = 100_000

// BenchmarkServeStart times `tenantjwt serve` (built once, as
// BenchmarkServeOverhead builds it) from process start to its first
// /healthz answer, with many jwks_uri issuers (no key is fetched at start,
// as for tenants that have not sent a token yet), in three layouts:
//
//   - dir-1-per-file: issuers_dir with 100 000 files of one issuer each;
//   - dir-1000-per-file: issuers_dir with 100 files of 1 000 issuers each;
//   - single-file: the config file alone, with as many issuers as fit
//     under its 1 MiB cap.
//
// Each iteration starts a fresh process. Reported per layout: issuers,
// start-s (seconds to /healthz), rss-MiB (the process's resident memory
// then) and, for the folders, reload-ms: one file of the folder is
// rewritten (one issuer's audience changes) and SIGHUP sent; the time
// until serve logs "config reloaded".
func BenchmarkServeStart(b *testing.B) {
	bins := buildServers(b)
	for _, layout := range []struct {
		name    string
		perFile int
	}{{"dir-1-per-file", 1}, {"dir-1000-per-file", 1000}, {"single-file", 0}} {
		b.Run(layout.name, func(b *testing.B) {
			dir := b.TempDir()
			configPath := filepath.Join(dir, "config.yaml")
			n, changed := writeServeStartConfig(b, dir, configPath, layout.perFile)
			var start, reload, rss float64
			for b.Loop() {
				s, r, m := runServeStart(b, bins.serve, configPath, changed)
				start += s.Seconds()
				reload += float64(r) / float64(time.Millisecond)
				rss += m
			}
			runs := float64(b.N)
			b.ReportMetric(float64(n), "issuers")
			b.ReportMetric(start/runs, "start-s")
			b.ReportMetric(rss/runs, "rss-MiB")
			if changed != "" {
				b.ReportMetric(reload/runs, "reload-ms")
			}
		})
	}
}

// serveStartIssuer is issuer i's YAML list item.
func serveStartIssuer(i int, aud string) string {
	return fmt.Sprintf("  - name: t%06d\n    issuer: https://t%06d.idp.example.com/\n    jwks_uri: https://t%06d.idp.example.com/jwks\n    audiences: [%s]\n", i, i, i, aud)
}

// writeServeStartConfig writes the layout: perFile issuers per file of
// issuers_dir, or (perFile 0) one config file filled up to
// issuer.MaxConfigBytes. It returns the number of issuers and the file to
// rewrite for the reload ("" for the single file).
func writeServeStartConfig(b *testing.B, dir, configPath string, perFile int) (n int, changed string) {
	if perFile == 0 {
		var sb strings.Builder
		sb.WriteString("issuers:\n")
		for i := 0; ; i++ {
			item := serveStartIssuer(i, audience)
			if sb.Len()+len(item) > issuer.MaxConfigBytes {
				break
			}
			sb.WriteString(item)
			n++
		}
		if err := os.WriteFile(configPath, []byte(sb.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		return n, ""
	}
	idir := filepath.Join(dir, "issuers")
	if err := os.Mkdir(idir, 0o700); err != nil {
		b.Fatal(err)
	}
	for f := 0; f < serveStartIssuers/perFile; f++ {
		var sb strings.Builder
		sb.WriteString("issuers:\n")
		for i := f * perFile; i < (f+1)*perFile; i++ {
			sb.WriteString(serveStartIssuer(i, audience))
		}
		path := filepath.Join(idir, fmt.Sprintf("tenant-%06d.yaml", f))
		if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		if f == 0 {
			changed = path
		}
	}
	if err := os.WriteFile(configPath, []byte("issuers: []\nissuers_dir: issuers\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	return serveStartIssuers, changed
}

// runServeStart starts serve on configPath, waits for /healthz, reads its
// memory, then (when changed is set) rewrites changed, sends SIGHUP and
// waits for the reload. The process is killed before it returns.
func runServeStart(b *testing.B, bin, configPath, changed string) (start, reload time.Duration, rssMiB float64) {
	cmd := exec.Command(bin, "serve", "--config", configPath, "--listen", "127.0.0.1:0", "--log-level", "info",
		"--watch-interval", "0", "--metrics-issuer-label=false")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	type record struct{ Msg, Addr, Error string }
	records := make(chan record, 16)
	go func() {
		defer close(records)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var rec record
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				records <- rec
			}
		}
	}()
	next := func(msg string) record {
		timeout := time.After(10 * time.Minute)
		for {
			select {
			case rec, ok := <-records:
				if !ok {
					b.Fatalf("serve exited while waiting for %q", msg)
				}
				if rec.Msg == msg {
					return rec
				}
				if strings.Contains(rec.Msg, "failed") {
					b.Fatalf("serve: %s: %s", rec.Msg, rec.Error)
				}
			case <-timeout:
				b.Fatalf("no %q from serve in 10 minutes", msg)
			}
		}
	}
	addr := next("listening").Addr
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(time.Millisecond)
	}
	start = time.Since(t0)
	rssMiB = processRSS(cmd.Process.Pid)
	if changed == "" {
		return start, 0, rssMiB
	}
	data, err := os.ReadFile(changed)
	if err != nil {
		b.Fatal(err)
	}
	edited := strings.Replace(string(data), "audiences: ["+audience+"]", "audiences: ["+audience+", https://other.example.com]", 1)
	if err := os.WriteFile(changed, []byte(edited), 0o600); err != nil {
		b.Fatal(err)
	}
	defer os.WriteFile(changed, data, 0o600) // the next iteration starts from the same files
	t1 := time.Now()
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		b.Fatal(err)
	}
	next("config reloaded")
	return start, time.Since(t1), rssMiB
}

// processRSS is the resident memory of pid in MiB, from /proc (Linux; 0
// elsewhere).
func processRSS(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
