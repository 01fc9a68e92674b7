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
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "mint" {
		return runDevMint(args[1:], stdout)
	}
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	dir := fs.String("dir", ".tenantjwt-dev", "directory for the persisted keys (private keys: keep it out of version control)")
	listen := fs.String("listen", "127.0.0.1:8931", "loopback address to serve on")
	alg := fs.String("alg", "RS256", "algorithm of newly generated keys: RS256, ES256 or EdDSA")
	var tenants listFlag
	fs.Var(&tenants, "tenant", "tenant to serve (repeatable; default \"dev\")")
	if err := parseFlags(fs, args, stdout, "dev [--tenant NAME ...] [--dir DIR] [--listen ADDR] [--alg ALG]\n       tenantjwt dev mint --tenant NAME --sub SUBJECT [--roles a,b] [--ttl 1h] ..."); err != nil {
		return helpOK(err)
	}
	if len(tenants) == 0 {
		tenants = listFlag{"dev"}
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil || !jwks.IsLoopbackHost(host) {
		return usageError{fmt.Sprintf("dev: --listen %q must be a loopback address", *listen)}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "base"), []byte(base+"\n"), 0o600); err != nil {
		return err
	}
	mux := http.NewServeMux()
	var snippet strings.Builder
	snippet.WriteString("issuers:\n")
	for _, t := range tenants {
		if !tenantName.MatchString(t) {
			ln.Close()
			return usageError{fmt.Sprintf("dev: tenant %q: use letters, digits, - and _", t)}
		}
		iss, err := devIssuer(*dir, t, *alg)
		if err != nil {
			ln.Close()
			return err
		}
		defer iss.Close()
		url := base + "/" + t
		jwks := iss.JWKS()
		mux.HandleFunc("GET /"+t+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{
				"issuer": url, "jwks_uri": url + "/jwks.json",
				"id_token_signing_alg_values_supported": []string{iss.Algorithm()},
			})
		})
		mux.HandleFunc("GET /"+t+"/jwks.json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "max-age=300")
			w.Write(jwks)
		})
		fmt.Fprintf(&snippet, "  - name: %s\n    issuer: %s\n    discovery: true\n    audiences: [%s]\n    algorithms: [%s]\n    tenant: %s\n", t, url, devAudience, iss.Algorithm(), t)
	}
	fmt.Fprintf(stdout, "tenantjwt dev: serving %d tenant(s) on %s (keys in %s)\n\n# trust them with this config:\n%s\n# mint a token:\n#   tenantjwt dev mint --dir %s --tenant %s --sub alice --roles admin\n",
		len(tenants), base, *dir, snippet.String(), *dir, tenants[0])
	if testHooks != nil && testHooks.listening != nil {
		testHooks.listening(ln.Addr().String())
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

// devIssuer loads tenant's persisted key, or makes and saves one, and
// returns an issuertest.Issuer holding it (used for its JWKS rendering and
// signing; its own test server is not advertised).
func devIssuer(dir, tenant, alg string) (*issuertest.Issuer, error) {
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
func runDevMint(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dev mint", flag.ContinueOnError)
	dir := fs.String("dir", ".tenantjwt-dev", "directory of the persisted keys")
	tenant := fs.String("tenant", "dev", "tenant whose key signs")
	sub := fs.String("sub", "dev-user", "subject")
	roles := fs.String("roles", "", "comma-separated roles")
	perms := fs.String("permissions", "", "comma-separated permissions")
	scopes := fs.String("scopes", "", "space-separated scopes")
	aud := fs.String("aud", devAudience, "audience")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	base := fs.String("issuer-base", "", "issuer base URL (default: the one `dev` last served, from DIR/base)")
	var extra listFlag
	fs.Var(&extra, "claim", "extra claim k=v (repeatable; v is JSON if it parses, else a string)")
	if err := parseFlags(fs, args, stdout, "dev mint --tenant NAME --sub SUBJECT [--roles a,b] [--permissions x,y] [--scopes \"a b\"] [--ttl 1h] [--claim k=v]"); err != nil {
		return helpOK(err)
	}
	if *base == "" {
		b, err := os.ReadFile(filepath.Join(*dir, "base"))
		if err != nil {
			return fmt.Errorf("dev mint: no issuer base: run `tenantjwt dev` first or pass --issuer-base (%w)", err)
		}
		*base = strings.TrimSpace(string(b))
	}
	signer, err := loadKey(filepath.Join(*dir, *tenant+".pem"))
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
	split := func(s, sep string) []string {
		if s == "" {
			return []string{}
		}
		return strings.Split(s, sep)
	}
	if *roles != "" {
		claims["roles"] = split(*roles, ",")
	}
	if *perms != "" {
		claims["permissions"] = split(*perms, ",")
	}
	if *scopes != "" {
		claims["scope"] = *scopes
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
