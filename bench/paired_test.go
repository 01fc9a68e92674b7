package bench

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkVerifyPaired measures first-seen verification against the
// crypto row and golang-jwt in a way a shared machine disturbs less than
// separate rows: each round times a batch of 10 calls of each, the three
// alternating (in turn order), and the reported metrics are the medians
// over the rounds of the per-round ratios. A burst of load then hits both
// sides of a ratio; ns/op is the time of one round and means little.
func BenchmarkVerifyPaired(b *testing.B) {
	names := []string{"crypto", "tenantjwt-first", "golang-jwt+keyfunc"}
	for _, f := range loadFixtures() {
		b.Run(f.alg, func(b *testing.B) {
			fns := make([]func(string) error, len(names))
			for _, v := range verifiers {
				if i := slices.Index(names, v.name); i >= 0 {
					fns[i] = v.make(b, f)
				}
			}
			var toCrypto, toPeer []float64
			var took [3]time.Duration
			for r := 0; b.Loop(); r++ {
				for k := range names {
					i := (k + r) % len(names)
					start := time.Now()
					for range 10 {
						if err := fns[i](f.token); err != nil {
							b.Fatal(err)
						}
					}
					took[i] = time.Since(start)
				}
				toCrypto = append(toCrypto, float64(took[1])/float64(took[0]))
				toPeer = append(toPeer, float64(took[1])/float64(took[2]))
			}
			b.ReportMetric(median(toCrypto), "first/crypto")
			b.ReportMetric(median(toPeer), "first/golang-jwt")
		})
	}
}

// median returns the median of xs (sorting it).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
