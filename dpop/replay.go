package dpop

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ReplayStore remembers the DPoP proofs accepted recently, so that each
// is accepted once (RFC 9449 §11.1). ReplayCache is the in-process one; a
// store shared by replicas (Redis SET NX PX, for example) can implement it
// too.
type ReplayStore interface {
	// SetIfAbsent records the proof (jkt, jti) for ttl unless it is
	// recorded already, as one atomic step, and reports whether it
	// recorded it: false means a replay. An error means the store cannot
	// record it (it is unavailable, or jkt has used up its share): the
	// proof is then refused, never accepted unchecked (fail closed). An
	// outage wraps tenantjwt.ErrStoreUnavailable, which middleware answers
	// with 503; any other error refuses the proof as invalid (401).
	SetIfAbsent(ctx context.Context, jkt, jti string, ttl time.Duration) (bool, error)
}

// Replay cache defaults.
const (
	// DefaultReplayCacheSize is how many recent proofs are remembered.
	DefaultReplayCacheSize = 100_000
	// DefaultReplayShare is the default share of the cache one client
	// key (jkt) may hold, as a divisor of its size: a twenty-fifth, 4,000
	// proofs at the default size, about 44 a second sustained at the
	// default max_age and leeway.
	DefaultReplayShare = 25
)

// Refusals of ReplayCache.SetIfAbsent.
var (
	// ErrReplayKeyFull: the client key holds its whole share of the cache.
	ErrReplayKeyFull = errors.New("dpop: replay cache: this key's share is full")
	// ErrReplayFull: the cache holds its whole size.
	ErrReplayFull = errors.New("dpop: replay cache: full")
)

// ReplayOptions configure a ReplayCache.
type ReplayOptions struct {
	// Size bounds the proofs remembered. Default DefaultReplayCacheSize.
	Size int
	// PerKey bounds the proofs remembered for one client key (jkt), so no
	// client can fill the cache and lock the others out: a client over
	// its share has its own new proofs refused until its entries expire.
	// Default Size / DefaultReplayShare (at least 1), and never more than
	// Size.
	PerKey int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// ReplayCache is the in-process ReplayStore. An entry lives until its
// proof would be too old anyway. It is bounded in total and per client
// key: when a bound is reached, new proofs are refused (the request fails
// closed, and the client retries with a fresh proof once entries expire)
// rather than old entries being evicted early, which would reopen their
// replay window. Expired entries are dropped by the calls themselves, so
// the cache runs no goroutine. It is safe for concurrent use; share one
// between registries (config reloads) and change its bounds in place with
// Configure, so a reload never forgets a proof.
type ReplayCache struct {
	now func() time.Time

	mu     sync.Mutex // protects the fields below
	size   int
	perKey int
	ids    map[[32]byte]struct{} // proofs remembered
	keys   map[string]*replayKey // proofs remembered per jkt
	expiry replayHeap            // every entry, earliest expiry first
}

// replayKey counts the entries of one jkt.
type replayKey struct {
	jkt string
	n   int
}

type replayEntry struct {
	exp int64 // Unix nanoseconds
	id  [32]byte
	key *replayKey
}

// NewReplayCache returns an empty cache configured by o.
func NewReplayCache(o ReplayOptions) *ReplayCache {
	c := &ReplayCache{now: o.Now, ids: map[[32]byte]struct{}{}, keys: map[string]*replayKey{}}
	if c.now == nil {
		c.now = time.Now
	}
	c.Configure(o.Size, o.PerKey)
	return c
}

// Configure changes the bounds in place (0 means the default). Entries
// already remembered stay until they expire, also when the new size is
// smaller; new proofs are refused until the cache is below it.
func (c *ReplayCache) Configure(size, perKey int) {
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	if perKey <= 0 {
		perKey = max(size/DefaultReplayShare, 1)
	}
	c.mu.Lock()
	c.size, c.perKey = size, min(perKey, size)
	c.mu.Unlock()
}

// SetIfAbsent implements ReplayStore. Entries are keyed by a hash of the
// key thumbprint and jti, a fixed 32 bytes however long the jti, and
// scoped to the key, so no client can burn another's jtis.
func (c *ReplayCache) SetIfAbsent(_ context.Context, jkt, jti string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("dpop: replay cache: proof already expired")
	}
	id := ReplayID(jkt, jti)
	now := c.now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if _, seen := c.ids[id]; seen {
		return false, nil
	}
	k := c.keys[jkt]
	switch {
	case k != nil && k.n >= c.perKey:
		return false, fmt.Errorf("%w (%d proofs)", ErrReplayKeyFull, c.perKey)
	case len(c.ids) >= c.size:
		return false, fmt.Errorf("%w (%d proofs)", ErrReplayFull, c.size)
	}
	if k == nil {
		k = &replayKey{jkt: jkt}
		c.keys[jkt] = k
	}
	k.n++
	c.ids[id] = struct{}{}
	heap.Push(&c.expiry, replayEntry{exp: now + int64(ttl), id: id, key: k})
	return true, nil
}

// ReplayID is the fixed-size identity of the proof jti of client key jkt
// that replay stores remember: a SHA-256 of both, so a long jti takes no
// more room than a short one and no client can burn another's jtis.
func ReplayID(jkt, jti string) [32]byte {
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	var id [32]byte
	h.Sum(id[:0])
	return id
}

// expire drops the entries whose time has come.
func (c *ReplayCache) expire(now int64) {
	for len(c.expiry) > 0 && c.expiry[0].exp <= now {
		e := heap.Pop(&c.expiry).(replayEntry)
		delete(c.ids, e.id)
		if e.key.n--; e.key.n == 0 {
			delete(c.keys, e.key.jkt)
		}
	}
}

// Len returns the number of proofs remembered and not yet expired.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(c.now().UnixNano())
	return len(c.ids)
}

// replayHeap is a min-heap of entries by expiry (container/heap).
type replayHeap []replayEntry

func (h replayHeap) Len() int           { return len(h) }
func (h replayHeap) Less(i, j int) bool { return h[i].exp < h[j].exp }
func (h replayHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *replayHeap) Push(x any)        { *h = append(*h, x.(replayEntry)) }
func (h *replayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
