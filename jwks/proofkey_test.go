package jwks_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/jwks"
)

func TestParseProofKey(t *testing.T) {
	t.Parallel()
	t.Run("RFC 7638 example thumbprint", func(t *testing.T) {
		// The RSA key and thumbprint of RFC 7638 §3.1.
		raw := `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
		k, tp, err := jwks.ParseProofKey([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if tp != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
			t.Errorf("thumbprint %s", tp)
		}
		if !k.Allows("RS256") || k.Allows("ES256") {
			t.Error("key does not fit RS256 only")
		}
	})
	t.Run("EC thumbprint uses only the required members, in order", func(t *testing.T) {
		m := jwkOf(t, &p256.PublicKey, map[string]any{"kid": "ignored", "use": "sig", "alg": "ES256"})
		raw, _ := json.Marshal(m)
		_, tp, err := jwks.ParseProofKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		canonical := `{"crv":"P-256","kty":"EC","x":"` + m["x"].(string) + `","y":"` + m["y"].(string) + `"}`
		sum := sha256.Sum256([]byte(canonical))
		if want := base64.RawURLEncoding.EncodeToString(sum[:]); tp != want {
			t.Errorf("thumbprint %s, want %s", tp, want)
		}
	})
	t.Run("Ed25519", func(t *testing.T) {
		raw, _ := json.Marshal(jwkOf(t, edPub, nil))
		if _, tp, err := jwks.ParseProofKey(raw); err != nil || len(tp) != 43 {
			t.Errorf("thumbprint %q, err %v", tp, err)
		}
	})
	refused := map[string]any{
		"private members (RSA)": jwkOf(t, &rsa2048.PublicKey, map[string]any{"d": b64(rsa2048.D.Bytes()), "p": b64(rsa2048.Primes[0].Bytes()), "q": b64(rsa2048.Primes[1].Bytes())}),
		"private member d (EC)": jwkOf(t, &p256.PublicKey, map[string]any{"d": b64(mustBytes(p256.Bytes()))}),
		"symmetric":             map[string]any{"kty": "oct", "k": b64([]byte("secret"))},
		"RSA 1024":              jwkOf(t, &rsa1024.PublicKey, nil),
		"use enc":               jwkOf(t, &p256.PublicKey, map[string]any{"use": "enc"}),
		"alg of another type":   jwkOf(t, &p256.PublicKey, map[string]any{"alg": "RS256"}),
		"not an object":         []string{"RSA"},
		"oversize":              jwkOf(t, &p256.PublicKey, map[string]any{"pad": strings.Repeat("a", jwks.MaxProofKeyBytes)}),
	}
	for name, v := range refused {
		t.Run("refused: "+name, func(t *testing.T) {
			raw, _ := json.Marshal(v)
			if k, tp, err := jwks.ParseProofKey(raw); err == nil {
				t.Errorf("accepted: %v %s", k, tp)
			}
		})
	}
}
