package dpop_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/dpop"
)

// clock is a test clock; tests in this file do not run in parallel with
// themselves, so it needs no lock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }

// TestReplayCacheBounds: the cache's own refusals, without a registry.
func TestReplayCacheBounds(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := dpop.NewReplayCache(dpop.ReplayOptions{Size: 3, PerKey: 2, Now: clk.now})
	ctx := context.Background()
	set := func(jkt, jti string) (bool, error) { return c.SetIfAbsent(ctx, jkt, jti, time.Minute) }
	for _, s := range []struct {
		jkt, jti string
		stored   bool
		err      error
	}{
		{"a", "1", true, nil}, {"a", "1", false, nil}, {"b", "1", true, nil}, {"a", "2", true, nil},
		{"a", "3", false, dpop.ErrReplayKeyFull}, {"c", "1", false, dpop.ErrReplayFull},
	} {
		stored, err := set(s.jkt, s.jti)
		if stored != s.stored || !errors.Is(err, s.err) || (s.err == nil) != (err == nil) {
			t.Fatalf("SetIfAbsent(%s, %s) = %v, %v; want %v, %v", s.jkt, s.jti, stored, err, s.stored, s.err)
		}
	}
	if stored, err := c.SetIfAbsent(ctx, "c", "x", 0); stored || err == nil {
		t.Fatalf("ttl 0: %v, %v", stored, err)
	}
	clk.add(time.Minute)
	if stored, err := set("c", "1"); !stored || err != nil {
		t.Fatalf("after expiry: %v, %v", stored, err)
	}
}
