package jwt

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/tenantjwt/tenantjwt"
)

// b64 decodes base64url without padding and rejects non-canonical
// encodings (stray bits in the last character), so one token has one
// spelling.
var b64 = base64.RawURLEncoding.Strict()

// Token is a compact JWS split and decoded by our own strict parser. The
// signature is checked over SigningInput, the exact bytes that were split.
type Token struct {
	SigningInput []byte
	Sig          []byte
	Header       Header
	HeaderJSON   []byte // the decoded header
	Payload      []byte // the decoded payload
	claims       Claims // its members: none until CheckSigned
	Payload64    string // the payload segment: a substring of the token
}

// Header holds the JOSE header members we act on. It is read by exact
// member name, so "ALG" or "Alg" never pass for "alg".
type Header struct {
	Alg, Kid, Typ, Cty string
	// Presence of members that ask for something we do not do.
	Crit, B64, Enc, Zip bool
	// Presence of key-carrying members, which are ignored (never used to
	// find or fetch keys); recorded for Explain.
	JWK, JKU, X5U, X5C bool
	// JWKRaw is the jwk member's JSON: used only for DPoP proofs, whose key
	// is legitimately embedded; an access token's jwk is never used.
	JWKRaw []byte
}

// Parse applies the shape rules, decodes the three segments once
// and reads the header's members, without judging the JSON yet: until the
// signature is checked, header and payload are read only by the linear
// scanner (EachMember, LookupMember), which never fails on hostile input
// and costs about a memchr per string. CheckSigned then applies the strict
// I-JSON check (CheckJSON) to the signed bytes. So a token of an unknown
// issuer, or with a junk signature, costs one decode and one skim, however
// its JSON is built. Reading the same bytes with the same code gives the
// same members before and after the check, so nothing read early can
// differ from what the check then accepts. It returns errors wrapping
// tenantjwt.ErrMalformed.
func Parse(s string, maxBytes int) (*Token, error) {
	if len(s) > maxBytes {
		return nil, fmt.Errorf("issuer: token of %d bytes exceeds the cap of %d: %w", len(s), maxBytes, tenantjwt.ErrMalformed)
	}
	// The dots are found with IndexByte (vectorised); the alphabet is
	// checked by the strict decoder below, which refuses every byte
	// outside base64url except CR and LF, which it skips: those are
	// refused here.
	dot1 := strings.IndexByte(s, '.')
	dot2 := -1
	if dot1 >= 0 {
		if j := strings.IndexByte(s[dot1+1:], '.'); j >= 0 {
			dot2 = dot1 + 1 + j
		}
	}
	if dot2 < 0 {
		return nil, fmt.Errorf("issuer: not three dot-separated segments: %w", tenantjwt.ErrMalformed)
	}
	if strings.IndexByte(s[dot2+1:], '.') >= 0 {
		return nil, fmt.Errorf("issuer: more than two dots (JWE or not a JWS): %w", tenantjwt.ErrMalformed)
	}
	if strings.IndexByte(s, '\r') >= 0 || strings.IndexByte(s, '\n') >= 0 {
		return nil, fmt.Errorf("issuer: line break in the token: %w", tenantjwt.ErrMalformed)
	}
	if dot1 == 0 || dot2 == dot1+1 || dot2 == len(s)-1 {
		return nil, fmt.Errorf("issuer: empty segment: %w", tenantjwt.ErrMalformed)
	}
	// One buffer holds the token as bytes (the signing input is a slice of
	// it) and the three decoded segments.
	hn, pn, sn := b64.DecodedLen(dot1), b64.DecodedLen(dot2-dot1-1), b64.DecodedLen(len(s)-dot2-1)
	buf := make([]byte, len(s)+hn+pn+sn)
	raw, dec := buf[:len(s):len(s)], buf[len(s):]
	copy(raw, s)
	hb, err := decodeSeg(dec[:hn:hn], raw[:dot1], "header")
	if err != nil {
		return nil, err
	}
	pb, err := decodeSeg(dec[hn:hn+pn:hn+pn], raw[dot1+1:dot2], "payload")
	if err != nil {
		return nil, err
	}
	sb, err := decodeSeg(dec[hn+pn:], raw[dot2+1:], "signature")
	if err != nil {
		return nil, err
	}

	t := &Token{SigningInput: raw[:dot2:dot2], Sig: sb, HeaderJSON: hb, Payload: pb, Payload64: s[dot1+1 : dot2]}
	if err := t.Header.decode(hb); err != nil {
		return nil, err
	}
	if FirstByte(pb) != '{' {
		return nil, fmt.Errorf("issuer: payload is not a JSON object: %w", tenantjwt.ErrMalformed)
	}
	return t, nil
}

// headerNames are the header members decode reads.
var headerNames = []string{"alg", "kid", "typ", "cty", "crit", "b64", "enc", "zip", "jwk", "jku", "x5u", "x5c"}

// headerName returns the header member name the raw name k decodes to if
// decode reads it, else "", without allocating: a hostile header may have
// a thousand members.
func headerName(k []byte) string {
	if len(k) < 3 || len(k) > 2+6*4 {
		return ""
	}
	// Most names are ruled out by their first byte.
	if c := k[1]; c != '\\' && strings.IndexByte("acbektjzx", c) < 0 {
		return ""
	}
	for _, n := range headerNames {
		if NameIs(k, n) {
			return n
		}
	}
	return ""
}

// CheckSigned applies CheckJSON to header and payload, once the signature
// over them has verified: I-JSON at every depth, bounded nesting and
// member count. The same pass lists the payload's members for Claims.
func (t *Token) CheckSigned() error {
	if err := CheckObject(t.HeaderJSON, "header"); err != nil {
		return err
	}
	obj, err := ParseObject(t.Payload, "payload")
	if err != nil {
		return err
	}
	t.claims = Claims{payload: t.Payload, obj: obj}
	return nil
}

// CheckUnsigned tells a malformed payload from a well-formed one of an
// issuer that is not trusted, for the error's cause: the grammar, UTF-8,
// depth and member count only, not the (costlier) member-name rules.
func (t *Token) CheckUnsigned() error {
	if err := CheckJSONGrammar(t.Payload); err != nil {
		return fmt.Errorf("issuer: payload: %v: %w", err, tenantjwt.ErrMalformed)
	}
	return nil
}

// Claims returns the payload's members, as listed by CheckSigned. A
// Claims holds only JSON that passed CheckJSON; before CheckSigned
// succeeded it has no members, so nothing unchecked is ever read as a
// claim.
func (t *Token) Claims() *Claims { return &t.claims }

func decodeSeg(dst, seg []byte, what string) ([]byte, error) {
	n, err := b64.Decode(dst, seg)
	if err != nil {
		return nil, fmt.Errorf("issuer: %s is not base64url without padding: %w", what, tenantjwt.ErrMalformed)
	}
	return dst[:n], nil
}

// decode reads the header's members with the scanner (see Parse):
// b must look like an object, the members we use must have the right
// types, and a member we read may appear once.
func (h *Header) decode(b []byte) error {
	if FirstByte(b) != '{' {
		return fmt.Errorf("issuer: header is not a JSON object: %w", tenantjwt.ErrMalformed)
	}
	var seen uint16
	err := EachMember(b, func(name, val []byte) error {
		var dst *string
		var bit uint16
		switch headerName(name) {
		case "alg":
			dst, bit = &h.Alg, 1<<0
		case "kid":
			dst, bit = &h.Kid, 1<<1
		case "typ":
			dst, bit = &h.Typ, 1<<2
		case "cty":
			dst, bit = &h.Cty, 1<<3
		case "crit":
			h.Crit, bit = true, 1<<4
		case "b64":
			h.B64, bit = true, 1<<5
		case "enc":
			h.Enc, bit = true, 1<<6
		case "zip":
			h.Zip, bit = true, 1<<7
		case "jwk":
			h.JWK, h.JWKRaw, bit = true, val, 1<<8
		case "jku":
			h.JKU, bit = true, 1<<9
		case "x5u":
			h.X5U, bit = true, 1<<10
		case "x5c":
			h.X5C, bit = true, 1<<11
		default:
			return nil
		}
		if seen&bit != 0 {
			return fmt.Errorf("issuer: header has duplicate members: %w", tenantjwt.ErrMalformed)
		}
		seen |= bit
		if dst == nil {
			return nil
		}
		var err error
		if *dst, err = StringValue(val); err != nil {
			return fmt.Errorf("issuer: header member is not a string: %w", tenantjwt.ErrMalformed)
		}
		return nil
	})
	if err != nil {
		if !errors.Is(err, tenantjwt.ErrMalformed) {
			err = fmt.Errorf("issuer: header: %v: %w", err, tenantjwt.ErrMalformed)
		}
		return err
	}
	if seen&1 == 0 {
		return fmt.Errorf("issuer: header has no alg: %w", tenantjwt.ErrMalformed)
	}
	return nil
}

// Check rejects headers that ask for processing we do not do. We
// understand no critical extension (RFC 7515 §4.1.11), so any crit
// rejects; b64 (RFC 7797) changes what is signed; enc/zip mean JWE; a
// nested JWT (cty JWT) would be a second token we do not verify.
func (h *Header) Check() error {
	switch {
	case h.Enc || h.Zip:
		return fmt.Errorf("issuer: JWE header (enc/zip): %w", tenantjwt.ErrMalformed)
	case h.Crit:
		return fmt.Errorf("issuer: crit header: no extension is understood: %w", tenantjwt.ErrMalformed)
	case h.B64:
		return fmt.Errorf("issuer: b64 header (RFC 7797) not supported: %w", tenantjwt.ErrMalformed)
	case NormTyp(h.Cty) == "jwt":
		return fmt.Errorf("issuer: cty JWT (nested token) not supported: %w", tenantjwt.ErrMalformed)
	}
	return nil
}

// NormTyp lower-cases a typ and drops an "application/" prefix (RFC 7515
// §4.1.9 lets producers omit it).
func NormTyp(t string) string {
	t = strings.ToLower(t)
	return strings.TrimPrefix(t, "application/")
}
