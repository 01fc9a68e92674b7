package jwks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// netPolicy says which addresses a fetch may connect to.
type netPolicy uint8

const (
	// anyAddress: the URL was written in the configuration (or allowed by
	// AllowPrivateNetwork), so the operator chose where it points.
	anyAddress netPolicy = iota
	// publicOnly: the URL came from a discovery document. It may connect
	// to public unicast addresses only, never to loopback, private,
	// link-local, unspecified, multicast or reserved ones.
	publicOnly
	// publicOrLoopback is publicOnly plus loopback, for discovery of an
	// issuer that is itself configured on a loopback host.
	publicOrLoopback
)

func (p netPolicy) String() string {
	switch p {
	case publicOnly:
		return "public"
	case publicOrLoopback:
		return "public+loopback"
	}
	return "any"
}

// ErrAddressRefused is returned (wrapped) when a fetch of a URL that did
// not come from the configuration would connect to a loopback, private,
// link-local, unspecified, multicast or reserved address.
var ErrAddressRefused = errors.New("jwks: address not allowed for a discovered URL")

// nonPublic lists reserved ranges netip's predicates do not cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space (CGNAT; some cloud metadata)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("::/96"),          // IPv4-compatible (deprecated)
	netip.MustParsePrefix("100::/64"),       // discard
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
}

// nat64 and sixToFour embed an IPv4 address, which is checked in turn.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// allowed reports whether p lets a connection go to ip.
func (p netPolicy) allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if p == anyAddress {
		return true
	}
	if ip.IsLoopback() {
		return p == publicOrLoopback
	}
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() {
		return false
	}
	for _, r := range nonPublic {
		if r.Contains(ip) {
			return false
		}
	}
	if b := ip.As16(); nat64.Contains(ip) {
		return p.allowed(netip.AddrFrom4([4]byte(b[12:16])))
	} else if sixToFour.Contains(ip) {
		return p.allowed(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return true
}

// allowedHost reports whether a URL host may be fetched under p before any
// connection: an IP literal must be allowed, and "localhost" needs
// loopback. Other names are checked when connecting, on the address DNS
// gave.
func (p netPolicy) allowedHost(host string) bool {
	if p == anyAddress {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.allowed(ip)
	}
	return !IsLoopbackHost(host) || p == publicOrLoopback
}

// checkAddress checks the "ip:port" a dialer is about to connect to.
func (p netPolicy) checkAddress(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrAddressRefused, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !p.allowed(ip) {
		return fmt.Errorf("%w: %s", ErrAddressRefused, host)
	}
	return nil
}

// clientFor returns the client that enforces p: base itself for
// anyAddress; otherwise a copy whose transport checks every address at
// connect time and uses no proxy (a proxy would hide the address). With
// ownDialer (the transport is the cache's own or http.DefaultTransport's),
// the check runs in the dialer's Control hook, after DNS and before the
// connection is made, so a name that resolves to an internal address is
// refused too. A dial function of the caller's own is kept, and the
// address is checked on the connection it returns, before any byte is
// sent. It returns nil when base's transport is not an *http.Transport
// and cannot be guarded; fetches under p then fail.
func clientFor(base *http.Client, p netPolicy, timeout time.Duration, ownDialer bool) *http.Client {
	if p == anyAddress {
		return base
	}
	var t *http.Transport
	switch bt := base.Transport.(type) {
	case nil:
		t = http.DefaultTransport.(*http.Transport).Clone()
		ownDialer = true
	case *http.Transport:
		//lint:ignore SA1019 refusing the deprecated dial hooks, which would bypass the guard, not using them
		if bt.Dial != nil || bt.DialTLS != nil {
			return nil
		}
		t = bt.Clone()
	default:
		return nil
	}
	t.Proxy = nil
	if ownDialer || t.DialContext == nil {
		d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second,
			ControlContext: func(_ context.Context, _, address string, _ syscall.RawConn) error {
				return p.checkAddress(address)
			}}
		t.DialContext = d.DialContext
	} else {
		t.DialContext = guardConn(t.DialContext, p)
	}
	if dial := t.DialTLSContext; dial != nil {
		t.DialTLSContext = guardConn(dial, p)
	}
	c := *base
	c.Transport = t
	return &c
}

// guardConn wraps a dial function the cache does not own: the address is
// checked on the connection it returns, before any byte is sent on it.
func guardConn(dial func(ctx context.Context, network, addr string) (net.Conn, error), p netPolicy) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if err := p.checkAddress(conn.RemoteAddr().String()); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
}
