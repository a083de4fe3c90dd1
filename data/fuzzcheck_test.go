package data

import (
	"fmt"
	"maps"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"
)

// What the fuzz targets allow a reader: fuzzTimeout to return (a reader
// that takes longer hangs), and fuzzAllocSlack bytes of heap beyond what
// the input's size justifies (buffers of fixed size, a gzip or zip reader's
// state).
const (
	fuzzTimeout    = 10 * time.Second
	fuzzAllocSlack = 1 << 20
)

// addSeeds adds the seeds to f's corpus, in the order of their names so
// that seed#N names the same seed in every run.
func addSeeds(f *testing.F, seeds map[string][]byte, args ...any) {
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		f.Add(append([]any{seeds[name]}, args...)...)
	}
}

// checkBounded runs fn, fails t if fn panics, runs longer than fuzzTimeout
// or allocates more than limit heap bytes, and returns fn's error, which
// must then be one line naming what was wrong. The allocation is first
// counted cheaply (runtime/metrics, which counts small objects lazily);
// only when that count is over limit is fn run again and counted exactly
// (runtime.ReadMemStats, which stops the world), so that a fuzz run stays
// fast and a failure is never a miscount.
func checkBounded(t testing.TB, what string, limit uint64, fn func() error) error {
	t.Helper()
	allocated, err := runBounded(t, what, fn, approxAllocated)
	if allocated > limit {
		allocated, _ = runBounded(t, what, fn, exactAllocated)
		if allocated > limit {
			t.Fatalf("%s allocated %d bytes, more than the %d bytes its input justifies", what, allocated, limit)
		}
	}
	if err != nil {
		if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
			t.Fatalf("%s: error %q is not one line", what, msg)
		}
	}
	return err
}

// runBounded runs fn on its own goroutine, counting the heap bytes it
// allocates with allocated, and fails t if fn panics or hangs.
func runBounded(t testing.TB, what string, fn func() error, allocated func() uint64) (uint64, error) {
	t.Helper()
	type result struct {
		err       error
		allocated uint64
		panicked  string
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.panicked = fmt.Sprintf("%v\n%s", p, debug.Stack())
			}
			done <- r
		}()
		before := allocated()
		r.err = fn()
		r.allocated = allocated() - before
	}()
	select {
	case r := <-done:
		if r.panicked != "" {
			t.Fatalf("%s panicked: %s", what, r.panicked)
		}
		return r.allocated, r.err
	case <-time.After(fuzzTimeout):
		t.Fatalf("%s did not return within %v", what, fuzzTimeout)
		return 0, nil
	}
}

// approxAllocated returns the heap bytes allocated so far, as of the last
// refill of each P's allocation cache for small objects; large ones are
// counted at once.
func approxAllocated() uint64 {
	s := [1]metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s[:])
	return s[0].Value.Uint64()
}

// exactAllocated returns the heap bytes allocated so far.
func exactAllocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}
