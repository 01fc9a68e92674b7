package jwks_test

import (
	"context"
	"crypto"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// returnsWhileLocked runs f while the test holds src's locks and fails the
// test when f does not return: f waited for a lock. The timeout guards
// against a hang; it is not a timing assertion.
func returnsWhileLocked(t *testing.T, src jwks.Source, what string, f func() error) {
	t.Helper()
	release := jwks.HoldLocks(src)
	defer release()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s while the source is locked: %v", what, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s waited for the source's lock", what)
	}
}

// TestFreshLookupTakesNoLock holds the mutexes of a remote and a discovery
// source and shows that Lookup of a known kid, Current and Usable of a
// fresh set still return: before the refresh is due, and once it is due
// (the refresh then starts from a later lookup, when the lock is free).
func TestFreshLookupTakesNoLock(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"remote", "discovery"} {
		t.Run(kind, func(t *testing.T) {
			idp := issuertest.New(t, issuertest.WithPath("/t"))
			clk := newClock()
			fetched := make(chan jwks.FetchEvent, 16)
			c := newCache(t, jwks.Options{Now: clk.now, MinTTL: time.Hour, MaxTTL: time.Hour,
				Hooks: jwks.Hooks{FetchDone: func(ev jwks.FetchEvent) {
					if !ev.Discovery {
						fetched <- ev
					}
				}}})
			var src jwks.Source
			var err error
			if kind == "remote" {
				src, err = c.Remote(idp.JWKSURL(), jwks.RemoteOptions{})
			} else {
				src, err = c.Discover(idp.URL(), jwks.RemoteOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := refresh(t, src); err != nil {
				t.Fatal(err)
			}
			<-fetched
			kid := idp.KID()
			check := func(t *testing.T) {
				t.Helper()
				returnsWhileLocked(t, src, "Lookup", func() error {
					_, err := src.Lookup(context.Background(), kid)
					return err
				})
				returnsWhileLocked(t, src, "Current", func() error {
					if src.Current() == nil {
						t.Error("Current: no set")
					}
					return nil
				})
				returnsWhileLocked(t, src, "Usable", func() error {
					if s, _ := src.(jwks.Expiring).Usable(); s == nil {
						t.Error("Usable: no set")
					}
					return nil
				})
			}
			t.Run("fresh", check)
			clk.add(50 * time.Minute) // past refreshAt (80% of the TTL)
			t.Run("refresh due", check)
			if t.Failed() {
				return
			}
			// The refresh ahead of expiry still happens, from a lookup
			// made while the lock is free.
			if _, err := src.Lookup(context.Background(), kid); err != nil {
				t.Fatal(err)
			}
			select {
			case ev := <-fetched:
				if ev.Err != nil {
					t.Fatal(ev.Err)
				}
			case <-time.After(20 * time.Second): // a guard against a hang
				t.Fatal("no refresh ahead of expiry")
			}
		})
	}
}

// TestLookupsDuringSwap looks up one kid from many goroutines while a
// refresh replaces the key set with one where that kid is another key:
// every lookup returns the old key or the new one, never an error. The
// swap is sequenced with channels: every looker has seen the old key
// before the fetch is answered, and each runs until it sees the new one.
func TestLookupsDuringSwap(t *testing.T) {
	t.Parallel()
	oldKey, err := issuertest.FixtureKey("RS256")
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := issuertest.FixtureKey("RS256")
	if err != nil {
		t.Fatal(err)
	}
	oldDoc := doc(t, jwkOf(t, oldKey.Public(), map[string]any{"kid": "k", "alg": "RS256"}))
	newDoc := doc(t, jwkOf(t, newKey.Public(), map[string]any{"kid": "k", "alg": "RS256"}))
	srv := newJWKSServer(t, oldDoc)
	c := newCache(t, jwks.Options{})
	src := remote(t, c, srv.URL)
	if err := refresh(t, src); err != nil {
		t.Fatal(err)
	}

	inFetch, answer := make(chan struct{}), make(chan struct{})
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		close(inFetch)
		<-answer
		w.Write(newDoc)
	})

	const lookers = 16
	var sawOld, wg sync.WaitGroup
	sawOld.Add(lookers)
	errs := make(chan error, lookers)
	for range lookers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				k, err := src.Lookup(context.Background(), "k")
				if err != nil {
					errs <- err
					if first {
						sawOld.Done()
					}
					return
				}
				isNew := publicEqual(k.Public, newKey.Public())
				if !isNew && !publicEqual(k.Public, oldKey.Public()) {
					t.Error("lookup returned a key of neither set")
					isNew = true // stop
				}
				if first {
					if isNew {
						t.Error("the new key was served before the refresh")
					}
					sawOld.Done()
					first = false
				}
				if isNew {
					return
				}
			}
		}()
	}
	sawOld.Wait()
	refreshed := make(chan error, 1)
	go func() { refreshed <- refresh(t, src) }()
	<-inFetch // the fetch is in flight; lookups go on meanwhile
	close(answer)
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("lookup during the swap: %v", err)
	}
}

func publicEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}
