package main

import (
	"context"
	"io"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// goalFor is the heap goal the runtime sets for a live heap at percent p
// (runtime/mgcpacer.go: the larger of the GOGC growth and the floor that
// scales with GOGC).
func goalFor(live uint64, p int) uint64 {
	return max(live+live*uint64(p)/100, gcMinimumHeap*uint64(p)/100)
}

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, headroom uint64
		want           int
	}{
		{0, 16 * mib, 400},        // before the first collection: the floor is the goal
		{1 * mib, 16 * mib, 425},  // a small proxy: goal 17 MiB
		{10 * mib, 16 * mib, 160}, // goal 26 MiB
		{16 * mib, 16 * mib, 100}, // headroom = live: Go's default
		{135 * mib, 16 * mib, 100},
		{1 * mib, 1 * mib, 100}, // goal 2 MiB is under Go's own 4 MiB floor: Go's default
	} {
		if got := gcPercentFor(c.live, c.headroom); got != c.want {
			t.Errorf("gcPercentFor(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.headroom/mib, got, c.want)
		}
	}
	// Whatever the live heap, the goal is max(2 × live, live + headroom),
	// or Go's own when that is larger (tiny heaps), never below GOGC=100.
	for _, headroom := range []uint64{4 * mib, 16 * mib, 256 * mib} {
		for live := uint64(0); live < 1<<30; live = live*3/2 + 12345 {
			p := gcPercentFor(live, headroom)
			want := max(2*live, live+headroom, gcMinimumHeap)
			got := goalFor(live, p)
			if p < 100 || got > want || got+want/100+1 < want {
				t.Fatalf("live %d, headroom %d MiB: percent %d gives goal %d, want %d", live, headroom/mib, p, got, want)
			}
		}
	}
}

func TestGCTuning(t *testing.T) {
	env := func(gogc string) func(string) string {
		return func(k string) string {
			if k == "GOGC" {
				return gogc
			}
			return ""
		}
	}
	for _, c := range []struct {
		mib  int
		gogc string
		want uint64
	}{
		{16, "", 16 << 20},
		{0, "", 0},     // --gc-headroom 0: Go's default
		{16, "200", 0}, // GOGC set: the operator's choice
		{16, "off", 0}, // likewise GOGC=off (with GOMEMLIMIT)
		{64, "", 64 << 20},
	} {
		if got := gcTuning(c.mib, env(c.gogc)); got != c.want {
			t.Errorf("gcTuning(%d, GOGC=%q) = %d, want %d", c.mib, c.gogc, got, c.want)
		}
	}
}

func readGOGC(t *testing.T) int {
	t.Helper()
	s := []rtmetrics.Sample{{Name: "/gc/gogc:percent"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		t.Fatal("runtime/metrics has no /gc/gogc:percent")
	}
	return int(s[0].Value.Uint64())
}

// TestServeTunesGC: serve sets the runtime's GC percentage from
// --gc-headroom while it runs, and puts back the one it found when it
// stops.
func TestServeTunesGC(t *testing.T) {
	t.Setenv("GOGC", "") // as if unset, whatever the CI sets
	a := issuertest.New(t)
	cfg := writeConfig(t, "", a)
	before := readGOGC(t)
	listening := make(chan string, 1)
	tuned := make(chan int, 16)
	hooks := &serveHooks{
		listening: func(addr string) { listening <- addr },
		gcTuned: func(p int) {
			select {
			case tuned <- p:
			default:
			}
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runWith(ctx, []string{"serve", "--config", cfg, "--listen", "127.0.0.1:0", "--watch-interval", "0", "--gc-headroom", "1024"}, nil, io.Discard, io.Discard, hooks)
	}()
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("serve exited: %v", err)
	}
	// 1 GiB of headroom over this test's live heap: far above GOGC=100.
	p := <-tuned
	if p <= 200 {
		t.Errorf("tuned to %d, want well above 100", p)
	}
	if got := readGOGC(t); got <= 200 {
		t.Errorf("the runtime runs at GOGC %d, want the tuned percentage (%d)", got, p)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := readGOGC(t); got != before {
		t.Errorf("after serve stopped, GOGC %d, want %d as before", got, before)
	}
}

// TestGCTunersRestoreOnce: two serves of one process tune the GC at once
// (tests do); the first to stop leaves the tuned percentage to the other,
// and the last one puts back the percentage found before either started.
func TestGCTunersRestoreOnce(t *testing.T) {
	t.Setenv("GOGC", "") // serial: no other serve tunes meanwhile
	defer debug.SetGCPercent(debug.SetGCPercent(137))
	start := func() (stop func(), tuned int) {
		ctx, cancel := context.WithCancel(t.Context())
		set := make(chan int, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			tuneGC(ctx, 1<<30, func(p int) {
				select {
				case set <- p:
				default:
				}
			})
		}()
		return func() { cancel(); <-done }, <-set
	}
	stopA, pa := start()
	stopB, pb := start()
	if pa == 137 || pa != pb {
		t.Fatalf("tuned percentages %d and %d, want the same, not 137", pa, pb)
	}
	stopA()
	if got := readGOGC(t); got != pb {
		t.Fatalf("after the first tuner stopped: GOGC %d, want the running one's %d", got, pb)
	}
	stopB()
	if got := readGOGC(t); got != 137 {
		t.Fatalf("after both stopped: GOGC %d, want 137 back", got)
	}
}
