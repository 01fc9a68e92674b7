package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

var tenantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// runDev serves discovery and JWKS for local tenants; "dev mint" prints
// tokens signed with their keys. Keys persist in --dir, so tokens survive
// restarts.
//
// DIR/base holds the URL dev serves on; "dev mint" reads it. dev writes it
// last, atomically, once every tenant has its key and the listener is open,
// so a mint that sees it can sign at once; and it removes it on exit. A base
// whose server still answers belongs to another running dev: dev refuses to
// take it over unless --force.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer, hooks *serveHooks) error {
	if len(args) > 0 && args[0] == "mint" {
		return runDevMint(ctx, args[1:], stdout, hooks)
	}
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	dir := fs.String("dir", ".tenantjwt-dev", "directory for the persisted keys (private keys: keep it out of version control)")
	listen := fs.String("listen", "127.0.0.1:8931", "loopback address to serve on")
	alg := fs.String("alg", "RS256", "algorithm of newly generated keys: RS256, ES256 or EdDSA")
	force := fs.Bool("force", false, "take over DIR even if another dev still serves it (its tokens then stop matching DIR/base)")
	var tenants listFlag
	fs.Var(&tenants, "tenant", "tenant to serve (repeatable; default \"dev\")")
	if err := parseFlags(fs, args, stdout, "dev [--tenant NAME ...] [--dir DIR] [--listen ADDR] [--alg ALG] [--force]\n       tenantjwt dev mint --tenant NAME --sub SUBJECT [--roles a,b] [--ttl 1h] ..."); err != nil {
		return helpOK(err)
	}
	if len(tenants) == 0 {
		tenants = listFlag{"dev"}
	}
	for _, t := range tenants {
		if !tenantName.MatchString(t) {
			return usageError{fmt.Sprintf("dev: tenant %q: use letters, digits, - and _", t)}
		}
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil || !jwks.IsLoopbackHost(host) {
		return usageError{fmt.Sprintf("dev: --listen %q must be a loopback address", *listen)}
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	basePath := filepath.Join(*dir, "base")
	if other, ok := runningDev(ctx, *dir); ok && !*force {
		return fmt.Errorf("dev: another tenantjwt dev serves %s at %s; stop it, use another --dir, or pass --force to take %s over", *dir, other, basePath)
	}
	// Listen before making keys: an issuer's client that connects meanwhile
	// waits in the backlog for the answer instead of being refused.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	issuers := make([]*issuertest.Issuer, 0, len(tenants))
	defer func() {
		for _, iss := range issuers {
			iss.Close()
		}
	}()
	makeKey := newKey
	if hooks != nil && hooks.newKey != nil {
		makeKey = hooks.newKey
	}
	for _, t := range tenants {
		iss, err := devIssuer(*dir, t, *alg, makeKey)
		if err != nil {
			ln.Close()
			return err
		}
		issuers = append(issuers, iss)
	}
	mux := http.NewServeMux()
	absDir, _ := filepath.Abs(*dir)
	mux.HandleFunc("GET "+devMarkerPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(devMarker{Dir: absDir})
	})
	var snippet strings.Builder
	snippet.WriteString("issuers:\n")
	for i, t := range tenants {
		iss := issuers[i]
		issURL := base + "/" + t
		jwks := iss.JWKS()
		mux.HandleFunc("GET /"+t+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{
				"issuer": issURL, "jwks_uri": issURL + "/jwks.json",
				"id_token_signing_alg_values_supported": []string{iss.Algorithm()},
			})
		})
		mux.HandleFunc("GET /"+t+"/jwks.json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "max-age=300")
			w.Write(jwks)
		})
		fmt.Fprintf(&snippet, "  - name: %s\n    issuer: %s\n    discovery: true\n    audiences: [%s]\n    algorithms: [%s]\n    tenant: %s\n", t, issURL, devAudience, iss.Algorithm(), t)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// The base goes last: the keys are on disk and the listener accepts.
	if err := writeFileAtomic(basePath, []byte(base+"\n")); err != nil {
		srv.Close()
		return err
	}
	defer removeBase(basePath, base)
	fmt.Fprintf(stdout, "tenantjwt dev: serving %d tenant(s) on %s (keys in %s)\n\n# trust them with this config:\n%s\n# mint a token:\n#   tenantjwt dev mint --dir %s --tenant %s --sub alice --roles admin\n",
		len(tenants), base, *dir, snippet.String(), *dir, tenants[0])
	if hooks != nil && hooks.listening != nil {
		hooks.listening(ln.Addr().String())
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shut)
	// Serve closes the listener as it returns, even when Shutdown came
	// first; wait, so the address is free when dev returns.
	<-served
	return err
}

// devMarkerPath is where a running dev says which directory it serves, so a
// second dev on the same directory can tell a live base from a stale one.
const devMarkerPath = "/.well-known/tenantjwt-dev"

type devMarker struct {
	Dir string `json:"dir"`
}

// runningDev reports whether DIR/base names a dev that answers and serves
// the same directory. Only loopback bases are asked: dev never listens
// elsewhere, and a file must not make it call out.
func runningDev(ctx context.Context, dir string) (base string, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, "base"))
	if err != nil {
		return "", false
	}
	base = strings.TrimSpace(string(b))
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || !jwks.IsLoopbackHost(u.Hostname()) {
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+devMarkerPath, nil)
	if err != nil {
		return "", false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var m devMarker
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&m) != nil {
		return "", false
	}
	abs, err := filepath.Abs(dir)
	return base, err == nil && m.Dir == abs
}

// writeFileAtomic replaces path with data: readers see the old file or the
// whole new one, never a partial write.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// removeBase deletes the base file on exit unless another dev (--force)
// has replaced it since.
func removeBase(path, base string) {
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == base {
		os.Remove(path)
	}
}

// devIssuer loads tenant's persisted key, or makes one with newKey and
// saves it, and returns an issuertest.Issuer holding it (used for its JWKS
// rendering and signing; its own test server is not advertised).
func devIssuer(dir, tenant, alg string, newKey func(alg string) (crypto.Signer, error)) (*issuertest.Issuer, error) {
	path := filepath.Join(dir, tenant+".pem")
	signer, err := loadKey(path)
	if errors.Is(err, os.ErrNotExist) {
		signer, err = newKey(alg)
		if err == nil {
			err = saveKey(path, signer)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dev: key of %s: %w", tenant, err)
	}
	return issuertest.NewServer(issuertest.WithKey(signer, ""), issuertest.WithAlgorithm(algOf(signer)))
}

func newKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "RS256":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, usageError{fmt.Sprintf("dev: --alg %q: want RS256, ES256 or EdDSA", alg)}
}

func algOf(s crypto.Signer) string {
	switch k := s.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() {
			return "ES256"
		}
	case ed25519.PrivateKey:
		return "EdDSA"
	}
	return "RS256"
}

func saveKey(path string, s crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(s)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func loadKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PKCS #8 PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported key", path)
	}
	return s, nil
}

// devAudience is the aud dev mint puts in tokens by default and the
// config dev prints accepts: issuers need audiences.
const devAudience = "http://localhost"

// runDevMint prints a token of a dev tenant.
func runDevMint(ctx context.Context, args []string, stdout io.Writer, hooks *serveHooks) error {
	fs := flag.NewFlagSet("dev mint", flag.ContinueOnError)
	dir := fs.String("dir", ".tenantjwt-dev", "directory of the persisted keys")
	tenant := fs.String("tenant", "dev", "tenant whose key signs")
	sub := fs.String("sub", "dev-user", "subject")
	roles := fs.String("roles", "", "comma-separated roles (spaces around each are trimmed)")
	perms := fs.String("permissions", "", "comma-separated permissions (spaces around each are trimmed)")
	scopes := fs.String("scopes", "", "space-separated scopes")
	aud := fs.String("aud", devAudience, "audience")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	base := fs.String("issuer-base", "", "issuer base URL (default: the one `dev` serves, from DIR/base)")
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for a starting `dev` to write DIR/base and the tenant's key (0: don't wait)")
	var extra listFlag
	fs.Var(&extra, "claim", "extra claim k=v (repeatable; v is JSON if it parses, else a string)")
	if err := parseFlags(fs, args, stdout, "dev mint --tenant NAME --sub SUBJECT [--roles a,b] [--permissions x,y] [--scopes \"a b\"] [--ttl 1h] [--claim k=v] [--wait 10s]"); err != nil {
		return helpOK(err)
	}
	roleList, err := splitList("roles", *roles)
	if err != nil {
		return err
	}
	permList, err := splitList("permissions", *perms)
	if err != nil {
		return err
	}
	keyPath := filepath.Join(*dir, *tenant+".pem")
	if *base == "" {
		var waiting func()
		if hooks != nil {
			waiting = hooks.mintWaiting
		}
		b, err := waitForDev(ctx, filepath.Join(*dir, "base"), keyPath, *wait, waiting)
		if err != nil {
			return fmt.Errorf("dev mint: %w", err)
		}
		*base = b
	}
	signer, err := loadKey(keyPath)
	if err != nil {
		return fmt.Errorf("dev mint: tenant %q: %w", *tenant, err)
	}
	iss, err := issuertest.NewServer(issuertest.WithKey(signer, ""), issuertest.WithAlgorithm(algOf(signer)))
	if err != nil {
		return err
	}
	defer iss.Close()
	now := time.Now()
	claims := map[string]any{
		"iss": *base + "/" + *tenant, "sub": *sub,
		"iat": now.Unix(), "exp": now.Add(*ttl).Unix(),
	}
	if roleList != nil {
		claims["roles"] = roleList
	}
	if permList != nil {
		claims["permissions"] = permList
	}
	if *scopes != "" {
		claims["scope"] = strings.Join(strings.Fields(*scopes), " ")
	}
	if *aud != "" {
		claims["aud"] = *aud
	}
	for _, kv := range extra {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageError{fmt.Sprintf("dev mint: --claim %q: want k=v", kv)}
		}
		var j any
		if json.Unmarshal([]byte(v), &j) == nil {
			claims[k] = j
		} else {
			claims[k] = v
		}
	}
	_, err = fmt.Fprintln(stdout, iss.Mint(claims))
	return err
}

// splitList splits a comma-separated flag value and trims the spaces around
// each item, so --roles "admin, ops" means admin and ops. An empty item is
// a usage error; an empty value is no list (nil).
func splitList(flagName, v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	items := strings.Split(v, ",")
	for i, it := range items {
		items[i] = strings.TrimSpace(it)
		if items[i] == "" {
			return nil, usageError{fmt.Sprintf("dev mint: --%s %q: empty item", flagName, v)}
		}
	}
	return items, nil
}

// waitForDev returns the base dev serves on, waiting up to limit for a dev
// that is still starting: dev writes the tenant keys first and DIR/base
// last, so both exist once it is ready. waiting, when not nil, is called
// once when the wait starts.
func waitForDev(ctx context.Context, basePath, keyPath string, limit time.Duration, waiting func()) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for first := true; ; first = false {
		b, err := os.ReadFile(basePath)
		if err == nil {
			if _, err = os.Stat(keyPath); err == nil {
				return strings.TrimSpace(string(b)), nil
			}
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if first && waiting != nil {
			waiting()
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no running dev after %v: start `tenantjwt dev --dir %s` first (with this --tenant) or pass --issuer-base (%w)", limit, filepath.Dir(basePath), err)
		case <-tick.C:
		}
	}
}
