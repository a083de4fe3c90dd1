package graph

import (
	"runtime"
	"sync"
)

// Parallel kernels.
//
// The big memory-bound kernels (elementwise, broadcast, reduce, pooling,
// im2col, transpose, batch norm) split their work with parallelFor when a
// tensor is large enough (parallelMin elements) for a goroutine to pay off.
// Every split is over independent output elements: each output element is
// computed by exactly one worker, with the same arithmetic in the same
// order as a serial run, so results are bit-identical whatever the number
// of cores. Kernels call parallelFor only above the threshold, so small
// graphs (and the closures they would build) allocate nothing.

// parallelMin is the number of elements below which a kernel runs serially.
const parallelMin = 1 << 16

// parallelGrain is the smallest number of elements worth a worker of its own.
const parallelGrain = 1 << 15

// parallelFor splits [0, n) into contiguous chunks of at least minGrain
// items, at most one per GOMAXPROCS, and runs fn on each concurrently
// (the last chunk on the calling goroutine). It returns when all are done.
func parallelFor(n, minGrain int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/max(minGrain, 1))
	if workers < 2 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 0; w < workers-1; w++ {
		lo, hi := n*w/workers, n*(w+1)/workers
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(n*(workers-1)/workers, n)
	wg.Wait()
}

// grainFor is the number of items of the given size (in elements) that make
// up a worthwhile chunk: at least one.
func grainFor(itemSize int) int {
	return max(1, parallelGrain/max(itemSize, 1))
}

// bigEnough reports whether a kernel over n elements should run in parallel.
func bigEnough(n int) bool { return n >= parallelMin && runtime.GOMAXPROCS(0) > 1 }
