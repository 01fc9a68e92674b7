package main

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// forwardAuth is the forward_auth section of the config file: what
// `serve` adds to the issuers.
//
//	forward_auth:
//	  realm: api                       # WWW-Authenticate realm (default "api")
//	  cookie: DS                       # also read the token from this cookie
//	  tenant_header: X-Tenant-ID       # let callers pick one of their tenants
//	  hosts:                           # host → tenant binding (403 on mismatch)
//	    acme.example.com: acme
//	    "*.shops.example.com": ""      # first label is the tenant
//	  rules:                           # first match wins; no match: a valid token suffices
//	    - host: admin.example.com      # exact, case-insensitive, or "*.example.com"
//	      path_prefix: /billing
//	      methods: [POST, DELETE]
//	      roles: [admin, owner]        # any of
//	      all_roles: [staff]           # all of
//	      permissions: [billing:write] # all of
//	      scopes: [billing]            # all of
//	      tenant: acme                 # the token must act in this tenant
type forwardAuth struct {
	Realm        string            `yaml:"realm"`
	Cookie       string            `yaml:"cookie"`
	TenantHeader string            `yaml:"tenant_header"`
	Hosts        map[string]string `yaml:"hosts"`
	Rules        []rule            `yaml:"rules"`
}

// rule is one authorization rule of forward_auth.
type rule struct {
	Host        string   `yaml:"host"`
	PathPrefix  string   `yaml:"path_prefix"`
	Methods     []string `yaml:"methods"`
	Roles       []string `yaml:"roles"`
	AllRoles    []string `yaml:"all_roles"`
	Permissions []string `yaml:"permissions"`
	Scopes      []string `yaml:"scopes"`
	Tenant      string   `yaml:"tenant"`
}

func (fa *forwardAuth) validate() error {
	for i, r := range fa.Rules {
		if r.PathPrefix != "" && !strings.HasPrefix(r.PathPrefix, "/") {
			return fmt.Errorf("forward_auth: rules[%d]: path_prefix must start with /", i)
		}
		for _, m := range r.Methods {
			if m == "" || strings.ToUpper(m) != m {
				return fmt.Errorf("forward_auth: rules[%d]: methods: %q must be an upper-case HTTP method", i, m)
			}
		}
	}
	return nil
}

// forwarded is the original request as the gateway describes it.
type forwarded struct {
	host, path, method string
}

// forwardedOf reads X-Forwarded-Host/Uri/Method, falling back to the
// request itself (for gateways that forward the original request as is).
func forwardedOf(r *http.Request) forwarded {
	f := forwarded{host: r.Header.Get("X-Forwarded-Host"), method: r.Header.Get("X-Forwarded-Method")}
	if f.host == "" {
		f.host = r.Host
	}
	if h, _, ok := strings.Cut(f.host, ","); ok { // a proxy chain: the first is the client's
		f.host = strings.TrimSpace(h)
	}
	if f.method == "" {
		f.method = r.Method
	}
	uri := r.Header.Get("X-Forwarded-Uri")
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	f.path, _, _ = strings.Cut(uri, "?")
	return f
}

// matches reports whether r applies to f.
func (r rule) matches(f forwarded) bool {
	if r.Host != "" && !hostMatches(r.Host, f.host) {
		return false
	}
	if r.PathPrefix != "" && !pathHasPrefix(f.path, r.PathPrefix) {
		return false
	}
	if len(r.Methods) > 0 {
		ok := false
		for _, m := range r.Methods {
			ok = ok || m == f.method
		}
		if !ok {
			return false
		}
	}
	return true
}

// pathHasPrefix matches whole segments: /billing matches /billing and
// /billing/x but not /billingx.
func pathHasPrefix(path, prefix string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || strings.HasSuffix(prefix, "/") || path[len(prefix)] == '/'
}

func hostMatches(pattern, host string) bool {
	host = strings.ToLower(host)
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.Contains(host, "]") {
		host = h
	}
	pattern = strings.ToLower(pattern)
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		label, ok := strings.CutSuffix(host, "."+suffix)
		return ok && label != "" && !strings.Contains(label, ".")
	}
	return host == pattern
}

// check applies r's requirements to p; the error wraps ErrForbidden.
func (r rule) check(p *tenantjwt.Principal) error {
	switch {
	case len(r.Roles) > 0 && !middleware.AnyRole(r.Roles...)(p):
		return fmt.Errorf("serve: rule needs any role of %q: %w", r.Roles, tenantjwt.ErrForbidden)
	case !middleware.AllRoles(r.AllRoles...)(p):
		return fmt.Errorf("serve: rule needs all roles %q: %w", r.AllRoles, tenantjwt.ErrForbidden)
	case !middleware.AllPermissions(r.Permissions...)(p):
		return fmt.Errorf("serve: rule needs permissions %q: %w", r.Permissions, tenantjwt.ErrForbidden)
	case !middleware.AllScopes(r.Scopes...)(p):
		return fmt.Errorf("serve: rule needs scopes %q: %w", r.Scopes, tenantjwt.ErrForbidden)
	case r.Tenant != "" && p.Tenant != r.Tenant:
		return fmt.Errorf("serve: rule needs tenant %q, token acts in %.64q: %w", r.Tenant, p.Tenant, tenantjwt.ErrForbidden)
	}
	return nil
}

// headerValue makes a token-derived value safe as one header value, and as
// one item of a comma-joined list: '%', ',' and bytes outside printable
// ASCII are percent-encoded (RFC 3986), so a claim can neither split the
// header nor add list items.
func headerValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '%' || c == ',' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func headerList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = headerValue(s)
	}
	return strings.Join(out, ",")
}
