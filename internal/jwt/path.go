package jwt

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Path is a parsed claim path (see ClaimMapping for the syntax).
type Path struct {
	src  string
	segs []segment
}

// segment is one object key, or the {tenant} placeholder.
type segment struct {
	key    string
	tenant bool
}

// TenantPlaceholder is the segment replaced by the Principal's tenant.
const TenantPlaceholder = "{tenant}"

// maxPathLen bounds a configured path; claim paths are short.
const maxPathLen = 1024

// Empty reports whether the path reads nothing.
func (p Path) Empty() bool { return len(p.segs) == 0 }

// UsesTenant reports whether the path has a {tenant} segment.
func (p Path) UsesTenant() bool {
	for _, s := range p.segs {
		if s.tenant {
			return true
		}
	}
	return false
}

// ParsePath parses a claim path. The empty string is the empty path.
func ParsePath(s string) (Path, error) {
	p := Path{src: s}
	if s == "" {
		return p, nil
	}
	if len(s) > maxPathLen {
		return p, fmt.Errorf("path longer than %d bytes", maxPathLen)
	}
	// A URL-like claim name is one key: Auth0's namespaced claims are
	// written as they appear in the token.
	if strings.Contains(s, "://") && !strings.Contains(s, `"`) {
		p.segs = []segment{{key: s}}
		return p, nil
	}
	for i := 0; i < len(s); {
		var seg segment
		if s[i] == '"' {
			key, n, err := readQuoted(s[i:])
			if err != nil {
				return p, err
			}
			seg.key = key
			i += n
		} else {
			j := strings.IndexByte(s[i:], '.')
			if j < 0 {
				j = len(s) - i
			}
			raw := s[i : i+j]
			switch {
			case raw == "":
				return p, fmt.Errorf("path %q has an empty segment", s)
			case raw == TenantPlaceholder:
				seg.tenant = true
			case strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}"):
				return p, fmt.Errorf("path %q: unknown placeholder %q (only %s)", s, raw, TenantPlaceholder)
			case strings.Contains(raw, `"`):
				return p, fmt.Errorf("path %q: quote inside an unquoted segment", s)
			}
			seg.key = raw
			i += j
		}
		p.segs = append(p.segs, seg)
		if i == len(s) {
			break
		}
		if s[i] != '.' {
			return p, fmt.Errorf("path %q: expected '.' after a quoted segment", s)
		}
		i++
		if i == len(s) {
			return p, fmt.Errorf("path %q ends with '.'", s)
		}
	}
	return p, nil
}

// readQuoted reads a double-quoted segment at the start of s and returns
// the key and the bytes consumed. \" and \\ are the only escapes.
func readQuoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '"' && s[i+1] != '\\') {
				return "", 0, fmt.Errorf("path %q: bad escape in quoted segment", s)
			}
			b.WriteByte(s[i+1])
			i++
		case '"':
			if b.Len() == 0 {
				return "", 0, fmt.Errorf("path %q: empty quoted segment", s)
			}
			return b.String(), i + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("path %q: unterminated quote", s)
}

// String returns the path as written.
func (p Path) String() string { return p.src }

// errNotObject reports a path that runs through a non-object value.
var errNotObject = errors.New("not a JSON object")

// LookupPath reads the value at p. found is false when a key is missing, a
// value on the way is null, or the path needs a tenant and there is none.
// It fails when the path runs through a value that is not an object.
func (c *Claims) LookupPath(p Path, tenant string) (raw json.RawMessage, found bool, err error) {
	k, err := c.lookup(p, tenant)
	if k < 0 || err != nil {
		return nil, false, err
	}
	return c.obj.value(k), true, nil
}

// lookup is LookupPath giving the index of the member found in c.obj, or
// -1. Each step searches only the members of the object it is in, through
// the listing CheckJSON made: no value is scanned again.
func (c *Claims) lookup(p Path, tenant string) (int, error) {
	if p.Empty() {
		return -1, nil
	}
	from, to := 0, len(c.obj.refs) // the members of the object being walked
	for i, s := range p.segs {
		key := s.key
		if s.tenant {
			if tenant == "" {
				return -1, nil
			}
			key = tenant
		}
		k := c.obj.find(from, to, key)
		if k < 0 {
			return -1, nil
		}
		v := c.obj.value(k)
		if IsNull(v) {
			return -1, nil
		}
		if i == len(p.segs)-1 {
			return k, nil
		}
		if FirstByte(v) != '{' {
			return -1, fmt.Errorf("claim path %q: %q is %w", p.src, key, errNotObject)
		}
		from, to = c.obj.inside(k)
	}
	return -1, nil
}

// FirstByte returns the first non-space byte of a JSON value.
func FirstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

// IsNull reports whether the JSON value is null.
func IsNull(b []byte) bool { return FirstByte(b) == 'n' }
