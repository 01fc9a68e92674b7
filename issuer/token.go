package issuer

import (
	"encoding/base64"
	"fmt"

	"github.com/tenantjwt/tenantjwt"
)

// DefaultMaxTokenBytes is the default cap on a token's length, checked
// before any decoding.
const DefaultMaxTokenBytes = 16384

// b64 decodes base64url without padding and rejects non-canonical
// encodings (stray bits in the last character), so one token has one
// spelling.
var b64 = base64.RawURLEncoding.Strict()

// token is a compact JWS split and decoded by our own strict parser. The
// signature is checked over signingInput, the exact bytes that were split.
type token struct {
	signingInput []byte
	sig          []byte
	header       header
	payload      []byte  // the decoded payload; it passed checkJSON
	claims       *Claims // its members: nil until readClaims
	payload64    string  // the payload segment: a substring of the token
}

// header holds the JOSE header members we act on. It is read from an
// exact-key map, so "ALG" or "Alg" never pass for "alg".
type header struct {
	alg, kid, typ, cty string
	// Presence of members that ask for something we do not do.
	crit, b64, enc, zip bool
	// Presence of key-carrying members, which are ignored (never used to
	// find or fetch keys); recorded for Explain.
	jwk, jku, x5u, x5c bool
	// jwkRaw is the jwk member's JSON: used only for DPoP proofs, whose key
	// is legitimately embedded; an access token's jwk is never used.
	jwkRaw []byte
}

// parseToken applies the shape rules, decodes the three segments once and
// checks header and payload with checkJSON (I-JSON, bounded depth and
// member count). It reads the header's members but not the payload's:
// those are listed by readClaims once the issuer is known to be trusted,
// so a token of an unknown issuer costs one linear pass over its payload.
// It returns errors wrapping tenantjwt.ErrMalformed.
func parseToken(s string, maxBytes int) (*token, error) {
	if len(s) > maxBytes {
		return nil, fmt.Errorf("issuer: token of %d bytes exceeds the cap of %d: %w", len(s), maxBytes, tenantjwt.ErrMalformed)
	}
	dot1, dot2 := -1, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.':
			switch {
			case dot1 < 0:
				dot1 = i
			case dot2 < 0:
				dot2 = i
			default:
				return nil, fmt.Errorf("issuer: more than two dots (JWE or not a JWS): %w", tenantjwt.ErrMalformed)
			}
		default:
			return nil, fmt.Errorf("issuer: byte 0x%02x at %d is not base64url: %w", c, i, tenantjwt.ErrMalformed)
		}
	}
	if dot2 < 0 {
		return nil, fmt.Errorf("issuer: not three dot-separated segments: %w", tenantjwt.ErrMalformed)
	}
	if dot1 == 0 || dot2 == dot1+1 || dot2 == len(s)-1 {
		return nil, fmt.Errorf("issuer: empty segment: %w", tenantjwt.ErrMalformed)
	}
	// One copy of the token as bytes: the segments and the signing input
	// are slices of it.
	raw := []byte(s)
	h64, p64, s64 := raw[:dot1], raw[dot1+1:dot2], raw[dot2+1:]

	// One buffer for the three decoded segments.
	hn, pn, sn := b64.DecodedLen(len(h64)), b64.DecodedLen(len(p64)), b64.DecodedLen(len(s64))
	buf := make([]byte, hn+pn+sn)
	hb, err := decodeSeg(buf[:hn:hn], h64, "header")
	if err != nil {
		return nil, err
	}
	pb, err := decodeSeg(buf[hn:hn+pn:hn+pn], p64, "payload")
	if err != nil {
		return nil, err
	}
	sb, err := decodeSeg(buf[hn+pn:], s64, "signature")
	if err != nil {
		return nil, err
	}

	t := &token{signingInput: raw[:dot2:dot2], sig: sb, payload64: s[dot1+1 : dot2]}
	if err := t.header.decode(hb); err != nil {
		return nil, err
	}
	if err := checkObject(pb, "payload"); err != nil {
		return nil, err
	}
	t.payload = pb
	return t, nil
}

// readClaims lists the payload's members, once.
func (t *token) readClaims() *Claims {
	if t.claims == nil {
		t.claims = &Claims{payload: t.payload, obj: members(t.payload)}
	}
	return t.claims
}

func decodeSeg(dst, seg []byte, what string) ([]byte, error) {
	n, err := b64.Decode(dst, seg)
	if err != nil {
		return nil, fmt.Errorf("issuer: %s is not base64url without padding: %w", what, tenantjwt.ErrMalformed)
	}
	return dst[:n], nil
}

// decode reads the header JSON, which must be an object whose members we
// use have the right types.
func (h *header) decode(b []byte) error {
	obj, err := parseObject(b, "header")
	if err != nil {
		return err
	}
	for _, m := range obj {
		var dst *string
		switch m.name {
		case "alg":
			dst = &h.alg
		case "kid":
			dst = &h.kid
		case "typ":
			dst = &h.typ
		case "cty":
			dst = &h.cty
		case "crit":
			h.crit = true
		case "b64":
			h.b64 = true
		case "enc":
			h.enc = true
		case "zip":
			h.zip = true
		case "jwk":
			h.jwk, h.jwkRaw = true, m.val
		case "jku":
			h.jku = true
		case "x5u":
			h.x5u = true
		case "x5c":
			h.x5c = true
		}
		if dst == nil {
			continue
		}
		if *dst, err = StringValue(m.val); err != nil {
			return fmt.Errorf("issuer: header %s is not a string: %w", m.name, tenantjwt.ErrMalformed)
		}
	}
	if _, ok := obj.get("alg"); !ok {
		return fmt.Errorf("issuer: header has no alg: %w", tenantjwt.ErrMalformed)
	}
	return nil
}

// check rejects headers that ask for processing we do not do. We
// understand no critical extension (RFC 7515 §4.1.11), so any crit
// rejects; b64 (RFC 7797) changes what is signed; enc/zip mean JWE; a
// nested JWT (cty JWT) would be a second token we do not verify.
func (h *header) check() error {
	switch {
	case h.enc || h.zip:
		return fmt.Errorf("issuer: JWE header (enc/zip): %w", tenantjwt.ErrMalformed)
	case h.crit:
		return fmt.Errorf("issuer: crit header: no extension is understood: %w", tenantjwt.ErrMalformed)
	case h.b64:
		return fmt.Errorf("issuer: b64 header (RFC 7797) not supported: %w", tenantjwt.ErrMalformed)
	case normTyp(h.cty) == "jwt":
		return fmt.Errorf("issuer: cty JWT (nested token) not supported: %w", tenantjwt.ErrMalformed)
	}
	return nil
}
