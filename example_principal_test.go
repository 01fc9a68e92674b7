package tenantjwt_test

import (
	"fmt"
	"strings"

	"github.com/tenantjwt/tenantjwt"
)

// A Principal is read through methods; its lists are read-only. Tests and
// custom verifiers build one from an Identity.
func ExamplePrincipal() {
	p := tenantjwt.NewPrincipal(tenantjwt.Identity{
		Issuer:  "acme",
		Subject: "user-1",
		Tenant:  "acme",
		Roles:   []string{"admin", "billing"},
		Scopes:  []string{"projects:read"},
	})
	fmt.Println(p.Subject(), "in", p.Tenant())
	fmt.Println(p.HasRole("admin"), p.Roles().Len(), p.Scopes().Contains("projects:write"))
	for r := range p.Roles().Values() {
		fmt.Println("role", r)
	}
	fmt.Println(strings.Join(p.Roles().Strings(), ","))

	// A writable copy, for a new Principal; p itself never changes.
	id := p.Identity()
	id.Tenant = "globex"
	q := tenantjwt.NewPrincipal(id)
	fmt.Println(p.Tenant(), q.Tenant())
	// Output:
	// user-1 in acme
	// true 2 false
	// role admin
	// role billing
	// admin,billing
	// acme globex
}
