// Package redisreplay is a dpop.ReplayStore on Redis or Valkey, so that
// replicas share the DPoP proofs they have seen: a proof accepted by one
// replica is refused as a replay by every other (RFC 9449 §11.1).
//
// It is a package of its own so that only its importers compile the Redis
// client (github.com/redis/go-redis/v9); importing issuer or middleware
// never does.
//
// Each proof is one key, set with SET NX PX (set if absent, with the
// proof's remaining lifetime as expiry) in one Lua script that also counts
// the proofs of its client key (jkt) in a fixed window, so one client
// cannot fill the store and lock the others out. Keys are hashes of jkt
// and jti, a fixed size whatever the proof holds, under a configurable
// prefix; the proof key and its client's counter share a Redis Cluster hash
// tag, so the script also runs on a cluster.
//
// Failure is closed. Every call is bounded by Options.Timeout; when Redis
// cannot answer in time (down, unreachable, out of memory, a wrong
// password) SetIfAbsent returns an error wrapping
// tenantjwt.ErrStoreUnavailable, the proof is refused and middleware
// answers 503. A client over its share gets dpop.ErrReplayKeyFull, and
// its proof is refused as invalid (401).
//
// Run the server with maxmemory-policy noeviction (Redis's default): a
// policy that evicts keys before their expiry forgets proofs early and
// reopens their replay window; under noeviction a full server refuses
// writes, which fails closed.
package redisreplay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/issuer"
)

// Defaults of Options.
const (
	// DefaultPrefix starts every key the store writes.
	DefaultPrefix = "tenantjwt:dpop:"
	// DefaultTimeout bounds each call to Redis.
	DefaultTimeout = 100 * time.Millisecond
	// DefaultPerKey is how many proofs one client key (jkt) may record in
	// one window: the in-process cache's default share.
	DefaultPerKey = dpop.DefaultReplayCacheSize / dpop.DefaultReplayShare
	// DefaultWindow is the quota window: the longest a proof lives at the
	// default max_age and leeway.
	DefaultWindow = dpop.DefaultMaxAge + issuer.DefaultLeeway
)

// Options configure a Store. The zero value gives the defaults.
type Options struct {
	// Prefix starts every key, so several deployments can share one
	// server. Default DefaultPrefix.
	Prefix string
	// Timeout bounds each call to Redis, on top of the caller's context.
	// Default DefaultTimeout.
	Timeout time.Duration
	// PerKey bounds the proofs one client key (jkt) may record per
	// Window; further proofs of that key are refused until the window
	// ends. Default DefaultPerKey.
	PerKey int
	// Window is the quota window. Default DefaultWindow. It is fixed
	// here, never taken from a proof, so a client cannot shorten it.
	Window time.Duration
}

// Store is an dpop.ReplayStore on Redis. It is safe for concurrent use.
type Store struct {
	client  redis.Scripter
	closer  func() error // closes a client the store opened; nil otherwise
	prefix  string
	timeout time.Duration
	perKey  int
	window  time.Duration
}

var _ dpop.ReplayStore = (*Store)(nil)

// New returns a store on client (a *redis.Client, *redis.ClusterClient or
// *redis.Ring; nil refuses every proof as unavailable). The caller keeps ownership of client: Close does not close
// it. Give the client no retries (MaxRetries -1): a retried script whose
// first run was recorded reports a replay.
func New(client redis.Scripter, o Options) *Store {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PerKey <= 0 {
		o.PerKey = DefaultPerKey
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	return &Store{client: client, prefix: o.Prefix, timeout: o.Timeout, perKey: o.PerKey, window: o.Window}
}

// Open returns a store on a client it makes from a URL:
// redis://[user:password@]host:port/db or rediss:// for TLS, as
// redis.ParseURL reads them (its query options included). Dial, read,
// write and pool waits are bounded by o.Timeout and calls are not retried.
// It does not connect yet: an unreachable server shows in SetIfAbsent (or
// Ping). Close closes the client.
func Open(url string, o Options) (*Store, error) {
	opt, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	s := New(nil, o)
	opt.DialTimeout = s.timeout
	opt.ReadTimeout = s.timeout
	opt.WriteTimeout = s.timeout
	opt.PoolTimeout = s.timeout
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = -1
	c := redis.NewClient(opt)
	s.client, s.closer = c, c.Close
	return s, nil
}

// ParseURL checks and parses a store URL: only the redis and rediss
// schemes. Errors never repeat the URL, which may hold a password.
func ParseURL(url string) (*redis.Options, error) {
	if !strings.HasPrefix(url, "redis://") && !strings.HasPrefix(url, "rediss://") {
		return nil, errors.New("redisreplay: the store URL must start with redis:// or rediss://")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, errors.New("redisreplay: not a redis:// or rediss:// URL with a host, port and database")
	}
	return opt, nil
}

// Close closes the client when Open made it.
func (s *Store) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer()
}

// Ping checks that the server answers within the timeout.
func (s *Store) Ping(ctx context.Context) error {
	p, ok := s.client.(interface {
		Ping(context.Context) *redis.StatusCmd
	})
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := p.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisreplay: %w: %w", tenantjwt.ErrStoreUnavailable, err)
	}
	return nil
}

// setIfAbsent records a proof and counts it against its client's share:
// KEYS[1] the proof, KEYS[2] the client's counter; ARGV[1] the proof's
// lifetime, ARGV[2] the window, ARGV[3] the share (milliseconds, count).
// It answers 1 (recorded), 0 (a replay) or -1 (the share is used up).
// A replay is checked first, so a client over its share still learns
// nothing new, and a refused proof does not count.
var setIfAbsent = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = tonumber(redis.call('GET', KEYS[2]) or '0')
if n >= tonumber(ARGV[3]) then return -1 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
if redis.call('INCR', KEYS[2]) == 1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
`)

// SetIfAbsent implements dpop.ReplayStore.
func (s *Store) SetIfAbsent(ctx context.Context, jkt, jti string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, errors.New("redisreplay: proof already expired")
	}
	if s.client == nil {
		return false, fmt.Errorf("redisreplay: %w: no client", tenantjwt.ErrStoreUnavailable)
	}
	proof, counter := s.keys(jkt, jti)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	n, err := setIfAbsent.Run(ctx, s.client, []string{proof, counter},
		millis(ttl), millis(s.window), s.perKey).Int64()
	switch {
	case err != nil:
		return false, fmt.Errorf("redisreplay: %w: %w", tenantjwt.ErrStoreUnavailable, err)
	case n == 1:
		return true, nil
	case n == 0:
		return false, nil
	case n == -1:
		return false, fmt.Errorf("redisreplay: %w (%d proofs per %s)", dpop.ErrReplayKeyFull, s.perKey, s.window)
	}
	return false, fmt.Errorf("redisreplay: %w: unexpected answer %d", tenantjwt.ErrStoreUnavailable, n)
}

// keys returns the proof's key and its client's counter key. Both carry
// the client's hash as their Redis Cluster hash tag.
func (s *Store) keys(jkt, jti string) (proof, counter string) {
	k := sha256.Sum256([]byte(jkt))
	id := dpop.ReplayID(jkt, jti)
	tag := s.prefix + "{" + hex.EncodeToString(k[:16]) + "}:"
	return tag + hex.EncodeToString(id[:]), tag + "n"
}

// millis rounds d up to whole milliseconds, at least 1.
func millis(d time.Duration) int64 {
	return max(int64((d+time.Millisecond-1)/time.Millisecond), 1)
}
