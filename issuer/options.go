package issuer

import (
	"log/slog"
	"time"

	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// DefaultLeeway is Options.Leeway's default, the clock-skew allowance for
// exp, nbf and iat. Unlike the other defaults it is exported: code that
// sizes a window around verification needs it, such as a DPoP replay
// store, which must remember a proof for its max age plus the leeway
// (dpop/redisreplay, `tenantjwt serve`).
const DefaultLeeway = 30 * time.Second

// Defaults of Options' fields, documented there.
const (
	defaultTokenCacheSize      = 10000
	defaultPrefetchConcurrency = 16
	defaultMaxTokenBytes       = 16384
)

// Options tune a Registry. The zero value gives the defaults.
type Options struct {
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Default DefaultLeeway (30s); a negative value means no leeway.
	Leeway time.Duration
	// MaxTokenBytes caps the token length, checked before any decoding.
	// Default 16384 (16 KiB).
	MaxTokenBytes int
	// TokenCacheSize is the number of verified tokens remembered, so a
	// token presented again costs a map lookup instead of a signature
	// check. 0 means 10 000; a negative value disables the cache. Cached
	// results are re-checked on every hit against the clock, the issuer's
	// presence and the key's presence in its key set; once that key set is
	// past its TTL, the token is verified afresh against the refreshed set
	// (see jwks.Expiring). Hooks.Verified reports each hit.
	TokenCacheSize int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives registry events (issuers added and removed, key
	// source failures). Default: discard. Tokens are never logged.
	Logger *slog.Logger
	// Keys builds remote key sources (jwks_uri, discovery). Share one
	// between registries (for example across config reloads) so that key
	// sets survive the swap; the registry does not close it. *jwks.Cache
	// implements it. When nil, the registry makes its own jwks.Cache from
	// KeysOptions.
	Keys KeySources
	// KeysOptions configure the key cache the registry makes for itself
	// when Keys is nil (timeouts, size caps, TTL bounds, cooldown, max
	// staleness, hooks); see jwks.Options for the defaults. That cache is
	// closed by Close.
	KeysOptions jwks.Options
	// Hooks observe verifications.
	Hooks Hooks
	// DPoP tunes the checking of DPoP proofs.
	DPoP dpop.Options
	// PrefetchConcurrency bounds the key fetches Prefetch runs at once, so
	// a cold start with thousands of prefetch issuers neither opens
	// thousands of connections nor floods shared IdPs. Default 16.
	PrefetchConcurrency int
	// Resolver, when its Resolve is set, is asked for the configuration
	// of an issuer the registry does not know, so tenants can come from
	// the application's own database on first use. Resolve is the trust
	// decision: it must consult the application's allowlist and never
	// trust iss as a URL. See Resolver.
	Resolver Resolver
}

// Hooks are callbacks for metrics and tracing. Nil fields are skipped.
// They are called synchronously on the verifying goroutine, outside any
// lock, and must be fast and safe for concurrent use.
type Hooks struct {
	// Verified is called after every Verify.
	Verified func(VerifyEvent)
}

// VerifyEvent describes one Verify call.
type VerifyEvent struct {
	// Issuer is the name of the matched issuer, "" when none matched.
	Issuer string
	// Err is nil for an accepted token.
	Err error
	// CacheHit reports that the verified-token cache answered.
	CacheHit bool
	// Duration is the time Verify took, by Options.Now.
	Duration time.Duration
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	switch {
	case o.Leeway == 0:
		o.Leeway = DefaultLeeway
	case o.Leeway < 0:
		o.Leeway = 0
	}
	if o.MaxTokenBytes <= 0 {
		o.MaxTokenBytes = defaultMaxTokenBytes
	}
	if o.TokenCacheSize == 0 {
		o.TokenCacheSize = defaultTokenCacheSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PrefetchConcurrency <= 0 {
		o.PrefetchConcurrency = defaultPrefetchConcurrency
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
