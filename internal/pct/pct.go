// Package pct holds the percent-encoding primitives of RFC 3986 that the
// request model (middleware/canonical) and DPoP's htu normalisation
// (issuer) share, so both read an escape the same way.
package pct

import "strings"

// Unhex returns the value of a hex digit.
func Unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Decode reads the escape at s[i] ('%' and two hex digits); ok is false
// when there is none, or it is truncated or invalid.
func Decode(s string, i int) (c byte, ok bool) {
	if i+2 >= len(s) || s[i] != '%' {
		return 0, false
	}
	hi, ok1 := Unhex(s[i+1])
	lo, ok2 := Unhex(s[i+2])
	return hi<<4 | lo, ok1 && ok2
}

// Unreserved reports RFC 3986 §2.3 unreserved characters.
func Unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// WriteEscape writes c as %XX, upper-case hex (RFC 3986 §6.2.2.1).
func WriteEscape(b *strings.Builder, c byte) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&15])
}
