package jwks_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

// jwksServer serves whatever the test puts in body/status, counting
// requests.
type jwksServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	status   int
	header   http.Header
	handler  http.HandlerFunc // overrides everything when set
	requests atomic.Int64
}

func newJWKSServer(t testing.TB, body []byte) *jwksServer {
	s := &jwksServer{body: body, status: 200}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		h, body, status, hdr := s.handler, s.body, s.status, s.header
		s.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(status int, body []byte, hdr http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body, s.header, s.handler = status, body, hdr, nil
}

func (s *jwksServer) setHandler(h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

func newCache(t *testing.T, opts jwks.Options) *jwks.Cache {
	c := jwks.NewCache(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func remote(t *testing.T, c *jwks.Cache, url string) jwks.Source {
	t.Helper()
	src, err := c.Remote(url, jwks.RemoteOptions{Label: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func refresh(t *testing.T, src jwks.Source) error {
	t.Helper()
	return src.(jwks.Refresher).Refresh(context.Background())
}

func TestColdConcurrentLookupsMakeOneFetch(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	release := make(chan struct{})
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		<-release // hold the fetch until every caller is waiting
		w.Write(idp.JWKS())
	})
	src := remote(t, newCache(t, jwks.Options{}), srv.URL)

	const n = 1000
	var started, wg sync.WaitGroup
	errs := make(chan error, n)
	started.Add(n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			_, err := src.Lookup(context.Background(), idp.KID())
			errs <- err
		}()
	}
	started.Wait()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("lookup: %v", err)
		}
	}
	if got := srv.requests.Load(); got != 1 {
		t.Errorf("%d cold lookups made %d requests, want 1", n, got)
	}
}

func TestUnknownKidsRefetchOncePerCooldown(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	clk := newClock()
	src := remote(t, newCache(t, jwks.Options{Now: clk.now, Cooldown: 30 * time.Second}), srv.URL)
	ctx := context.Background()
	if _, err := src.Lookup(ctx, idp.KID()); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		_, err := src.Lookup(ctx, fmt.Sprintf("random-%d", i))
		if !errors.Is(err, tenantjwt.ErrKeyNotFound) {
			t.Fatalf("unknown kid: err = %v, want ErrKeyNotFound", err)
		}
		if _, err := src.Lookup(ctx, idp.KID()); err != nil {
			t.Fatalf("known kid during the flood: %v", err)
		}
	}
	if got := srv.requests.Load(); got != 2 {
		t.Errorf("requests after 1000 unknown kids = %d, want 2 (first fetch + one refetch)", got)
	}
	clk.add(31 * time.Second)
	for i := range 100 {
		src.Lookup(ctx, fmt.Sprintf("again-%d", i))
	}
	if got := srv.requests.Load(); got != 3 {
		t.Errorf("requests after the cooldown = %d, want 3", got)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	clk := newClock()
	src := remote(t, newCache(t, jwks.Options{Now: clk.now}), srv.URL)
	ctx := context.Background()
	oldKID := idp.KID()
	oldKey, err := src.Lookup(ctx, oldKID)
	if err != nil {
		t.Fatal(err)
	}

	// A new key appears: accepted after one refetch.
	newKID := idp.Rotate()
	srv.set(200, idp.JWKS(), nil)
	if _, err := src.Lookup(ctx, newKID); err != nil {
		t.Fatalf("new kid after rotation: %v", err)
	}
	if got := srv.requests.Load(); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
	// The unchanged key keeps its pointer across the refresh.
	if k, _ := src.Lookup(ctx, oldKID); k != oldKey {
		t.Errorf("unchanged key got a new *Key across a refresh")
	}

	// The old key is removed: it stops resolving after the next refresh.
	idp.RemoveOldKeys()
	srv.set(200, idp.JWKS(), nil)
	clk.add(time.Hour)
	if err := refresh(t, src); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute) // past the unknown-kid cooldown
	if _, err := src.Lookup(ctx, oldKID); !errors.Is(err, tenantjwt.ErrKeyNotFound) {
		t.Errorf("removed kid: err = %v, want ErrKeyNotFound", err)
	}
	if src.Current().Len() != 1 {
		t.Errorf("current set has %d keys, want 1", src.Current().Len())
	}
}

func TestOutageServesStaleThenFailsClosed(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	clk := newClock()
	var stale atomic.Int64
	c := newCache(t, jwks.Options{Now: clk.now, MaxStale: time.Hour,
		Hooks: jwks.Hooks{ServedStale: func(string, string, time.Duration) { stale.Add(1) }}})
	src := remote(t, c, srv.URL)
	ctx := context.Background()
	if _, err := src.Lookup(ctx, idp.KID()); err != nil {
		t.Fatal(err)
	}
	srv.set(http.StatusInternalServerError, []byte("<html>down</html>"), nil)
	clk.add(jwks.DefaultTTL + time.Minute) // expired, within MaxStale
	if err := refresh(t, src); err == nil {
		t.Fatal("refresh against a failing server succeeded")
	}
	if _, err := src.Lookup(ctx, idp.KID()); err != nil {
		t.Fatalf("stale keys must keep serving: %v", err)
	}
	if stale.Load() == 0 {
		t.Error("ServedStale hook not called")
	}
	clk.add(time.Hour) // beyond MaxStale
	if _, err := src.Lookup(ctx, idp.KID()); !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
		t.Errorf("beyond max staleness: err = %v, want ErrKeysUnavailable", err)
	}
	if src.Current() != nil {
		t.Error("Current() must be nil beyond max staleness")
	}
}

func TestNeverFetchedFailsClosed(t *testing.T) {
	t.Parallel()
	srv := newJWKSServer(t, nil)
	srv.set(http.StatusServiceUnavailable, nil, nil)
	clk := newClock()
	src := remote(t, newCache(t, jwks.Options{Now: clk.now}), srv.URL)
	for range 10 {
		if _, err := src.Lookup(context.Background(), "k"); !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
			t.Fatalf("err = %v, want ErrKeysUnavailable", err)
		}
	}
	if got := srv.requests.Load(); got != 1 {
		t.Errorf("failing server got %d requests within the retry interval, want 1", got)
	}
	clk.add(jwks.DefaultRetryInterval)
	src.Lookup(context.Background(), "k")
	if got := srv.requests.Load(); got != 2 {
		t.Errorf("after the retry interval: %d requests, want 2", got)
	}
}

func TestBadResponsesNeverReplaceGoodKeys(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	endless := func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"keys":[`))
		chunk := []byte(strings.Repeat(" ", 64<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	tests := []struct {
		name    string
		status  int
		body    string
		handler http.HandlerFunc
	}{
		{"500", 500, `{"keys":[]}`, nil},
		{"404", 404, ``, nil},
		{"html", 200, `<html><body>maintenance</body></html>`, nil},
		{"invalid json", 200, `{"keys":[`, nil},
		{"empty set", 200, `{"keys":[]}`, nil},
		{"keys not an array", 200, `{"keys":{}}`, nil},
		{"only a symmetric key", 200, `{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`, nil},
		{"2 MiB body", 200, `{"keys":[],"pad":"` + strings.Repeat("a", 2<<20) + `"}`, nil},
		{"endless body", 0, "", endless},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newJWKSServer(t, idp.JWKS())
			clk := newClock()
			src := remote(t, newCache(t, jwks.Options{Now: clk.now}), srv.URL)
			good, err := src.Lookup(context.Background(), idp.KID())
			if err != nil {
				t.Fatal(err)
			}
			if tt.handler != nil {
				srv.setHandler(tt.handler)
			} else {
				srv.set(tt.status, []byte(tt.body), nil)
			}
			clk.add(jwks.DefaultTTL)
			if err := refresh(t, src); err == nil {
				t.Fatal("refresh accepted a bad response")
			}
			if k, err := src.Lookup(context.Background(), idp.KID()); err != nil || k != good {
				t.Fatalf("after a bad response: key %v, err %v; want the last good key", k, err)
			}
		})
	}
}

func TestSlowServerIsBoundedByTimeout(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	clk := newClock()
	src := remote(t, newCache(t, jwks.Options{Now: clk.now, Timeout: 100 * time.Millisecond}), srv.URL)
	_, err := src.Lookup(context.Background(), idp.KID())
	if !errors.Is(err, tenantjwt.ErrKeysUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrKeysUnavailable from a timeout", err)
	}
	// Further lookups within the retry interval do not pile up requests.
	for range 100 {
		src.Lookup(context.Background(), idp.KID())
	}
	if got := srv.requests.Load(); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

func TestCallerContextEndsItsOwnWaitOnly(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	release := make(chan struct{})
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write(idp.JWKS())
	})
	src := remote(t, newCache(t, jwks.Options{}), srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Lookup(ctx, idp.KID()); !errors.Is(err, context.Canceled) || !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
		t.Fatalf("cancelled caller: err = %v", err)
	}
	// The fetch goes on for the others.
	done := make(chan error)
	go func() {
		_, err := src.Lookup(context.Background(), idp.KID())
		done <- err
	}()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("patient caller: %v", err)
	}
	if got := srv.requests.Load(); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

func TestCacheControlClamped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		cacheControl string
		noRefreshAt  time.Duration // a lookup then starts no fetch
		refreshAt    time.Duration // a lookup then starts one
	}{
		{"max-age below MinTTL", "max-age=60", 3 * time.Minute, 4*time.Minute + 30*time.Second},
		{"max-age honoured", "public, max-age=3600", 58 * time.Minute, 59*time.Minute + 30*time.Second},
		{"max-age above MaxTTL", "max-age=9999999", 23 * time.Hour, 23*time.Hour + 59*time.Minute + 30*time.Second},
		{"no-store", "no-store", 3 * time.Minute, 4*time.Minute + 30*time.Second},
		{"absent: default TTL", "", 13 * time.Minute, 14*time.Minute + 30*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := issuertest.New(t)
			srv := newJWKSServer(t, idp.JWKS())
			srv.set(200, idp.JWKS(), http.Header{"Cache-Control": {tt.cacheControl}})
			clk := newClock()
			fetched := make(chan struct{}, 10)
			src := remote(t, newCache(t, jwks.Options{Now: clk.now, RefreshAhead: time.Minute,
				Hooks: jwks.Hooks{FetchDone: func(jwks.FetchEvent) { fetched <- struct{}{} }}}), srv.URL)
			ctx := context.Background()
			src.Lookup(ctx, idp.KID())
			<-fetched
			start := clk.now()
			clk.ns.Store(start.Add(tt.noRefreshAt).UnixNano())
			src.Lookup(ctx, idp.KID())
			select {
			case <-fetched:
				t.Fatalf("refresh started at +%s, too early", tt.noRefreshAt)
			default:
			}
			clk.ns.Store(start.Add(tt.refreshAt).UnixNano())
			if _, err := src.Lookup(ctx, idp.KID()); err != nil {
				t.Fatal(err)
			}
			<-fetched // the background refresh ran
			if got := srv.requests.Load(); got != 2 {
				t.Errorf("requests = %d, want 2", got)
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	other := newJWKSServer(t, idp.JWKS())
	srv := newJWKSServer(t, idp.JWKS())
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/keys", http.StatusFound)
		case "/keys":
			w.Write(idp.JWKS())
		case "/elsewhere":
			http.Redirect(w, r, other.URL+"/keys", http.StatusFound)
		}
	})
	c := newCache(t, jwks.Options{})
	if _, err := remote(t, c, srv.URL+"/same").Lookup(context.Background(), idp.KID()); err != nil {
		t.Errorf("same-host redirect: %v", err)
	}
	if _, err := remote(t, c, srv.URL+"/elsewhere").Lookup(context.Background(), idp.KID()); !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
		t.Errorf("cross-host redirect: err = %v, want ErrKeysUnavailable", err)
	}
	if got := other.requests.Load(); got != 0 {
		t.Errorf("the other host got %d requests, want 0", got)
	}
}

func TestURLRules(t *testing.T) {
	t.Parallel()
	c := newCache(t, jwks.Options{})
	tests := []struct {
		url   string
		allow bool
		ok    bool
	}{
		{"https://idp.example/jwks", false, true},
		{"http://idp.example/jwks", false, false},
		{"http://idp.example/jwks", true, true},
		{"http://127.0.0.1:8080/jwks", false, true},
		{"http://[::1]:8080/jwks", false, true},
		{"http://localhost/jwks", false, true},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"https://user:pass@idp.example/jwks", false, false},
		{"https://idp.example/jwks#frag", false, false},
		{"file:///etc/passwd", true, false},
		{"ftp://idp.example/jwks", true, false},
		{"/relative", true, false},
	}
	for _, tt := range tests {
		_, err := c.Remote(tt.url, jwks.RemoteOptions{AllowInsecureHTTP: tt.allow})
		if (err == nil) != tt.ok {
			t.Errorf("Remote(%q, allow=%v) err = %v, want ok=%v", tt.url, tt.allow, err, tt.ok)
		}
		_, err = c.Discover(tt.url, jwks.RemoteOptions{AllowInsecureHTTP: tt.allow})
		if (err == nil) != tt.ok {
			t.Errorf("Discover(%q, allow=%v) err = %v, want ok=%v", tt.url, tt.allow, err, tt.ok)
		}
	}
}

func TestSharedPerURL(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	c := newCache(t, jwks.Options{})
	a := remote(t, c, srv.URL)
	b, _ := c.Remote(srv.URL, jwks.RemoteOptions{Label: "other tenant"})
	a.Lookup(context.Background(), idp.KID())
	b.Lookup(context.Background(), idp.KID())
	if a != b || srv.requests.Load() != 1 {
		t.Errorf("same URL: shared=%v requests=%d, want true 1", a == b, srv.requests.Load())
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	t.Run("happy path", func(t *testing.T) {
		idp := issuertest.New(t, issuertest.WithPath("/tenant"))
		c := newCache(t, jwks.Options{})
		src, err := c.Discover(idp.URL(), jwks.RemoteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Lookup(context.Background(), idp.KID()); err != nil {
			t.Fatal(err)
		}
		if d, j := idp.DiscoveryRequests(), idp.JWKSRequests(); d != 1 || j != 1 {
			t.Errorf("discovery %d, jwks %d requests; want 1 and 1", d, j)
		}
	})
	t.Run("issuer mismatch", func(t *testing.T) {
		idp := issuertest.New(t)
		var jwksHits atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/openid-configuration") {
				fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, "https://evil.example/", idp.JWKSURL())
				return
			}
			jwksHits.Add(1)
		}))
		t.Cleanup(srv.Close)
		src, _ := newCache(t, jwks.Options{}).Discover(srv.URL, jwks.RemoteOptions{})
		if _, err := src.Lookup(context.Background(), idp.KID()); !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
			t.Errorf("err = %v, want ErrKeysUnavailable", err)
		}
		if idp.JWKSRequests() != 0 || jwksHits.Load() != 0 {
			t.Errorf("JWKS fetched despite the mismatch")
		}
	})
	t.Run("rfc8414 fallback", func(t *testing.T) {
		idp := issuertest.New(t)
		var srvURL string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/.well-known/oauth-authorization-server/as":
				fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, srvURL+"/as", srvURL+"/keys")
			case "/keys":
				w.Write(idp.JWKS())
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(srv.Close)
		srvURL = srv.URL
		src, _ := newCache(t, jwks.Options{}).Discover(srv.URL+"/as", jwks.RemoteOptions{})
		if _, err := src.Lookup(context.Background(), idp.KID()); err != nil {
			t.Errorf("RFC 8414 discovery: %v", err)
		}
	})
	t.Run("jwks_uri over http to a non-loopback host", func(t *testing.T) {
		var srvURL string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":"http://169.254.169.254/keys"}`, srvURL)
		}))
		t.Cleanup(srv.Close)
		srvURL = srv.URL
		src, _ := newCache(t, jwks.Options{}).Discover(srv.URL, jwks.RemoteOptions{})
		if _, err := src.Lookup(context.Background(), "k"); !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
			t.Errorf("err = %v, want ErrKeysUnavailable", err)
		}
	})
}

func TestCloseStopsFetches(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv := newJWKSServer(t, idp.JWKS())
	entered := make(chan struct{})
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // hang until the client gives up
	})
	c := jwks.NewCache(jwks.Options{Timeout: time.Hour})
	src := remote(t, c, srv.URL)
	done := make(chan error)
	go func() {
		_, err := src.Lookup(context.Background(), idp.KID())
		done <- err
	}()
	<-entered
	c.Close() // returns only once the fetch goroutine has ended
	if err := <-done; !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
		t.Errorf("lookup during Close: err = %v", err)
	}
	if _, err := c.Remote(srv.URL, jwks.RemoteOptions{}); !errors.Is(err, jwks.ErrClosed) {
		t.Errorf("Remote after Close: err = %v, want ErrClosed", err)
	}
}

// connCounter is an httptest server that counts its open connections.
type connCounter struct {
	*httptest.Server
	mu          sync.Mutex
	open, total int
	changed     chan struct{} // receives after every change of open
}

func newConnCounter(t *testing.T, body []byte) *connCounter {
	s := &connCounter{changed: make(chan struct{}, 100)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(body)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		s.mu.Lock()
		switch st {
		case http.StateNew:
			s.open++
			s.total++
		case http.StateClosed, http.StateHijacked:
			s.open--
		}
		s.mu.Unlock()
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *connCounter) counts() (open, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open, s.total
}

// waitClosed waits until the server has no open connection; the bound
// only turns a hang into a failure.
func (s *connCounter) waitClosed(t *testing.T) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if open, _ := s.counts(); open == 0 {
			return
		}
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatal("the IdP still has an open connection from the closed cache")
		}
	}
}

// TestCloseClosesIdleConnections: Close ends the keep-alive connections
// of the transports the cache made, so the IdP sees them end at once (a
// server shutting down gracefully waited 5 s for one that was dialled and
// never used); a transport the caller passed in is left alone.
func TestCloseClosesIdleConnections(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	t.Run("the cache's own transport", func(t *testing.T) {
		srv := newConnCounter(t, idp.JWKS())
		c := jwks.NewCache(jwks.Options{})
		if _, err := remote(t, c, srv.URL).Lookup(context.Background(), idp.KID()); err != nil {
			t.Fatal(err)
		}
		if open, _ := srv.counts(); open != 1 {
			t.Fatalf("%d open connections after the fetch, want the kept-alive one", open)
		}
		c.Close()
		srv.waitClosed(t)
	})
	t.Run("the caller's transport", func(t *testing.T) {
		srv := newConnCounter(t, idp.JWKS())
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr}
		c := jwks.NewCache(jwks.Options{HTTPClient: hc})
		if _, err := remote(t, c, srv.URL).Lookup(context.Background(), idp.KID()); err != nil {
			t.Fatal(err)
		}
		c.Close()
		resp, err := hc.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if _, total := srv.counts(); total != 1 {
			t.Errorf("%d connections, want 1: Close dropped the caller's idle connection", total)
		}
	})
}

// TestFetchEventPrecedesWaiters: once a lookup returns, the events of the
// fetches it waited for have been delivered, so metrics read after a
// request include that request's fetches.
func TestFetchEventPrecedesWaiters(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t, issuertest.WithPath("/tenant"))
	for range 20 {
		var events atomic.Int64
		c := newCache(t, jwks.Options{Hooks: jwks.Hooks{FetchDone: func(ev jwks.FetchEvent) {
			if ev.Err == nil {
				events.Add(1)
			}
		}}})
		src, err := c.Discover(idp.URL(), jwks.RemoteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Lookup(context.Background(), idp.KID()); err != nil {
			t.Fatal(err)
		}
		if got := events.Load(); got != 2 {
			t.Fatalf("after the lookup returned, %d fetch events delivered; want 2 (discovery and key set)", got)
		}
	}
}
