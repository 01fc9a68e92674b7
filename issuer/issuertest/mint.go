package issuertest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Mint returns a token signed with the current key. Defaults: header alg
// (the key's), typ "JWT" and kid; claims iss (URL), sub "test-subject",
// aud (Audience), iat now and exp now+1h. Claims given win over the defaults; a nil value
// removes a default. It panics on claims that cannot be encoded as JSON,
// which is a bug in the test.
func (i *Issuer) Mint(claims map[string]any) string {
	return i.MintWith(nil, claims)
}

// MintWith is Mint with raw control of the header too: header entries
// override (or, when nil, delete) alg, typ and kid. The signature is always
// made with the current key and its own algorithm, whatever the header
// says, so a test can claim another alg over a genuine signature.
func (i *Issuer) MintWith(header, claims map[string]any) string {
	input := i.SigningInput(header, claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(i.Sign([]byte(input)))
}

// SigningInput returns the unsigned "header.payload" that MintWith would
// sign, so a test can attach a signature of its own (HMAC with a public
// key, an all-zero ECDSA signature, …).
func (i *Issuer) SigningInput(header, claims map[string]any) string {
	i.mu.Lock()
	k, now := i.current, i.now()
	i.mu.Unlock()

	h := map[string]any{"alg": k.alg, "typ": "JWT", "kid": k.kid}
	apply(h, header)
	c := map[string]any{
		"iss": i.URL(),
		"sub": "test-subject",
		"aud": i.aud,
		"iat": now.Unix(),
		"exp": now.Add(3600e9).Unix(),
	}
	apply(c, claims)
	return Encode(h) + "." + Encode(c)
}

// Sign signs data with the current key and algorithm.
func (i *Issuer) Sign(data []byte) []byte {
	i.mu.Lock()
	k := i.current
	i.mu.Unlock()
	sig, err := k.sign(data)
	if err != nil {
		panic(fmt.Sprintf("issuertest: sign: %v", err))
	}
	return sig
}

// Encode returns the base64url (no padding) encoding of v as JSON. A
// json.RawMessage or []byte value is encoded as is, so a test can send
// JSON that no map produces (duplicate keys, deep nesting, odd numbers).
func Encode(v any) string {
	var b []byte
	switch v := v.(type) {
	case json.RawMessage:
		b = v
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			panic(fmt.Sprintf("issuertest: encode: %v", err))
		}
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// apply copies over onto m; nil values delete.
func apply(m, over map[string]any) {
	for k, v := range over {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
}
