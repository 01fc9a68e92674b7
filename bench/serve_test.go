package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Load of BenchmarkServeOverhead: concurrent keep-alive clients, and the
// number of rounds each server's b.N requests are split into.
const (
	overheadClients = 16
	overheadRounds  = 16
)

// identityHeaders are the response headers of an allowed check that the
// two servers must agree on.
var identityHeaders = []string{"X-Auth-Issuer", "X-Auth-Subject", "X-Auth-Tenant", "X-Auth-Roles", "X-Auth-Permissions", "X-Auth-Scopes", "Cache-Control"}

// BenchmarkServeOverhead load-tests `tenantjwt serve` against a bare
// net/http server that answers the same X-Auth-* headers and
// Cache-Control. Both are real processes on loopback, built by `go build`
// once per test process. serve trusts the RS256 fixture issuer through a
// jwks_file, with the token cache on and two rules (the second one
// applies), and every check carries the same valid token and the
// X-Forwarded-* headers of the original request. overheadClients
// keep-alive clients send b.N requests to each server, in
// overheadRounds short rounds alternating serve/bare and bare/serve, so
// both see the same machine load. Reported: requests/s and p50/p99 latency
// of each over all rounds; rps-ratio, the median over the rounds of serve ÷
// bare requests/s of the same round (a burst of other load on the machine
// moves one round, not the median); rps-ratio-total, the same over all
// rounds together; p99-ratio, serve ÷ bare p99; on Linux, each
// server's CPU time per request (user + system, from /proc in 10 ms
// ticks) and cpu-ratio, serve ÷ bare, which depends much less on what
// else runs on the machine than requests/s do, and the load generator's
// own CPU time per request while it loaded each server (equal when the
// client is no more a bottleneck for one server than for the other); and
// serve's garbage collections per 1,000 requests (from its /metrics).
//
// Both servers run with their defaults: the floor with Go's GC pacing,
// serve with its --gc-headroom. TENANTJWT_SERVE_BIN and
// TENANTJWT_BARE_BIN, when set, are the binaries to measure instead of
// building them (to compare two versions of serve against the same floor,
// or to run one under a wrapper that sets GOGC).
func BenchmarkServeOverhead(b *testing.B) {
	bins := buildServers(b)
	f := loadFixtures()[0]
	dir := b.TempDir()
	jwksPath := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksPath, f.iss.JWKS(), 0o600); err != nil {
		b.Fatal(err)
	}
	config := fmt.Sprintf(`issuers:
  - name: bench
    issuer: %s
    jwks_file: jwks.json
    audiences: [%s]
    algorithms: [RS256]
    claims: {tenant: dct, tenants: tenants, roles: "tenants.{tenant}.roles", permissions: "tenants.{tenant}.permissions"}
token_cache: {size: 1000}
forward_auth:
  rules:
    - path_prefix: /admin
      roles: [admin]
    - host: api.example.com
      path_prefix: /projects
      methods: [GET]
      permissions: [projects:read]
`, f.iss.URL(), audience)
	configPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	serveBase, servePID := startProcess(b, bins.serve, []string{"serve", "--config", configPath, "--listen", "127.0.0.1:0", "--log-level", "info", "--watch-interval", "0"}, serveAddr)
	serveURL := serveBase + "/verify"

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: overheadClients, MaxConnsPerHost: overheadClients, DisableCompression: true}}
	defer client.CloseIdleConnections()
	newReq := func(url string) *http.Request {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+f.token)
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "api.example.com")
		req.Header.Set("X-Forwarded-Uri", "/projects/42?view=full")
		return req
	}
	// serve's answer gives the bare server its headers, so both send the
	// same bytes.
	want, err := doCheck(client, newReq(serveURL))
	if err != nil {
		b.Fatalf("serve: %v", err)
	}
	if want.Get("X-Auth-Subject") == "" || want.Get("X-Auth-Permissions") == "" {
		b.Fatalf("serve answered without identity: %v", want)
	}
	var args []string
	for _, h := range identityHeaders {
		args = append(args, h+": "+want.Get(h))
	}
	bareURL, barePID := startProcess(b, bins.bare, args, firstLine)
	bareURL += "/verify"
	got, err := doCheck(client, newReq(bareURL))
	if err != nil {
		b.Fatalf("bare: %v", err)
	}
	// Same headers, same values (Date aside): the same bytes on the wire.
	for h := range want {
		if h != "Date" && got.Get(h) != want.Get(h) {
			b.Fatalf("%s: bare %q, serve %q", h, got.Get(h), want.Get(h))
		}
	}
	if len(got) != len(want) {
		b.Fatalf("headers: bare %v, serve %v", got, want)
	}
	servers := []*loadTarget{{name: "serve", req: newReq(serveURL), pid: servePID}, {name: "bare", req: newReq(bareURL), pid: barePID}}
	for _, s := range servers { // warm up: connections, token cache
		if _, err := s.run(client, 20*overheadClients); err != nil {
			b.Fatal(err)
		}
		s.lat, s.wall, s.n, s.cpu, s.clientCPU = nil, 0, 0, 0, 0
	}
	gc0, gcErr := gcCycles(client, serveBase)

	b.ResetTimer()
	rounds := overheadRounds
	if b.N < rounds*overheadClients {
		rounds = 1
	}
	ratios := make([]float64, 0, rounds) // serve ÷ bare requests/s, per round
	for r := range rounds {
		n := b.N / rounds
		if r == rounds-1 {
			n = b.N - n*(rounds-1)
		}
		order := servers
		if r%2 == 1 {
			order = []*loadTarget{servers[1], servers[0]}
		}
		took := map[string]time.Duration{}
		for _, s := range order {
			d, err := s.run(client, n)
			if err != nil {
				b.Fatal(err)
			}
			took[s.name] = d
		}
		ratios = append(ratios, took["bare"].Seconds()/took["serve"].Seconds())
	}
	b.StopTimer()
	if gc1, err := gcCycles(client, serveBase); err == nil && gcErr == nil {
		b.ReportMetric((gc1-gc0)*1000/float64(b.N), "serve-gc/1k-req")
	}
	p99, rps, cpu := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for _, s := range servers {
		slices.Sort(s.lat)
		p99[s.name] = float64(percentile(s.lat, 0.99)) / 1e3
		rps[s.name] = float64(s.n) / s.wall.Seconds()
		b.ReportMetric(rps[s.name], s.name+"-req/s")
		b.ReportMetric(float64(percentile(s.lat, 0.50))/1e3, s.name+"-p50-µs")
		b.ReportMetric(p99[s.name], s.name+"-p99-µs")
		cpu[s.name] = float64(s.cpu) / 1e3 / float64(s.n)
		if s.clientCPU > 0 {
			b.ReportMetric(float64(s.clientCPU)/1e3/float64(s.n), s.name+"-client-cpu-µs/req")
		}
	}
	if cpu["serve"] > 0 && cpu["bare"] > 0 {
		b.ReportMetric(cpu["serve"], "serve-cpu-µs/req")
		b.ReportMetric(cpu["bare"], "bare-cpu-µs/req")
		b.ReportMetric(cpu["serve"]/cpu["bare"], "cpu-ratio")
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "rps-ratio")
	b.ReportMetric(rps["serve"]/rps["bare"], "rps-ratio-total")
	b.ReportMetric(p99["serve"]/p99["bare"], "p99-ratio")
}

// loadTarget accumulates one server's requests, latencies and wall time
// over the rounds.
type loadTarget struct {
	name string
	req  *http.Request
	pid  int
	lat  []time.Duration
	wall time.Duration
	cpu  time.Duration // of the server process, when known
	// clientCPU is the load generator's own (this process's) CPU time
	// while it loaded this server: equal for both servers when the
	// client costs the same whichever server it talks to.
	clientCPU time.Duration
	n         int
}

// run sends n requests from overheadClients concurrent clients and adds
// their latencies and the round's wall time to s.
func (s *loadTarget) run(client *http.Client, n int) (time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	cpu0, client0 := processCPU(s.pid), processCPU(os.Getpid())
	start := time.Now()
	for range overheadClients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				t := time.Now()
				resp, err := client.Do(s.req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s: status %d", s.name, resp.StatusCode)
					}
				}
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := failed.Load(); err != nil {
		return 0, *err
	}
	s.cpu += processCPU(s.pid) - cpu0
	s.clientCPU += processCPU(os.Getpid()) - client0
	s.lat = append(s.lat, lat...)
	s.wall += took
	s.n += n
	return took, nil
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// gcCycles reads the number of completed GC cycles from serve's /metrics
// (go_gc_duration_seconds_count).
func gcCycles(client *http.Client, base string) (float64, error) {
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_gc_duration_seconds_count "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("serve /metrics: no go_gc_duration_seconds_count")
}

// doCheck sends one request and returns the headers of its 200 answer.
func doCheck(client *http.Client, req *http.Request) (http.Header, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	return resp.Header, nil
}

// serverBinaries are the two servers of BenchmarkServeOverhead, built once
// per test process into a temporary folder.
type serverBinaries struct{ serve, bare string }

var (
	buildOnce sync.Once
	builtBins serverBinaries
	builtDir  string // removed by TestMain
	buildErr  error
)

// TestMain removes the servers BenchmarkServeOverhead built.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

func buildServers(b *testing.B) serverBinaries {
	buildOnce.Do(func() {
		builtBins = serverBinaries{serve: os.Getenv("TENANTJWT_SERVE_BIN"), bare: os.Getenv("TENANTJWT_BARE_BIN")}
		if builtBins.serve != "" && builtBins.bare != "" {
			return
		}
		dir, err := os.MkdirTemp("", "tenantjwt-bench-")
		if err != nil {
			buildErr = err
			return
		}
		builtDir = dir
		for _, c := range []struct {
			bin     *string
			name    string
			pkg     string
			rootMod bool
		}{
			// serve from the root module, as users build it (bench's
			// replace points there).
			{&builtBins.serve, "tenantjwt", "github.com/tenantjwt/tenantjwt/cmd/tenantjwt", true},
			{&builtBins.bare, "bareserver", "./internal/bareserver", false},
		} {
			if *c.bin != "" {
				continue
			}
			*c.bin = filepath.Join(dir, c.name)
			cmd := exec.Command("go", "build", "-o", *c.bin, c.pkg)
			if c.rootMod {
				cmd.Dir = ".."
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", c.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return builtBins
}

// startProcess runs bin with args until the benchmark ends and returns its
// base URL, which addr reads from the process's output (stdout, then
// stderr, line by line).
func startProcess(b *testing.B, bin string, args []string, addr func(line string) (string, bool)) (string, int) {
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	found := make(chan string, 1)
	var (
		mu  sync.Mutex
		log strings.Builder
	)
	scan := func(r io.Reader) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			mu.Lock()
			if log.Len() < 4096 {
				log.WriteString(sc.Text() + "\n")
			}
			mu.Unlock()
			if a, ok := addr(sc.Text()); ok {
				select {
				case found <- a:
				default:
				}
			}
		}
	}
	go scan(stdout)
	go scan(stderr)
	select {
	case a := <-found:
		return "http://" + a, cmd.Process.Pid
	case <-time.After(30 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		b.Fatalf("%s did not report its address:\n%s", filepath.Base(bin), log.String())
		return "", 0
	}
}

// serveAddr reads the address from serve's "listening" log record.
func serveAddr(line string) (string, bool) {
	var rec struct{ Msg, Addr string }
	if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "listening" {
		return "", false
	}
	return rec.Addr, rec.Addr != ""
}

// firstLine takes the bare server's first line of stdout.
func firstLine(line string) (string, bool) { return strings.TrimSpace(line), line != "" }

// processCPU is the user and system CPU time the process pid has used so
// far, from /proc (Linux; 0 elsewhere), in clock ticks of 10 ms.
func processCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}
