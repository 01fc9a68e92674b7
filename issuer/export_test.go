package issuer

import "github.com/tenantjwt/tenantjwt/internal/jwt"

// Test hooks for the external test package.

// Claims is the payload type a test preset's functions get.
type Claims = jwt.Claims

// RegisterTestPreset registers p for one test and returns its removal.
func RegisterTestPreset(p Preset) (remove func()) {
	registerPreset(p)
	return func() { delete(presets, p.Name) }
}
