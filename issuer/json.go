package issuer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/tenantjwt/tenantjwt"
)

// Token JSON is read in two steps. encoding/json's json.Valid checks the
// whole segment once, with the standard library's grammar and nesting
// limit. After that the bytes are known to be valid JSON, and the small
// scanner below only finds where members and elements begin and end: it
// never decides what is valid, so it cannot accept what the standard
// library would refuse. Values are decoded only when a check or the claim
// mapping asks for them, and plain strings are read without reflection.
// Before this, header and payload were decoded into maps and each claim
// was decoded again, which was about half the cost of a first
// verification (see BENCHMARKS.md).

// member is one member of a JSON object: its name, decoded, and its raw
// value.
type member struct {
	name string
	val  []byte
}

// object holds the members of a JSON object in document order.
type object []member

// smallObject is the member count up to which duplicate names are found by
// comparing every pair; larger objects use a map.
const smallObject = 32

// parseObject reads the members of b, which must be a JSON object. It
// validates b and rejects duplicate member names: parsers disagree on
// which duplicate wins (RFC 7515 §5.2 lets us refuse), so a token whose
// iss or exp could mean two things is refused instead. Errors wrap
// tenantjwt.ErrMalformed; what names the segment.
func parseObject(b []byte, what string) (object, error) {
	if firstByte(b) != '{' {
		return nil, fmt.Errorf("issuer: %s is not a JSON object: %w", what, tenantjwt.ErrMalformed)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("issuer: %s is not valid JSON: %w", what, tenantjwt.ErrMalformed)
	}
	obj := make(object, 0, 16)
	err := eachMember(b, func(name, val []byte) error {
		obj = append(obj, member{name: decodeName(name), val: val})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if obj.hasDuplicates() {
		return nil, fmt.Errorf("issuer: %s has duplicate members: %w", what, tenantjwt.ErrMalformed)
	}
	return obj, nil
}

// get returns the raw value of the member called name.
func (o object) get(name string) ([]byte, bool) {
	for i := range o {
		if o[i].name == name {
			return o[i].val, true
		}
	}
	return nil, false
}

func (o object) hasDuplicates() bool {
	if len(o) <= smallObject {
		for i := range o {
			for j := i + 1; j < len(o); j++ {
				if o[i].name == o[j].name {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[string]struct{}, len(o))
	for _, m := range o {
		if _, dup := seen[m.name]; dup {
			return true
		}
		seen[m.name] = struct{}{}
	}
	return false
}

// decodeName turns a raw member name (with its quotes) into a string. Names
// with escapes or invalid UTF-8 go through encoding/json, so "i\u0073s" is
// iss exactly as the standard library reads it.
func decodeName(raw []byte) string {
	if s, ok := plainString(raw); ok {
		return s
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// plainString returns the content of a JSON string that has no escapes and
// is valid UTF-8, the common case, without reflection.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// lookupMember finds name in the raw JSON object obj, which must be valid
// JSON. A name present twice is an error: see parseObject.
func lookupMember(obj []byte, name string) (val []byte, found bool, err error) {
	err = eachMember(obj, func(k, v []byte) error {
		if !nameIs(k, name) {
			return nil
		}
		if found {
			return fmt.Errorf("duplicate member %.64q", name)
		}
		val, found = v, true
		return nil
	})
	return val, found, err
}

// nameIs reports whether the raw member name k decodes to name.
func nameIs(k []byte, name string) bool {
	if len(k) == len(name)+2 && string(k[1:len(k)-1]) == name {
		return true
	}
	// An escaped spelling of the same name is longer than the name.
	if bytes.IndexByte(k, '\\') < 0 && utf8.Valid(k) {
		return false
	}
	return decodeName(k) == name
}

// eachMember calls fn with the raw name (quotes included) and raw value of
// each member of the valid JSON object obj, stopping at fn's first error.
func eachMember(obj []byte, fn func(name, val []byte) error) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errNotObject
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for i < len(obj) {
		end := skipValue(obj, i)
		name := obj[i:end]
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return errNotObject
		}
		i = skipSpace(obj, i+1)
		end = skipValue(obj, i)
		if err := fn(name, obj[i:end]); err != nil {
			return err
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ',' {
			return nil
		}
		i = skipSpace(obj, i+1)
	}
	return nil
}

// eachElement calls fn with each raw element of the valid JSON array arr,
// stopping at fn's first error.
func eachElement(arr []byte, fn func(val []byte) error) error {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return fmt.Errorf("not a JSON array")
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return nil
	}
	for i < len(arr) {
		end := skipValue(arr, i)
		if err := fn(arr[i:end]); err != nil {
			return err
		}
		i = skipSpace(arr, end)
		if i >= len(arr) || arr[i] != ',' {
			return nil
		}
		i = skipSpace(arr, i+1)
	}
	return nil
}

// skipValue returns the index just past the JSON value starting at b[i].
// b must be valid JSON; on anything else it still returns an index in
// [i, len(b)], never panics, and callers see a short or empty value.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	// A number or a literal: up to the next delimiter.
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return len(b)
}

// skipString returns the index just past the string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); {
		// Jump to the next quote (IndexByte is vectorised), then look back:
		// it ends the string unless an odd run of backslashes escapes it.
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b)
		}
		i += q
		n := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return i + 1
		}
		i++
	}
	return len(b)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
