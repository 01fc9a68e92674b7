package jwks

import (
	"context"
	"fmt"

	"github.com/tenantjwt/tenantjwt"
)

// Source supplies the keys of one key set (one JWKS URL, one file). An
// issuer holds one Source and asks it only for its own keys; a Source
// shared by several issuers (several Entra ID tenants naming one JWKS URL)
// serves each of them the same keys, never keys of other URLs.
//
// Implementations are safe for concurrent use.
type Source interface {
	// Lookup returns the key for kid (see Set.Lookup for an empty kid).
	//
	// When the current set lacks kid, a remote source refetches at most
	// once per cooldown before answering. Errors wrap
	// tenantjwt.ErrKeyNotFound when the set is known but lacks the key, and
	// tenantjwt.ErrKeysUnavailable when no usable set can be had (never
	// fetched, or stale beyond the allowed age). A caller waits no longer
	// than its ctx allows.
	Lookup(ctx context.Context, kid string) (*Key, error)
	// Current returns the set in force without any I/O, or nil when there
	// is none (never fetched, or expired beyond the allowed staleness).
	//
	// Remote sources keep the same *Key pointer across refreshes for a key
	// that did not change, so a consumer may compare keys by pointer to
	// learn whether a key is still published.
	Current() *Set
}

// Expiring is implemented by sources whose set expires (remote and
// discovered key sets). It lets a consumer that remembers a verification
// (the verified-token cache) obey the set's lifetime without I/O or locks.
type Expiring interface {
	// Usable returns the set in force and the instant (Unix nanoseconds)
	// until which it may be used without a Lookup: the set's expiry, or,
	// once a refresh after expiry has failed, the end of MaxStale. After
	// that instant, or when the set returned differs from the one a
	// verification used, the consumer must Lookup again. (nil, 0) when
	// there is no set. It is one atomic load.
	Usable() (set *Set, until int64)
}

// Refresher is implemented by sources that fetch. Refresh fetches now,
// regardless of TTL (but still one fetch in flight at a time), and returns
// the fetch's error. It is used to prefetch keys at start.
type Refresher interface {
	Refresh(ctx context.Context) error
}

// static is a Source over a fixed set.
type static struct{ set *Set }

// NewStatic returns a Source that always serves set. It never fetches.
func NewStatic(set *Set) Source { return static{set: set} }

func (s static) Lookup(_ context.Context, kid string) (*Key, error) {
	if s.set == nil || s.set.Len() == 0 {
		return nil, fmt.Errorf("jwks: static source is empty: %w", tenantjwt.ErrKeysUnavailable)
	}
	if k, ok := s.set.Lookup(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("jwks: kid %.64q not in static key set: %w", kid, tenantjwt.ErrKeyNotFound)
}

func (s static) Current() *Set { return s.set }
