package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer"
)

// tenantConfig is the i-th tenant of a SaaS that lets each customer bring
// its own IdP: its own issuer and JWKS URL (never fetched here).
func tenantConfig(i int) issuer.Config {
	return issuer.Config{
		Issuer:    fmt.Sprintf("https://tenant-%d.idp.example.com/", i),
		JWKSURI:   fmt.Sprintf("https://tenant-%d.idp.example.com/.well-known/jwks.json", i),
		Audiences: []string{audience},
		Tenant:    fmt.Sprintf("t%d", i),
	}
}

// registryOf builds a registry of n tenants in one call to New.
func registryOf(b *testing.B, n int) *issuer.Registry {
	b.Helper()
	cfgs := make([]issuer.Config, n)
	for i := range cfgs {
		cfgs[i] = tenantConfig(i)
	}
	reg, err := issuer.New(issuer.Options{}, cfgs...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reg.Close() })
	return reg
}

// BenchmarkRegistryAdd times one Add to a registry of 1 000 and 100 000
// issuers. Each added issuer is removed again outside the timer, so the
// size stays put.
func BenchmarkRegistryAdd(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			reg := registryOf(b, n)
			i := n
			b.ReportAllocs()
			for b.Loop() {
				c := tenantConfig(i)
				if err := reg.Add(c); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				reg.Remove(c.Issuer)
				b.StartTimer()
				i++
			}
		})
	}
}

// BenchmarkRegistryRemove times one Remove from a registry of 1 000 and
// 100 000 issuers. The removed issuer is added back outside the timer.
func BenchmarkRegistryRemove(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			reg := registryOf(b, n)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				c := tenantConfig(i % n)
				if !reg.Remove(c.Issuer) {
					b.Fatal("not removed")
				}
				b.StopTimer()
				if err := reg.Add(c); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				i++
			}
		})
	}
}

// BenchmarkRegistryBuild builds a registry of 100 000 issuers, in one call
// to New ("new") and by 100 000 calls to Add ("add"), and reports the
// heap the registry holds afterwards.
func BenchmarkRegistryBuild(b *testing.B) {
	const n = 100000
	cfgs := make([]issuer.Config, n)
	for i := range cfgs {
		cfgs[i] = tenantConfig(i)
	}
	for _, how := range []string{"new", "add"} {
		b.Run(how+"-100000", func(b *testing.B) {
			var heap float64
			for b.Loop() {
				var before, after runtime.MemStats
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				var reg *issuer.Registry
				var err error
				if how == "new" {
					reg, err = issuer.New(issuer.Options{}, cfgs...)
				} else {
					reg, err = issuer.New(issuer.Options{})
					for i := 0; err == nil && i < n; i++ {
						err = reg.Add(cfgs[i])
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap += float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
				reg.Close()
				b.StartTimer()
			}
			b.ReportMetric(heap/float64(b.N)/(1<<20), "MiB-heap")
		})
	}
}

// BenchmarkRegistryLookup refuses a token of an issuer that is not trusted
// in registries of 1 and 100 000 issuers: shape check, header and iss
// read, and the issuer lookup, with no signature. It isolates the cost of
// the lookup that every verification pays.
func BenchmarkRegistryLookup(b *testing.B) {
	f := loadFixtures()[0]
	tok := f.iss.Mint(claims("https://not-trusted.example.com/"))
	for _, n := range []int{1, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			reg := registryOf(b, n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Verify(ctx, tok); err == nil {
					b.Fatal("untrusted issuer accepted")
				}
			}
		})
	}
}

// BenchmarkResolver verifies through Options.Resolver, with the token
// cache off:
//   - static-*: the issuer is given to New (for comparison);
//   - hit-*: the issuer was resolved before and sits in the LRU;
//   - miss-cached: an iss the resolver declined, remembered (NegativeTTL);
//   - miss-resolve: NegativeTTL off, so the resolver (an
//     in-memory map here, a database query in real life) runs every time.
//
// *-verify is a full RS256 verification; *-lookup is a token refused at the
// algorithm check right after the issuer lookup, which isolates the
// lookup.
func BenchmarkResolver(b *testing.B) {
	f := loadFixtures()[0]
	ok := f.config()
	wrongAlg := f.config()
	wrongAlg.Algorithms = []string{"ES256"}
	unknown := f.iss.Mint(claims("https://not-onboarded.example.com/"))
	answer := func(c issuer.Config) func(context.Context, string) (*issuer.Config, error) {
		return func(_ context.Context, iss string) (*issuer.Config, error) {
			if iss != c.Issuer {
				return nil, nil
			}
			return &c, nil
		}
	}
	cases := []struct {
		name    string
		static  []issuer.Config
		res     issuer.Resolver
		tok     string
		wantErr bool
	}{
		{"static-verify", []issuer.Config{ok}, issuer.Resolver{}, f.token, false},
		{"hit-verify", nil, issuer.Resolver{Resolve: answer(ok)}, f.token, false},
		{"static-lookup", []issuer.Config{wrongAlg}, issuer.Resolver{}, f.token, true},
		{"hit-lookup", nil, issuer.Resolver{Resolve: answer(wrongAlg)}, f.token, true},
		{"miss-cached", nil, issuer.Resolver{Resolve: answer(ok)}, unknown, true},
		{"miss-resolve", nil, issuer.Resolver{Resolve: answer(ok), NegativeTTL: -1}, unknown, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			reg, err := issuer.New(issuer.Options{TokenCacheSize: -1, Resolver: tc.res}, tc.static...)
			if err != nil {
				b.Fatal(err)
			}
			defer reg.Close()
			ctx := context.Background()
			reg.Verify(ctx, tc.tok) // resolve once
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Verify(ctx, tc.tok); (err != nil) != tc.wantErr {
					b.Fatalf("err = %v, want error %v", err, tc.wantErr)
				}
			}
		})
	}
}
