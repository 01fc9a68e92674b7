package jwks

// HoldLocks takes the mutex of src (a Remote or Discover source) and, for
// a resolved discovery source, that of its key set's source too, and
// returns the function that releases them: a test holding them shows which
// calls never wait for a lock.
func HoldLocks(src Source) (release func()) {
	switch s := src.(type) {
	case *remote:
		s.mu.Lock()
		return s.mu.Unlock
	case *discovery:
		s.mu.Lock()
		inner := func() {}
		if cur := s.cur.Load(); cur != nil {
			inner = HoldLocks(cur.r)
		}
		return func() { inner(); s.mu.Unlock() }
	}
	panic("jwks: HoldLocks: not a remote or discovery source")
}
