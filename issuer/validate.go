package issuer

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tenantjwt/tenantjwt/internal/jwt"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// entry is a validated Config compiled for verification. Its
// configuration is immutable once built; registry snapshots share
// entries.
type entry struct {
	cfg         Config // a private copy
	name        string
	preset      *preset
	algs        []string
	tpl         *template // nil for an exact issuer
	tenants     map[string]bool
	mapping     mapping
	tenantClaim jwt.Path    // templates: the claim bound to the iss tenant
	typ         string      // normalised require_typ, "" when not required
	dpop, mtls  BindingMode // binding modes, defaults applied
	src         jwks.Source
	// owned reports that the registry built src and must release it.
	owned bool

	// Registry bookkeeping, not configuration.
	seq      uint64      // configuration order (see snapshot.entries)
	gone     atomic.Bool // left the registry: its cached tokens are void
	released atomic.Bool // src was released
	// until is when a resolved entry must be resolved again (Unix
	// nanoseconds by Options.Now); 0 for an issuer given to the registry.
	until atomic.Int64
}

// template is an issuer with one {tenant} placeholder.
type template struct{ prefix, suffix string }

// maxTenantLen bounds the placeholder value of a templated iss.
const maxTenantLen = 256

// match returns the tenant if iss fits the template: the value must be
// one non-empty path segment of sane characters.
func (t *template) match(iss string) (string, bool) {
	if len(iss) <= len(t.prefix)+len(t.suffix) || !strings.HasPrefix(iss, t.prefix) || !strings.HasSuffix(iss, t.suffix) {
		return "", false
	}
	v := iss[len(t.prefix) : len(iss)-len(t.suffix)]
	if !validTenant(v) {
		return "", false
	}
	return v, true
}

// validTenant reports whether v may be a tenant of a template, in iss or
// in the tenants allowlist: 1 to maxTenantLen bytes of RFC 3986 unreserved
// characters (letters, digits, '-', '.', '_', '~'), and not a dot segment.
// So a tenant never carries '/', '%', a control byte or anything a path,
// a log line or a header could read as structure, and "." or ".." can
// never turn a template into another issuer's URL.
func validTenant(v string) bool {
	if v == "" || len(v) > maxTenantLen || v == "." || v == ".." {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// Validate checks c on its own, as New and Add do; conflicts between
// entries (duplicate issuers) are checked by New, Add and Replace. Errors
// name the entry and the field, e.g.
// `issuer (acme): algorithms: unknown algorithm "HS256"`.
func (c Config) Validate() error {
	_, err := compile(c)
	if err != nil {
		return fmt.Errorf("issuer (%s): %w", c.label(), err)
	}
	return nil
}

// compile validates c and builds its entry, without a key source. It is
// longer than 60 lines because it reads Config field by field, in the
// order of its declaration, each with its own error; split, the fields
// would no longer be checked in one visible pass.
func compile(c Config) (*entry, error) {
	c.Audiences = slices.Clone(c.Audiences)
	c.Algorithms = slices.Clone(c.Algorithms)
	c.Tenants = slices.Clone(c.Tenants)
	c.Aliases = slices.Clone(c.Aliases)
	e := &entry{cfg: c, name: c.label()}

	if c.Issuer == "" {
		return nil, errors.New("issuer: required")
	}
	if c.Preset != "" {
		p, ok := presets[c.Preset]
		if !ok {
			return nil, fmt.Errorf("preset: unknown preset %q (known: %s)", c.Preset, strings.Join(Presets(), ", "))
		}
		e.preset = p
	}
	tpl, err := parseTemplate(c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer: %v", err)
	}
	e.tpl = tpl
	if err := checkKeySource(&c, tpl != nil); err != nil {
		return nil, err
	}
	if err := checkFetchTuning(&c); err != nil {
		return nil, err
	}

	e.algs = c.Algorithms
	if len(e.algs) == 0 && e.preset != nil {
		e.algs = e.preset.Algorithms
	}
	if len(e.algs) == 0 {
		e.algs = defaultAlgorithms
	}
	for _, a := range e.algs {
		if !jwks.KnownAlgorithm(a) {
			return nil, fmt.Errorf("algorithms: unknown algorithm %.32q (allowed: %s)", a, strings.Join(jwks.Algorithms, ", "))
		}
	}
	for i, a := range c.Audiences {
		if a == "" {
			return nil, fmt.Errorf("audiences[%d]: empty", i)
		}
	}
	switch {
	case c.AllTenants && len(c.Audiences) == 0:
		return nil, errors.New("audiences: required with all_tenants: true (the audience check is what keeps other tenants' tokens out)")
	case len(c.Audiences) == 0 && !c.AllowAnyAudience:
		return nil, errors.New("audiences: none; list the aud values this API accepts, or set allow_any_audience: true")
	case len(c.Audiences) > 0 && c.AllowAnyAudience:
		return nil, errors.New("allow_any_audience: set together with audiences")
	}
	for i, a := range c.Aliases {
		switch {
		case a == "":
			return nil, fmt.Errorf("aliases[%d]: empty", i)
		case a == c.Issuer:
			return nil, fmt.Errorf("aliases[%d]: same as issuer", i)
		case strings.Contains(a, "{"):
			return nil, fmt.Errorf("aliases[%d]: %q: aliases are exact strings, not templates", i, a)
		}
	}
	if c.MaxLifetime < 0 {
		return nil, errors.New("max_lifetime: negative")
	}
	e.typ = jwt.NormTyp(c.RequireTyp)
	for _, m := range []struct {
		field string
		val   BindingMode
		dst   *BindingMode
	}{{"dpop", c.DPoP, &e.dpop}, {"mtls", c.MTLS, &e.mtls}} {
		switch m.val {
		case "":
			*m.dst = BindingAllowed
		case BindingAllowed, BindingRequired, BindingDisabled:
			*m.dst = m.val
		default:
			return nil, fmt.Errorf("%s: %.32q is not allowed, required or disabled", m.field, m.val)
		}
	}

	tenantClaim := c.TenantClaim
	if tenantClaim == "" && e.preset != nil {
		tenantClaim = e.preset.TenantClaim
	}
	if err := checkTenants(&c, tpl != nil, tenantClaim); err != nil {
		return nil, err
	}
	if e.tenantClaim, err = jwt.ParsePath(tenantClaim); err != nil {
		return nil, fmt.Errorf("tenant_claim: %v", err)
	}
	if e.tenantClaim.UsesTenant() {
		return nil, fmt.Errorf("tenant_claim: %s not allowed", jwt.TenantPlaceholder)
	}
	if len(c.Tenants) > 0 {
		e.tenants = make(map[string]bool, len(c.Tenants))
		for i, t := range c.Tenants {
			if !validTenant(t) {
				return nil, fmt.Errorf("tenants[%d]: %.64q is not a valid tenant", i, t)
			}
			e.tenants[t] = true
		}
	}

	m := c.Claims
	if e.preset != nil {
		m = m.merge(e.preset.Claims)
	}
	m = m.merge(defaultMapping)
	if m.Tenant == "" && tpl == nil {
		m.Tenant = tenantClaim
	}
	if e.mapping, err = compileMapping(m); err != nil {
		return nil, err
	}
	return e, nil
}

// parseTemplate returns nil for an exact issuer, or the template of an
// issuer with one {tenant} placeholder filling a whole path segment.
func parseTemplate(iss string) (*template, error) {
	n := strings.Count(iss, jwt.TenantPlaceholder)
	if n == 0 {
		if strings.ContainsAny(iss, "{}") {
			return nil, fmt.Errorf("%.128q: only the %s placeholder is allowed", iss, jwt.TenantPlaceholder)
		}
		return nil, nil
	}
	if n > 1 {
		return nil, fmt.Errorf("%.128q: more than one %s placeholder", iss, jwt.TenantPlaceholder)
	}
	i := strings.Index(iss, jwt.TenantPlaceholder)
	t := &template{prefix: iss[:i], suffix: iss[i+len(jwt.TenantPlaceholder):]}
	if strings.ContainsAny(t.prefix+t.suffix, "{}") {
		return nil, fmt.Errorf("%.128q: only the %s placeholder is allowed", iss, jwt.TenantPlaceholder)
	}
	// The placeholder must be a whole segment of the path, never part of
	// the scheme or host: a tenant must not choose where keys come from.
	u, err := url.Parse(t.prefix)
	if err != nil || u.Scheme == "" || u.Host == "" || !strings.HasSuffix(t.prefix, "/") || u.Path == "" {
		return nil, fmt.Errorf("%.128q: %s must be a whole path segment after the host", iss, jwt.TenantPlaceholder)
	}
	if t.suffix != "" && t.suffix[0] != '/' {
		return nil, fmt.Errorf("%.128q: %s must be a whole path segment", iss, jwt.TenantPlaceholder)
	}
	return t, nil
}

// checkKeySource requires exactly one key source and sane URLs.
func checkKeySource(c *Config, isTemplate bool) error {
	var set []string
	if c.JWKSURI != "" {
		set = append(set, "jwks_uri")
	}
	if c.Discovery {
		set = append(set, "discovery")
	}
	if c.JWKSFile != "" {
		set = append(set, "jwks_file")
	}
	if c.Keys != nil {
		set = append(set, "keys")
	}
	switch {
	case len(set) == 0:
		return errors.New("jwks_uri: no key source (set one of jwks_uri, discovery, jwks_file)")
	case len(set) > 1:
		return fmt.Errorf("%s: more than one key source (%s)", set[1], strings.Join(set, ", "))
	}
	if c.Discovery {
		if isTemplate {
			return errors.New("discovery: not possible for a {tenant} template; set jwks_uri")
		}
		if _, err := jwks.CheckURL(c.Issuer, c.AllowInsecureHTTP); err != nil {
			return fmt.Errorf("discovery: issuer: %w", err)
		}
	}
	if c.JWKSURI != "" {
		if _, err := jwks.CheckURL(c.JWKSURI, c.AllowInsecureHTTP); err != nil {
			return fmt.Errorf("jwks_uri: %w", err)
		}
	}
	switch {
	case c.AllowPrivateNetwork && !c.Discovery:
		return errors.New("allow_private_network: only for discovery (a jwks_uri written in the config is not restricted)")
	case c.JWKSSameOrigin && !c.Discovery:
		return errors.New("jwks_same_origin: only for discovery")
	}
	return nil
}

// Bounds of the key-fetch tuning of an issuer.
const (
	minTTLFloor     = 30 * time.Second
	maxTTLCeiling   = 7 * 24 * time.Hour
	maxStaleLimit   = 7 * 24 * time.Hour
	maxFetchTimeout = time.Minute
	minCooldown     = time.Second
	maxCooldown     = time.Hour
)

// checkFetchTuning checks ttl, max_stale, timeout, cooldown, ca_file and
// refresh: only for remote keys, within sane bounds.
func checkFetchTuning(c *Config) error {
	remote := c.JWKSURI != "" || c.Discovery
	for _, f := range []struct {
		field string
		set   bool
	}{
		{"ttl", c.TTL != TTLBounds{}}, {"max_stale", c.MaxStale != 0}, {"timeout", c.Timeout != 0},
		{"cooldown", c.Cooldown != 0}, {"ca_file", c.CAFile != ""}, {"refresh", c.Refresh != ""},
	} {
		if f.set && !remote {
			return fmt.Errorf("%s: only for jwks_uri or discovery", f.field)
		}
	}
	span := func(field string, d, lo, hi time.Duration) error {
		if d != 0 && (d < lo || d > hi) {
			return fmt.Errorf("%s: %s is outside [%s, %s]", field, d, lo, hi)
		}
		return nil
	}
	for _, err := range []error{
		span("ttl.min", c.TTL.Min, minTTLFloor, maxTTLCeiling),
		span("ttl.max", c.TTL.Max, minTTLFloor, maxTTLCeiling),
		span("max_stale", c.MaxStale, time.Second, maxStaleLimit),
		span("timeout", c.Timeout, time.Millisecond, maxFetchTimeout),
		span("cooldown", c.Cooldown, minCooldown, maxCooldown),
	} {
		if err != nil {
			return err
		}
	}
	if c.TTL.Min != 0 && c.TTL.Max != 0 && c.TTL.Min > c.TTL.Max {
		return fmt.Errorf("ttl: min %s above max %s", c.TTL.Min, c.TTL.Max)
	}
	switch c.Refresh {
	case "", RefreshOnUse, RefreshBackground:
	default:
		return fmt.Errorf("refresh: %.32q is not %s or %s", c.Refresh, RefreshOnUse, RefreshBackground)
	}
	if c.CAFile != "" {
		u := c.JWKSURI
		if c.Discovery {
			u = c.Issuer
		}
		if !strings.HasPrefix(strings.ToLower(u), "https://") {
			return errors.New("ca_file: the key source is not https")
		}
	}
	return nil
}

// checkTenants enforces the tenant rules of the config contract.
func checkTenants(c *Config, isTemplate bool, tenantClaim string) error {
	switch {
	case c.Tenant != "" && len(c.Tenants) > 0:
		return errors.New("tenants: tenant and tenants are both set")
	case isTemplate && c.Tenant != "":
		return errors.New("tenant: a {tenant} template takes its tenant from iss; use tenants")
	case isTemplate && len(c.Tenants) == 0 && !c.AllTenants:
		return errors.New("tenants: a {tenant} template needs tenants or all_tenants: true")
	case isTemplate && len(c.Tenants) > 0 && c.AllTenants:
		return errors.New("all_tenants: set together with tenants")
	case isTemplate && tenantClaim == "":
		return errors.New("tenant_claim: a {tenant} template needs the claim that names the tenant (e.g. tid)")
	case !isTemplate && len(c.Tenants) > 0:
		return errors.New("tenants: only for an issuer with a {tenant} template")
	case !isTemplate && c.AllTenants:
		return errors.New("all_tenants: only for an issuer with a {tenant} template")
	}
	return nil
}

// validateAll compiles every config and checks conflicts between them.
// Errors name the entry as issuer[i] (name).
func validateAll(cs []Config) ([]*entry, error) {
	entries := make([]*entry, 0, len(cs))
	for i, c := range cs {
		e, err := compile(c)
		if err != nil {
			return nil, fmt.Errorf("issuer[%d] (%s): %w", i, c.label(), err)
		}
		entries = append(entries, e)
	}
	if err := checkConflicts(entries, nil, func(i int) string { return fmt.Sprintf("issuer[%d]", i) }); err != nil {
		return nil, err
	}
	return entries, nil
}

// checkConflicts reports duplicate issuer strings (exact, alias or
// template) and duplicate names among existing and added entries.
func checkConflicts(added, existing []*entry, where func(int) string) error {
	seenIss := map[string]string{}
	seenName := map[string]bool{}
	for _, e := range existing {
		for _, s := range e.spellings() {
			seenIss[s] = e.name
		}
		seenName[e.name] = true
	}
	for i, e := range added {
		prefix := fmt.Sprintf("%s (%s)", where(i), e.name)
		if seenName[e.name] {
			return fmt.Errorf("%s: name: duplicate name %.128q", prefix, e.name)
		}
		seenName[e.name] = true
		for j, s := range e.spellings() {
			field := "issuer"
			if j > 0 {
				field = fmt.Sprintf("aliases[%d]", j-1)
			}
			if other, dup := seenIss[s]; dup {
				return fmt.Errorf("%s: %s: %.128q is already trusted by %s", prefix, field, s, other)
			}
			seenIss[s] = e.name
		}
	}
	return nil
}

// spellings lists the iss strings that select e: issuer, then aliases.
func (e *entry) spellings() []string {
	return append([]string{e.cfg.Issuer}, e.cfg.Aliases...)
}
