package issuertest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
)

//go:generate go run ../../testdata/genkeys -out ../../testdata/keys

// The fixture pool: private keys pre-generated into testdata/keys at the
// module root (see testdata/README.md), so that tests do not spend their
// time in rsa.GenerateKey. Each key is handed out at most once per
// process, through an atomic counter per file, so every issuer, rotation
// and client of a test binary still has a key of its own. When a file is
// used up, missing (a -trimpath build) or damaged, keys are generated.

// keyPool is one PEM file of PKCS #8 keys of one type.
type keyPool struct {
	file string
	fits func(crypto.Signer) bool // the type and size the file must hold

	once sync.Once
	ders [][]byte // loaded on first use; parsed one at a time when taken
	next atomic.Int64
}

var (
	rsaPool = &keyPool{file: "rsa2048.pem", fits: func(s crypto.Signer) bool {
		k, ok := s.(*rsa.PrivateKey)
		return ok && k.N.BitLen() == 2048
	}}
	p256Pool = &keyPool{file: "p256.pem", fits: func(s crypto.Signer) bool {
		k, ok := s.(*ecdsa.PrivateKey)
		return ok && k.Curve == elliptic.P256()
	}}
	ed25519Pool = &keyPool{file: "ed25519.pem", fits: func(s crypto.Signer) bool {
		_, ok := s.(ed25519.PrivateKey)
		return ok
	}}
)

// poolFor returns the pool holding keys for alg, or nil.
func poolFor(alg string) *keyPool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return rsaPool
	case "ES256":
		return p256Pool
	case "EdDSA":
		return ed25519Pool
	}
	return nil
}

// fixtureDir is testdata/keys of the module this file was compiled from,
// or "" when the source path is unknown.
func fixtureDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "" // built with -trimpath
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "keys")
}

func (p *keyPool) load() {
	dir := fixtureDir()
	if dir == "" {
		return
	}
	b, err := os.ReadFile(filepath.Join(dir, p.file))
	if err != nil {
		return
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return
		}
		if block.Type == "PRIVATE KEY" {
			p.ders = append(p.ders, block.Bytes)
		}
	}
}

// take returns the next unused key of the pool, or nil when there is none.
func (p *keyPool) take() crypto.Signer {
	p.once.Do(p.load)
	for {
		i := p.next.Add(1) - 1
		if i >= int64(len(p.ders)) {
			return nil
		}
		k, err := x509.ParsePKCS8PrivateKey(p.ders[i])
		if err != nil {
			continue
		}
		if s, ok := k.(crypto.Signer); ok && p.fits(s) {
			return s
		}
	}
}

// inTest reports whether this process is a test binary: the testing
// package registers its flags before any test, example, benchmark or
// fuzz target runs. Programs (the tenantjwt command's dev and demo, the
// examples) never get a fixture key, as those keys are public.
func inTest() bool { return flag.Lookup("test.v") != nil }

// FixtureKey returns a private key fit for alg (see WithAlgorithm) for a
// test: for RS*, PS*, ES256 and EdDSA the next unused pre-generated key of
// the module's testdata/keys, so tests need not wait for rsa.GenerateKey;
// otherwise, or once the pool is used up, a freshly generated one. No two
// calls in a process return the same key. The pooled keys are published
// test fixtures: never use them outside tests.
//
// In a test binary New, NewServer, Rotate and NewDPoPClient take their
// keys the same way; in any other program they always generate.
func FixtureKey(alg string) (crypto.Signer, error) {
	if p := poolFor(alg); p != nil {
		if s := p.take(); s != nil {
			return s, nil
		}
	}
	return generateKey(alg)
}

// newKey is the key of a new issuer, rotation or DPoP client.
func newKey(alg string) (crypto.Signer, error) { return keyFor(inTest(), alg) }

func keyFor(test bool, alg string) (crypto.Signer, error) {
	if test {
		return FixtureKey(alg)
	}
	return generateKey(alg)
}
