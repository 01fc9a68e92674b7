package jwks_test

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/jwks"
)

// A JWK with private members is dropped as such for every key type. An
// OKP private key also satisfies jwx's OKPPublicKey interface, so a type
// switch must test the private interfaces first (staticcheck SA4020).
func TestPrivateKeysDroppedAsPrivate(t *testing.T) {
	t.Parallel()
	_, edPriv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]map[string]any{
		"OKP": jwkOf(t, edPriv.Public(), map[string]any{"kid": "okp", "d": b64(edPriv.Seed())}),
		"EC":  jwkOf(t, &p256.PublicKey, map[string]any{"kid": "ec", "d": b64(mustBytes(p256.Bytes()))}),
		"RSA": jwkOf(t, &rsa2048.PublicKey, map[string]any{"kid": "rsa", "d": b64(rsa2048.D.Bytes()),
			"p": b64(rsa2048.Primes[0].Bytes()), "q": b64(rsa2048.Primes[1].Bytes())}),
	}
	good := jwkOf(t, edPub, map[string]any{"kid": "good"})
	for name, k := range keys {
		set, dropped, err := jwks.Parse(doc(t, good, k), jwks.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if set.Len() != 1 || len(dropped) != 1 || !strings.Contains(dropped[0].Reason, "private members") {
			t.Errorf("%s: kept %d, dropped %+v; want it dropped for its private members", name, set.Len(), dropped)
		}
	}
}
