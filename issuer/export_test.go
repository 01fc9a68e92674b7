package issuer

// Test hooks for the external test package.

// RegisterTestPreset registers p for one test and returns its removal.
func RegisterTestPreset(p Preset) (remove func()) {
	registerPreset(p)
	return func() { delete(presets, p.Name) }
}
