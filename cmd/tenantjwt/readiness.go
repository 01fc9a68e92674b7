package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/tenantjwt/tenantjwt/jwks"
)

// maxPrefetchDelay caps the delay between two prefetch attempts.
const maxPrefetchDelay = 30 * time.Second

// startPrefetch fetches the keys of st's prefetch issuers in the
// background until every one has keys, retrying with exponential backoff
// and jitter: readiness must not wait for traffic, which a readiness
// probe never sends to an unready pod. The loop belongs to st: stopPrefetch
// cancels it and waits for it to end (on reload and on exit).
func (s *server) startPrefetch(ctx context.Context, st *state) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	st.stopPrefetch = func() { cancel(); <-done }
	go func() {
		defer close(done)
		delay := s.retryMin
		for {
			if st.reg.Ready() {
				s.markReady()
				return
			}
			pctx, cancelAttempt := context.WithTimeout(ctx, 30*time.Second)
			err := st.reg.Prefetch(pctx)
			cancelAttempt()
			ready := st.reg.Ready()
			if s.hooks != nil && s.hooks.prefetched != nil {
				s.hooks.prefetched(ready)
			}
			if ready {
				s.markReady()
				return
			}
			if ctx.Err() != nil {
				return
			}
			wait := delay/2 + rand.N(delay/2+1) // jitter: replicas do not retry in step
			if err != nil {
				s.log.Warn("prefetch failed; retrying", "error", err.Error(), "retry_in", wait.String())
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			delay = min(2*delay, maxPrefetchDelay)
		}
	}()
}

// markReady records that the server has been ready once: from then on a
// reload never makes it unready (an issuer added without keys shows up in
// /readyz?verbose, the metrics and the logs instead).
func (s *server) markReady() {
	if !s.everReady.Swap(true) {
		s.log.Info("ready: every prefetch issuer has keys")
	}
}

// readyz answers 200 once every prefetch issuer has had keys, 503 before.
// With ?verbose it lists each issuer's key state.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.cur.Load()
	ready := s.everReady.Load() || st.reg.Ready()
	if ready {
		s.markReady()
	}
	status, summary := http.StatusOK, "ready\n"
	if !ready {
		status, summary = http.StatusServiceUnavailable, "keys of prefetch issuers not loaded yet\n"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, summary)
	if !r.URL.Query().Has("verbose") {
		return
	}
	for _, k := range st.reg.KeyStates() {
		f := s.fetches.get(k.Name)
		state := "keys loaded"
		switch {
		case k.Keys == 0 && f.lastErr != "":
			state = "no keys: " + f.lastErr
		case k.Keys == 0 && k.Prefetch:
			state = "no keys yet"
		case k.Keys == 0:
			state = "no keys yet (fetched on first use)"
		}
		line := fmt.Sprintf("%s: %s; keys=%d prefetch=%t", k.Name, state, k.Keys, k.Prefetch)
		if !f.lastOK.IsZero() {
			line += fmt.Sprintf(" fetched=%s", f.lastOK.UTC().Format(time.RFC3339))
		}
		io.WriteString(w, line+"\n")
	}
}

// fetchLog follows key fetches per issuer label, to log when keys arrive
// or start failing (each change once, not each attempt) and to tell
// /readyz?verbose and the metrics when keys were last fetched.
type fetchLog struct {
	mu sync.Mutex // protects m
	m  map[string]fetchState
}

type fetchState struct {
	lastOK  time.Time
	lastErr string // "" after a success
}

func (l *fetchLog) get(label string) fetchState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[label]
}

// record stores ev and reports what changed: arrived is true on the first
// success after none or after a failure; failing on a failure whose text
// differs from the last one.
func (l *fetchLog) record(ev jwks.FetchEvent, now time.Time) (arrived, failing bool) {
	if ev.Discovery && ev.Err == nil {
		return false, false // the key set fetch that follows tells
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[string]fetchState)
	}
	prev, seen := l.m[ev.Label]
	next := prev
	if ev.Err != nil {
		next.lastErr = ev.Err.Error()
		failing = next.lastErr != prev.lastErr
	} else {
		next.lastOK, next.lastErr = now, ""
		arrived = !seen || prev.lastErr != "" || prev.lastOK.IsZero()
	}
	l.m[ev.Label] = next
	return arrived, failing
}

// ages returns, per label, how long ago keys were last fetched.
func (l *fetchLog) ages(now time.Time) map[string]time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]time.Duration, len(l.m))
	for label, st := range l.m {
		if !st.lastOK.IsZero() {
			out[label] = now.Sub(st.lastOK)
		}
	}
	return out
}

// fetched is the key cache's FetchDone hook: metrics, and one log line per
// change of an issuer's key state.
func (s *server) fetched(ev jwks.FetchEvent) {
	s.metrics.fetched(ev)
	arrived, failing := s.fetches.record(ev, time.Now())
	switch {
	case arrived:
		s.log.Info("keys fetched", "issuer", ev.Label, "keys", ev.Keys, "url", ev.URL)
	case failing:
		s.log.Warn("key fetch failed", "issuer", ev.Label, "url", ev.URL, "error", ev.Err.Error())
	}
}
