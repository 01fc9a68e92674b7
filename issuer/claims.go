package issuer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tenantjwt/tenantjwt"
)

// Claims is the decoded payload of a token, as handed to a Preset's
// functions. The payload is decoded once into its top-level members; values
// are read lazily. A Claims is read-only and must not be retained after the
// call it was passed to.
type Claims struct {
	payload []byte
	m       map[string]json.RawMessage
}

// newClaims decodes a payload that must be a JSON object.
func newClaims(payload []byte) (*Claims, error) {
	if firstByte(payload) != '{' {
		return nil, fmt.Errorf("issuer: payload is not a JSON object: %w", tenantjwt.ErrMalformed)
	}
	c := &Claims{payload: payload}
	if err := json.Unmarshal(payload, &c.m); err != nil {
		return nil, fmt.Errorf("issuer: payload: %v: %w", err, tenantjwt.ErrMalformed)
	}
	if topLevelMembers(payload) != len(c.m) {
		return nil, fmt.Errorf("issuer: payload has duplicate members: %w", tenantjwt.ErrMalformed)
	}
	return c, nil
}

// topLevelMembers counts the members of a valid JSON object, duplicates
// included. Parsers disagree on which duplicate wins (RFC 7515 §5.2 lets
// us reject), so a token whose iss or exp means different things to
// different readers is refused instead.
func topLevelMembers(obj []byte) int {
	n, depth, inStr := 0, 0, false
	for i := 0; i < len(obj); i++ {
		c := obj[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ':':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// Raw returns the JSON of the top-level claim name. A null claim counts as
// absent.
func (c *Claims) Raw(name string) (json.RawMessage, bool) {
	v, ok := c.m[name]
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
}

// Lookup reads a claim path (see ClaimMapping for the syntax), with
// {tenant} standing for tenant. A missing value is (nil, false, nil); a
// path through a non-object value is an error.
func (c *Claims) Lookup(path, tenant string) (json.RawMessage, bool, error) {
	p, err := parsePath(path)
	if err != nil {
		return nil, false, err
	}
	return c.lookup(p, tenant)
}

// String reads a top-level claim that must be a JSON string when present.
func (c *Claims) String(name string) (string, bool, error) {
	v, ok := c.Raw(name)
	if !ok {
		return "", false, nil
	}
	s, err := StringValue(v)
	if err != nil {
		return "", true, fmt.Errorf("claim %q: %w", name, err)
	}
	return s, true, nil
}

// JSON returns the whole payload.
func (c *Claims) JSON() []byte { return c.payload }

// StringValue decodes a JSON string. Any other type is an error wrapping
// tenantjwt.ErrClaims.
func StringValue(raw json.RawMessage) (string, error) {
	if firstByte(raw) != '"' {
		return "", fmt.Errorf("issuer: want a JSON string, got %s: %w", kind(raw), tenantjwt.ErrClaims)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("issuer: %v: %w", err, tenantjwt.ErrClaims)
	}
	return s, nil
}

// StringList decodes a JSON array of strings. A string, an object or an
// array with any non-string element is an error wrapping
// tenantjwt.ErrClaims: a roles claim "admin,user" is never split.
func StringList(raw json.RawMessage) ([]string, error) {
	if firstByte(raw) != '[' {
		return nil, fmt.Errorf("issuer: want an array of strings, got %s: %w", kind(raw), tenantjwt.ErrClaims)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("issuer: %v: %w", err, tenantjwt.ErrClaims)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := StringValue(it)
		if err != nil {
			return nil, fmt.Errorf("issuer: array element: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// ScopeList decodes scopes: a space-delimited string (RFC 8693 scope) or an
// array of strings (Okta's scp).
func ScopeList(raw json.RawMessage) ([]string, error) {
	if firstByte(raw) == '"' {
		s, err := StringValue(raw)
		if err != nil {
			return nil, err
		}
		return strings.Fields(s), nil
	}
	return StringList(raw)
}

// TenantList decodes a tenants claim: an array of strings, or an object
// whose keys are the tenants (Descope). The result is sorted.
func TenantList(raw json.RawMessage) ([]string, error) {
	var out []string
	if firstByte(raw) == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("issuer: %v: %w", err, tenantjwt.ErrClaims)
		}
		for k := range m {
			out = append(out, k)
		}
	} else {
		var err error
		if out, err = StringList(raw); err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// kind names a JSON value's type for error messages.
func kind(raw []byte) string {
	switch firstByte(raw) {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case '{':
		return "an object"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case 0:
		return "nothing"
	}
	return "a number"
}
