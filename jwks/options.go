package jwks

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultMaxBodyBytes  = 1 << 20
	DefaultMinTTL        = 5 * time.Minute
	DefaultMaxTTL        = 24 * time.Hour
	DefaultTTL           = 15 * time.Minute
	DefaultCooldown      = 30 * time.Second
	DefaultRetryInterval = 5 * time.Second
	// DefaultMetadataTTL is Options.MetadataTTL's default.
	DefaultMetadataTTL = 24 * time.Hour
	DefaultMaxStale    = 24 * time.Hour
	DefaultUserAgent   = "tenantjwt (+https://github.com/tenantjwt/tenantjwt)"
)

// Options tune a Cache. The zero value gives the defaults.
type Options struct {
	// HTTPClient fetches key sets and discovery documents. Default: a
	// dedicated client with dial and TLS handshake timeouts, the total
	// Timeout, no cookie jar, and redirects followed (at most 3) only to the
	// same scheme and host. A client given here is copied; its Timeout and
	// CheckRedirect are set when zero.
	//
	// A jwks_uri found by discovery is fetched through a copy of this
	// client whose transport checks each address when connecting and uses
	// no proxy (see RemoteOptions.AllowPrivateNetwork). That needs an
	// *http.Transport (or none); with any other RoundTripper such URLs are
	// refused with ErrAddressRefused.
	HTTPClient *http.Client
	// Timeout bounds one fetch, headers and body. Default 5s. A fetch runs
	// under this timeout, not under the context of the request that caused
	// it, so one impatient caller cannot abort it for the others.
	Timeout time.Duration
	// MaxBodyBytes caps a response body, after any transparent gzip
	// decoding. Default 1 MiB; a longer body fails the fetch.
	MaxBodyBytes int64
	// MaxKeys caps the keys of one set. Default DefaultMaxKeys (100).
	MaxKeys int
	// MinTTL and MaxTTL clamp the Cache-Control max-age of a key set
	// response. Defaults 5m and 24h. A response without max-age lives
	// DefaultTTL (15m), clamped the same way.
	MinTTL, MaxTTL time.Duration
	// RefreshAhead is how long before expiry a background refresh starts
	// (from a timer owned by the Cache, or from a lookup) while lookups
	// still answer from the current set. Default a fifth of the set's TTL
	// (refresh at 80%); values not below the TTL take the default. Past
	// expiry a set is never used as if fresh: lookups wait for the refresh,
	// and serve the old keys only if it fails (up to MaxStale).
	RefreshAhead time.Duration
	// Cooldown is the minimum time between two refetches caused by unknown
	// kids on one URL. Default 30s: a flood of random kids costs at most
	// one request per Cooldown.
	Cooldown time.Duration
	// MetadataTTL is how long discovered metadata is used before it is
	// fetched again in the background (a moved jwks_uri is then picked
	// up). Default DefaultMetadataTTL; negative: never.
	MetadataTTL time.Duration
	// RetryInterval is the minimum time between a failed fetch and the next
	// attempt on one URL. Default 5s.
	RetryInterval time.Duration
	// MaxStale is how long past expiry the last good set keeps serving
	// after a refresh failed (stale-if-error). Default 24h; afterwards lookups fail closed with
	// tenantjwt.ErrKeysUnavailable.
	MaxStale time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives fetch failures, dropped keys and stale serving.
	// Response bodies are never logged. Default: discard.
	Logger *slog.Logger
	// Hooks observe fetches, for metrics.
	Hooks Hooks
	// UserAgent is sent with every request. Default DefaultUserAgent.
	UserAgent string
}

// Hooks are callbacks for metrics. Nil fields are skipped. They run outside
// the cache's locks, on the fetching goroutine, and must not block.
type Hooks struct {
	// FetchDone is called after every key set or discovery fetch, before
	// the callers waiting on that fetch resume: once a lookup returns, the
	// event of the fetch it waited for has been delivered.
	FetchDone func(FetchEvent)
	// ServedStale is called when a lookup is answered from a set past its
	// expiry because refreshing failed.
	ServedStale func(url, label string, age time.Duration)
}

// FetchEvent describes one fetch.
type FetchEvent struct {
	// URL is the fetched URL; Label the name of the issuer that first
	// registered it.
	URL, Label string
	// Discovery is true for a discovery document fetch.
	Discovery bool
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Keys is the number of usable keys loaded (key sets only).
	Keys int
	// Duration is the time the fetch took.
	Duration time.Duration
	// Err is nil on success.
	Err error
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.MinTTL <= 0 {
		o.MinTTL = DefaultMinTTL
	}
	if o.MaxTTL <= 0 {
		o.MaxTTL = DefaultMaxTTL
	}
	if o.MaxTTL < o.MinTTL {
		o.MaxTTL = o.MinTTL
	}
	if o.Cooldown <= 0 {
		o.Cooldown = DefaultCooldown
	}
	if o.MetadataTTL == 0 {
		o.MetadataTTL = DefaultMetadataTTL
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = DefaultRetryInterval
	}
	if o.MaxStale <= 0 {
		o.MaxStale = DefaultMaxStale
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	o.HTTPClient = httpClient(o.HTTPClient, o.Timeout)
	return o
}

// httpClient returns the client to fetch with: a copy of c, or a dedicated
// one, with a timeout and the same-host redirect policy.
func httpClient(c *http.Client, timeout time.Duration) *http.Client {
	var hc http.Client
	if c != nil {
		hc = *c
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = timeout
		t.ResponseHeaderTimeout = timeout
		t.MaxResponseHeaderBytes = 64 << 10
		hc.Transport = t
	}
	if hc.Timeout == 0 {
		hc.Timeout = timeout
	}
	if hc.CheckRedirect == nil {
		hc.CheckRedirect = sameHostRedirect
	}
	return &hc
}

// sameHostRedirect follows at most 3 redirects, each to the scheme and
// host of the original request: a key set must not be served from a host
// the configuration did not name (SECURITY-CASES 32).
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return fmt.Errorf("jwks: more than 3 redirects")
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return fmt.Errorf("jwks: redirect from %s to another host or scheme %s refused", first.Host, req.URL.Host)
	}
	return nil
}
