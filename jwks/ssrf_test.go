package jwks_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// remoteIdP is an https issuer on a public-looking name: example.com and
// www.example.com resolve, through the client's dialer, to a TLS server on
// the loopback interface, as a hostile DNS answer (or an IdP inside the
// network) would make them.
type remoteIdP struct {
	idp       *issuertest.Issuer
	srv       *httptest.Server
	issuer    string // https://example.com:PORT
	jwksURI   atomic.Value
	jwksHits  atomic.Int64
	client    *http.Client
	internal  *httptest.Server // a plain-http service on loopback
	internalN atomic.Int64
}

func newRemoteIdP(t *testing.T) *remoteIdP {
	t.Helper()
	r := &remoteIdP{idp: issuertest.New(t)}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, r.issuer, r.jwksURI.Load())
		case "/jwks":
			r.jwksHits.Add(1)
			w.Write(r.idp.JWKS())
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(r.srv.Close)
	port := r.srv.Listener.Addr().(*net.TCPAddr).Port
	r.issuer = fmt.Sprintf("https://example.com:%d", port)
	r.jwksURI.Store(r.issuer + "/jwks")
	r.internal = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.internalN.Add(1)
		w.Write(r.idp.JWKS())
	}))
	t.Cleanup(r.internal.Close)

	tr := r.srv.Client().Transport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		if host == "example.com" || host == "www.example.com" {
			addr = r.srv.Listener.Addr().String()
		}
		return d.DialContext(ctx, network, addr)
	}
	r.client = &http.Client{Transport: tr}
	return r
}

func (r *remoteIdP) lookup(t *testing.T, ro jwks.RemoteOptions) error {
	t.Helper()
	c := newCache(t, jwks.Options{HTTPClient: r.client, Timeout: 2 * time.Second})
	src, err := c.Discover(r.issuer, ro)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	_, err = src.Lookup(context.Background(), r.idp.KID())
	return err
}

// TestDiscoveredJWKSURIIsNotAnSSRF: a jwks_uri named by a remote issuer's
// metadata may not reach loopback, private or metadata addresses, by
// literal or by a name that resolves there, nor use plain http; per-issuer
// allow_private_network opts in, and jwks_same_origin pins the origin.
func TestDiscoveredJWKSURIIsNotAnSSRF(t *testing.T) {
	t.Parallel()
	refused := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
			t.Errorf("err = %v, want ErrKeysUnavailable", err)
		}
	}
	t.Run("a name that resolves to loopback is refused when connecting", func(t *testing.T) {
		r := newRemoteIdP(t)
		err := r.lookup(t, jwks.RemoteOptions{})
		refused(t, err)
		if !errors.Is(err, jwks.ErrAddressRefused) {
			t.Errorf("err = %v, want ErrAddressRefused", err)
		}
		if n := r.jwksHits.Load(); n != 0 {
			t.Errorf("the jwks_uri got %d requests", n)
		}
	})
	t.Run("allow_private_network opts in", func(t *testing.T) {
		r := newRemoteIdP(t)
		if err := r.lookup(t, jwks.RemoteOptions{AllowPrivateNetwork: true}); err != nil {
			t.Fatal(err)
		}
		if n := r.jwksHits.Load(); n != 1 {
			t.Errorf("the jwks_uri got %d requests, want 1", n)
		}
	})
	t.Run("plain http to loopback from a remote issuer", func(t *testing.T) {
		r := newRemoteIdP(t)
		r.jwksURI.Store(r.internal.URL + "/anything")
		refused(t, r.lookup(t, jwks.RemoteOptions{}))
		refused(t, r.lookup(t, jwks.RemoteOptions{AllowPrivateNetwork: true, AllowInsecureHTTP: true}))
		if n := r.internalN.Load(); n != 0 {
			t.Errorf("the internal service got %d requests", n)
		}
	})
	for _, target := range []string{"https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/keys", "https://10.1.2.3/keys", "https://localhost/keys", "https://LOCALHOST/keys", "https://[::ffff:127.0.0.1]/keys"} {
		t.Run("https to "+target, func(t *testing.T) {
			r := newRemoteIdP(t)
			r.jwksURI.Store(target)
			err := r.lookup(t, jwks.RemoteOptions{})
			refused(t, err)
			if !errors.Is(err, jwks.ErrAddressRefused) {
				t.Errorf("err = %v, want ErrAddressRefused", err)
			}
		})
	}
	t.Run("jwks_same_origin", func(t *testing.T) {
		r := newRemoteIdP(t)
		r.jwksURI.Store(strings.Replace(r.issuer, "example.com", "www.example.com", 1) + "/jwks")
		if err := r.lookup(t, jwks.RemoteOptions{AllowPrivateNetwork: true}); err != nil {
			t.Fatalf("another origin without jwks_same_origin: %v", err)
		}
		refused(t, r.lookup(t, jwks.RemoteOptions{AllowPrivateNetwork: true, JWKSSameOrigin: true}))
		r.jwksURI.Store(r.issuer + "/jwks")
		if err := r.lookup(t, jwks.RemoteOptions{AllowPrivateNetwork: true, JWKSSameOrigin: true}); err != nil {
			t.Errorf("same origin with jwks_same_origin: %v", err)
		}
		if n := r.jwksHits.Load(); n != 2 {
			t.Errorf("jwks requests = %d, want 2", n)
		}
	})
	t.Run("a loopback issuer may name a loopback http jwks_uri", func(t *testing.T) {
		idp := issuertest.New(t, issuertest.WithPath("/t"))
		src, err := newCache(t, jwks.Options{}).Discover(idp.URL(), jwks.RemoteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Lookup(context.Background(), idp.KID()); err != nil {
			t.Errorf("loopback issuer: %v", err)
		}
	})
}
