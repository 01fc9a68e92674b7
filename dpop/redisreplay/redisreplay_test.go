package redisreplay_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/dpop/redisreplay"
	"github.com/tenantjwt/tenantjwt/internal/realproc"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// redisServer is a real redis-server on loopback, in its own process
// group and temporary folder.
type redisServer struct {
	url  string
	stop func() // stops the server and waits for it; safe to call twice
}

// startRedis starts redis-server and waits until its log says it is
// ready. Under CI=true a missing redis-server fails the test; elsewhere
// the test is skipped.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	addr, p := realproc.Redis(t)
	return &redisServer{url: "redis://" + addr + "/0", stop: p.Stop}
}

func open(t *testing.T, url string, o redisreplay.Options) *redisreplay.Store {
	t.Helper()
	s, err := redisreplay.Open(url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const resource = "https://api.example.com/v1/orders"

func presentDPoP(proof string) tenantjwt.Presentation {
	return tenantjwt.Presentation{Scheme: "DPoP", DPoP: proof, Method: "GET", URL: resource}
}

// TestReplayAcrossRegistries: two registries, as two replicas, each with
// its own client of one Redis server: a proof accepted by one is refused
// by the other, and a fresh proof passes either.
func TestReplayAcrossRegistries(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	iss := issuertest.New(t)
	client, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := issuertest.NewRegistry(t, issuer.Options{DPoP: dpop.Options{Replay: open(t, srv.url, redisreplay.Options{})}}, iss)
	b := issuertest.NewRegistry(t, issuer.Options{DPoP: dpop.Options{Replay: open(t, srv.url, redisreplay.Options{})}}, iss)
	tok := iss.Mint(map[string]any{"cnf": client.Confirmation()})
	ctx := context.Background()

	proof := client.Proof("GET", resource, tok)
	if _, err := a.VerifyPresented(ctx, tok, presentDPoP(proof)); err != nil {
		t.Fatalf("replica a, fresh proof: %v", err)
	}
	for name, reg := range map[string]*issuer.Registry{"a": a, "b": b} {
		_, err := reg.VerifyPresented(ctx, tok, presentDPoP(proof))
		if !errors.Is(err, tenantjwt.ErrDPoPProof) || errors.Is(err, tenantjwt.ErrStoreUnavailable) {
			t.Errorf("replica %s, replayed proof: err = %v, want ErrDPoPProof", name, err)
		}
	}
	if _, err := b.VerifyPresented(ctx, tok, presentDPoP(client.Proof("GET", resource, tok))); err != nil {
		t.Errorf("replica b, fresh proof: %v", err)
	}
}

// TestConcurrentReplicasRecordOnce: of one proof presented at once to
// two stores (two replicas' clients) many times over, exactly one
// presentation is recorded.
func TestConcurrentReplicasRecordOnce(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	stores := []*redisreplay.Store{open(t, srv.url, redisreplay.Options{Timeout: 5 * time.Second}), open(t, srv.url, redisreplay.Options{Timeout: 5 * time.Second})}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		recorded int
		errs     []error
	)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := stores[i%2].SetIfAbsent(context.Background(), "jkt", "one-proof", time.Minute)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				recorded++
			}
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	if recorded != 1 || len(errs) > 0 {
		t.Errorf("recorded %d times (errors %v), want once", recorded, errs)
	}
	if ok, err := redisreplay.New(nil, redisreplay.Options{}).SetIfAbsent(context.Background(), "jkt", "x", time.Minute); ok || !errors.Is(err, tenantjwt.ErrStoreUnavailable) {
		t.Errorf("store without a client: %v %v, want ErrStoreUnavailable", ok, err)
	}
}

// TestStoreOutageFailsClosed: with Redis gone, a DPoP request through the
// middleware answers 503 (not 401, not 200) and a bearer token still
// verifies; the store's error is ErrStoreUnavailable.
func TestStoreOutageFailsClosed(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	iss := issuertest.New(t)
	client, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	store := open(t, srv.url, redisreplay.Options{})
	reg := issuertest.NewRegistry(t, issuer.Options{DPoP: dpop.Options{Replay: store}}, iss)
	api := httptest.NewServer(middleware.New(reg, middleware.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	t.Cleanup(api.Close)
	bound := iss.Mint(map[string]any{"cnf": client.Confirmation()})
	bearer := iss.Mint(nil)
	send := func(auth, proof string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", api.URL+"/orders", nil)
		req.Header.Set("Authorization", auth)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := send("DPoP "+bound, client.Proof("GET", api.URL+"/orders", bound)); r.StatusCode != 200 {
		t.Fatalf("DPoP with Redis up: %d", r.StatusCode)
	}

	srv.stop()
	r := send("DPoP "+bound, client.Proof("GET", api.URL+"/orders", bound))
	if r.StatusCode != 503 || r.Header.Get("WWW-Authenticate") != "" || r.Header.Get("Retry-After") == "" {
		t.Errorf("DPoP with Redis down: %d (WWW-Authenticate %q, Retry-After %q), want 503 with Retry-After",
			r.StatusCode, r.Header.Get("WWW-Authenticate"), r.Header.Get("Retry-After"))
	}
	if r := send("Bearer "+bearer, ""); r.StatusCode != 200 {
		t.Errorf("bearer token with Redis down: %d, want 200", r.StatusCode)
	}
	_, err = reg.VerifyPresented(context.Background(), bound, presentDPoP(client.Proof("GET", resource, bound)))
	if !errors.Is(err, tenantjwt.ErrStoreUnavailable) || errors.Is(err, tenantjwt.ErrInvalidToken) {
		t.Errorf("VerifyPresented with Redis down: %v, want ErrStoreUnavailable only", err)
	}
	if got := tenantjwt.CauseName(err); got != "store_unavailable" {
		t.Errorf("cause %q, want store_unavailable", got)
	}
	if err := store.Ping(context.Background()); !errors.Is(err, tenantjwt.ErrStoreUnavailable) {
		t.Errorf("Ping with Redis down: %v", err)
	}
}

// TestPerKeyQuota: a client key that has recorded its share of proofs in
// the window is refused (as an invalid proof, not an outage) while
// another key still records; a replay stays a replay; both keys carry
// their expiry.
func TestPerKeyQuota(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	const window = time.Minute
	store := open(t, srv.url, redisreplay.Options{PerKey: 3, Window: window, Prefix: "quota:"})
	ctx := context.Background()
	ttl := 90 * time.Second
	for i := range 3 {
		if ok, err := store.SetIfAbsent(ctx, "greedy", fmt.Sprint("jti-", i), ttl); !ok || err != nil {
			t.Fatalf("greedy proof %d: %v %v", i, ok, err)
		}
	}
	if ok, err := store.SetIfAbsent(ctx, "greedy", "jti-0", ttl); ok || err != nil {
		t.Errorf("replay: %v %v, want false, nil", ok, err)
	}
	ok, err := store.SetIfAbsent(ctx, "greedy", "jti-3", ttl)
	if ok || !errors.Is(err, dpop.ErrReplayKeyFull) || errors.Is(err, tenantjwt.ErrStoreUnavailable) {
		t.Errorf("greedy proof over its share: %v %v, want ErrReplayKeyFull", ok, err)
	}
	if ok, err := store.SetIfAbsent(ctx, "modest", "jti-0", ttl); !ok || err != nil {
		t.Errorf("another key: %v %v, want recorded", ok, err)
	}
	if _, err := store.SetIfAbsent(ctx, "modest", "jti-1", 0); err == nil {
		t.Error("expired proof recorded")
	}

	// Every key the store wrote expires: proofs within their ttl, counters
	// within the window.
	rc := redis.NewClient(must(redis.ParseURL(srv.url)))
	defer rc.Close()
	keys, err := rc.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 6 { // 3 + 1 proofs, 2 counters
		t.Errorf("keys %q, want 6", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "quota:{") {
			t.Errorf("key %q without the prefix and hash tag", k)
		}
		limit := ttl
		if strings.HasSuffix(k, "}:n") {
			limit = window
		}
		if d, err := rc.PTTL(ctx, k).Result(); err != nil || d <= 0 || d > limit {
			t.Errorf("key %q expires in %v (%v), want within %v", k, d, err, limit)
		}
	}
}

// TestQuotaRefusalIsInvalidProof: a client over its share through a
// registry is refused with ErrDPoPProof (401), not as an outage.
func TestQuotaRefusalIsInvalidProof(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	iss := issuertest.New(t)
	client, err := issuertest.NewDPoPClient("ES256", nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := issuertest.NewRegistry(t, issuer.Options{DPoP: dpop.Options{Replay: open(t, srv.url, redisreplay.Options{PerKey: 1})}}, iss)
	tok := iss.Mint(map[string]any{"cnf": client.Confirmation()})
	if _, err := reg.VerifyPresented(context.Background(), tok, presentDPoP(client.Proof("GET", resource, tok))); err != nil {
		t.Fatal(err)
	}
	_, err = reg.VerifyPresented(context.Background(), tok, presentDPoP(client.Proof("GET", resource, tok)))
	if status, _ := middleware.Status(err); status != 401 || !errors.Is(err, tenantjwt.ErrDPoPProof) {
		t.Errorf("over the share: %v (status %d), want ErrDPoPProof and 401", err, status)
	}
}

// TestUnresponsiveServerTimesOut: a server that accepts connections but
// never answers makes SetIfAbsent fail with ErrStoreUnavailable once the
// timeout passes, rather than hang.
func TestUnresponsiveServerTimesOut(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	store := open(t, "redis://"+ln.Addr().String()+"/0", redisreplay.Options{Timeout: 50 * time.Millisecond})
	ok, err := store.SetIfAbsent(context.Background(), "jkt", "jti", time.Minute)
	if ok || !errors.Is(err, tenantjwt.ErrStoreUnavailable) {
		t.Errorf("SetIfAbsent on a silent server: %v %v, want ErrStoreUnavailable", ok, err)
	}
}

// TestOpenRefusesOtherURLs: only redis:// and rediss:// URLs, and the
// error never repeats the URL.
func TestOpenRefusesOtherURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"unix://:s3cret@/run/redis.sock", "http://:s3cret@h:6379/0", "redis://:s3cret@h:6379/notadb", ""} {
		if _, err := redisreplay.Open(u, redisreplay.Options{}); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q): %v, want an error without the password", u, err)
		}
	}
	s, err := redisreplay.Open("rediss://user:s3cret@redis.internal:6380/3", redisreplay.Options{})
	if err != nil {
		t.Fatalf("rediss URL: %v", err)
	}
	s.Close()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
