package dist

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Comm is this process's place in a job of Size processes
// (MPI_COMM_WORLD). Its methods are collective unless they say otherwise:
// every process calls them in the same order with matching arguments.
// The zero value is not usable; call Init.
type Comm struct {
	rank, size int
	// Timeout, when positive, bounds how long one call waits for the other
	// processes: past it, the process prints which call on which rank
	// waited, and aborts the job (exit status 1).
	Timeout time.Duration

	mu        sync.Mutex // serialises the calls (MPI_THREAD_SERIALIZED)
	finalized bool
	busy      atomic.Int64 // nanoseconds in MPI calls
}

// Busy is the time this process has spent in MPI calls since Init:
// transfers, and waiting for the other processes to reach the same call.
// 0 for the stand-in.
func (c *Comm) Busy() time.Duration { return time.Duration(c.busy.Load()) }

// Rank is this process's index in [0, Size).
func (c *Comm) Rank() int { return c.rank }

// Size is the number of processes in the job.
func (c *Comm) Size() int { return c.size }

// String describes the process, e.g. "rank 1 of 4".
func (c *Comm) String() string { return fmt.Sprintf("rank %d of %d", c.rank, c.size) }

// checkGather checks Allgather's arguments: a count per rank, this rank's
// count the length of send, recv long enough, counts within MPI's int.
func (c *Comm) checkGather(nsend, nrecv int, counts []int) error {
	if len(counts) != c.size {
		return fmt.Errorf("allgather on %s: %d counts for %d processes", c, len(counts), c.size)
	}
	if counts[c.rank] != nsend {
		return fmt.Errorf("allgather on %s: sends %d values, counts[%d] = %d", c, nsend, c.rank, counts[c.rank])
	}
	total := 0
	for r, n := range counts {
		if n < 0 {
			return fmt.Errorf("allgather on %s: counts[%d] = %d", c, r, n)
		}
		total += n
	}
	if total > math.MaxInt32 {
		return fmt.Errorf("allgather on %s: %d values in all, more than MPI's int counts", c, total)
	}
	if nrecv < total {
		return fmt.Errorf("allgather on %s: recv holds %d values, counts add up to %d", c, nrecv, total)
	}
	return nil
}

// checkPeer checks a rank given to Send, Recv or Bcast.
func (c *Comm) checkPeer(what string, r, n int) error {
	if r < 0 || r >= c.size {
		return fmt.Errorf("%s on %s: no rank %d", what, c, r)
	}
	if n > math.MaxInt32 {
		return fmt.Errorf("%s on %s: %d values, more than MPI's int counts", what, c, n)
	}
	return nil
}

// guard starts the watchdog of one call (Timeout) and returns its stop.
func (c *Comm) guard(what string) (stop func()) {
	if c.Timeout <= 0 || c.size <= 1 {
		return func() {}
	}
	t := time.AfterFunc(c.Timeout, func() {
		fmt.Fprintf(os.Stderr, "dist: %s: %s waited %v for the other processes; aborting the job\n", c, what, c.Timeout)
		c.abort(1)
	})
	return func() { t.Stop() }
}

// launchedSize is the number of processes an MPI launcher says it
// started (Open MPI's mpirun, or a PMI launcher: MPICH's Hydra, srun
// --mpi=pmi2), 0 when none says.
func launchedSize() int {
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"} {
		if n, err := strconv.Atoi(os.Getenv(v)); err == nil && n > 0 {
			return n
		}
	}
	return 0
}
