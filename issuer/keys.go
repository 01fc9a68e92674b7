package issuer

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tenantjwt/tenantjwt/jwks"
)

// KeySources builds the remote key sources of jwks_uri and discovery
// issuers and lets go of them; *jwks.Cache implements it. ro carries the
// issuer's name (for logs and metrics) and its allow_insecure_http,
// allow_private_network and jwks_same_origin settings. Implementations
// must be safe for concurrent use, enforce the fetch rules (jwks.CheckURL,
// the address policy for discovered URLs, size and time bounds) and should
// share one source per URL.
//
// The registry calls ReleaseSource exactly once for every source it got
// from Remote or Discover: when the issuer is removed, updated, replaced
// or evicted from the Resolver's cache, and when the registry is closed,
// so that an implementation counting the users of a source can free a key
// set nobody uses any more (*jwks.Cache does). A registry may keep
// verifying with a released source for a moment (a verification in
// flight).
type KeySources interface {
	Remote(url string, ro jwks.RemoteOptions) (jwks.Source, error)
	Discover(issuer string, ro jwks.RemoteOptions) (jwks.Source, error)
	ReleaseSource(src jwks.Source)
}

// buildSource makes the key source of a compiled entry.
func (r *Registry) buildSource(e *entry) error {
	c := &e.cfg
	switch {
	case c.Keys != nil:
		e.src = c.Keys
	case c.JWKSFile != "":
		set, err := jwks.LoadFile(c.JWKSFile, jwks.ParseOptions{})
		if err != nil {
			return fmt.Errorf("jwks_file: %w", err)
		}
		e.src = jwks.NewStatic(set)
	case c.JWKSURI != "":
		if r.keys == nil {
			return errors.New("jwks_uri: no remote key support configured")
		}
		ro, err := remoteOptions(e)
		if err != nil {
			return err
		}
		src, err := r.keys.Remote(c.JWKSURI, ro)
		if err != nil {
			return fmt.Errorf("jwks_uri: %w", err)
		}
		e.src, e.owned = src, true
	case c.Discovery:
		if r.keys == nil {
			return errors.New("discovery: no remote key support configured")
		}
		ro, err := remoteOptions(e)
		if err != nil {
			return err
		}
		src, err := r.keys.Discover(c.Issuer, ro)
		if err != nil {
			return fmt.Errorf("discovery: %w", err)
		}
		e.src, e.owned = src, true
	default:
		return errors.New("jwks_uri: no key source")
	}
	return nil
}

// remoteOptions are the fetch settings of e's config. It reads ca_file.
func remoteOptions(e *entry) (jwks.RemoteOptions, error) {
	c := &e.cfg
	ro := jwks.RemoteOptions{
		Label:               e.name,
		AllowInsecureHTTP:   c.AllowInsecureHTTP,
		AllowPrivateNetwork: c.AllowPrivateNetwork,
		JWKSSameOrigin:      c.JWKSSameOrigin,
		MinTTL:              c.TTL.Min,
		MaxTTL:              c.TTL.Max,
		MaxStale:            c.MaxStale,
		Timeout:             c.Timeout,
		Cooldown:            c.Cooldown,
		Background:          c.Refresh == RefreshBackground,
	}
	if c.CAFile != "" {
		pem, err := readCAFile(c.CAFile)
		if err != nil {
			return ro, fmt.Errorf("ca_file: %w", err)
		}
		ro.RootCAs = pem
	}
	return ro, nil
}

// maxCAFileBytes caps a ca_file.
const maxCAFileBytes = 1 << 20

// readCAFile reads a PEM bundle of root certificates, capped in size, and
// checks that it holds at least one.
func readCAFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCAFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCAFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxCAFileBytes)
	}
	if _, err := jwks.RootCAs(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// releaseSource lets go of the source of an entry the registry no longer
// uses: once per entry, and only a source the KeySources made.
func (r *Registry) releaseSource(e *entry) {
	if !e.owned || !e.released.CompareAndSwap(false, true) {
		return
	}
	r.keys.ReleaseSource(e.src)
}

// closeKeys closes the key cache if the registry owns it.
func (r *Registry) closeKeys() error {
	if c, ok := r.keys.(io.Closer); ok && r.owned {
		return c.Close()
	}
	return nil
}

// newOwnedKeys makes the registry's own key cache, from opts.KeysOptions
// with the registry's clock and logger unless those set their own.
func newOwnedKeys(opts Options) (KeySources, bool) {
	ko := opts.KeysOptions
	if ko.Now == nil {
		ko.Now = opts.Now
	}
	if ko.Logger == nil {
		ko.Logger = opts.Logger
	}
	return jwks.NewCache(ko), true
}
