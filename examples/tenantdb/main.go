// Command tenantdb is a runnable example of lazy issuer resolution: the
// tenants of a SaaS, each with its own IdP, live in the application's own
// database (SQLite here, through the pure-Go modernc.org/sqlite driver),
// and the registry asks that database about an issuer on its first
// token instead of loading every tenant at start.
//
//	cd examples/tenantdb && go run .
//
// It onboards one tenant, shows that an unknown issuer is refused without
// a single key fetch, onboards a second tenant while serving, and
// offboards the first. The IdPs are local fakes (issuer/issuertest), so
// the example needs no outside services.
//
// The resolver is the trust decision. It answers only from the tenants
// table, by exact iss, and never builds a key URL out of iss: a token
// can claim any iss, so deriving keys from it would let anyone mint
// tokens this API accepts.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware"
)

const audience = "https://api.example.com"

func main() {
	dir, err := os.MkdirTemp("", "tenantdb")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	if err := run(context.Background(), filepath.Join(dir, "tenants.db"), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tenantdb:", err)
		os.Exit(1)
	}
}

// schema is the application's table of tenants. Onboarding a tenant
// writes a row; the row is the allowlist entry.
const schema = `CREATE TABLE IF NOT EXISTS tenants (
	iss      TEXT PRIMARY KEY,  -- exact iss of the tenant's tokens
	name     TEXT NOT NULL,     -- the tenant's label (Principal.Issuer)
	tenant   TEXT NOT NULL,     -- the tenant id (Principal.Tenant)
	jwks_uri TEXT NOT NULL,     -- where the tenant's IdP publishes keys
	enabled  INTEGER NOT NULL DEFAULT 1
)`

// tenantStore resolves issuers from the tenants table.
type tenantStore struct{ db *sql.DB }

// Resolve is the issuer.Resolver hook. It returns nil for any iss that is
// not an enabled row: the allowlist is the table, never the token.
func (s *tenantStore) Resolve(ctx context.Context, iss string) (*issuer.Config, error) {
	if !strings.HasPrefix(iss, "https://") && !strings.HasPrefix(iss, "http://127.0.0.1:") {
		return nil, nil // not an issuer we could have onboarded: no query
	}
	var name, tenant, jwksURI string
	err := s.db.QueryRowContext(ctx,
		`SELECT name, tenant, jwks_uri FROM tenants WHERE iss = ? AND enabled = 1`, iss,
	).Scan(&name, &tenant, &jwksURI)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err // the registry answers 503 and asks again next time
	}
	return &issuer.Config{
		Name:      name,
		Issuer:    iss,
		JWKSURI:   jwksURI,
		Audiences: []string{audience},
		Tenant:    tenant,
	}, nil
}

func (s *tenantStore) onboard(ctx context.Context, name, tenant string, idp *issuertest.Issuer) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO tenants (iss, name, tenant, jwks_uri) VALUES (?, ?, ?, ?)`,
		idp.URL(), name, tenant, idp.JWKSURL())
	return err
}

func (s *tenantStore) offboard(ctx context.Context, iss string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE tenants SET enabled = 0 WHERE iss = ?`, iss)
	return err
}

// run opens (or creates) the database at path and walks through the
// tenant lifecycle, printing each request's answer to out.
func run(ctx context.Context, path string, out io.Writer) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return err
	}
	store := &tenantStore{db: db}

	// Each tenant brings its own IdP; locally, fakes.
	acme, err := issuertest.NewServer(issuertest.WithPath("/acme"))
	if err != nil {
		return err
	}
	defer acme.Close()
	globex, err := issuertest.NewServer(issuertest.WithPath("/globex"))
	if err != nil {
		return err
	}
	defer globex.Close()

	// No issuer at start: every one comes from the database.
	reg, err := issuer.New(issuer.Options{
		Resolver: issuer.Resolver{Resolve: store.Resolve},
	})
	if err != nil {
		return err
	}
	defer reg.Close()

	api := httptest.NewServer(middleware.New(reg, middleware.Config{})(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			p, _ := tenantjwt.FromContext(r.Context())
			fmt.Fprintf(w, "hello %s of %s", p.Subject(), p.Tenant())
		})))
	defer api.Close()

	call := func(step string, tok string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.URL, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		fmt.Fprintf(out, "%-34s %d %s\n", step+":", resp.StatusCode, strings.TrimSpace(string(body)))
		return nil
	}
	mint := func(idp *issuertest.Issuer, sub string) string {
		return idp.Mint(map[string]any{"sub": sub, "aud": audience})
	}

	if err := store.onboard(ctx, "acme", "acme", acme); err != nil {
		return err
	}
	if err := call("acme (onboarded)", mint(acme, "alice")); err != nil {
		return err
	}
	if err := call("globex (not onboarded)", mint(globex, "bob")); err != nil {
		return err
	}
	fmt.Fprintf(out, "%-34s %d\n", "key fetches for globex:", globex.JWKSRequests())

	// Onboard while serving; Remove drops the cached "not trusted" answer
	// so the new row counts at once instead of after NegativeTTL.
	if err := store.onboard(ctx, "globex", "globex", globex); err != nil {
		return err
	}
	reg.Remove(globex.URL())
	if err := call("globex (onboarded)", mint(globex, "bob")); err != nil {
		return err
	}

	// Offboard: the row is disabled, Remove forgets the resolved issuer
	// with its key set and cached tokens.
	if err := store.offboard(ctx, acme.URL()); err != nil {
		return err
	}
	reg.Remove(acme.URL())
	return call("acme (offboarded)", mint(acme, "alice"))
}
