package main

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// certReloader serves the certificate in certFile/keyFile and loads it
// again when either file changes, so a renewed certificate (cert-manager,
// a mounted Secret) takes effect without a restart. A pair that does not
// load keeps the previous one in service.
type certReloader struct {
	certFile, keyFile string

	mu   sync.Mutex // serialises reloads
	sum  [32]byte   // of the files' contents last loaded
	cert atomic.Pointer[tls.Certificate]
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile}
	if _, err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// reload loads the pair if its files changed; changed reports a new
// certificate in service.
func (c *certReloader) reload() (changed bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	certPEM, err := os.ReadFile(c.certFile)
	if err != nil {
		return false, err
	}
	keyPEM, err := os.ReadFile(c.keyFile)
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(append(append([]byte{}, certPEM...), keyPEM...))
	if sum == c.sum && c.cert.Load() != nil {
		return false, nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, fmt.Errorf("serve: TLS key pair %s, %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert.Store(&cert)
	c.sum = sum
	return true, nil
}

func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if cert := c.cert.Load(); cert != nil {
		return cert, nil
	}
	return nil, errors.New("serve: no certificate")
}

// tlsConfig is the listener's TLS configuration: TLS 1.2 at least, the
// certificate from c.
func (c *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.getCertificate}
}
