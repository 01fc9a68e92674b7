// Command genkeys writes the shared test key pool of testdata/keys: PEM
// files of PKCS #8 private keys that issuer/issuertest hands out to tests,
// so that they need not spend their time in rsa.GenerateKey. They are test
// fixtures, published on purpose: never trust them anywhere.
//
// Run from the module root (or through go generate in issuer/issuertest):
//
//	go run ./testdata/genkeys -out testdata/keys
package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
)

// pools lists each file with its key count and generator. The counts are
// above what the busiest test package uses today (issuer: 132 RSA,
// middleware: 42 P-256); a package that needs more generates the rest.
var pools = []struct {
	file string
	n    int
	gen  func() (crypto.Signer, error)
}{
	{"rsa2048.pem", 192, func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) }},
	{"p256.pem", 64, func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }},
	{"ed25519.pem", 16, func() (crypto.Signer, error) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}},
}

const banner = `Test fixtures of github.com/tenantjwt/tenantjwt, made by testdata/genkeys.
These private keys are public: never use them outside tests.

`

func main() {
	out := flag.String("out", "testdata/keys", "directory to write the PEM files to")
	flag.Parse()
	for _, p := range pools {
		var buf bytes.Buffer
		buf.WriteString(banner)
		for i := 0; i < p.n; i++ {
			k, err := p.gen()
			if err != nil {
				log.Fatalf("genkeys: %s: %v", p.file, err)
			}
			der, err := x509.MarshalPKCS8PrivateKey(k)
			if err != nil {
				log.Fatalf("genkeys: %s: %v", p.file, err)
			}
			if err := pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
				log.Fatalf("genkeys: %s: %v", p.file, err)
			}
		}
		name := filepath.Join(*out, p.file)
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			log.Fatalf("genkeys: %v", err)
		}
		fmt.Printf("%s: %d keys\n", name, p.n)
	}
}
