package jwks

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// DefaultMaxKeys is the default cap on the number of keys in one JWKS
// document. A document with more is rejected whole.
const DefaultMaxKeys = 100

// ErrNoUsableKeys is returned when a key set holds no key that survives
// filtering. An empty set never means "skip verification".
var ErrNoUsableKeys = errors.New("jwks: no usable keys")

// Set is an immutable set of verification keys, as loaded from one JWKS
// document or key file. It is safe for concurrent use.
type Set struct {
	keys []*Key
	byID map[string]*Key
}

// NewSet builds a Set from already-converted keys. Keys without an ID are
// kept only when they are the sole key; duplicate IDs keep the first key.
func NewSet(keys ...*Key) *Set {
	s := &Set{byID: make(map[string]*Key, len(keys))}
	for _, k := range keys {
		if k == nil {
			continue
		}
		if k.ID == "" && len(keys) > 1 {
			continue
		}
		if _, dup := s.byID[k.ID]; dup {
			continue
		}
		s.byID[k.ID] = k
		s.keys = append(s.keys, k)
	}
	return s
}

// Lookup returns the key with the given kid. A key without a kid matches
// any kid when it is the only key of the set: there is nothing to tell it
// apart from. An empty kid matches only such a sole key, so a token without
// kid is refused when the issuer has several keys.
func (s *Set) Lookup(kid string) (*Key, bool) {
	if s == nil {
		return nil, false
	}
	if k, ok := s.byID[kid]; ok && kid != "" {
		return k, true
	}
	if len(s.keys) == 1 && s.keys[0].ID == "" {
		return s.keys[0], true
	}
	return nil, false
}

// Len returns the number of keys.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Keys returns the keys in document order. The slice is a copy; the keys
// are shared and immutable.
func (s *Set) Keys() []*Key {
	if s == nil {
		return nil
	}
	return append([]*Key(nil), s.keys...)
}

// Dropped records a key that was left out of a set, and why.
type Dropped struct {
	Index  int    // position in the document's keys array
	KeyID  string // kid, if the key had one
	Reason string
}

// ParseOptions bounds and filters parsing. The zero value uses the defaults.
type ParseOptions struct {
	// MaxKeys caps the keys array; a longer one is rejected whole.
	// Default DefaultMaxKeys.
	MaxKeys int
}

// Parse reads a JWKS document and keeps only keys usable to verify
// signatures: RSA (at least MinRSABits), EC P-256/P-384/P-521 and Ed25519
// public keys whose use is absent or "sig" and whose key_ops is absent or
// contains "verify". Symmetric keys, keys with private members, keys of
// other types and duplicate kids are dropped and reported.
//
// It returns ErrNoUsableKeys (with the drop report) when nothing survives.
// The input is treated as hostile: any error is returned, never a panic.
func Parse(data []byte, opts ParseOptions) (*Set, []Dropped, error) {
	maxKeys := opts.MaxKeys
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("jwks: invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, nil, errors.New("jwks: trailing data after JSON document")
	}
	if doc.Keys == nil {
		return nil, nil, errors.New(`jwks: document has no "keys" array`)
	}
	if len(doc.Keys) > maxKeys {
		return nil, nil, fmt.Errorf("jwks: %d keys exceed the cap of %d", len(doc.Keys), maxKeys)
	}

	var dropped []Dropped
	keys := make([]*Key, 0, len(doc.Keys))
	seen := make(map[string]bool, len(doc.Keys))
	for i, raw := range doc.Keys {
		k, kid, err := convert(raw)
		if err == nil && kid != "" && seen[kid] {
			err = errors.New("duplicate kid")
		}
		if err != nil {
			dropped = append(dropped, Dropped{Index: i, KeyID: kid, Reason: err.Error()})
			continue
		}
		seen[kid] = true
		keys = append(keys, k)
	}
	if len(keys) > 1 {
		// Keys without kid cannot be selected among several.
		kept := keys[:0]
		for i, k := range keys {
			if k.ID == "" {
				dropped = append(dropped, Dropped{Index: i, Reason: "no kid in a set of several keys"})
				continue
			}
			kept = append(kept, k)
		}
		keys = kept
	}
	if len(keys) == 0 {
		return nil, dropped, ErrNoUsableKeys
	}
	return NewSet(keys...), dropped, nil
}

// convert turns one JWK into a Key, or says why it is unusable.
func convert(raw json.RawMessage) (k *Key, kid string, err error) {
	defer func() {
		// jwx parses hostile input; a panic there must not take the
		// process down. Treat it as an unusable key.
		if r := recover(); r != nil {
			k, err = nil, fmt.Errorf("unparsable key")
		}
	}()
	if err := refusePrivateMembers(raw); err != nil {
		return nil, "", err
	}
	jk, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, "", fmt.Errorf("unparsable key: %v", err)
	}
	kid = jk.KeyID()
	if len(kid) > 256 {
		return nil, "", errors.New("kid longer than 256 bytes")
	}
	if use := jk.KeyUsage(); use != "" && use != "sig" {
		return nil, kid, fmt.Errorf("use %q is not sig", use)
	}
	if ops := jk.KeyOps(); ops != nil {
		ok := false
		for _, op := range ops {
			ok = ok || op == jwk.KeyOpVerify
		}
		if !ok {
			return nil, kid, errors.New("key_ops lacks verify")
		}
	}
	var alg string
	if a := jk.Algorithm(); a != nil {
		alg = a.String()
	}
	if alg != "" && !KnownAlgorithm(alg) {
		return nil, kid, fmt.Errorf("alg %q not supported", alg)
	}

	var pub any
	switch jk.(type) {
	case jwk.RSAPrivateKey, jwk.ECDSAPrivateKey, jwk.OKPPrivateKey:
		return nil, kid, errors.New("key has private members")
	case jwk.RSAPublicKey:
		var p rsa.PublicKey
		if err := jk.Raw(&p); err != nil {
			return nil, kid, fmt.Errorf("bad RSA key: %v", err)
		}
		// jwx reads e into an int, keeping the low bits of a longer one:
		// refuse what it would truncate, so the key verified with is the
		// key the JWK (and its thumbprint) describes.
		if e, ok := jk.(interface{ E() []byte }); !ok || !exponentFits(e.E()) {
			return nil, kid, errors.New("bad RSA exponent")
		}
		pub = &p
	case jwk.ECDSAPublicKey:
		var p ecdsa.PublicKey
		if err := jk.Raw(&p); err != nil {
			return nil, kid, fmt.Errorf("bad EC key: %v", err)
		}
		pub = &p
	case jwk.OKPPublicKey:
		var p any
		if err := jk.Raw(&p); err != nil {
			return nil, kid, fmt.Errorf("bad OKP key: %v", err)
		}
		pub = p
	case jwk.SymmetricKey:
		return nil, kid, errors.New("symmetric (oct) key")
	default:
		return nil, kid, fmt.Errorf("unsupported key type %q", jk.KeyType())
	}
	if err := checkPublic(pub); err != nil {
		return nil, kid, err
	}
	key := &Key{ID: kid, Algorithm: alg, Public: pub}
	if v, ok := jk.Get("issuer"); ok {
		if s, ok := v.(string); ok {
			key.Issuer = s
		}
	}
	if !key.allowsAny() {
		return nil, kid, fmt.Errorf("alg %q does not fit the key type", alg)
	}
	return key, kid, nil
}

// privateMembers are the JWK members that carry secret material (RFC 7518
// §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// refusePrivateMembers refuses a JWK with any private member, whatever its
// kty and whether or not the key would parse as a private key: a verifier
// never needs one, and a public key that carries one was leaked.
func refusePrivateMembers(raw []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("unparsable key: %v", err)
	}
	if string(m["kty"]) == `"oct"` {
		return errors.New("symmetric (oct) key")
	}
	for _, name := range privateMembers {
		if _, ok := m[name]; ok {
			return fmt.Errorf("key has private members (%q)", name)
		}
	}
	return nil
}

// exponentFits reports whether an RSA exponent, as big-endian octets,
// fits the int crypto/rsa takes (at most 2^31-1) once leading zero octets
// are stripped.
func exponentFits(e []byte) bool {
	e = bytes.TrimLeft(e, "\x00")
	return len(e) > 0 && (len(e) < 4 || len(e) == 4 && e[0] < 0x80)
}

// allowsAny reports whether some supported algorithm fits the key.
func (k *Key) allowsAny() bool {
	for _, a := range Algorithms {
		if k.Allows(a) {
			return true
		}
	}
	return false
}

// String describes the dropped key, for logs.
func (d Dropped) String() string {
	return strings.TrimSpace(fmt.Sprintf("key %d %q: %s", d.Index, d.KeyID, d.Reason))
}
