package jwks

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestAddressPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr           string
		public, lbOnly bool // allowed under publicOnly, publicOrLoopback
	}{
		{"8.8.8.8", true, true},
		{"2606:4700:4700::1111", true, true},
		{"64:ff9b::808:808", true, true}, // NAT64 of a public address
		{"127.0.0.1", false, true},
		{"127.1.2.3", false, true},
		{"::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"169.254.169.254", false, false}, // cloud metadata
		{"::ffff:169.254.169.254", false, false},
		{"64:ff9b::a9fe:a9fe", false, false}, // NAT64 of 169.254.169.254
		{"2002:a9fe:a9fe::1", false, false},  // 6to4 of 169.254.169.254
		{"fe80::1", false, false},            // link-local
		{"10.0.0.1", false, false},           // private
		{"172.16.0.1", false, false},         // private
		{"192.168.1.1", false, false},        // private
		{"fd00::1", false, false},            // unique local
		{"0.0.0.0", false, false},            // unspecified
		{"::", false, false},                 // unspecified
		{"224.0.0.1", false, false},          // multicast
		{"ff02::1", false, false},            // multicast
		{"100.100.100.200", false, false},    // shared address space (a cloud metadata address)
		{"255.255.255.255", false, false},    // broadcast
		{"::127.0.0.1", false, false},        // IPv4-compatible
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.addr)
		if got := publicOnly.allowed(ip); got != tt.public {
			t.Errorf("publicOnly.allowed(%s) = %v, want %v", tt.addr, got, tt.public)
		}
		if got := publicOrLoopback.allowed(ip); got != tt.lbOnly {
			t.Errorf("publicOrLoopback.allowed(%s) = %v, want %v", tt.addr, got, tt.lbOnly)
		}
		if !anyAddress.allowed(ip) {
			t.Errorf("anyAddress.allowed(%s) = false", tt.addr)
		}
	}
}

// TestDialerRefusesAfterDNS: the guarded client checks the address it
// connects to, after name resolution, so "localhost" (a name, resolved by
// the system) is refused like 127.0.0.1. With the cache's own dialer the
// check runs before connecting: the listener never sees a connection.
func TestDialerRefusesAfterDNS(t *testing.T) {
	t.Parallel()
	var hits, conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	base := httpClient(nil, 5*time.Second)
	guarded := clientFor(base, publicOnly, 5*time.Second, true)
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/"} {
		resp, err := guarded.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrAddressRefused) {
			t.Errorf("GET %s under publicOnly: err = %v, want ErrAddressRefused", u, err)
		}
	}
	if n, c := hits.Load(), conns.Load(); n != 0 || c != 0 {
		t.Errorf("the loopback server got %d connections and %d requests", c, n)
	}
	// A caller's own dial function is kept; the connection it returns is
	// checked before any byte is sent on it.
	var dialed atomic.Int64
	own := base.Transport.(*http.Transport).Clone()
	own.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	wrapped := clientFor(&http.Client{Transport: own}, publicOnly, 5*time.Second, false)
	resp, err := wrapped.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, ErrAddressRefused) || dialed.Load() != 1 || hits.Load() != 0 {
		t.Errorf("caller's dialer: err = %v, dials %d, requests %d; want ErrAddressRefused, 1, 0", err, dialed.Load(), hits.Load())
	}
	for _, c := range []*http.Client{clientFor(base, publicOrLoopback, 5*time.Second, true), clientFor(base, anyAddress, 5*time.Second, true)} {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatalf("allowed policy: %v", err)
		}
		resp.Body.Close()
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("the loopback server got %d requests under the policies that allow it, want 2", n)
	}
	// A RoundTripper that is not an *http.Transport cannot be guarded.
	custom := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("unused") })}
	if clientFor(custom, publicOnly, time.Second, false) != nil {
		t.Error("a custom RoundTripper was accepted for a restricted policy")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
