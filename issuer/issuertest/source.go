package issuertest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// Source returns a key source that reads the issuer's published keys in
// process, without HTTP: Rotate, Retire and RemoveOldKeys take effect at
// once, as if a remote source had refreshed. Like a remote source it keeps
// the same *jwks.Key for a key that stays published. Lookups are not
// counted in JWKSRequests.
func (i *Issuer) Source() jwks.Source { return localSource{i} }

// LocalConfig is like Config, but trusts the issuer through Source: no
// network, key changes visible immediately.
func (i *Issuer) LocalConfig() issuer.Config {
	c := i.Config()
	c.JWKSURI = ""
	c.Keys = i.Source()
	return c
}

// NewRegistry builds a registry trusting the given issuers through their
// LocalConfig and closes it when the test ends. It fails the test on error.
func NewRegistry(t TB, opts issuer.Options, issuers ...*Issuer) *issuer.Registry {
	t.Helper()
	cs := make([]issuer.Config, 0, len(issuers))
	for _, iss := range issuers {
		cs = append(cs, iss.LocalConfig())
	}
	r, err := issuer.New(opts, cs...)
	if err != nil {
		t.Fatalf("issuertest.NewRegistry: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

type localSource struct{ i *Issuer }

func (s localSource) Current() *jwks.Set { return s.i.publishedSet() }

func (s localSource) Lookup(_ context.Context, kid string) (*jwks.Key, error) {
	set := s.i.publishedSet()
	if set.Len() == 0 {
		return nil, fmt.Errorf("issuertest: no published keys: %w", tenantjwt.ErrKeysUnavailable)
	}
	if k, ok := set.Lookup(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("issuertest: kid %.64q not published: %w", kid, tenantjwt.ErrKeyNotFound)
}

// publishedSet builds the set of published keys, converting each key once
// so its *jwks.Key stays the same while it is published.
func (i *Issuer) publishedSet() *jwks.Set {
	i.mu.Lock()
	defer i.mu.Unlock()
	var keys []*jwks.Key
	for _, k := range i.keys {
		if !k.published {
			continue
		}
		if k.parsed == nil {
			m, err := k.jwk()
			if err != nil {
				continue
			}
			doc, _ := json.Marshal(map[string]any{"keys": []any{m}})
			set, _, err := jwks.Parse(doc, jwks.ParseOptions{})
			if err != nil || set.Len() != 1 {
				continue
			}
			k.parsed = set.Keys()[0]
		}
		keys = append(keys, k.parsed)
	}
	return jwks.NewSet(keys...)
}
