package issuer

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"
)

// ReplayCache remembers the DPoP proofs accepted recently, so that each
// proof is accepted once (RFC 9449 §11.1). An entry lives until its proof
// would be too old anyway; expired entries are swept periodically. It is
// bounded: when full, new proofs are refused (the request fails closed,
// and the client retries with a fresh proof once entries expire) rather
// than old entries being evicted early, which would reopen their replay
// window. It is safe for concurrent use.
type ReplayCache struct {
	c         *gocache.Cache
	size      int
	lastSweep atomic.Int64 // Unix nanoseconds of the last sweep forced by a full cache
}

// NewReplayCache returns a cache of at most size proofs (DefaultReplayCacheSize
// when size <= 0), swept every sweep (a minute when <= 0).
func NewReplayCache(size int, sweep time.Duration) *ReplayCache {
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	if sweep <= 0 {
		sweep = time.Minute
	}
	return &ReplayCache{c: gocache.New(gocache.NoExpiration, sweep), size: size}
}

// errReplayed and errReplayFull are the replay cache's refusals.
var (
	errReplayed   = errors.New("jti already used with this key")
	errReplayFull = errors.New("replay cache full")
)

// record accepts the proof (jkt, jti) once until expires. Entries are keyed
// by a hash of the key thumbprint and jti, a fixed 32 bytes however long
// the jti, and scoped to the key so no client can burn another's jtis.
//
// The size check and the insertion are separate steps, so concurrent
// callers may overshoot the bound by at most their number.
func (c *ReplayCache) record(jkt, jti string, now, expires time.Time) error {
	ttl := expires.Sub(now)
	if ttl <= 0 {
		return fmt.Errorf("proof expired")
	}
	if c.c.ItemCount() >= c.size {
		// The periodic sweep may be due: drop what has expired, at most
		// once a second, as a sweep walks the whole cache.
		last := c.lastSweep.Load()
		if t := time.Now().UnixNano(); t-last >= int64(time.Second) && c.lastSweep.CompareAndSwap(last, t) {
			c.c.DeleteExpired()
		}
		if c.c.ItemCount() >= c.size {
			return fmt.Errorf("%w (%d proofs)", errReplayFull, c.size)
		}
	}
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	if err := c.c.Add(string(h.Sum(nil)), struct{}{}, ttl); err != nil {
		return errReplayed
	}
	return nil
}

// Len returns the number of proofs remembered, expired ones not yet swept
// included.
func (c *ReplayCache) Len() int { return c.c.ItemCount() }
