package main

import (
	"errors"
	"sync"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/canonical"
)

// maxLimiterKeys bounds the limiter's memory; reasons and issuer names are
// bounded by the code and the config, so this is a backstop.
const maxLimiterKeys = 4096

// logLimiter rate-limits refusal records per (reason, issuer), so a flood
// of junk tokens cannot fill a disk: the first record of each key is
// always written, then at most burst at once and rate per second. What it
// holds back is counted, reported on the next record of that key, and in
// tenantjwt_log_records_suppressed_total. A zero rate disables it.
type logLimiter struct {
	rate, burst float64
	now         func() time.Time

	mu sync.Mutex // protects m
	m  map[string]*bucket
}

type bucket struct {
	tokens     float64
	last       time.Time
	suppressed int
}

// allow reports whether a record for key may be written, and how many were
// suppressed since the last one that was.
func (l *logLimiter) allow(key string) (ok bool, suppressed int) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[string]*bucket)
	}
	b := l.m[key]
	if b == nil {
		if len(l.m) >= maxLimiterKeys {
			key = "overflow"
			if b = l.m[key]; b != nil {
				goto have
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.m[key] = b
	}
have:
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	suppressed, b.suppressed = b.suppressed, 0
	return true, suppressed
}

// reasonOf names the class of a refusal for log limiting and metrics: the
// rejection cause for token errors, else what the request lacked.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, canonical.ErrRequest):
		return "request"
	case errors.Is(err, middleware.ErrNoToken):
		return "no_token"
	case errors.Is(err, middleware.ErrMultipleTokens):
		return "multiple_tokens"
	case errors.Is(err, tenantjwt.ErrForbidden):
		return "forbidden"
	}
	return tenantjwt.CauseName(err)
}
