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
//     5m…24h, 15m without max-age); a lookup near expiry starts one
//     background refresh and answers from the current set meanwhile.
//   - An unknown kid refetches at most once per Cooldown (default 30s).
//   - A failed refresh keeps the last good set up to MaxStale (default 24h)
//     past expiry, then fails closed; a bad response (non-200, invalid JSON,
//     no usable key, over the caps) never replaces good keys; a key that
//     disappears stops resolving after the next successful refresh. Unchanged
//     keys keep their *Key pointer across refreshes.
//   - Limits: https only (http for loopback hosts, or with
//     AllowInsecureHTTP), redirects only to the same scheme and host, body
//     capped at 1 MiB after decompression, at most 100 keys, a User-Agent
//     naming the library.
//
// Parse filters keys: only RSA (2048 bits or more), EC P-256/384/521 and
// Ed25519 public keys meant for signatures are kept, converted once to Go
// public keys so that verification does no per-request conversion.
//
// Close stops every fetch in flight. Hooks report fetches and stale serving
// for metrics.
package jwks
