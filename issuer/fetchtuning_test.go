package issuer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// TestFetchTuningValidation: each bad setting is refused with an error
// naming its field.
func TestFetchTuningValidation(t *testing.T) {
	t.Parallel()
	base := issuer.Config{Name: "t", Issuer: "https://idp.example/", JWKSURI: "https://idp.example/jwks", Audiences: []string{"api"}}
	tests := []struct {
		field string
		edit  func(c *issuer.Config)
	}{
		{"ttl.min", func(c *issuer.Config) { c.TTL.Min = time.Second }},
		{"ttl.max", func(c *issuer.Config) { c.TTL.Max = 30 * 24 * time.Hour }},
		{"ttl", func(c *issuer.Config) { c.TTL = issuer.TTLBounds{Min: time.Hour, Max: 10 * time.Minute} }},
		{"max_stale", func(c *issuer.Config) { c.MaxStale = -time.Minute }},
		{"timeout", func(c *issuer.Config) { c.Timeout = 10 * time.Minute }},
		{"cooldown", func(c *issuer.Config) { c.Cooldown = time.Millisecond }},
		{"refresh", func(c *issuer.Config) { c.Refresh = "eager" }},
		{"ca_file", func(c *issuer.Config) {
			c.JWKSURI, c.AllowInsecureHTTP, c.CAFile = "http://idp.example/jwks", true, "ca.pem"
		}},
		{"cooldown", func(c *issuer.Config) { // static keys fetch nothing
			c.JWKSURI, c.JWKSFile, c.Cooldown = "", "keys.json", time.Minute
		}},
		{"refresh", func(c *issuer.Config) { c.JWKSURI, c.JWKSFile, c.Refresh = "", "keys.json", issuer.RefreshBackground }},
	}
	for _, tt := range tests {
		c := base
		tt.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), ": "+tt.field+": ") {
			t.Errorf("%s: err = %v, want one naming %s", tt.field, err, tt.field)
		}
	}
	good := base
	good.TTL, good.MaxStale, good.Timeout, good.Cooldown, good.Refresh = issuer.TTLBounds{Min: time.Minute, Max: time.Hour}, time.Hour, 2*time.Second, 10*time.Second, issuer.RefreshOnUse
	if err := good.Validate(); err != nil {
		t.Errorf("valid tuning refused: %v", err)
	}
}

// TestFetchTuningFromConfigFile: the config keys reach the key cache as
// RemoteOptions, ca_file read from the config file's folder.
func TestFetchTuningFromConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, caPEM, err := issuertest.NewPrivateCATLSServer(http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(`issuers:
  - name: tuned
    issuer: https://idp.example/
    jwks_uri: https://idp.example/jwks
    audiences: [api]
    ttl: {min: 1m, max: 2h}
    max_stale: 30m
    timeout: 2s
    cooldown: 10s
    ca_file: ca.pem
    refresh: background
`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := issuer.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got jwks.RemoteOptions
	keys := &recordSources{ro: &got}
	newRegistry(t, issuer.Options{Keys: keys}, f.Issuers...)
	want := jwks.RemoteOptions{Label: "tuned", MinTTL: time.Minute, MaxTTL: 2 * time.Hour, MaxStale: 30 * time.Minute,
		Timeout: 2 * time.Second, Cooldown: 10 * time.Second, RootCAs: caPEM, Background: true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("RemoteOptions = %+v\nwant %+v", got, want)
	}

	f.Issuers[0].CAFile = filepath.Join(dir, "missing.pem")
	if _, err := issuer.New(issuer.Options{Keys: keys}, f.Issuers...); err == nil || !strings.Contains(err.Error(), "ca_file: ") {
		t.Errorf("missing ca_file: err = %v, want one naming ca_file", err)
	}
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a certificate"), 0o600)
	f.Issuers[0].CAFile = filepath.Join(dir, "junk.pem")
	if _, err := issuer.New(issuer.Options{Keys: keys}, f.Issuers...); err == nil || !strings.Contains(err.Error(), "ca_file: ") {
		t.Errorf("ca_file without a certificate: err = %v, want one naming ca_file", err)
	}
}

// recordSources records the RemoteOptions of the last Remote call.
type recordSources struct{ ro *jwks.RemoteOptions }

func (r *recordSources) Remote(_ string, ro jwks.RemoteOptions) (jwks.Source, error) {
	*r.ro = ro
	return jwks.NewStatic(jwks.NewSet()), nil
}

func (r *recordSources) Discover(_ string, ro jwks.RemoteOptions) (jwks.Source, error) {
	return r.Remote("", ro)
}

// ReleaseSource has nothing to free.
func (*recordSources) ReleaseSource(jwks.Source) {}

// TestCAFile: an IdP on a private CA is refused without ca_file and
// verifies with it, over real TLS.
func TestCAFile(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t)
	srv, caPEM, err := issuertest.NewPrivateCATLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(idp.JWKS()) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		caFile string
		ok     bool
	}{{"", false}, {caFile, true}} {
		c := idp.Config()
		c.JWKSURI, c.CAFile = srv.URL+"/jwks", tt.caFile
		reg := newRegistry(t, issuer.Options{}, c)
		_, err := reg.Verify(t.Context(), idp.Mint(nil))
		if tt.ok && err != nil {
			t.Errorf("with ca_file: %v", err)
		}
		if !tt.ok && !errors.Is(err, tenantjwt.ErrKeysUnavailable) {
			t.Errorf("without ca_file: err = %v, want ErrKeysUnavailable", err)
		}
	}
}

// TestRefreshBackgroundFetchesBeforeFirstRequest: with refresh:
// background the key set is fetched when the registry is built, so the
// first token needs no fetch; without it nothing is fetched before use.
func TestRefreshBackgroundFetchesBeforeFirstRequest(t *testing.T) {
	t.Parallel()
	idp := issuertest.New(t, issuertest.WithPath("/bg"))
	lazy := issuertest.New(t, issuertest.WithPath("/lazy"))
	fetched := make(chan jwks.FetchEvent, 4)
	bg, lz := idp.Config(), lazy.Config()
	bg.Name, lz.Name = "bg", "lazy"
	bg.Refresh = issuer.RefreshBackground
	reg := newRegistry(t, issuer.Options{KeysOptions: jwks.Options{Hooks: jwks.Hooks{FetchDone: func(ev jwks.FetchEvent) {
		select {
		case fetched <- ev:
		default:
		}
	}}}}, bg, lz)
	select {
	case ev := <-fetched:
		if ev.Label != "bg" || ev.Err != nil {
			t.Fatalf("fetch %+v, want the background issuer's", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("refresh: background fetched nothing before the first request")
	}
	if n := lazy.JWKSRequests(); n != 0 {
		t.Errorf("issuer without refresh: background fetched %d times before use", n)
	}
	if _, err := reg.Verify(t.Context(), idp.Mint(nil)); err != nil {
		t.Fatal(err)
	}
	if n := idp.JWKSRequests(); n != 1 {
		t.Errorf("first token caused a fetch: %d JWKS requests, want 1", n)
	}
}

// TestPrefetchConcurrencyIsBounded: 40 prefetch issuers, at most 4 key
// fetches in flight at once, counted by the server; and the bound is
// reached.
func TestPrefetchConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	const total, limit = 40, 4
	idp := issuertest.New(t)
	var inflight, peak atomic.Int64
	arrived := make(chan struct{}, total)
	release, stop := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		arrived <- struct{}{}
		select {
		case <-release:
		case <-stop: // the test failed
		}
		inflight.Add(-1)
		w.Write(idp.JWKS())
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first
	var cs []issuer.Config
	for i := range total {
		cs = append(cs, issuer.Config{Name: fmt.Sprint("t", i), Issuer: fmt.Sprintf("https://t%d.example/", i),
			JWKSURI: fmt.Sprintf("%s/t%d/jwks", srv.URL, i), Audiences: []string{"api"}, Prefetch: true})
	}
	reg := newRegistry(t, issuer.Options{PrefetchConcurrency: limit}, cs...)
	done := make(chan error, 1)
	go func() { done <- reg.Prefetch(context.Background()) }()
	for range limit {
		<-arrived // the bound is reached
	}
	// Nothing is released yet: an unbounded Prefetch sends the other 36
	// now. This window only detects a violation; a correct Prefetch
	// passes it whatever the timing.
	select {
	case <-arrived:
		t.Fatalf("fetch %d started while %d were in flight", limit+1, limit)
	case <-time.After(200 * time.Millisecond):
	}
	for range total - limit {
		release <- struct{}{} // one ends, one more may start
		<-arrived
	}
	for range limit {
		release <- struct{}{}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != limit {
		t.Errorf("peak concurrent fetches = %d, want %d", p, limit)
	}
	if !reg.Ready() {
		t.Error("not ready after Prefetch")
	}
}
