package issuer_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// Onboarding and offboarding tenants one at a time: each call costs the
// same whatever the size of the registry, and Verify never waits for it.
func ExampleRegistry_Update() {
	acme, err := issuertest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer acme.Close()
	reg, err := issuer.New(issuer.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	cfg := acme.LocalConfig()
	cfg.Name = "acme"
	tok := acme.Mint(map[string]any{"sub": "alice"})

	// README:begin onboarding
	reg.Add(cfg) // onboard a tenant's IdP
	reg.Update("acme", func(c *issuer.Config) error {
		c.Tenant = "acme-eu" // change one issuer in place
		return nil
	})
	// README:end onboarding
	p, err := reg.Verify(context.Background(), tok)
	fmt.Println(p.Subject(), p.Tenant(), err)
	// README:begin offboarding
	reg.Remove("acme") // offboard: its cached tokens stop at once
	// README:end offboarding
	_, err = reg.Verify(context.Background(), tok)
	fmt.Println(errors.Is(err, tenantjwt.ErrUnknownIssuer))
	// Output:
	// alice acme-eu <nil>
	// true
}

// appRow is a row of the application's own tenant table.
type appRow struct{ Name, JWKSURI, Tenant string }

// appDB stands for the application's database of onboarded tenants.
type appDB map[string]appRow

func (db appDB) TenantByIssuer(_ context.Context, iss string) (*appRow, error) {
	if row, ok := db[iss]; ok {
		return &row, nil
	}
	return nil, nil
}

// A Resolver looks issuers up in the application's own database, lazily:
// the registry asks it only for an iss it does not hold.
func ExampleResolver() {
	acme, err := issuertest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer acme.Close()
	db := appDB{acme.URL(): {Name: "acme", JWKSURI: acme.JWKSURL(), Tenant: "acme"}}
	api := acme.Audience()

	// README:begin resolver
	reg, err := issuer.New(issuer.Options{Resolver: issuer.Resolver{
		Resolve: func(ctx context.Context, iss string) (*issuer.Config, error) {
			row, err := db.TenantByIssuer(ctx, iss) // exact match on your onboarded tenants
			if err != nil || row == nil {
				return nil, err // nil, nil: not trusted
			}
			return &issuer.Config{Name: row.Name, Issuer: iss, JWKSURI: row.JWKSURI,
				Audiences: []string{api}, Tenant: row.Tenant}, nil
		},
	}})
	// README:end resolver
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	p, err := reg.Verify(context.Background(), acme.Mint(map[string]any{"sub": "alice"}))
	fmt.Println(p.Subject(), p.Tenant(), err)
	// Output: alice acme <nil>
}
