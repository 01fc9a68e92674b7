package issuer

import "github.com/tenantjwt/tenantjwt/internal/jwt"

// Test hooks for the external test package: the preset mechanism is
// closed (unexported), so a test preset is registered through these.

// Preset is a preset, for RegisterTestPreset.
type Preset = preset

// Header is what a test preset's Check gets.
type Header = presetHeader

// MapInput is what a test preset's Map gets.
type MapInput = mapInput

// Claims is the payload type a test preset's functions get.
type Claims = jwt.Claims

// LookupPreset is lookupPreset.
var LookupPreset = lookupPreset

// RegisterTestPreset registers p for one test and returns its removal.
func RegisterTestPreset(p Preset) (remove func()) {
	registerPreset(p)
	return func() { delete(presets, p.Name) }
}

// MaxResolveIssuerBytes is the longest iss handed to Resolver.Resolve.
const MaxResolveIssuerBytes = maxResolveIssuerBytes

// Defaults of Options, documented on its fields.
const (
	DefaultMaxTokenBytes  = defaultMaxTokenBytes
	DefaultTokenCacheSize = defaultTokenCacheSize
)

// CertThumbprint is certThumbprint.
var CertThumbprint = certThumbprint

// CacheLen returns the number of tokens in r's verified-token cache and
// the cache's size (0, 0 when it is disabled).
func CacheLen(r *Registry) (n, size int) {
	if r.cache == nil {
		return 0, 0
	}
	return r.cache.lru.Len(), r.opts.TokenCacheSize
}

// FileOptions is f.options.
func FileOptions(f *File, base Options) Options { return f.options(base) }
