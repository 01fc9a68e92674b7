package issuertest

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// DPoPClient is a client's DPoP key pair (RFC 9449), for tests: it signs
// proofs with the standard library only, independently of the verifier
// under test, and gives the RFC 7638 thumbprint an authorization server
// puts in a bound token's cnf.jkt.
type DPoPClient struct {
	key *signingKey

	mu  sync.Mutex
	now func() time.Time
}

// NewDPoPClient makes a client with a key of its own for alg (RS256,
// PS256, ES256, ES384, ES512, EdDSA, …; in a test binary taken from the
// fixture pool, see FixtureKey) and a clock (nil: time.Now).
func NewDPoPClient(alg string, now func() time.Time) (*DPoPClient, error) {
	s, err := newKey(alg)
	if err != nil {
		return nil, err
	}
	return NewDPoPClientWithKey(s, alg, now)
}

// NewDPoPClientWithKey is NewDPoPClient with a given key.
func NewDPoPClientWithKey(signer crypto.Signer, alg string, now func() time.Time) (*DPoPClient, error) {
	if !fits(alg, signer.Public()) {
		return nil, fmt.Errorf("issuertest: algorithm %q does not fit key type %T", alg, signer.Public())
	}
	if now == nil {
		now = time.Now
	}
	return &DPoPClient{key: &signingKey{alg: alg, signer: signer}, now: now}, nil
}

// SetNow replaces the clock used for iat.
func (c *DPoPClient) SetNow(now func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

// JWK returns the public key as the proof's jwk header carries it.
func (c *DPoPClient) JWK() map[string]any {
	m, err := c.key.jwk()
	if err != nil {
		panic(fmt.Sprintf("issuertest: %v", err)) // keys come from newKey or fits
	}
	delete(m, "kid")
	delete(m, "use")
	return m
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of the public key,
// base64url: the value of cnf.jkt. It is computed here from the required
// members in lexicographic order, not by the library under test.
func (c *DPoPClient) Thumbprint() string {
	m := c.JWK()
	var required []string
	switch m["kty"] {
	case "RSA":
		required = []string{"e", "kty", "n"}
	case "EC":
		required = []string{"crv", "kty", "x", "y"}
	case "OKP":
		required = []string{"crv", "kty", "x"}
	}
	b := []byte{'{'}
	for i, k := range required {
		if i > 0 {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(m[k])
		b = append(append(append(b, kb...), ':'), vb...)
	}
	b = append(b, '}')
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Confirmation returns the cnf claim binding a token to this key:
// {"jkt": Thumbprint()}. Mint a bound token with
// iss.Mint(map[string]any{"cnf": client.Confirmation()}).
func (c *DPoPClient) Confirmation() map[string]any {
	return map[string]any{"jkt": c.Thumbprint()}
}

// Proof returns a fresh proof for a request with method to url carrying
// accessToken ("" for a proof without ath, as sent to a token endpoint):
// header typ dpop+jwt, alg and jwk; claims jti (random), htm, htu, iat
// (now) and ath.
func (c *DPoPClient) Proof(method, url, accessToken string) string {
	return c.ProofWith(method, url, accessToken, nil, nil)
}

// ProofWith is Proof with raw control: header and claims entries override
// (or, when nil, delete) the defaults. The signature is always made with
// the client's key and algorithm, whatever the header says.
func (c *DPoPClient) ProofWith(method, url, accessToken string, header, claims map[string]any) string {
	c.mu.Lock()
	now := c.now()
	c.mu.Unlock()
	var jti [16]byte
	rand.Read(jti[:])
	h := map[string]any{"typ": "dpop+jwt", "alg": c.key.alg, "jwk": c.JWK()}
	apply(h, header)
	cl := map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(jti[:]),
		"htm": method,
		"htu": url,
		"iat": now.Unix(),
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		cl["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	apply(cl, claims)
	input := Encode(h) + "." + Encode(cl)
	sig, err := c.key.sign([]byte(input))
	if err != nil {
		panic(fmt.Sprintf("issuertest: sign: %v", err))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}
