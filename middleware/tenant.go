package middleware

import (
	"fmt"
	"net/http"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware/canonical"
)

// HostTenants binds hosts to tenants for Config.RequestTenant. Keys are
// host names or "*.suffix" wildcards (canonical.ParseHostPattern): they
// are compared with the request's canonical host, lower case, without
// port or trailing dot. A wildcard binds every direct subdomain to its
// first label (acme.example.com → "acme") unless the host has its own
// entry. Because hosts are case-insensitive, that label is always lower
// case: a token whose tenant is "Acme" is refused on acme.example.com, so
// bind tenants whose IDs are not lower-case DNS labels by exact entries.
// Hosts not in the map are not bound.
//
// A key that is not a valid host, or an exact host bound to the empty
// tenant, is a configuration error: ParseHostTenants reports it, and
// HostTenants then binds every request to the empty tenant, which no token
// satisfies, so a mistake refuses requests (403) instead of leaving a host
// unbound.
func HostTenants(hosts map[string]string) func(*http.Request, canonical.Request) (string, bool) {
	f, err := ParseHostTenants(hosts)
	if err != nil {
		return func(*http.Request, canonical.Request) (string, bool) { return "", true }
	}
	return f
}

// ParseHostTenants is HostTenants with the configuration error returned.
func ParseHostTenants(hosts map[string]string) (func(*http.Request, canonical.Request) (string, bool), error) {
	exact := make(map[string]string, len(hosts))
	var wild []canonical.HostPattern
	for h, t := range hosts {
		p, err := canonical.ParseHostPattern(h)
		if err != nil {
			return nil, fmt.Errorf("middleware: hosts: %w", err)
		}
		if p.Wildcard() {
			if t != "" {
				return nil, fmt.Errorf("middleware: hosts: %q: a wildcard takes its tenant from the host; bind it to \"\"", h)
			}
			wild = append(wild, p)
			continue
		}
		if t == "" {
			return nil, fmt.Errorf("middleware: hosts: %q is bound to an empty tenant", h)
		}
		if _, dup := exact[p.String()]; dup {
			return nil, fmt.Errorf("middleware: hosts: %q is listed twice", p.String())
		}
		exact[p.String()] = t
	}
	return func(_ *http.Request, req canonical.Request) (string, bool) {
		if t, ok := exact[req.Host]; ok {
			return t, true
		}
		for _, p := range wild {
			if label, ok := p.Match(req.Host); ok {
				return label, true
			}
		}
		return "", false
	}, nil
}

// bindTenant applies tenant selection (Config.TenantHeader) and the
// request's tenant binding (Config.RequestTenant) to p.
func (a *Authenticator) bindTenant(r *http.Request, p *tenantjwt.Principal, orig *original) (*tenantjwt.Principal, error) {
	bound, isBound := "", false
	if a.cfg.RequestTenant != nil {
		req, err := orig.get()
		if err != nil {
			return nil, err
		}
		bound, isBound = a.cfg.RequestTenant(r, req)
	}
	if a.cfg.TenantHeader != "" {
		vals := r.Header.Values(a.cfg.TenantHeader)
		if len(vals) > 1 {
			return nil, fmt.Errorf("middleware: %d %s headers: %w", len(vals), a.cfg.TenantHeader, ErrMultipleTokens)
		}
		if len(vals) == 1 && vals[0] != p.Tenant() {
			want := vals[0]
			if isBound && want != bound {
				return nil, fmt.Errorf("middleware: selected tenant %.64q on a request bound to %.64q: %w", want, bound, tenantjwt.ErrForbidden)
			}
			np, err := SelectTenant(r.Context(), a.v, p, want)
			if err != nil {
				return nil, err
			}
			p = np
		}
	}
	// A binding to the empty tenant is a configuration error (see
	// HostTenants): it refuses every token, even one without a tenant.
	if isBound && (bound == "" || p.Tenant() != bound) {
		return nil, fmt.Errorf("middleware: token tenant %.64q on a request bound to %.64q: %w", p.Tenant(), bound, tenantjwt.ErrForbidden)
	}
	return p, nil
}
