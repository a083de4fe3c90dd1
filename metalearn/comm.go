package metalearn

import "fmt"

// Comm is a group of processes that share every meta-batch: data-parallel
// meta-training, one process per rank (package dist implements it over
// MPI). The optimization-based learners (Gradient: MAML, first-order MAML,
// Meta-SGD, ANIL; MAMLPP; Reptile) and the metric learners (Metric:
// ProtoNet, Matching Networks, Relation Networks) take it in Options.Comm
// and split each meta-batch by task index: rank r computes tasks
// [r·n/size, (r+1)·n/size) on its own worker goroutines, and every rank
// ends the meta-step with the same meta-parameters, bit for bit the ones
// one process would have. The metric learners split a meta-batch of
// episodes, not one episode: batch norm takes its statistics over all of
// an episode's images, so its queries cannot be computed apart.
//
// The reduction keeps one process's order of operations. One process sums
// the per-task meta-gradients task after task, acc = ((g₀ + g₁) + g₂) + …;
// a sum of per-rank partial sums would group them differently and round
// differently. So the sum is continued in rank order (a left fold): rank 0
// adds its tasks to zeros and sends the running sum to rank 1, which adds
// its tasks and sends it on; the last rank broadcasts the total. Each
// process sends and receives one parameter vector per meta-step whatever
// the batch size; the hops are sequential, but each only adds vectors the
// ranks have already computed. The per-task losses, accuracies and
// per-step batch-norm statistics (a few numbers per task) are gathered to
// every rank in rank order, which is task order.
//
// Every call is collective: each rank must call it with the same
// arguments but its own send buffer. All lengths are in float64 values.
type Comm interface {
	// Rank is this process's index in [0, Size).
	Rank() int
	// Size is the number of processes.
	Size() int
	// Allgather writes the concatenation of every rank's send, in rank
	// order, to recv; counts[r] is the length of rank r's send.
	Allgather(send, recv []float64, counts []int) error
	// Send sends buf to rank to; Recv receives from rank from into buf,
	// which must have the length sent.
	Send(buf []float64, to int) error
	Recv(buf []float64, from int) error
	// Bcast copies root's buf into every other rank's buf.
	Bcast(buf []float64, root int) error
}

// Splitter is a Learner whose MetaStep splits the meta-batch across
// Options.Comm's processes (the optimization-based and the metric
// learners). Setup refuses a Comm of more than one process for a learner
// that is not one (CNP and MANN run a meta-batch as one graph, whose sums
// a split would regroup): a replicated run would gain nothing.
type Splitter interface {
	SplitsMetaBatch() bool
}

// SplitsMetaBatch reports that the optimization-based learners split their
// meta-batch across Options.Comm (see Comm).
func (e *engine) SplitsMetaBatch() bool { return true }

// taskShare is this process's part of a meta-batch of n tasks: the tasks
// [lo, hi) it computes, and the group it shares the rest with (nil: one
// process, which computes them all).
type taskShare struct {
	comm   Comm
	n      int
	lo, hi int
}

// shareOf splits n tasks across c's ranks by task index, each rank a
// contiguous block (sizes differ by at most one).
func shareOf(c Comm, n int) (taskShare, error) {
	if c == nil || c.Size() <= 1 {
		return taskShare{n: n, hi: n}, nil
	}
	size, r := c.Size(), c.Rank()
	if n < size {
		return taskShare{}, fmt.Errorf("a meta-batch of %d tasks across %d processes: want at least one task per process", n, size)
	}
	return taskShare{comm: c, n: n, lo: r * n / size, hi: (r + 1) * n / size}, nil
}

// split reports whether the tasks are shared with other processes.
func (s taskShare) split() bool { return s.comm != nil }

// agree tells every rank whether any failed to compute its tasks: failed
// is this rank's error, if any. It returns an error on every rank when one
// failed (naming the rank), so that they all stop at the same meta-step.
func (s taskShare) agree(failed error) error {
	if !s.split() {
		return failed
	}
	ranks := s.comm.Size()
	status := make([]float64, ranks)
	send := []float64{0}
	if failed != nil {
		send[0] = 1
	}
	counts := make([]int, ranks)
	for r := range counts {
		counts[r] = 1
	}
	if err := s.comm.Allgather(send, status, counts); err != nil {
		return fmt.Errorf("rank %d: gather the ranks' status: %w", s.comm.Rank(), err)
	}
	if failed != nil {
		return fmt.Errorf("rank %d of %d: %w", s.comm.Rank(), ranks, failed)
	}
	for r, st := range status {
		if st != 0 {
			return fmt.Errorf("rank %d of %d failed on its tasks of the meta-batch (its error is in its log)", r, ranks)
		}
	}
	return nil
}

// exchange gives every rank the per-task records of every task: rec(i,
// out) writes task i's for this rank's tasks, put(i, in) reads those of
// every other rank's. Each record has size values, the same on every
// rank.
func (s taskShare) exchange(size int, rec func(i int, out []float64), put func(i int, in []float64)) error {
	if !s.split() {
		return nil
	}
	ranks := s.comm.Size()
	counts := make([]int, ranks)
	for r := range ranks {
		counts[r] = ((r+1)*s.n/ranks - r*s.n/ranks) * size
	}
	send := make([]float64, counts[s.comm.Rank()])
	for i := s.lo; i < s.hi; i++ {
		rec(i, send[(i-s.lo)*size:(i-s.lo+1)*size])
	}
	recv := make([]float64, s.n*size)
	if err := s.comm.Allgather(send, recv, counts); err != nil {
		return fmt.Errorf("rank %d: gather the tasks' results: %w", s.comm.Rank(), err)
	}
	for i := 0; i < s.n; i++ { // rank order is task order
		if i < s.lo || i >= s.hi {
			put(i, recv[i*size:(i+1)*size])
		}
	}
	return nil
}

// results tells every rank whether any failed to compute its tasks
// (agree; failed is this rank's error) and then gives every rank the
// query loss and accuracy of every task (exchange).
func (s taskShare) results(failed error, losses, accs []float64) error {
	if err := s.agree(failed); err != nil {
		return err
	}
	return s.exchange(2, func(i int, out []float64) { out[0], out[1] = losses[i], accs[i] },
		func(i int, in []float64) { losses[i], accs[i] = in[0], in[1] })
}

// fold continues acc, a left fold over the meta-batch's tasks, with every
// task in task order: add(acc, i) for i = 0, 1, …, n−1, each by the rank
// that computed task i, acc passing from rank to rank (see Comm). acc
// holds rank 0's starting value; on return every rank holds the result.
func (s taskShare) fold(acc []float64, add func(acc []float64, i int)) error {
	if !s.split() {
		for i := 0; i < s.n; i++ {
			add(acc, i)
		}
		return nil
	}
	r, size := s.comm.Rank(), s.comm.Size()
	if r > 0 {
		if err := s.comm.Recv(acc, r-1); err != nil {
			return fmt.Errorf("rank %d: receive the running sum from rank %d: %w", r, r-1, err)
		}
	}
	for i := s.lo; i < s.hi; i++ {
		add(acc, i)
	}
	if r < size-1 {
		if err := s.comm.Send(acc, r+1); err != nil {
			return fmt.Errorf("rank %d: send the running sum to rank %d: %w", r, r+1, err)
		}
	}
	if err := s.comm.Bcast(acc, size-1); err != nil {
		return fmt.Errorf("rank %d: broadcast the sum: %w", r, err)
	}
	return nil
}
