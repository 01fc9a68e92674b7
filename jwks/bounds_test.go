package jwks_test

import (
	"context"
	"errors"
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

// An endless discovery document is cut at the body cap: the server stops
// being read once the cap is passed (SECURITY-CASES 30), whatever it sends.
func TestEndlessDiscoveryDocumentIsCut(t *testing.T) {
	t.Parallel()
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"issuer":"`))
		chunk := []byte(strings.Repeat("a", 32<<10))
		for r.Context().Err() == nil {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	const limit = 256 << 10
	src, err := newCache(t, jwks.Options{MaxBodyBytes: limit, Timeout: time.Minute}).Discover(srv.URL, jwks.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Lookup(context.Background(), "k"); !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
		t.Fatalf("err = %v, want ErrKeysUnavailable", err)
	}
	srv.CloseClientConnections()
	// What the server managed to write is bounded by the cap plus what the
	// kernel and transport buffer, not by the (endless) document.
	if got := written.Load(); got > 64*limit {
		t.Errorf("server wrote %d bytes before the client gave up; cap %d", got, limit)
	}
}

// Isolation (SECURITY-CASES 35): while issuer A's JWKS endpoint hangs, B's
// keys resolve; A's fetch holds no lock B needs.
func TestHangingIssuerDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	idpA, idpB := issuertest.New(t), issuertest.New(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	var once atomic.Bool
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if once.CompareAndSwap(false, true) {
			close(entered)
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write(idpA.JWKS())
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	c := newCache(t, jwks.Options{Timeout: time.Hour})
	a := remote(t, c, hang.URL)
	b := remote(t, c, idpB.JWKSURL())

	aDone := make(chan error, 1)
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	go func() {
		_, err := a.Lookup(ctxA, idpA.KID())
		aDone <- err
	}()
	<-entered // A's fetch is in flight and stuck
	if _, err := b.Lookup(context.Background(), idpB.KID()); err != nil {
		t.Fatalf("B while A hangs: %v", err)
	}
	select {
	case err := <-aDone:
		t.Fatalf("A returned while its endpoint hangs: %v", err)
	default:
	}
	cancelA() // A's caller gives up on its own context
	if err := <-aDone; !errors.Is(err, context.Canceled) {
		t.Errorf("A: err = %v, want context.Canceled", err)
	}
}
