package jwks

// Sources reports how many sources c holds: remote key sets, discovery
// sources, and sources with counted users.
func (c *Cache) Sources() (remotes, discoveries, counted int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.remotes), len(c.discover), len(c.refs)
}
