package issuer

// KeyState is what Registry.KeyStates reports about one issuer's keys.
type KeyState struct {
	// Name is the issuer's name (Config.Name, or its issuer).
	Name string
	// Prefetch is Config.Prefetch: readiness waits for this issuer.
	Prefetch bool
	// Keys is the number of usable keys held now; 0 when the key set was
	// never fetched (or could not be).
	Keys int
	// KeyIDs lists the kid of each usable key ("" for a key without one).
	KeyIDs []string
}

// KeyStates reports, in configuration order, how many usable keys each
// issuer holds now. It does no I/O; a health endpoint may call it per
// request.
func (r *Registry) KeyStates() []KeyState {
	entries := r.snap.Load().entries()
	out := make([]KeyState, 0, len(entries))
	for _, e := range entries {
		set := e.src.Current()
		ks := KeyState{Name: e.name, Prefetch: e.cfg.Prefetch, Keys: set.Len()}
		for _, k := range set.Keys() {
			ks.KeyIDs = append(ks.KeyIDs, k.ID)
		}
		out = append(out, ks)
	}
	return out
}
