package main

import (
	"context"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"sync"
	"time"
)

// serve's garbage collector pacing (--gc-headroom, README "Running serve
// in production"). A forward-auth server has a small live heap (about
// 1 MiB with a few issuers) and allocates a few KiB per check, most of it
// in net/http. With Go's default (GOGC=100, a heap goal of twice the live
// heap but at least 4 MiB) it collects every 2–3 MiB, several hundred
// checks, and pays for marking the whole heap each time. serve keeps
// Go's default for large heaps but never lets the goal come closer than
// the headroom to the live heap: the goal is max(2 × live, live +
// headroom). With the default 16 MiB that is one collection per few
// thousand checks and at most 16 MiB more heap; with 100,000 issuers
// (about 135 MiB live) it is exactly Go's default.

// gcMinimumHeap is the runtime's floor on the heap goal at GOGC=100; the
// floor scales with GOGC (runtime/mgcpacer.go, heapMinimum).
const gcMinimumHeap = 4 << 20

// gcTuneEvery is how often the live heap is read and the pacing adjusted.
const gcTuneEvery = time.Second

// gcPercentFor is the GOGC percentage that puts the heap goal at
// max(2 × live, live + headroom) for a live heap of live bytes: never
// below Go's default of 100, and low enough that the runtime's floor
// (gcMinimumHeap × percent/100) does not lift the goal above that.
func gcPercentFor(live, headroom uint64) int {
	goal := max(2*live, live+headroom)
	p := 100 * goal / gcMinimumHeap // where the floor reaches the goal
	if live > 0 {
		p = min(p, 100*goal/live-100) // where live × (1 + p/100) does
	}
	return int(max(p, 100))
}

// gcTuning returns the headroom in bytes that --gc-headroom (MiB) asks
// for, or 0 when the pacing is left to Go: the flag is 0, or the GOGC
// environment variable is set (an operator's explicit choice wins).
func gcTuning(headroomMiB int, getenv func(string) string) uint64 {
	if headroomMiB <= 0 || getenv("GOGC") != "" {
		return 0
	}
	return uint64(headroomMiB) << 20
}

// gcTuners is what the serves of this process that tune the GC share. The
// percentage is process-wide: the first tuner to start keeps the
// percentage it found, the last one to stop puts it back, and every Set
// happens under mu, so no tuner overwrites that restore (tests run many
// serves in one process; in production there is one).
var gcTuners struct {
	mu      sync.Mutex
	running int
	initial int
}

// setGCPercent sets the GC percentage as a tuner; first marks a tuner's
// first setting, which registers it.
func setGCPercent(p int, first bool) {
	gcTuners.mu.Lock()
	defer gcTuners.mu.Unlock()
	old := debug.SetGCPercent(p)
	if first {
		if gcTuners.running == 0 {
			gcTuners.initial = old
		}
		gcTuners.running++
	}
}

// stopGCTuner unregisters a tuner; the last one restores the percentage
// the first one found.
func stopGCTuner() {
	gcTuners.mu.Lock()
	defer gcTuners.mu.Unlock()
	if gcTuners.running--; gcTuners.running == 0 {
		debug.SetGCPercent(gcTuners.initial)
	}
}

// tuneGC sets the GC percentage from the live heap now and every
// gcTuneEvery until ctx ends, then, as the last tuner of the process,
// restores the percentage it found. tuned, when not nil, gets each
// percentage set (tests).
func tuneGC(ctx context.Context, headroom uint64, tuned func(percent int)) {
	sample := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(gcTuneEvery)
	defer t.Stop()
	last := -1
	defer func() {
		if last >= 0 {
			stopGCTuner()
		}
	}()
	for {
		rtmetrics.Read(sample)
		var live uint64
		if sample[0].Value.Kind() == rtmetrics.KindUint64 {
			live = sample[0].Value.Uint64()
		}
		if p := gcPercentFor(live, headroom); p != last {
			setGCPercent(p, last < 0)
			last = p
			if tuned != nil {
				tuned(p)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
