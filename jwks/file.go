package jwks

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// LoadFile reads static keys from a file: a JWKS document, or one or more
// PEM blocks (see ParsePEM). The file is read up to DefaultMaxBodyBytes;
// a larger one is an error. The same filtering as Parse applies.
func LoadFile(path string, opts ParseOptions) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, DefaultMaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwks: %s: %w", path, err)
	}
	if len(data) > DefaultMaxBodyBytes {
		return nil, fmt.Errorf("jwks: %s: larger than %d bytes", path, DefaultMaxBodyBytes)
	}
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")) {
		set, err := ParsePEM(data)
		if err != nil {
			return nil, fmt.Errorf("jwks: %s: %w", path, err)
		}
		return set, nil
	}
	set, _, err := Parse(data, opts)
	if err != nil {
		return nil, fmt.Errorf("jwks: %s: %w", path, err)
	}
	return set, nil
}

// ParsePEM reads public keys from PEM blocks: "PUBLIC KEY" (PKIX), "RSA
// PUBLIC KEY" (PKCS #1) and "CERTIFICATE" (its subject public key; the
// certificate is not validated, it only carries the key). Private key blocks
// are refused: a verifier has no business holding one. PEM keys have no
// kid, so several keys are given kids "pem-0", "pem-1", … in file order; a
// single key keeps an empty kid and matches any kid (see Set.Lookup).
func ParsePEM(data []byte) (*Set, error) {
	var keys []*Key
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		pub, err := pemPublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("jwks: PEM block %d (%s): %w", len(keys), b.Type, err)
		}
		k := &Key{Public: pub}
		if !k.allowsAny() {
			return nil, fmt.Errorf("jwks: PEM block %d: unsupported key", len(keys))
		}
		keys = append(keys, k)
	}
	if len(bytes.TrimSpace(data)) != 0 {
		return nil, errors.New("jwks: trailing data after PEM blocks")
	}
	if len(keys) == 0 {
		return nil, ErrNoUsableKeys
	}
	if len(keys) > 1 {
		for i, k := range keys {
			k.ID = fmt.Sprintf("pem-%d", i)
		}
	}
	return NewSet(keys...), nil
}

func pemPublicKey(b *pem.Block) (any, error) {
	var pub any
	switch b.Type {
	case "PUBLIC KEY":
		p, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		pub = p
	case "RSA PUBLIC KEY":
		p, err := x509.ParsePKCS1PublicKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		pub = p
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		pub = c.PublicKey
	default:
		return nil, fmt.Errorf("block type %q refused (only public keys and certificates)", b.Type)
	}
	if err := checkPublic(pub); err != nil {
		return nil, err
	}
	return pub, nil
}
