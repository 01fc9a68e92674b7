// Package jwks supplies the public keys of trusted issuers: remote JWKS
// documents, OpenID Connect / RFC 8414 discovery, and static JWKS or PEM
// files. It is the part of tenantjwt that talks to the network, so it decides
// whether an IdP outage, a slow endpoint or a flood of random kids can hurt
// the API.
//
// A Cache holds one key set per URL, shared by every issuer naming it (Entra
// ID tenants share one JWKS), while each issuer keeps its own Source, so keys
// stay bound to the issuers whose configuration named them.
//
// The lifecycle of a remote key set:
//
//   - Lazy: nothing is fetched until the first lookup, or Refresh for a
//     prefetch at start. Keys never fetched fail closed
//     (tenantjwt.ErrKeysUnavailable).
//   - One fetch in flight per URL: a thousand cold callers make one request,
//     and each waits only as long as its own context allows; the fetch runs
//     under the cache's Timeout (default 5s), not a caller's context.
//   - TTL from Cache-Control max-age clamped to [MinTTL, MaxTTL] (default
//     5m…24h, 15m without max-age). At 80% of the TTL (RefreshAhead) a used
//     set is refreshed in the background, by a timer the Cache owns or by a
//     lookup, while lookups answer from the current set.
//   - A set past its TTL is never used as if fresh: a lookup then waits for
//     the refresh (bounded by Timeout and its context). Only if that refresh
//     fails are the old keys served (stale-if-error, never
//     stale-while-revalidate), up to MaxStale (default 24h) past expiry,
//     while retries run in the background; then lookups fail closed. So a
//     key the IdP deletes stops verifying at the TTL. Expiring lets a cache
//     of verified tokens follow the same rule with one atomic load.
//   - An unknown kid refetches at most once per Cooldown (default 30s); if
//     the refetch fails, the answer is ErrKeysUnavailable (503), not
//     ErrKeyNotFound.
//   - A bad response (non-200, invalid JSON, no usable key, over the caps)
//     never replaces good keys. Unchanged keys keep their *Key pointer
//     across refreshes.
//   - Limits: CheckURL (https only; http for loopback hosts, see
//     IsLoopbackHost, or with AllowInsecureHTTP), redirects only to the same
//     scheme and host, body capped at 1 MiB after decompression, at most 100
//     keys, a User-Agent naming the library.
//   - A jwks_uri found by discovery came from the network, so it is held to
//     more (SSRF): https unless the issuer itself is on a loopback host,
//     optionally the issuer's origin (JWKSSameOrigin), and connections only
//     to public addresses, checked in the dialer after DNS, unless
//     AllowPrivateNetwork.
//
// One filter (for JWKS, PEM and DPoP proof keys) keeps only RSA (2048 bits
// or more, odd exponent 3…2^31-1), EC P-256/384/521 with the point on the
// curve, and Ed25519 public keys meant for signatures, with no private
// member; they are converted once to Go public keys so that verification
// does no per-request conversion. Thumbprint gives canonical RFC 7638
// thumbprints.
//
// Close stops every fetch in flight and the background refreshes. Hooks
// report fetches and stale serving for metrics.
package jwks
