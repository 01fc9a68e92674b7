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
