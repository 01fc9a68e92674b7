package jwt

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
// call it was passed to. Its JSON always passed CheckJSON (NewClaims,
// Token.CheckSigned), so it has no duplicate member at any depth.
type Claims struct {
	payload []byte
	obj     Object
}

// NewClaims checks a payload that must be an I-JSON object (see
// CheckJSON) and lists its members.
func NewClaims(payload []byte) (*Claims, error) {
	obj, err := ParseObject(payload, "payload")
	if err != nil {
		return nil, err
	}
	return &Claims{payload: payload, obj: obj}, nil
}

// Member returns the raw value of a top-level claim, null included.
func (c *Claims) Member(name string) (json.RawMessage, bool) { return c.obj.Get(name) }

// Raw returns the JSON of the top-level claim name. A null claim counts as
// absent.
func (c *Claims) Raw(name string) (json.RawMessage, bool) {
	v, ok := c.obj.Get(name)
	if !ok || IsNull(v) {
		return nil, false
	}
	return v, true
}

// Lookup reads a claim path (see ClaimMapping for the syntax), with
// {tenant} standing for tenant. A missing value is (nil, false, nil); a
// path through a non-object value is an error.
func (c *Claims) Lookup(path, tenant string) (json.RawMessage, bool, error) {
	p, err := ParsePath(path)
	if err != nil {
		return nil, false, err
	}
	return c.LookupPath(p, tenant)
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

// StringValue decodes a JSON string. Any other type, and a string that is
// not I-JSON (invalid UTF-8, an unpaired surrogate escape), is an error
// wrapping tenantjwt.ErrClaims.
func StringValue(raw json.RawMessage) (string, error) {
	if FirstByte(raw) != '"' {
		return "", fmt.Errorf("issuer: want a JSON string, got %s: %w", Kind(raw), tenantjwt.ErrClaims)
	}
	if s, ok := plainString(trimSpace(raw)); ok {
		return s, nil
	}
	// Escapes or non-ASCII: I-JSON only, so invalid UTF-8 and lone
	// surrogates are refused, never replaced with U+FFFD.
	if err := CheckJSON(raw); err != nil {
		return "", fmt.Errorf("issuer: %v: %w", err, tenantjwt.ErrClaims)
	}
	b, ok := unquote(nil, trimSpace(raw))
	if !ok {
		return "", fmt.Errorf("issuer: bad string: %w", tenantjwt.ErrClaims)
	}
	return string(b), nil
}

// StringList decodes a JSON array of strings. A string, an object or an
// array with any non-string element is an error wrapping
// tenantjwt.ErrClaims: a roles claim "admin,user" is never split.
func StringList(raw json.RawMessage) ([]string, error) {
	if err := CheckJSON(raw); err != nil {
		return nil, fmt.Errorf("issuer: %v: %w", err, tenantjwt.ErrClaims)
	}
	return DecodeStringList(raw)
}

// DecodeStringList is StringList for a value already known to be valid JSON,
// such as a member of a Claims.
func DecodeStringList(raw []byte) ([]string, error) {
	if FirstByte(raw) != '[' {
		return nil, fmt.Errorf("issuer: want an array of strings, got %s: %w", Kind(raw), tenantjwt.ErrClaims)
	}
	raw = trimSpace(raw)
	// One pass checks that every element is a string, counts them, and
	// notes where the first few are, so that the list is allocated once
	// and a short array is not scanned twice.
	var first [16][2]int
	n := 0
	err := elements(raw, func(start, end int) error {
		if raw[start] != '"' {
			return fmt.Errorf("issuer: array element: want a JSON string, got %s: %w", Kind(raw[start:]), tenantjwt.ErrClaims)
		}
		if n < len(first) {
			first[n] = [2]int{start, end}
		}
		n++
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	// Elements without escapes, nearly all, are substrings of one copy of
	// the array rather than a string each.
	var all string
	add := func(start, end int) error {
		if isPlain(raw[start:end]) {
			if all == "" {
				all = string(raw)
			}
			out = append(out, all[start+1:end-1])
			return nil
		}
		s, err := StringValue(raw[start:end])
		if err != nil {
			return fmt.Errorf("issuer: array element: %w", err)
		}
		out = append(out, s)
		return nil
	}
	if n > len(first) {
		err = elements(raw, add)
	} else {
		for _, e := range first[:n] {
			if err = add(e[0], e[1]); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ScopeList decodes scopes: a space-delimited string (RFC 8693 scope) or an
// array of strings (Okta's scp).
func ScopeList(raw json.RawMessage) ([]string, error) {
	if err := CheckJSON(raw); err != nil {
		return nil, fmt.Errorf("issuer: %v: %w", err, tenantjwt.ErrClaims)
	}
	return DecodeScopeList(raw)
}

// DecodeScopeList is ScopeList for a value already known to be valid JSON,
// such as a member of a Claims.
func DecodeScopeList(raw []byte) ([]string, error) {
	if FirstByte(raw) == '"' {
		s, err := StringValue(raw)
		if err != nil {
			return nil, err
		}
		return strings.Fields(s), nil
	}
	return DecodeStringList(raw)
}

// TenantList decodes a tenants claim: an array of strings, or an object
// whose keys are the tenants (Descope). The result is sorted and has no
// duplicates.
func TenantList(raw json.RawMessage) ([]string, error) {
	if err := CheckJSON(raw); err != nil {
		return nil, fmt.Errorf("issuer: %v: %w", err, tenantjwt.ErrClaims)
	}
	return DecodeTenantList(raw)
}

// DecodeTenantList is TenantList for a value already known to be valid JSON,
// such as a member of a Claims.
func DecodeTenantList(raw []byte) ([]string, error) {
	var out []string
	if FirstByte(raw) == '{' {
		out = make([]string, 0, 4) // room for most tokens' tenants
		err := EachMember(raw, func(name, _ []byte) error {
			out = append(out, DecodeName(name))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("issuer: %v: %w", err, tenantjwt.ErrClaims)
		}
	} else {
		var err error
		if out, err = DecodeStringList(raw); err != nil {
			return nil, err
		}
	}
	return sortedSet(out), nil
}

// TenantList reads the tenants claim at p as DecodeTenantList does; found
// is false when LookupPath finds nothing. An object's keys are read from
// the listing of the claims, without scanning the object again.
func (c *Claims) TenantList(p Path) (list []string, found bool, err error) {
	k, err := c.lookup(p, "")
	if k < 0 || err != nil {
		return nil, false, err
	}
	if v := c.obj.value(k); FirstByte(v) != '{' {
		list, err = DecodeTenantList(v)
		return list, true, err
	}
	return sortedSet(c.obj.names(k)), true, nil
}

// sortedSet sorts list and drops repeated entries.
func sortedSet(list []string) []string {
	slices.Sort(list)
	return slices.Compact(list)
}

// trimSpace drops the JSON whitespace around a value.
func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Kind names a JSON value's type for error messages.
func Kind(raw []byte) string {
	switch FirstByte(raw) {
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
