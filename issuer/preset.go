package issuer

import (
	"fmt"
	"slices"
	"sort"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// preset is the knowledge of one identity provider's token shape, selected
// by Config.Preset. Presets are data first: a default ClaimMapping, default
// algorithms and tenant claim; two optional functions cover what data
// cannot say (token-type checks, odd claim shapes such as a bitmask).
//
// The built-in presets live in this package (presets_builtin.go) and are
// registered with registerPreset from an init function. The mechanism is
// unexported, so presets cannot be added from outside the package: a
// preset decides what a token grants, so the set is reviewed code, not
// runtime state. Presets lists their names.
//
// How a preset combines with the Config: every non-empty field of
// Config.Claims overrides the preset's field of the same name; a non-empty
// Config.Algorithms or Config.TenantClaim overrides the preset's. Check runs
// after the generic claim checks; Map runs after the path mapping.
type preset struct {
	// Name is the value of Config.Preset, e.g. "descope".
	Name string
	// Claims is the default claim mapping.
	Claims ClaimMapping
	// Algorithms is the default allowlist (nil: the package default).
	Algorithms []string
	// TenantClaim is the default Config.TenantClaim (Entra ID: "tid").
	TenantClaim string
	// AudienceClaims name top-level string claims that stand in for aud
	// when the token has no aud (Cognito access tokens carry client_id,
	// Clerk's carry azp). They are checked against Config.Audiences like
	// aud; a token with an aud claim is checked on aud only.
	AudienceClaims []string
	// Check, if set, runs after the signature and the generic claim checks,
	// for checks of this IdP (Cognito: token_use must be "access"). Its
	// error rejects the token; it should wrap a tenantjwt cause such as
	// tenantjwt.ErrTokenType or tenantjwt.ErrClaims (ErrClaims is used when
	// it wraps none).
	Check func(h presetHeader, c *jwt.Claims) error
	// Map, if set, runs after the path mapping has filled p, to fill what
	// paths cannot express (Clerk's permission bitmask, Zitadel's role→org
	// map, Descope's fallback to top-level roles). It must leave alone every
	// field whose path the user set in in.Config.Claims, must treat wrong
	// types as errors (wrapping tenantjwt.ErrClaims) and never coerce. It
	// is also called by SelectTenant with the selected tenant.
	Map func(in mapInput, p *tenantjwt.Identity) error
}

// presetHeader is the part of a token's JOSE header a Preset may look at.
type presetHeader struct {
	Alg string // exact spelling, already allowed for the issuer
	Kid string
	Typ string // "" when absent
}

// mapInput is what preset.Map gets.
type mapInput struct {
	// Claims is the verified payload.
	Claims *jwt.Claims
	// Tenant is the Principal's tenant (fixed, bound from the issuer
	// template, read from the tenant claim or selected), "" if none.
	Tenant string
	// Config is the issuer's configuration (read-only). Its Claims field
	// tells which mapping fields the user overrode.
	Config *Config
}

// presets is the registry of built-in presets. It is written only by init
// functions (registerPreset), so reads need no lock.
var presets = map[string]*preset{}

// registerPreset adds a built-in preset. It panics on a duplicate or
// invalid preset: that is a defect caught by any test run.
func registerPreset(p preset) {
	if p.Name == "" {
		panic("issuer: preset without a name")
	}
	if _, dup := presets[p.Name]; dup {
		panic(fmt.Sprintf("issuer: preset %q registered twice", p.Name))
	}
	if _, err := compileMapping(p.Claims); err != nil {
		panic(fmt.Sprintf("issuer: preset %q: %v", p.Name, err))
	}
	for _, a := range p.Algorithms {
		if !jwks.KnownAlgorithm(a) {
			panic(fmt.Sprintf("issuer: preset %q: unknown algorithm %q", p.Name, a))
		}
	}
	p.Algorithms = slices.Clone(p.Algorithms)
	p.AudienceClaims = slices.Clone(p.AudienceClaims)
	presets[p.Name] = &p
}

// Presets returns the names of the built-in presets, sorted.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// lookupPreset returns a copy of the preset with the given name.
func lookupPreset(name string) (preset, bool) {
	p, ok := presets[name]
	if !ok {
		return preset{}, false
	}
	c := *p
	c.Algorithms = slices.Clone(p.Algorithms)
	c.AudienceClaims = slices.Clone(p.AudienceClaims)
	return c, true
}
