package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// BenchmarkIssuers verifies a token of one issuer in registries of 1, 1 000
// and 100 000 issuers (cache off), and reports memory per issuer.
func BenchmarkIssuers(b *testing.B) {
	f := loadFixtures()[0]
	for _, n := range []int{1, 1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			base := f.config()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			cfgs := make([]issuer.Config, 0, n)
			for i := range n - 1 {
				c := base
				c.Issuer = fmt.Sprintf("https://tenant-%d.example.com/", i)
				c.Name = ""
				cfgs = append(cfgs, c)
			}
			cfgs = append(cfgs, base)
			reg, err := issuer.New(issuer.Options{TokenCacheSize: -1}, cfgs...)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perIssuer := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := reg.Verify(ctx, f.token); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(perIssuer, "B/issuer")
			runtime.KeepAlive(reg)
		})
	}
}

// BenchmarkColdStart: 1 000 concurrent first requests for one issuer whose
// keys are fetched over HTTP. Reports JWKS fetches per cold start and the
// latency spread of the 1 000 requests.
func BenchmarkColdStart(b *testing.B) {
	var fetches, p50, p99 float64
	for b.Loop() {
		iss, err := issuertest.NewServer()
		if err != nil {
			b.Fatal(err)
		}
		reg, err := issuer.New(issuer.Options{TokenCacheSize: -1}, iss.Config())
		if err != nil {
			b.Fatal(err)
		}
		tok := iss.Mint(nil)
		const n = 1000
		lat := make([]time.Duration, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				t0 := time.Now()
				if _, err := reg.Verify(context.Background(), tok); err != nil {
					b.Error(err)
				}
				lat[i] = time.Since(t0)
			}()
		}
		close(start)
		wg.Wait()
		slices.Sort(lat)
		fetches += float64(iss.JWKSRequests())
		p50 += float64(lat[n/2].Microseconds())
		p99 += float64(lat[n*99/100].Microseconds())
		reg.Close()
		iss.Close()
	}
	b.ReportMetric(fetches/float64(b.N), "fetches/op")
	b.ReportMetric(p50/float64(b.N), "p50-µs")
	b.ReportMetric(p99/float64(b.N), "p99-µs")
}

// BenchmarkCachedTokenMemory fills the verified-token cache with distinct
// RS256 tokens of about 1.3 KB and reports the heap each entry holds, the
// token string (the cache key) included, and the token size.
func BenchmarkCachedTokenMemory(b *testing.B) {
	const n = 2000
	f := loadFixtures()[0]
	var hits atomic.Int64
	count := issuer.Hooks{Verified: func(ev issuer.VerifyEvent) {
		if ev.CacheHit {
			hits.Add(1)
		}
	}}
	reg, err := issuer.New(issuer.Options{TokenCacheSize: 2 * n, Hooks: count}, f.config())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	toks := make([]string, n)
	for i := range toks {
		c := claims(f.iss.URL())
		c["jti"] = fmt.Sprintf("%036d", i)
		toks[i] = f.iss.Mint(c)
	}
	size := len(toks[0])
	for _, tok := range toks {
		if _, err := reg.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	// Every token is cached: a second pass is all hits.
	for _, tok := range toks {
		if _, err := reg.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	if got := hits.Load(); got != n {
		b.Fatalf("%d of %d tokens cached", got, n)
	}
	first := toks[0]
	toks = nil // the cache holds the only reference to each token now
	runtime.GC()
	runtime.ReadMemStats(&after)
	perToken := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Verify(ctx, first); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(perToken, "B/cached-token")
	b.ReportMetric(float64(size), "token-bytes")
	runtime.KeepAlive(reg)
}
