package jwks_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

var b64 = base64.RawURLEncoding.EncodeToString

// jwkOf renders a public key as a JWK map, with extra members merged in.
func jwkOf(t testing.TB, pub any, extra map[string]any) map[string]any {
	m := map[string]any{}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64(p.N.Bytes()), b64(big.NewInt(int64(p.E)).Bytes())
	case *ecdsa.PublicKey:
		raw := mustBytes(p.Bytes()) // 0x04 || X || Y, each of fixed length
		size := (len(raw) - 1) / 2
		m["kty"], m["crv"], m["x"], m["y"] = "EC", p.Curve.Params().Name, b64(raw[1:1+size]), b64(raw[1+size:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64(p)
	default:
		panic(fmt.Sprintf("jwkOf: %T", pub))
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

func doc(_ testing.TB, keys ...map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	return b
}

var (
	rsa2048     = fixtureRSA()
	rsa1024, _  = rsa.GenerateKey(rand.Reader, 1024)
	p256, _     = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p224, _     = ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	edPub, _, _ = ed25519.GenerateKey(rand.Reader)
)

// fixtureRSA takes a 2048-bit key from the shared test key pool: no test
// here needs a freshly generated one.
func fixtureRSA() *rsa.PrivateKey {
	k, err := issuertest.FixtureKey("RS256")
	if err != nil {
		panic(err)
	}
	return k.(*rsa.PrivateKey)
}

// mustBytes is for encodings of keys made here, which cannot fail.
func mustBytes(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseFiltersKeys(t *testing.T) {
	t.Parallel()
	good := jwkOf(t, &rsa2048.PublicKey, map[string]any{"kid": "good", "use": "sig", "alg": "RS256"})
	tests := []struct {
		name string
		key  map[string]any
		kept bool
	}{
		{"RSA 2048 for signatures", good, true},
		{"EC P-256", jwkOf(t, &p256.PublicKey, map[string]any{"kid": "k"}), true},
		{"Ed25519", jwkOf(t, edPub, map[string]any{"kid": "k"}), true},
		{"key_ops with verify", jwkOf(t, &p256.PublicKey, map[string]any{"kid": "k", "key_ops": []string{"verify"}}), true},
		{"use enc", jwkOf(t, &rsa2048.PublicKey, map[string]any{"kid": "k", "use": "enc"}), false},
		{"key_ops without verify", jwkOf(t, &rsa2048.PublicKey, map[string]any{"kid": "k", "key_ops": []string{"encrypt"}}), false},
		{"RSA 1024", jwkOf(t, &rsa1024.PublicKey, map[string]any{"kid": "k"}), false},
		{"private member d", jwkOf(t, &rsa2048.PublicKey, map[string]any{"kid": "k", "d": b64(rsa2048.D.Bytes()), "p": b64(rsa2048.Primes[0].Bytes()), "q": b64(rsa2048.Primes[1].Bytes())}), false},
		{"symmetric oct", map[string]any{"kty": "oct", "kid": "k", "k": b64([]byte("secret"))}, false},
		{"unsupported curve P-224", jwkOf(t, &p224.PublicKey, map[string]any{"kid": "k"}), false},
		{"alg HS256 on an RSA key", jwkOf(t, &rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "HS256"}), false},
		{"alg ES256 on an RSA key", jwkOf(t, &rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "ES256"}), false},
		{"kid longer than 256 bytes", jwkOf(t, &p256.PublicKey, map[string]any{"kid": strings.Repeat("k", 300)}), false},
		{"even exponent", jwkOf(t, &rsa2048.PublicKey, map[string]any{"kid": "k", "e": b64([]byte{2})}), false},
		{"unknown kty", map[string]any{"kty": "XYZ", "kid": "k"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, dropped, err := jwks.Parse(doc(t, tt.key), jwks.ParseOptions{})
			if tt.kept {
				if err != nil || set.Len() != 1 || len(dropped) != 0 {
					t.Fatalf("kept: set %d keys, dropped %v, err %v", set.Len(), dropped, err)
				}
				return
			}
			if !errors.Is(err, jwks.ErrNoUsableKeys) || len(dropped) != 1 {
				t.Fatalf("dropped: err %v, dropped %v; want ErrNoUsableKeys and one drop", err, dropped)
			}
		})
	}
}

func TestParseSetRules(t *testing.T) {
	t.Parallel()
	a := jwkOf(t, &rsa2048.PublicKey, map[string]any{"kid": "a"})
	b := jwkOf(t, &p256.PublicKey, map[string]any{"kid": "b"})
	t.Run("duplicate kid keeps the first", func(t *testing.T) {
		dup := jwkOf(t, &p256.PublicKey, map[string]any{"kid": "a"})
		set, dropped, err := jwks.Parse(doc(t, a, dup), jwks.ParseOptions{})
		if err != nil || set.Len() != 1 || len(dropped) != 1 {
			t.Fatalf("set %d, dropped %v, err %v", set.Len(), dropped, err)
		}
		if k, _ := set.Lookup("a"); k.Algorithm != "" || k.Public.(*rsa.PublicKey) == nil {
			t.Errorf("kept the wrong key")
		}
	})
	t.Run("kid-less key among several is dropped", func(t *testing.T) {
		nokid := jwkOf(t, edPub, nil)
		set, dropped, err := jwks.Parse(doc(t, a, nokid, b), jwks.ParseOptions{})
		if err != nil || set.Len() != 2 || len(dropped) != 1 {
			t.Fatalf("set %d, dropped %v, err %v", set.Len(), dropped, err)
		}
		if _, ok := set.Lookup(""); ok {
			t.Error("empty kid resolved in a set of several keys")
		}
	})
	t.Run("several kid-less keys leave no usable key", func(t *testing.T) {
		// Even copies of one key: a document of kid-less keys has nothing to
		// select by, and must not shrink to one key that matches every kid.
		nokid := jwkOf(t, edPub, nil)
		nokidSig := jwkOf(t, edPub, map[string]any{"use": "sig"})
		set, dropped, err := jwks.Parse(doc(t, nokid, nokidSig), jwks.ParseOptions{})
		if !errors.Is(err, jwks.ErrNoUsableKeys) || len(dropped) != 2 {
			t.Fatalf("set %v, dropped %v, err %v; want ErrNoUsableKeys with both dropped", set, dropped, err)
		}
	})
	t.Run("sole kid-less key matches any kid", func(t *testing.T) {
		set, _, err := jwks.Parse(doc(t, jwkOf(t, edPub, nil)), jwks.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := set.Lookup("whatever"); !ok {
			t.Error("sole kid-less key not found")
		}
	})
	t.Run("too many keys", func(t *testing.T) {
		keys := make([]map[string]any, 11)
		for i := range keys {
			keys[i] = jwkOf(t, &p256.PublicKey, map[string]any{"kid": string(rune('a' + i))})
		}
		if _, _, err := jwks.Parse(doc(t, keys...), jwks.ParseOptions{MaxKeys: 10}); err == nil {
			t.Error("11 keys accepted with MaxKeys 10")
		}
	})
	for _, bad := range []string{``, `null`, `[]`, `{}`, `{"keys":null}`, `{"keys":[]} {}`, `{"keys":"x"}`, `{`} {
		if _, _, err := jwks.Parse([]byte(bad), jwks.ParseOptions{}); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestParsePEMAndLoadFile(t *testing.T) {
	t.Parallel()
	pkix := func(pub any) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsa2048.PublicKey)})
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsa2048)})
	tests := []struct {
		name string
		data []byte
		keys int
	}{
		{"one PKIX key", pkix(&p256.PublicKey), 1},
		{"PKCS1 key", pkcs1, 1},
		{"three keys", append(append(pkix(&rsa2048.PublicKey), pkix(&p256.PublicKey)...), pkix(edPub)...), 3},
		{"private key refused", priv, 0},
		{"RSA 1024 refused", pkix(&rsa1024.PublicKey), 0},
		{"P-224 refused", pkix(&p224.PublicKey), 0},
		{"garbage after the block", append(pkix(&p256.PublicKey), "junk"...), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys.pem")
			os.WriteFile(path, tt.data, 0o600)
			set, err := jwks.LoadFile(path, jwks.ParseOptions{})
			if tt.keys == 0 {
				if err == nil {
					t.Fatalf("accepted: %d keys", set.Len())
				}
				return
			}
			if err != nil || set.Len() != tt.keys {
				t.Fatalf("set %d keys, err %v; want %d", set.Len(), err, tt.keys)
			}
		})
	}
	t.Run("JWKS file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keys.json")
		os.WriteFile(path, doc(t, jwkOf(t, &p256.PublicKey, map[string]any{"kid": "x"})), 0o600)
		set, err := jwks.LoadFile(path, jwks.ParseOptions{})
		if err != nil || set.Len() != 1 {
			t.Fatalf("set %d, err %v", set.Len(), err)
		}
	})
}

// FuzzParse: Parse never panics, and every key it keeps obeys the
// filtering rules.
func FuzzParse(f *testing.F) {
	f.Add(doc(f, jwkOf(f, &rsa2048.PublicKey, map[string]any{"kid": "r", "alg": "RS256", "use": "sig"})))
	f.Add(doc(f, jwkOf(f, &p256.PublicKey, map[string]any{"kid": "e"}), jwkOf(f, edPub, map[string]any{"kid": "o"})))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`[[[[[[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, _, err := jwks.Parse(data, jwks.ParseOptions{})
		if err != nil {
			return
		}
		for _, k := range set.Keys() {
			switch p := k.Public.(type) {
			case *rsa.PublicKey:
				if p.N.BitLen() < jwks.MinRSABits {
					t.Fatalf("kept a %d-bit RSA key", p.N.BitLen())
				}
			case *ecdsa.PublicKey, ed25519.PublicKey:
			default:
				t.Fatalf("kept a %T", k.Public)
			}
			if len(k.ID) > 256 {
				t.Fatal("kept a kid over 256 bytes")
			}
		}
	})
}
