package issuer_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// Resource bounds on the token side (SECURITY-CASES 25): an oversize token
// is refused by the length check before any decoding, so the memory it costs
// does not grow with its size. Allocation counts and bytes, not wall time.
func TestOversizeTokenCostsConstantMemory(t *testing.T) {
	iss := issuertest.New(t)
	reg := newRegistry(t, issuer.Options{TokenCacheSize: -1}, iss.LocalConfig())
	ctx := context.Background()
	good := iss.Mint(nil)
	header := good[:strings.IndexByte(good, '.')]

	tests := []struct {
		name  string
		token string
	}{
		{"1 MiB payload", header + "." + strings.Repeat("A", 1<<20) + ".sig"},
		{"8 MiB payload", header + "." + strings.Repeat("A", 8<<20) + ".sig"},
		{"8 MiB of dots", strings.Repeat(".", 8<<20)},
		{"8 MiB one segment", strings.Repeat("a", 8<<20)},
		{"just over the cap", header + "." + strings.Repeat("A", issuer.DefaultMaxTokenBytes) + ".sig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			allocs := testing.AllocsPerRun(20, func() { _, err = reg.Verify(ctx, tt.token) })
			if !errors.Is(err, tenantjwt.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			// A fixed handful of allocations for the error value, whatever
			// the size of the input.
			if allocs > 10 {
				t.Errorf("allocs per rejected token = %v, want <= 10", allocs)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range 10 {
				reg.Verify(ctx, tt.token)
			}
			runtime.ReadMemStats(&after)
			if got := (after.TotalAlloc - before.TotalAlloc) / 10; got > 4096 {
				t.Errorf("bytes allocated per rejected token = %d, want <= 4096", got)
			}
		})
	}
}

// Hostile shapes just under the cap (deep nesting, long numbers) are
// decoded with memory proportional to the cap, never more.
func TestNearCapTokensStayBounded(t *testing.T) {
	iss := issuertest.New(t)
	reg := newRegistry(t, issuer.Options{TokenCacheSize: -1}, iss.LocalConfig())
	ctx := context.Background()
	n := issuer.DefaultMaxTokenBytes / 2
	tests := []struct {
		name    string
		header  string
		payload string
	}{
		{"deeply nested payload", `{"alg":"RS256"}`, strings.Repeat("[", n/2)},
		{"10k digit number", `{"alg":"RS256"}`, `{"exp":` + strings.Repeat("9", 10000) + `}`},
		{"deeply nested header", strings.Repeat(`{"a":`, n/8), `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := signRaw(iss, tt.header, tt.payload)
			if len(tok) > issuer.DefaultMaxTokenBytes {
				tok = tok[:issuer.DefaultMaxTokenBytes]
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := reg.Verify(ctx, tok)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tenantjwt.ErrInvalidToken) {
				t.Fatalf("err = %v, want an ErrInvalidToken cause", err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 64*issuer.DefaultMaxTokenBytes {
				t.Errorf("allocated %d bytes for a %d-byte token, want <= %d", got, len(tok), 64*issuer.DefaultMaxTokenBytes)
			}
		})
	}
}
