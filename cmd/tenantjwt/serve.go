package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/jwks"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// serveHooks let tests observe the server without sleeping. Nil in
// production.
type serveHooks struct {
	listening func(addr string)
	reloaded  func(err error)
	reload    chan struct{}
}

var testHooks *serveHooks

// runServe is the forward-auth server of DESIGN.md.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file with issuers and the forward_auth section (required)")
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	watch := fs.Duration("watch-interval", 2*time.Second, "how often to check the config file for changes (0 disables)")
	if err := parseFlags(fs, args, stdout, "serve --config FILE [--listen ADDR] [--log-format json|text]"); err != nil {
		return helpOK(err)
	}
	if *configPath == "" {
		return usageError{"serve: --config is required"}
	}
	if fs.NArg() > 0 {
		return usageError{"serve: unexpected arguments"}
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	s := &server{path: *configPath, log: logger, metrics: newMetrics()}
	s.keys = jwks.NewCache(jwks.Options{Logger: logger, Hooks: jwks.Hooks{FetchDone: s.metrics.fetched}})
	defer s.keys.Close()
	st, err := s.load(ctx)
	if err != nil {
		return err
	}
	s.cur.Store(st)
	defer func() { s.cur.Load().reg.Close() }()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("listening", "addr", ln.Addr().String(), "config", *configPath)
	if testHooks != nil && testHooks.listening != nil {
		testHooks.listening(ln.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	go s.watch(ctx, *watch)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutCtx)
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("serve: --log-level %q: want debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, usageError{fmt.Sprintf("serve: --log-format %q: want json or text", format)}
	}
}

// server holds the state that survives reloads (key cache, metrics) and
// the current configuration, swapped atomically.
type server struct {
	path    string
	log     *slog.Logger
	metrics *metrics
	keys    *jwks.Cache // shared by successive registries, so keys survive reloads
	// replay is shared likewise, so a reload does not forget the DPoP
	// proofs already seen; a reload resizes it in place.
	replay *issuer.ReplayCache
	cur    atomic.Pointer[state]
}

// state is one loaded configuration.
type state struct {
	reg  *issuer.Registry
	auth *middleware.Authenticator
	fa   forwardAuth
	hash [32]byte
}

// load reads and builds a configuration, without touching the current one.
func (s *server) load(ctx context.Context) (*state, error) {
	data, err := readConfig(s.path)
	if err != nil {
		return nil, err
	}
	var fa forwardAuth
	file, err := issuer.ParseConfigExtended(data, map[string]any{"forward_auth": &fa})
	if err != nil {
		return nil, err
	}
	if err := fa.validate(); err != nil {
		return nil, err
	}
	dir := filepath.Dir(s.path)
	for i := range file.Issuers {
		if p := file.Issuers[i].JWKSFile; p != "" && !filepath.IsAbs(p) {
			file.Issuers[i].JWKSFile = filepath.Join(dir, p)
		}
	}
	if s.replay == nil { // only load runs this, one reload at a time
		s.replay = issuer.NewReplayCache(issuer.ReplayOptions{})
	}
	s.replay.Configure(file.DPoPProofs.ReplayCacheSize, file.DPoPProofs.ReplayPerKey)
	reg, err := issuer.NewFromFile(file, issuer.Options{
		Keys:   s.keys,
		Logger: s.log,
		Hooks:  issuer.Hooks{Verified: s.metrics.verified},
		DPoP:   issuer.DPoPOptions{Replay: s.replay},
	})
	if err != nil {
		return nil, err
	}
	st := &state{reg: reg, fa: fa, hash: sha256.Sum256(data)}
	st.auth = middleware.NewAuthenticator(reg, middleware.Config{
		Realm:         fa.Realm,
		Sources:       middleware.TokenSources{Cookie: fa.Cookie},
		TenantHeader:  fa.TenantHeader,
		RequestTenant: middleware.HostTenants(fa.Hosts),
		Logger:        s.log,
		// DPoP proofs are checked against the original request, which the
		// gateway describes in these headers (see forwardedOf).
		Forwarded: middleware.TraefikForwarded,
		// The TLS connection here is the gateway's, never the client's:
		// certificate-bound tokens cannot be checked and fail closed.
		ClientCertificate: func(*http.Request) *x509.Certificate { return nil },
	})
	// Prefetch in the background; /readyz reports when it is done.
	go func() {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := reg.Prefetch(pctx); err != nil {
			s.log.Warn("prefetch failed", "error", err.Error())
		}
	}()
	return st, nil
}

func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, issuer.MaxConfigBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > issuer.MaxConfigBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, issuer.MaxConfigBytes)
	}
	return data, nil
}

// watch reloads on SIGHUP, on a changed file, and on the test trigger.
func (s *server) watch(ctx context.Context, every time.Duration) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	var trigger chan struct{}
	if testHooks != nil {
		trigger = testHooks.reload
	}
	for {
		force := true
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-trigger:
		case <-tick:
			force = false
		}
		s.reload(ctx, force)
	}
}

// reload builds the new configuration and swaps it in; a bad one is logged
// and the old one keeps serving.
func (s *server) reload(ctx context.Context, force bool) {
	if !force {
		data, err := readConfig(s.path)
		if err != nil || sha256.Sum256(data) == s.cur.Load().hash {
			return // unreadable right now, or unchanged: nothing to do
		}
	}
	st, err := s.load(ctx)
	if err != nil {
		s.log.Error("config reload failed; the previous config keeps serving", "error", err.Error())
	} else {
		old := s.cur.Swap(st)
		old.reg.Close()
		s.log.Info("config reloaded", "issuers", len(st.reg.Issuers()))
	}
	if testHooks != nil && testHooks.reloaded != nil {
		testHooks.reloaded(err)
	}
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/verify", s.verify)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.cur.Load().reg.Ready() {
			http.Error(w, "keys of prefetch issuers not loaded yet", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	return mux
}

// verify is the forward-auth endpoint: 200 with X-Auth-* headers, or the
// RFC 6750 refusal the gateway passes on to the client.
func (s *server) verify(w http.ResponseWriter, r *http.Request) {
	st := s.cur.Load()
	f := forwardedOf(r)
	// Bind and match on the original request's host, not on ours.
	orig := r.Clone(r.Context())
	orig.Host = f.host
	p, err := st.auth.Authenticate(orig)
	if err == nil && p == nil {
		err = middleware.ErrNoToken
	}
	if err == nil {
		for _, rl := range st.fa.Rules {
			if rl.matches(f) {
				err = rl.check(p)
				break
			}
		}
	}
	if err != nil {
		ch := st.auth.Challenge(err)
		s.metrics.responses.WithLabelValues(fmt.Sprint(ch.Status)).Inc()
		st.auth.Fail(w, orig, err)
		return
	}
	h := w.Header()
	h.Set("X-Auth-Issuer", headerValue(p.Issuer))
	h.Set("X-Auth-Subject", headerValue(p.Subject))
	h.Set("X-Auth-Tenant", headerValue(p.Tenant))
	h.Set("X-Auth-Roles", headerList(p.Roles))
	h.Set("X-Auth-Permissions", headerList(p.Permissions))
	h.Set("X-Auth-Scopes", headerList(p.Scopes))
	h.Set("Cache-Control", "no-store")
	s.metrics.responses.WithLabelValues("200").Inc()
	w.WriteHeader(http.StatusOK)
}
