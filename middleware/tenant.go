package middleware

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/tenantjwt/tenantjwt"
)

// HostTenants binds hosts to tenants for Config.RequestTenant. Keys are host
// names, compared case-insensitively with the port stripped; a key
// "*.example.com" binds every direct subdomain to its first label
// (acme.example.com → "acme") unless the host has its own entry. Hosts not
// in the map are not bound.
func HostTenants(hosts map[string]string) func(*http.Request) (string, bool) {
	exact := make(map[string]string, len(hosts))
	var wild []string
	for h, t := range hosts {
		h = strings.ToLower(h)
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			wild = append(wild, "."+rest)
			continue
		}
		exact[h] = t
	}
	return func(r *http.Request) (string, bool) {
		host := hostOnly(r.Host)
		if t, ok := exact[host]; ok {
			return t, true
		}
		for _, suffix := range wild {
			label, ok := strings.CutSuffix(host, suffix)
			if ok && label != "" && !strings.Contains(label, ".") {
				return label, true
			}
		}
		return "", false
	}
}

// hostOnly lower-cases a Host header value and strips its port.
func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// bindTenant applies tenant selection (Config.TenantHeader) and the
// request's tenant binding (Config.RequestTenant) to p.
func (a *Authenticator) bindTenant(r *http.Request, p *tenantjwt.Principal) (*tenantjwt.Principal, error) {
	bound, isBound := "", false
	if a.cfg.RequestTenant != nil {
		bound, isBound = a.cfg.RequestTenant(r)
	}
	if a.cfg.TenantHeader != "" {
		vals := r.Header.Values(a.cfg.TenantHeader)
		if len(vals) > 1 {
			return nil, fmt.Errorf("middleware: %d %s headers: %w", len(vals), a.cfg.TenantHeader, ErrMultipleTokens)
		}
		if len(vals) == 1 && vals[0] != p.Tenant {
			want := vals[0]
			if isBound && want != bound {
				return nil, fmt.Errorf("middleware: selected tenant %.64q on a request bound to %.64q: %w", want, bound, tenantjwt.ErrForbidden)
			}
			sel, ok := a.v.(TenantSelector)
			if !ok {
				return nil, fmt.Errorf("middleware: tenant selection needs a TenantSelector: %w", tenantjwt.ErrForbidden)
			}
			np, err := sel.SelectTenant(r.Context(), p, want)
			if err != nil {
				return nil, fmt.Errorf("middleware: select tenant %.64q: %w: %w", want, tenantjwt.ErrForbidden, err)
			}
			if np == nil || np.Tenant != want {
				return nil, fmt.Errorf("middleware: tenant selection of %.64q failed: %w", want, tenantjwt.ErrForbidden)
			}
			p = np
		}
	}
	if isBound && p.Tenant != bound {
		return nil, fmt.Errorf("middleware: token tenant %.64q on a request bound to %.64q: %w", p.Tenant, bound, tenantjwt.ErrForbidden)
	}
	return p, nil
}
