package issuertest

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"testing"
)

// publicDER identifies a key by its public half.
func publicDER(t *testing.T, s crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(der)
}

// poolKeys parses every key of p without taking any.
func poolKeys(t *testing.T, p *keyPool) map[string]bool {
	t.Helper()
	p.once.Do(p.load)
	seen := map[string]bool{}
	for i, der := range p.ders {
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatalf("%s key %d: %v", p.file, i, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok || !p.fits(s) {
			t.Fatalf("%s key %d: wrong type %T", p.file, i, k)
		}
		pub := publicDER(t, s)
		if seen[pub] {
			t.Fatalf("%s key %d is a duplicate", p.file, i)
		}
		seen[pub] = true
	}
	return seen
}

func TestFixturePoolFilesAreComplete(t *testing.T) {
	for _, c := range []struct {
		pool *keyPool
		n    int
	}{{rsaPool, 192}, {p256Pool, 64}, {ed25519Pool, 16}} {
		if got := len(poolKeys(t, c.pool)); got != c.n {
			t.Errorf("%s: %d keys in %s, want %d (run go generate ./issuer/issuertest)", c.pool.file, got, fixtureDir(), c.n)
		}
	}
}

func TestFixtureKeysAreDistinctAndPooled(t *testing.T) {
	if !inTest() {
		t.Fatal("inTest() is false in a test binary")
	}
	pooled := map[*keyPool]map[string]bool{}
	for _, p := range []*keyPool{rsaPool, p256Pool, ed25519Pool} {
		pooled[p] = poolKeys(t, p)
	}
	for _, c := range []struct {
		alg  string
		pool *keyPool
	}{{"RS256", rsaPool}, {"PS512", rsaPool}, {"ES256", p256Pool}, {"EdDSA", ed25519Pool}} {
		inPool := pooled[c.pool]
		a, err := FixtureKey(c.alg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := FixtureKey(c.alg)
		if err != nil {
			t.Fatal(err)
		}
		pa, pb := publicDER(t, a), publicDER(t, b)
		if pa == pb {
			t.Errorf("%s: two calls gave the same key", c.alg)
		}
		if !inPool[pa] || !inPool[pb] {
			t.Errorf("%s: key not from %s", c.alg, c.pool.file)
		}
	}

	// A live issuer, its rotation and a DPoP client take pooled keys too.
	inPool := pooled[rsaPool]
	iss := New(t)
	first := publicDER(t, iss.Signer())
	iss.Rotate()
	second := publicDER(t, iss.Signer())
	if first == second || !inPool[first] || !inPool[second] {
		t.Errorf("issuer keys: distinct %v, pooled %v %v", first != second, inPool[first], inPool[second])
	}
	client, err := NewDPoPClient("RS256", nil)
	if err != nil {
		t.Fatal(err)
	}
	if k := publicDER(t, client.key.signer); !inPool[k] || k == first || k == second {
		t.Error("DPoP client key is not a fresh pooled key")
	}
}

func TestFixtureKeysOnlyInTests(t *testing.T) {
	before := p256Pool.next.Load()
	s, err := keyFor(false, "ES256")
	if err != nil {
		t.Fatal(err)
	}
	if p256Pool.next.Load() != before || poolKeys(t, p256Pool)[publicDER(t, s)] {
		t.Error("a program outside a test was given a fixture key")
	}
}

func TestFixturePoolRunsOut(t *testing.T) {
	rsaPool.once.Do(rsaPool.load)
	damaged := append([]byte(nil), rsaPool.ders[0]...)
	damaged[len(damaged)/2] ^= 0xff
	p := &keyPool{fits: rsaPool.fits, ders: [][]byte{damaged, bytes.Clone(rsaPool.ders[1])}}
	p.once.Do(func() {})
	if s := p.take(); s == nil {
		t.Fatal("no key from a pool with one good key")
	}
	if s := p.take(); s != nil {
		t.Fatal("a used-up pool handed out a key")
	}
	if s, err := FixtureKey("ES384"); err != nil || s == nil {
		t.Fatalf("ES384 (no pool) = %v, %v", s, err)
	}
}
