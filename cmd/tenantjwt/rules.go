package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/canonical"
)

// forwardAuth is the forward_auth section of the config file: what
// `serve` adds to the issuers.
//
//	forward_auth:
//	  realm: api                       # WWW-Authenticate realm (default "api")
//	  cookie: DS                       # also read the token from this cookie
//	  tenant_header: X-Tenant-ID       # let callers pick one of their tenants
//	  original_request: forwarded      # or "check": the check request is the original
//	  grpc_listen: 127.0.0.1:9191      # also serve Envoy's gRPC ext_authz Check (restart to change)
//	  paths:                           # relax the canonical path rules (all false by default)
//	    allow_encoded_slash: false
//	    allow_semicolon: false
//	    allow_encoded_percent: false
//	  log_allowed: debug               # level of allow decisions: debug, info or off
//	  headers:                         # claim headers: always sent, empty when absent
//	    X-User-Email: email
//	    X-Org: org_id
//	  hosts:                           # host → tenant binding (403 on mismatch)
//	    acme.example.com: acme
//	    "*.shops.example.com": ""      # first label is the tenant
//	  rules:                           # first match wins; no match: a valid token suffices
//	    - name: billing-admin          # for logs (default "rules[N]")
//	      host: admin.example.com      # exact, case-insensitive, or "*.example.com"
//	      path_prefix: /billing        # whole segments of the decoded canonical path
//	      case_insensitive: false      # match path_prefix ignoring case
//	      methods: [POST, DELETE]      # GET also covers HEAD
//	      roles: [admin, owner]        # any of
//	      all_roles: [staff]           # all of
//	      permissions: [billing:write] # all of
//	      scopes: [billing]            # all of
//	      tenant: acme                 # the token must act in this tenant
//	    - path_prefix: /healthz
//	      anonymous: true              # no token needed; a token sent is still verified
type forwardAuth struct {
	Realm           string            `yaml:"realm"`
	Cookie          string            `yaml:"cookie"`
	TenantHeader    string            `yaml:"tenant_header"`
	OriginalRequest string            `yaml:"original_request"`
	GRPCListen      string            `yaml:"grpc_listen"`
	Paths           canonical.Policy  `yaml:"paths"`
	LogAllowed      string            `yaml:"log_allowed"`
	Hosts           map[string]string `yaml:"hosts"`
	Rules           []rule            `yaml:"rules"`
	Headers         map[string]string `yaml:"headers"`

	allowLevel   slog.Level // of allow decisions; logAllowedOff disables them
	claimHeaders claimHeaders
	tenantOf     func(*http.Request, canonical.Request) (string, bool)
}

// logAllowedOff is above every level a handler enables.
const logAllowedOff = slog.Level(1 << 10)

// rule is one authorization rule of forward_auth.
type rule struct {
	Name            string   `yaml:"name"`
	Host            string   `yaml:"host"`
	PathPrefix      string   `yaml:"path_prefix"`
	CaseInsensitive bool     `yaml:"case_insensitive"`
	Methods         []string `yaml:"methods"`
	Anonymous       bool     `yaml:"anonymous"`
	Roles           []string `yaml:"roles"`
	AllRoles        []string `yaml:"all_roles"`
	Permissions     []string `yaml:"permissions"`
	Scopes          []string `yaml:"scopes"`
	Tenant          string   `yaml:"tenant"`

	host    *canonical.HostPattern
	prefix  string          // decoded canonical path_prefix
	methods map[string]bool // nil: any method
}

// compile validates the section and prepares it for matching: host
// patterns, path prefixes and methods go through package canonical, the
// one home of those rules, so a rule and a request are compared in the
// same form.
func (fa *forwardAuth) compile() error {
	switch fa.OriginalRequest {
	case "", "forwarded", "check":
	default:
		return fmt.Errorf("forward_auth: original_request %q: want forwarded or check", fa.OriginalRequest)
	}
	switch strings.ToLower(fa.LogAllowed) {
	case "", "debug":
		fa.allowLevel = slog.LevelDebug
	case "info":
		fa.allowLevel = slog.LevelInfo
	case "off":
		fa.allowLevel = logAllowedOff
	default:
		return fmt.Errorf("forward_auth: log_allowed %q: want debug, info or off", fa.LogAllowed)
	}
	var err error
	if fa.claimHeaders, err = compileClaimHeaders(fa.Headers); err != nil {
		return err
	}
	tenantOf, err := middleware.ParseHostTenants(fa.Hosts)
	if err != nil {
		return fmt.Errorf("forward_auth: %w", err)
	}
	if len(fa.Hosts) > 0 {
		fa.tenantOf = tenantOf
	}
	for i := range fa.Rules {
		if err := fa.Rules[i].compile(fa.Paths); err != nil {
			return fmt.Errorf("forward_auth: %s: %w", fa.Rules[i].name(i), err)
		}
		if fa.Rules[i].Name == "" {
			fa.Rules[i].Name = fmt.Sprintf("rules[%d]", i)
		}
	}
	return nil
}

func (r *rule) name(i int) string {
	if r.Name != "" {
		return fmt.Sprintf("rules[%d] (%s)", i, r.Name)
	}
	return fmt.Sprintf("rules[%d]", i)
}

func (r *rule) compile(pol canonical.Policy) error {
	if r.Host != "" {
		p, err := canonical.ParseHostPattern(r.Host)
		if err != nil {
			return fmt.Errorf("host: %w", err)
		}
		r.host = &p
	}
	if r.PathPrefix != "" {
		p, err := canonical.Path(r.PathPrefix, pol)
		if err != nil {
			return fmt.Errorf("path_prefix %q must be a canonical path: %w", r.PathPrefix, err)
		}
		r.prefix = canonical.Decode(p)
	}
	if len(r.Methods) > 0 {
		r.methods = make(map[string]bool, len(r.Methods)+1)
		for _, m := range r.Methods {
			if _, err := canonical.Method(m); err != nil || strings.ToUpper(m) != m {
				return fmt.Errorf("methods: %q must be an upper-case HTTP method", m)
			}
			r.methods[m] = true
		}
		if r.methods["GET"] {
			r.methods["HEAD"] = true // HEAD is GET without the body (RFC 9110 §9.3.2)
		}
	}
	if r.Anonymous && (len(r.Roles)+len(r.AllRoles)+len(r.Permissions)+len(r.Scopes) > 0 || r.Tenant != "") {
		return errors.New("anonymous: a rule that needs no token cannot require roles, permissions, scopes or a tenant")
	}
	return nil
}

// needsForwarded reports whether a check must describe its original
// request in forwarded headers: with hosts or rules, judging the check
// request itself would fail open.
func (fa *forwardAuth) needsForwarded() bool {
	return fa.OriginalRequest != "check" && (len(fa.Hosts) > 0 || len(fa.Rules) > 0)
}

// original derives the request a gateway check is about: the one place
// serve reads forwarded headers. A check under /verify/ is Envoy's HTTP
// ext_authz form (see envoyOriginal).
func (fa *forwardAuth) original(r *http.Request) (canonical.Request, error) {
	if target, ok := envoyTarget(r); ok {
		return fa.envoyOriginal(r, target)
	}
	if fa.OriginalRequest == "check" {
		return canonical.FromHTTP(r, canonical.Forwarded{}, false, fa.Paths)
	}
	return canonical.FromHTTP(r, canonical.GatewayHeaders, fa.needsForwarded(), fa.Paths)
}

// match returns the first rule that applies to req, nil when none does.
func (fa *forwardAuth) match(req canonical.Request) *rule {
	var decoded string
	for i := range fa.Rules {
		r := &fa.Rules[i]
		if r.host != nil {
			if _, ok := r.host.Match(req.Host); !ok {
				continue
			}
		}
		if r.methods != nil && !r.methods[req.Method] {
			continue
		}
		if r.prefix != "" {
			if decoded == "" {
				decoded = req.DecodedPath()
			}
			if !canonical.HasPrefix(decoded, r.prefix, r.CaseInsensitive) {
				continue
			}
		}
		return r
	}
	return nil
}

// describe renders r for humans: its name and what it matches and needs.
func (r *rule) describe() string {
	var parts []string
	add := func(k string, v any, ok bool) {
		if ok {
			parts = append(parts, fmt.Sprintf("%s %v", k, v))
		}
	}
	add("host", r.Host, r.Host != "")
	add("path_prefix", r.PathPrefix, r.PathPrefix != "")
	add("case_insensitive", true, r.CaseInsensitive)
	add("methods", r.Methods, len(r.Methods) > 0)
	add("anonymous", true, r.Anonymous)
	add("roles (any)", r.Roles, len(r.Roles) > 0)
	add("all_roles", r.AllRoles, len(r.AllRoles) > 0)
	add("permissions", r.Permissions, len(r.Permissions) > 0)
	add("scopes", r.Scopes, len(r.Scopes) > 0)
	add("tenant", r.Tenant, r.Tenant != "")
	return r.Name + ": " + strings.Join(parts, ", ")
}

// check applies r's requirements to p; the error wraps ErrForbidden.
func (r *rule) check(p *tenantjwt.Principal) error {
	switch {
	case len(r.Roles) > 0 && !middleware.AnyRole(r.Roles...)(p):
		return fmt.Errorf("serve: %s needs any role of %q: %w", r.Name, r.Roles, tenantjwt.ErrForbidden)
	case !middleware.AllRoles(r.AllRoles...)(p):
		return fmt.Errorf("serve: %s needs all roles %q: %w", r.Name, r.AllRoles, tenantjwt.ErrForbidden)
	case !middleware.AllPermissions(r.Permissions...)(p):
		return fmt.Errorf("serve: %s needs permissions %q: %w", r.Name, r.Permissions, tenantjwt.ErrForbidden)
	case !middleware.AllScopes(r.Scopes...)(p):
		return fmt.Errorf("serve: %s needs scopes %q: %w", r.Name, r.Scopes, tenantjwt.ErrForbidden)
	case r.Tenant != "" && p.Tenant() != r.Tenant:
		return fmt.Errorf("serve: %s needs tenant %q, token acts in %.64q: %w", r.Name, r.Tenant, p.Tenant(), tenantjwt.ErrForbidden)
	}
	return nil
}

// headerValue makes a token-derived value safe as one header value, and as
// one item of a comma-joined list: '%', ',' and bytes outside printable
// ASCII are percent-encoded (RFC 3986), so a claim can neither split the
// header nor add list items. A value with nothing to encode is returned
// as it is.
func headerValue(s string) string {
	n := encodedLen(s)
	if n == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(n)
	writeHeaderValue(&b, s)
	return b.String()
}

// headerList encodes each item like headerValue and joins them with
// commas, in one allocation.
func headerList(items []string) string {
	if len(items) == 1 {
		return headerValue(items[0])
	}
	n, plain := listLen(strs(items))
	var b strings.Builder
	b.Grow(n)
	writeHeaderList(&b, strs(items), plain)
	return b.String()
}

// stringList is what headerList reads: a []string (as strs) or a
// Principal's tenantjwt.List, without copying either.
type stringList interface {
	Len() int
	At(i int) string
}

// strs is a []string as a stringList.
type strs []string

func (s strs) Len() int        { return len(s) }
func (s strs) At(i int) string { return s[i] }

// listLen is the length of headerList(items), and plain reports that no
// item needs encoding (so headerList just joins them).
func listLen[L stringList](items L) (n int, plain bool) {
	n = max(items.Len()-1, 0)
	raw := n
	for i := range items.Len() {
		s := items.At(i)
		n += encodedLen(s)
		raw += len(s)
	}
	return n, n == raw
}

// writeHeaderList writes headerList(items); plain is listLen's, and spares
// scanning the items a second time when nothing needs encoding.
func writeHeaderList[L stringList](b *strings.Builder, items L, plain bool) {
	for i := range items.Len() {
		if i > 0 {
			b.WriteByte(',')
		}
		if plain {
			b.WriteString(items.At(i))
		} else {
			writeHeaderValue(b, items.At(i))
		}
	}
}

// headerEscape marks the bytes headerValue percent-encodes.
var headerEscape = func() (t [256]bool) {
	for c := range t {
		t[c] = c < 0x20 || c >= 0x7f || c == '%' || c == ','
	}
	return t
}()

// encodedLen is the length of s encoded by headerValue.
func encodedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if headerEscape[s[i]] {
			n += 2
		}
	}
	return n
}

// writeHeaderValue writes s encoded as headerValue does: the runs of
// bytes that need no encoding are copied whole.
func writeHeaderValue(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; headerEscape[c] {
			b.WriteString(s[start:i])
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			start = i + 1
		}
	}
	b.WriteString(s[start:])
}
