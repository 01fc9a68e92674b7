package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
)

// hostile is a token built to cost the most before it is refused.
type hostile struct {
	name  string
	token string
	want  error
}

// maxTokenBytes is the registry's cap, its default (Options.MaxTokenBytes),
// set explicitly so the two cannot drift; every hostile token fills it.
const maxTokenBytes = 16 << 10

// fill returns header.payload.sig where payload is prefix + unit(0) +
// unit(1) + … + suffix with as many units as keep the token within the
// cap (at most limit units when limit > 0).
func fill(header, prefix string, unit func(int) string, limit int, suffix string, sig []byte) string {
	h, s := b64.EncodeToString([]byte(header)), b64.EncodeToString(sig)
	room := (maxTokenBytes-len(h)-len(s)-2)*3/4 - len(prefix) - len(suffix)
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; limit <= 0 || i < limit; i++ {
		u := unit(i)
		if b.Len()-len(prefix)+len(u) > room {
			break
		}
		b.WriteString(u)
	}
	b.WriteString(suffix)
	return h + "." + b64.EncodeToString([]byte(b.String())) + "." + s
}

// rep is a unit that repeats s.
func rep(s string) func(int) string { return func(int) string { return s } }

// hostileTokens are the worst inputs we know for the steps before the
// signature: every one is at the size cap and stresses one part of the
// strict JSON check (escapes, non-ASCII names that need case folding,
// objects at the member cap, nesting at the depth cap, collision checks),
// either under an untrusted issuer (refused after one pass) or under the
// trusted one with a junk signature (a signature check on top).
func hostileTokens(f *fixture) []hostile {
	trusted := fmt.Sprintf(`{"iss":%q`, f.iss.URL())
	untrusted := `{"iss":"https://attacker.example/"`
	hdr := fmt.Sprintf(`{"alg":%q,"kid":%q}`, f.alg, f.iss.KID())
	junk := make([]byte, 256) // an RS256 signature's length
	// Member names of two-byte letters that fold (Cyrillic), unique per
	// member, up to the member cap of 1,024 per segment.
	cyr := func(i int) string {
		return string([]rune{'Ж' + rune(i%32), 'Б' + rune(i/32%32), 'ю', 'ю', 'ю', 'ю'})
	}
	member := func(i int) string { return `,"` + cyr(i) + `":0` }
	small := rep(`,{"a":0` + strings.Repeat(`,"kEy":0`, 0) + func() string {
		var b strings.Builder
		for i := range 15 {
			b.WriteString(`,"k` + cyr(i) + `y":0`)
		}
		return b.String()
	}() + `}`)
	var hdrNames strings.Builder
	for i := range 500 {
		hdrNames.WriteString(member(i))
	}
	return []hostile{
		{"untrusted/escapes", fill(hdr, untrusted+`,"x":"`, rep(`\u00e9\ud83d\ude00`), 0, `"}`, junk), tenantjwt.ErrUnknownIssuer},
		{"untrusted/folded-names", fill(hdr, untrusted+`,"x":{"a":0`, member, 1000, `}}`, junk), tenantjwt.ErrUnknownIssuer},
		{"untrusted/iss-last", fill(hdr, `{"x":[0`, rep(`,"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"`), 0, `],"iss":"https://attacker.example/"}`, junk), tenantjwt.ErrUnknownIssuer},
		{"trusted-junk-sig/escapes", fill(hdr, trusted+`,"x":"`, rep(`\u00e9\ud83d\ude00`), 0, `"}`, junk), tenantjwt.ErrSignature},
		{"trusted-junk-sig/folded-names", fill(hdr, trusted+`,"x":{"a":0`, member, 1000, `}}`, junk), tenantjwt.ErrSignature},
		{"trusted-junk-sig/small-objects", fill(hdr, trusted+`,"x":[{}`, small, 60, `]}`, junk), tenantjwt.ErrSignature},
		{"trusted-junk-sig/depth-cap", fill(hdr, trusted+`,"x":[0`, rep(`,`+strings.Repeat("[", 14)+strings.Repeat("]", 14)), 0, `]}`, junk), tenantjwt.ErrSignature},
		{"trusted-junk-sig/numbers", fill(hdr, trusted+`,"x":[0`, rep(`,-1234567890.0987654321e-300`), 0, `]}`, junk), tenantjwt.ErrSignature},
		{"trusted-junk-sig/header-names", fill(hdr[:len(hdr)-1]+hdrNames.String()+`}`, trusted+`,"x":"`, rep("a"), 0, `"}`, junk), tenantjwt.ErrSignature},
		{"trusted-junk-sig/not-json-at-the-end", fill(hdr, trusted+`,"x":"`, rep(`\u00e9abc`), 0, `\ud800"`, junk), tenantjwt.ErrSignature},
		{"untrusted/not-json-at-the-end", fill(hdr, untrusted+`,"x":"`, rep(`\u00e9abc`), 0, `"`, junk), tenantjwt.ErrUnknownIssuer},
		{"no-iss/not-json-at-the-end", fill(hdr, `{"x":"`, rep(`\u00e9abc`), 0, `"`, junk), tenantjwt.ErrMalformed},
		{"no-iss/lone-surrogate-at-the-end", fill(hdr, `{"x":"`, rep(`\u00e9abc`), 0, `\ud800"}`, junk), tenantjwt.ErrMalformed},
		{"no-iss/depth-cap", fill(hdr, `{"x":[0`, rep(`,`+strings.Repeat("[", 14)+strings.Repeat("]", 14)), 0, `]}`, junk), tenantjwt.ErrUnknownIssuer},
		{"untrusted/depth-cap", fill(hdr, untrusted+`,"x":[0`, rep(`,`+strings.Repeat("[", 14)+strings.Repeat("]", 14)), 0, `]}`, junk), tenantjwt.ErrUnknownIssuer},
		{"no-iss/members", fill(hdr, `{"x":{"a":0`, member, 1000, `}}`, junk), tenantjwt.ErrUnknownIssuer},
		{"no-iss/escaped-names", fill(hdr, `{"a":0`, func(i int) string { return fmt.Sprintf(`,"\u0069\u0073%04d":0`, i) }, 1000, `}`, junk), tenantjwt.ErrUnknownIssuer},
	}
}

// TestHostileTokensAreRefused proves each benchmarked hostile token is
// refused for the reason it was built for, at the size cap.
func TestHostileTokensAreRefused(t *testing.T) {
	f := loadFixtures()[0]
	reg, err := issuer.New(issuer.Options{TokenCacheSize: -1, MaxTokenBytes: maxTokenBytes}, f.config())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hostileTokens(f) {
		t.Run(h.name, func(t *testing.T) {
			if len(h.token) > maxTokenBytes || len(h.token) < maxTokenBytes-512 {
				t.Fatalf("token of %d bytes, want within 512 bytes under %d", len(h.token), maxTokenBytes)
			}
			if _, err := reg.Verify(context.Background(), h.token); !errors.Is(err, h.want) {
				t.Fatalf("Verify = %v, want %v", err, h.want)
			}
		})
	}
}

// BenchmarkRefuseHostile measures the refusal of each hostile token next
// to a first-seen valid RS256 verification in the same run; BENCHMARKS.md
// reports their ratio (the bound is about 2×).
func BenchmarkRefuseHostile(b *testing.B) {
	f := loadFixtures()[0]
	reg, err := issuer.New(issuer.Options{TokenCacheSize: -1, MaxTokenBytes: maxTokenBytes}, f.config())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("first-seen-RS256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reg.Verify(context.Background(), f.token); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, h := range hostileTokens(f) {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Verify(context.Background(), h.token); !errors.Is(err, h.want) {
					b.Fatal(err)
				}
			}
		})
	}
}
