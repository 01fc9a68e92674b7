package issuer

import (
	"path/filepath"
	"time"

	"github.com/tenantjwt/tenantjwt/jwks"
)

// Config is one trusted issuer: plain data, loaded from a config file or
// built in code. The yaml and json keys are the config contract of the
// project's DESIGN.md. A Config is validated by Validate, by New and by the
// Registry's Add and Replace; the zero value is not valid.
type Config struct {
	// Name labels the issuer in logs, metrics and Principal.Issuer.
	// Default: the Issuer string.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`

	// Issuer is the exact iss value the issuer's tokens carry, compared byte
	// for byte (no case folding, no trailing-slash games). It may instead be
	// a template with exactly one "{tenant}" placeholder that is one whole
	// path segment, such as "https://login.microsoftonline.com/{tenant}/v2.0";
	// a template needs Tenants or AllTenants and TenantClaim.
	Issuer string `yaml:"issuer" json:"issuer"`

	// Exactly one key source: JWKSURI, Discovery, JWKSFile or (in code
	// only) Keys.

	// JWKSURI is the URL of the issuer's JWKS. It must be https, except for
	// loopback hosts or when AllowInsecureHTTP is set.
	JWKSURI string `yaml:"jwks_uri,omitempty" json:"jwks_uri,omitempty"`
	// Discovery takes the JWKS URL from the issuer's OpenID Connect
	// metadata, whose issuer must equal Issuer exactly. Not for templates.
	Discovery bool `yaml:"discovery,omitempty" json:"discovery,omitempty"`
	// JWKSFile names a local JWKS JSON or PEM file with static keys.
	JWKSFile string `yaml:"jwks_file,omitempty" json:"jwks_file,omitempty"`
	// Keys is a key source given in code (for example jwks.NewStatic). It
	// cannot be set from a file.
	Keys jwks.Source `yaml:"-" json:"-"`

	// Audiences lists the accepted aud values; a token must name at least
	// one of them (exact, case-sensitive). Required, unless
	// AllowAnyAudience: an IdP mints tokens for many APIs, and without an
	// audience check a token minted for any of them is accepted here too
	// (RFC 9068 §4, RFC 8725 §3.9).
	Audiences []string `yaml:"audiences,omitempty" json:"audiences,omitempty"`
	// AllowAnyAudience accepts tokens whatever their aud, when Audiences
	// is empty. Use it only for an issuer that mints tokens for this API
	// alone. A template issuer with AllTenants cannot use it.
	AllowAnyAudience bool `yaml:"allow_any_audience,omitempty" json:"allow_any_audience,omitempty"`
	// Algorithms is the allowlist of JWS algorithms (exact spelling, from
	// jwks.Algorithms). Default: the preset's, else RS256, ES256, EdDSA.
	Algorithms []string `yaml:"algorithms,omitempty" json:"algorithms,omitempty"`

	// Tenant fixes the tenant of every token of this issuer (the issuer is
	// the tenant, as with one Okta authorization server per customer).
	Tenant string `yaml:"tenant,omitempty" json:"tenant,omitempty"`
	// Tenants is the allowlist of tenants of a template issuer.
	Tenants []string `yaml:"tenants,omitempty" json:"tenants,omitempty"`
	// AllTenants explicitly trusts every tenant of a template issuer. It
	// requires Audiences: the audience check is then what restricts which
	// tenants' tokens are meant for this API.
	AllTenants bool `yaml:"all_tenants,omitempty" json:"all_tenants,omitempty"`
	// TenantClaim names the claim (a path, see ClaimMapping) that carries
	// the tenant. For a template it is required (Entra ID: "tid") and must
	// equal the placeholder's value in iss. For other issuers it is the
	// tenant path when Claims.Tenant is empty.
	TenantClaim string `yaml:"tenant_claim,omitempty" json:"tenant_claim,omitempty"`
	// Aliases are extra exact iss spellings that also select this entry
	// (for example Descope's bare project ID next to its URL form).
	Aliases []string `yaml:"aliases,omitempty" json:"aliases,omitempty"`

	// Preset names a registered IdP preset: default claim mapping,
	// algorithms and token checks. See Presets.
	Preset string `yaml:"preset,omitempty" json:"preset,omitempty"`
	// Claims maps token claims to Principal fields. Each non-empty field
	// overrides the preset's.
	Claims ClaimMapping `yaml:"claims,omitempty" json:"claims,omitempty"`

	// RequireTyp, when set, requires the JWS typ header to equal it,
	// compared case-insensitively and with an optional "application/"
	// prefix (RFC 8725 §3.11, RFC 9068 §2.1): "at+jwt" accepts
	// "application/at+jwt" and "AT+JWT".
	RequireTyp string `yaml:"require_typ,omitempty" json:"require_typ,omitempty"`
	// MaxLifetime, when positive, rejects tokens whose exp − iat exceeds it
	// (iat is then required). YAML: "24h".
	MaxLifetime time.Duration `yaml:"max_lifetime,omitempty" json:"max_lifetime,omitempty"`

	// DPoP says whether the issuer's tokens may be bound to a client key
	// with DPoP (RFC 9449): BindingAllowed ("allowed", the default),
	// BindingRequired or BindingDisabled. Unless disabled, a token with
	// cnf.jkt is accepted only with the DPoP scheme and a valid proof, and
	// the DPoP scheme only with such a token.
	DPoP BindingMode `yaml:"dpop,omitempty" json:"dpop,omitempty"`
	// MTLS says the same of certificate-bound tokens (RFC 8705): unless
	// disabled, a token with cnf["x5t#S256"] is accepted only over a TLS
	// connection authenticated with that certificate; "required" refuses
	// tokens without it.
	MTLS BindingMode `yaml:"mtls,omitempty" json:"mtls,omitempty"`

	// AllowInsecureHTTP permits an http JWKS or discovery URL for a
	// non-loopback host. It MUST NOT be used in production: anyone on the
	// path could substitute keys.
	AllowInsecureHTTP bool `yaml:"allow_insecure_http,omitempty" json:"allow_insecure_http,omitempty"`
	// AllowPrivateNetwork (discovery only) lets the jwks_uri named by the
	// issuer's metadata connect to loopback, private (10/8, 172.16/12,
	// 192.168/16, fc00::/7), link-local (169.254/16, fe80::/10) and other
	// non-public addresses. By default it may not (loopback excepted for an
	// issuer on a loopback host): a metadata document must not point the
	// verifier at internal services or cloud metadata. Set it for an IdP
	// inside your network.
	AllowPrivateNetwork bool `yaml:"allow_private_network,omitempty" json:"allow_private_network,omitempty"`
	// JWKSSameOrigin (discovery only) requires the jwks_uri named by the
	// issuer's metadata to have the issuer's scheme, host and port.
	JWKSSameOrigin bool `yaml:"jwks_same_origin,omitempty" json:"jwks_same_origin,omitempty"`
	// Prefetch fetches the keys when the registry starts (Registry.Prefetch)
	// and makes Registry.Ready wait for them.
	Prefetch bool `yaml:"prefetch,omitempty" json:"prefetch,omitempty"`

	// Key-fetch tuning of a jwks_uri or discovery issuer. Each zero field
	// takes the key cache's setting (Options.KeysOptions, or the
	// Options.Keys cache); an issuer that sets any of them gets its own key
	// source, shared only with issuers naming the same URL with the same
	// settings.

	// TTL bounds the Cache-Control max-age of the key set: it lives at
	// least TTL.Min and at most TTL.Max (defaults 5m and 24h).
	TTL TTLBounds `yaml:"ttl,omitempty" json:"ttl,omitempty"`
	// MaxStale is how long past expiry the last good key set keeps serving
	// while the IdP cannot be reached (default 24h); then verification
	// fails closed.
	MaxStale time.Duration `yaml:"max_stale,omitempty" json:"max_stale,omitempty"`
	// Timeout bounds one fetch of the key set or discovery document,
	// headers and body (default 5s, at most 1m).
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Cooldown is the minimum time between two refetches caused by tokens
	// with an unknown kid (default 30s, at least 1s).
	Cooldown time.Duration `yaml:"cooldown,omitempty" json:"cooldown,omitempty"`
	// CAFile names a PEM file of root certificates, for an IdP whose
	// certificate a private CA signed. Those roots are then the only ones
	// trusted for this issuer's fetches (the system pool is not used for
	// it); redirect, size and address rules are unchanged. A relative path
	// is taken from the config file's folder. The file is read when the
	// issuer's key source is made (start, or a reload that changes the
	// issuer).
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// Refresh is RefreshOnUse (the default: keys are fetched on first use
	// and refreshed ahead of expiry while used) or RefreshBackground (keys
	// are fetched when the issuer is added and kept fresh whether used or
	// not, so a rarely used tenant's first token finds them).
	Refresh string `yaml:"refresh,omitempty" json:"refresh,omitempty"`
}

// Values of Config.Refresh.
const (
	RefreshOnUse      = "on_use"
	RefreshBackground = "background"
)

// TTLBounds clamp a key set's Cache-Control max-age (Config.TTL). A zero
// field takes the key cache's bound.
type TTLBounds struct {
	Min time.Duration `yaml:"min,omitempty" json:"min,omitempty"`
	Max time.Duration `yaml:"max,omitempty" json:"max,omitempty"`
}

// resolvePaths makes the relative file paths of c (jwks_file, ca_file)
// relative to dir, the folder of the config file that named them.
func (c *Config) resolvePaths(dir string) {
	for _, p := range []*string{&c.JWKSFile, &c.CAFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// ClaimMapping says where a token keeps the values of a Principal. Each
// field is a claim path; an empty field keeps the preset's path (or the
// built-in default).
//
// # Path syntax
//
// A path is a dot-separated list of object keys read from the payload:
// "realm_access.roles" reads {"realm_access":{"roles":[…]}}.
//
//   - Keys may contain ':' and '/' without quoting: "cognito:groups",
//     "urn:zitadel:iam:org:project:roles".
//   - A path containing "://" and no double quote is a single top-level key,
//     so Auth0-style namespaced claims read naturally:
//     "https://example.com/roles".
//   - A segment in double quotes may contain dots (and \" or \\ escapes):
//     "\"https://example.com/claims\".roles" reads the roles member of
//     that namespaced object.
//   - The segment {tenant} stands for the Principal's tenant:
//     "tenants.{tenant}.roles" reads Descope's per-tenant roles. With no
//     tenant, such a path reads nothing.
//
// Empty segments are errors. Paths are parsed once, when the Config is
// validated.
//
// # Value types
//
// Roles and Permissions must be JSON arrays of strings; a string is
// rejected (never split on commas). Scopes may be a space-delimited string
// or an array of strings. Tenants may be an array of strings or an object
// whose keys are the tenants. Subject and Tenant must be strings. A wrong
// type rejects the token with tenantjwt.ErrClaims; an absent claim maps to
// nothing.
type ClaimMapping struct {
	// Subject default "sub".
	Subject string `yaml:"subject,omitempty" json:"subject,omitempty"`
	// Tenant: no default (see Config.TenantClaim).
	Tenant string `yaml:"tenant,omitempty" json:"tenant,omitempty"`
	// Tenants: no default.
	Tenants string `yaml:"tenants,omitempty" json:"tenants,omitempty"`
	// Roles default "roles".
	Roles string `yaml:"roles,omitempty" json:"roles,omitempty"`
	// Permissions default "permissions".
	Permissions string `yaml:"permissions,omitempty" json:"permissions,omitempty"`
	// Scopes default "scope".
	Scopes string `yaml:"scopes,omitempty" json:"scopes,omitempty"`
}

// merge returns m with every empty field taken from base.
func (m ClaimMapping) merge(base ClaimMapping) ClaimMapping {
	pick := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	return ClaimMapping{
		Subject:     pick(m.Subject, base.Subject),
		Tenant:      pick(m.Tenant, base.Tenant),
		Tenants:     pick(m.Tenants, base.Tenants),
		Roles:       pick(m.Roles, base.Roles),
		Permissions: pick(m.Permissions, base.Permissions),
		Scopes:      pick(m.Scopes, base.Scopes),
	}
}

// defaultMapping is used for fields neither the config nor a preset sets.
var defaultMapping = ClaimMapping{
	Subject:     "sub",
	Roles:       "roles",
	Permissions: "permissions",
	Scopes:      "scope",
}

// defaultAlgorithms is the allowlist of an issuer that names none and has
// no preset that does.
var defaultAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// label is the name used in errors and logs.
func (c *Config) label() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Issuer
}
