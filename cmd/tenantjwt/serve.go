package main

import (
	"cmp"
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/dpop/redisreplay"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/jwks"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/canonical"
)

// serveHooks let tests observe the server without sleeping. Nil in
// production.
type serveHooks struct {
	listening  func(addr string)
	reloaded   func(err error)
	reload     chan struct{}
	prefetched func(ready bool) // after each prefetch attempt

	// grpcListening gets the --grpc-listen address (extauthz.go).
	grpcListening func(addr string)
	// gcTuned gets each GC percentage --gc-headroom sets (gc.go).
	gcTuned func(percent int)
	// newKey makes the keys of dev's new tenants instead of newKey
	// (dev.go), so tests need not generate RSA keys.
	newKey func(alg string) (crypto.Signer, error)
	// mintWaiting is called once when `dev mint` starts waiting for a dev
	// that is still starting (dev.go).
	mintWaiting func()
}

// runServe is the forward-auth server of DESIGN.md.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, hooks *serveHooks) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file with issuers and the forward_auth section (required)")
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	watch := fs.Duration("watch-interval", 2*time.Second, "how often to check the config file (and TLS files) for changes (0 disables)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM, reloaded when it changes); needs --tls-key")
	tlsKey := fs.String("tls-key", "", "private key of --tls-cert (PEM)")
	readTimeout := fs.Duration("read-timeout", 10*time.Second, "longest time to read a request, headers included")
	readHeaderTimeout := fs.Duration("read-header-timeout", 5*time.Second, "longest time to read a request's headers")
	writeTimeout := fs.Duration("write-timeout", 15*time.Second, "longest time from the end of the request headers to the end of the response (a check may wait for a key fetch)")
	idleTimeout := fs.Duration("idle-timeout", 120*time.Second, "how long an idle keep-alive connection stays open")
	maxHeaderBytes := fs.Int("max-header-bytes", 64<<10, "largest request header block in bytes (a token is capped at 16 KiB by default, a header at 64 KiB)")
	retryMin := fs.Duration("prefetch-retry", time.Second, "first delay between attempts to fetch the keys of prefetch issuers (doubles up to 30s, with jitter)")
	logRefusals := fs.Float64("log-refusals", 1, "refusal log records per second per reason and issuer, after a burst of 10 (the first is always written; 0 writes all)")
	issuerLabel := fs.Bool("metrics-issuer-label", true, "label metrics by issuer (one series per issuer and result: turn off for very large registries)")
	gcHeadroom := fs.Int("gc-headroom", 16, "MiB the heap may grow beyond the live heap before a garbage collection, at least (Go's default when the live heap is larger; 0: Go's default always; ignored when GOGC is set)")
	grpcListen := fs.String("grpc-listen", "", "also serve Envoy's gRPC ext_authz (envoy.service.auth.v3.Authorization/Check) and gRPC health on this address (default forward_auth.grpc_listen; empty: off)")
	if err := parseFlags(fs, args, stdout, "serve --config FILE [--listen ADDR] [--grpc-listen ADDR] [--tls-cert FILE --tls-key FILE] [--log-format json|text]\n\n"+gatewayHelp); err != nil {
		return helpOK(err)
	}
	if *configPath == "" {
		return usageError{"serve: --config is required"}
	}
	if fs.NArg() > 0 {
		return usageError{"serve: unexpected arguments"}
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usageError{"serve: --tls-cert and --tls-key go together"}
	}
	if *retryMin <= 0 || *maxHeaderBytes < 4<<10 || *logRefusals < 0 || *gcHeadroom < 0 || *gcHeadroom > 64<<10 {
		return usageError{"serve: --prefetch-retry must be positive, --max-header-bytes at least 4096, --log-refusals not negative, --gc-headroom 0 to 65536"}
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	s := &server{
		path: *configPath, log: logger, metrics: newMetrics(*issuerLabel), hooks: hooks, retryMin: *retryMin,
		limiter: &logLimiter{rate: *logRefusals, burst: 10, now: time.Now},
	}
	s.keys = jwks.NewCache(jwks.Options{Logger: logger, Hooks: jwks.Hooks{FetchDone: s.fetched, ServedStale: s.metrics.servedStale}})
	defer s.keys.Close()
	s.metrics.watchKeys(s)
	var certs *certReloader
	if *tlsCert != "" {
		if certs, err = newCertReloader(*tlsCert, *tlsKey); err != nil {
			return err
		}
	}
	st, err := s.load(ctx)
	if err != nil {
		return err
	}
	s.cur.Store(st)
	s.metrics.reloaded(true, time.Now())
	// Background work belongs to this call: the prefetch loop of the
	// current state and the watcher stop, and are waited for, on return.
	bg, stopBG := context.WithCancel(ctx)
	if headroom := gcTuning(*gcHeadroom, os.Getenv); headroom > 0 {
		var tuned func(int)
		if hooks != nil {
			tuned = hooks.gcTuned
		}
		gcDone := make(chan struct{})
		go func() { defer close(gcDone); tuneGC(bg, headroom, tuned) }()
		defer func() { stopBG(); <-gcDone }()
	}
	s.startPrefetch(bg, st)
	defer func() {
		cur := s.cur.Load()
		cur.stopPrefetch()
		cur.reg.Close()
		if cur.store != nil {
			cur.store.Close()
		}
	}()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		stopBG()
		return err
	}
	srv := &http.Server{
		Handler:           s.routes(),
		ReadTimeout:       *readTimeout,
		ReadHeaderTimeout: *readHeaderTimeout,
		WriteTimeout:      *writeTimeout,
		IdleTimeout:       *idleTimeout,
		MaxHeaderBytes:    *maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if certs != nil {
		srv.TLSConfig = certs.tlsConfig()
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	logger.Info("listening", "addr", ln.Addr().String(), "scheme", scheme, "config", *configPath, "version", readBuildVersion().Version)
	if s.hooks != nil && s.hooks.listening != nil {
		s.hooks.listening(ln.Addr().String())
	}
	served := make(chan error, 2)
	ext, err := s.startExtAuthz(cmp.Or(*grpcListen, st.fa.GRPCListen), served)
	if err != nil {
		ln.Close()
		stopBG()
		return err
	}
	go func() { served <- srv.Serve(ln) }()
	// The watcher is owned: it ends before runServe returns (and before
	// the registry closes), so no reload outlives the server.
	watched := make(chan struct{})
	go func() { defer close(watched); s.watch(bg, *watch, certs) }()
	defer func() { stopBG(); <-watched }()

	var failed error
	select {
	case failed = <-served:
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ext.stop(shutCtx)
	if failed != nil {
		srv.Close()
		return failed
	}
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
	path     string
	log      *slog.Logger
	metrics  *metrics
	hooks    *serveHooks // tests only
	retryMin time.Duration
	limiter  *logLimiter
	fetches  fetchLog
	// everReady is set once every prefetch issuer has had keys: from then
	// on /readyz stays 200 across reloads.
	everReady atomic.Bool
	// lastFailed is the digest of the last config file that failed to
	// load, and failMsg its error: the watcher does not retry (or log) the
	// same bad file every tick. Only the watcher goroutine touches them.
	lastFailed [32]byte
	failMsg    string
	keys       *jwks.Cache // shared by successive registries, so keys survive reloads
	dirs       issuersDir  // parsed issuers_dir files; only the loader touches it
	// replay is shared likewise, so a reload does not forget the DPoP
	// proofs already seen; a reload resizes it in place.
	replay *dpop.ReplayCache
	cur    atomic.Pointer[state]
}

// state is one loaded configuration.
type state struct {
	reg  *issuer.Registry // may be shared with the previous state (see load)
	file *issuer.File
	dir  string // issuers_dir, "" when none
	auth *middleware.Authenticator
	fa   forwardAuth
	hash [32]byte // fingerprint of the config file and issuers_dir
	// stopPrefetch cancels the state's prefetch loop and waits for it.
	stopPrefetch func()
	// store is the shared DPoP replay store of dpop_proofs.store, nil
	// when the proofs are kept in process (server.replay); storeKey is
	// its settings. Successive states with the same settings share it;
	// it is closed when a state with another one comes into force.
	store    *redisreplay.Store
	storeKey string
}

// serveConfig is a config file as serve reads it: the issuers (with those
// of issuers_dir) and the forward_auth section, compiled.
type serveConfig struct {
	file *issuer.File
	fa   forwardAuth
	data []byte
	dir  string // issuers_dir, absolute or relative to the working folder; "" when none
}

// loadServeConfig is the one loader of serve's config file, for serve and
// for verify: strict (unknown keys are errors, with their line), the
// forward_auth section compiled, relative jwks_file and ca_file paths
// taken from the file's folder.
//
// issuers_dir names a folder of further issuer files (see issuersDir);
// dirs, when not nil, remembers them across loads so only changed files
// are parsed again.
func loadServeConfig(path string, dirs *issuersDir) (*serveConfig, error) {
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	c := &serveConfig{data: data}
	// The file's own issuers take relative paths from its folder; those
	// of issuers_dir from theirs (parseDirFile).
	if c.file, err = issuer.ParseConfig(data, filepath.Dir(path), map[string]any{"forward_auth": &c.fa, "issuers_dir": &c.dir}); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.dir != "" {
		if !filepath.IsAbs(c.dir) {
			c.dir = filepath.Join(filepath.Dir(path), c.dir)
		}
		if dirs == nil {
			dirs = &issuersDir{}
		}
		more, err := dirs.load(c.dir)
		if err != nil {
			return nil, fmt.Errorf("%s: issuers_dir: %w", path, err)
		}
		c.file.Issuers = append(c.file.Issuers, more...)
	}
	if err := c.fa.compile(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// load reads and builds a configuration, without touching the current one.
func (s *server) load(ctx context.Context) (*state, error) {
	cfg, err := loadServeConfig(s.path, &s.dirs)
	if err != nil {
		return nil, err
	}
	file, fa, data := cfg.file, cfg.fa, cfg.data
	sum, err := fingerprint(data, cfg.dir)
	if err != nil {
		return nil, err
	}
	replay, store, storeKey, err := s.replayStore(ctx, file)
	if err != nil {
		return nil, err
	}
	built := false
	if cur := s.cur.Load(); store != nil && (cur == nil || cur.store != store) {
		defer func() { // a new store whose state failed to build
			if !built {
				store.Close()
			}
		}()
	}
	// Incremental: when only the issuers changed, the registry in force
	// takes the new list (Replace keeps unchanged issuers with their key
	// sets and cached tokens); other changes build a new registry.
	var reg *issuer.Registry
	if cur := s.cur.Load(); cur != nil && sameRegistryOptions(cur.file, file) {
		if err := cur.reg.Replace(file.Issuers); err != nil {
			return nil, err
		}
		reg = cur.reg
	} else {
		reg, err = issuer.NewFromFile(file, issuer.Options{
			Keys:   s.keys,
			Logger: s.log,
			Hooks:  issuer.Hooks{Verified: s.metrics.verified},
			DPoP:   dpop.Options{Replay: replay},
		})
		if err != nil {
			return nil, err
		}
	}
	st := &state{reg: reg, file: file, fa: fa, hash: sum, dir: cfg.dir, store: store, storeKey: storeKey}
	// The Authenticator is handed the original request of each check (see
	// forwardAuth.original), which DPoP proofs and host binding read; it
	// logs nothing itself, as every decision gets one record from decide.
	st.auth = middleware.NewAuthenticator(reg, middleware.Config{
		Realm:         fa.Realm,
		Sources:       middleware.TokenSources{Cookie: fa.Cookie},
		TenantHeader:  fa.TenantHeader,
		RequestTenant: fa.tenantOf,
		// The TLS connection here is the gateway's, never the client's:
		// only a certificate the gateway reported in a gRPC check counts;
		// otherwise certificate-bound tokens fail closed.
		ClientCertificate: gatewayCertificate,
	})
	st.stopPrefetch = func() {}
	built = true
	return st, nil
}

// replayStore returns the DPoP replay store file asks for, with the
// Redis store and its settings when dpop_proofs.store is set: the store
// in force when its settings are unchanged, else a new one, whose client
// share is replay_per_key per max_age plus leeway (the longest a proof
// lives). Without dpop_proofs.store it is the in-process cache, resized in
// place so a reload forgets no proof.
func (s *server) replayStore(ctx context.Context, file *issuer.File) (dpop.ReplayStore, *redisreplay.Store, string, error) {
	d := file.DPoPProofs
	if d.Store == "" {
		if s.replay == nil { // only load runs this, one reload at a time
			s.replay = dpop.NewReplayCache(dpop.ReplayOptions{})
		}
		s.replay.Configure(d.ReplayCacheSize, d.ReplayPerKey)
		return s.replay, nil, "", nil
	}
	window := cmp.Or(d.MaxAge, dpop.DefaultMaxAge) + cmp.Or(file.Leeway, issuer.DefaultLeeway) // both never negative (validated)
	opts := redisreplay.Options{PerKey: d.ReplayPerKey, Window: window}
	key := fmt.Sprintf("%s %+v", d.Store, opts)
	if cur := s.cur.Load(); cur != nil && cur.store != nil && cur.storeKey == key {
		return cur.store, cur.store, key, nil
	}
	store, err := redisreplay.Open(d.Store, opts)
	if err != nil {
		return nil, nil, "", fmt.Errorf("dpop_proofs.store: %w", err)
	}
	if err := store.Ping(ctx); err != nil {
		// Not fatal: DPoP requests answer 503 until it is reachable.
		s.log.Warn("DPoP replay store unreachable; DPoP requests answer 503 until it is", "error", err)
	}
	return store, store, key, nil
}

// sameRegistryOptions reports whether two config files differ at most in
// their issuers, so the registry in force can take the new list.
func sameRegistryOptions(a, b *issuer.File) bool {
	x, y := *a, *b
	x.Issuers, y.Issuers = nil, nil
	return reflect.DeepEqual(x, y)
}

// readConfig reads a config file for issuer.ParseConfig: at most one byte
// more than it takes, so that it refuses a larger file.
func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, issuer.MaxConfigBytes+1))
}

// watch reloads on SIGHUP, on a changed config file, and on the test
// trigger; on each tick it also reloads a changed TLS certificate.
func (s *server) watch(ctx context.Context, every time.Duration, certs *certReloader) {
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
	if s.hooks != nil {
		trigger = s.hooks.reload
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
		if certs != nil {
			if changed, err := certs.reload(); err != nil {
				s.log.Error("TLS certificate reload failed; the previous one keeps serving", "error", err.Error())
			} else if changed {
				s.log.Info("TLS certificate reloaded")
			}
		}
		s.reload(ctx, force)
	}
}

// reload builds the new configuration and swaps it in; a bad one is logged
// once (until the file changes or is good again) and the old one keeps
// serving.
func (s *server) reload(ctx context.Context, force bool) {
	data, readErr := readConfig(s.path)
	sum, fpErr := fingerprint(data, s.cur.Load().dir)
	if !force && (readErr != nil || fpErr != nil || sum == s.cur.Load().hash || sum == s.lastFailed) {
		return // unreadable right now, unchanged, or the same bad file
	}
	st, err := s.load(ctx)
	if err != nil {
		if msg := err.Error(); msg != s.failMsg {
			s.log.Error("config reload failed; the previous config keeps serving", "error", msg)
			s.failMsg = msg
		}
		s.lastFailed = sum
		s.metrics.reloaded(false, time.Now())
	} else {
		if s.failMsg != "" {
			s.log.Info("config file is good again")
		}
		s.failMsg, s.lastFailed = "", [32]byte{}
		old := s.cur.Swap(st)
		old.stopPrefetch()
		if old.reg != st.reg {
			old.reg.Close()
		}
		if old.store != nil && old.store != st.store {
			old.store.Close()
		}
		// Discovery runs again (in the background, on next use), so a
		// jwks_uri the IdP moved is picked up.
		s.keys.Rediscover()
		s.startPrefetch(ctx, st)
		s.metrics.reloaded(true, time.Now())
		s.log.Info("config reloaded", "issuers", len(st.reg.Issuers()))
	}
	if s.hooks != nil && s.hooks.reloaded != nil {
		s.hooks.reloaded(err)
	}
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/verify", s.verify)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())
	return s.envoyChecks(mux)
}

// verify is the forward-auth endpoint: 200 with X-Auth-* headers, or the
// RFC 6750 refusal the gateway passes on to the client.
func (s *server) verify(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := s.cur.Load()
	req, err := st.fa.original(r)
	d := st.decide(r, req, err)
	s.logDecision(r.Context(), st, d)
	status := http.StatusOK
	if d.err != nil {
		ch := st.auth.ChallengeFor(r, d.err)
		status = ch.Status
		ch.Write(w)
	} else {
		st.allowHeaders(w.Header(), d.p)
		w.WriteHeader(http.StatusOK)
	}
	mode := "forward_auth"
	if _, ok := envoyTarget(r); ok {
		mode = "ext_authz_http"
	}
	s.metrics.checked(mode, status, time.Since(start))
}

// decision is the outcome of one check: the original request as judged,
// the rule that applied, and either a Principal (nil for an anonymous
// rule without a token) or the refusal.
type decision struct {
	req  canonical.Request
	rule *rule
	p    *tenantjwt.Principal
	err  error
}

// decide judges one check about the original request req, derived by
// the caller (reqErr, when it could not be, is the refusal): pick the
// first rule that applies, verify the token r carries and apply the rule.
// Every mode of serve ends here; r supplies the credentials (its
// Authorization, DPoP, Cookie and tenant headers) and the context.
func (st *state) decide(r *http.Request, req canonical.Request, reqErr error) decision {
	d := decision{req: req, err: reqErr}
	if d.err != nil {
		return d
	}
	d.rule = st.fa.match(d.req)
	d.p, d.err = st.auth.AuthenticateRequest(r, d.req)
	switch {
	case errors.Is(d.err, middleware.ErrNoToken) && d.rule != nil && d.rule.Anonymous:
		d.err = nil // no token, and none needed; a bad token is still refused
	case d.err == nil && d.p == nil:
		d.err = middleware.ErrNoToken
	case d.err == nil && d.rule != nil:
		d.err = d.rule.check(d.p)
	}
	return d
}

// logDecision writes the one record of a decision: refusals at info,
// allows at forward_auth.log_allowed. Never the token.
func (s *server) logDecision(ctx context.Context, st *state, d decision) {
	level, outcome := st.fa.allowLevel, "allow"
	if d.err != nil {
		level, outcome = slog.LevelInfo, "deny"
	}
	if !s.log.Enabled(ctx, level) {
		return
	}
	var suppressed int
	if d.err != nil {
		key := reasonOf(d.err)
		if d.p != nil {
			key += "|" + d.p.Issuer()
		}
		ok, n := s.limiter.allow(key)
		if !ok {
			s.metrics.suppressed(reasonOf(d.err))
			return
		}
		suppressed = n
	}
	status, _ := middleware.Status(d.err)
	attrs := []slog.Attr{
		slog.String("decision", outcome),
		slog.Int("status", status),
		slog.String("method", d.req.Method),
		slog.String("host", d.req.Host),
		slog.String("path", d.req.Path),
	}
	if d.rule != nil {
		attrs = append(attrs, slog.String("rule", d.rule.Name))
	}
	if d.p != nil {
		attrs = append(attrs, slog.String("issuer", d.p.Issuer()), slog.String("tenant", d.p.Tenant()), slog.String("subject", d.p.Subject()))
	}
	if d.err != nil {
		attrs = append(attrs, slog.String("reason", d.err.Error()))
	}
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	s.log.LogAttrs(ctx, level, "decision", attrs...)
}

// allowHeaders sets the headers of an allowed check, in every mode: the
// X-Auth-* identity and the configured claim headers, always all of them,
// empty when absent (p is nil for an anonymous rule).
func (st *state) allowHeaders(h http.Header, p *tenantjwt.Principal) {
	writeIdentity(h, p)
	for i, v := range st.fa.claimHeaders.values(p) {
		h[st.fa.claimHeaders.names[i]] = []string{v}
	}
}

// anonymous is the empty Principal whose (empty) identity headers an
// anonymous rule's check sends.
var anonymous tenantjwt.Principal

// writeIdentity sets the X-Auth-* headers of an allowed check: always all
// of them, empty when absent (an anonymous rule: p is nil), so the gateway
// overwrites whatever copies the client sent. Values are encoded by
// headerValue and headerList; the three lists are written into one
// buffer, and the names, already canonical, go straight into the map
// (what Header.Set does after canonicalising) with values sharing one
// backing array: two allocations per check.
func writeIdentity(h http.Header, p *tenantjwt.Principal) {
	if p == nil {
		p = &anonymous
	}
	lists := [3]tenantjwt.List{p.Roles(), p.Permissions(), p.Scopes()}
	var size [3]int
	var plain [3]bool
	for i, l := range lists {
		size[i], plain[i] = listLen(l)
	}
	var b strings.Builder
	b.Grow(size[0] + size[1] + size[2])
	var end [3]int
	for i, l := range lists {
		writeHeaderList(&b, l, plain[i])
		end[i] = b.Len()
	}
	all := b.String()
	v := make([]string, 7)
	v[0], v[1], v[2] = headerValue(p.Issuer()), headerValue(p.Subject()), headerValue(p.Tenant())
	v[3], v[4], v[5] = all[:end[0]], all[end[0]:end[1]], all[end[1]:end[2]]
	v[6] = "no-store"
	h["X-Auth-Issuer"] = v[0:1:1]
	h["X-Auth-Subject"] = v[1:2:2]
	h["X-Auth-Tenant"] = v[2:3:3]
	h["X-Auth-Roles"] = v[3:4:4]
	h["X-Auth-Permissions"] = v[4:5:5]
	h["X-Auth-Scopes"] = v[5:6:6]
	h["Cache-Control"] = v[6:7:7]
}
