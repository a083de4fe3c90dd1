// Command benchmpi times meta-iterations split across MPI processes, for
// scripts/bench_mpi.sh: after -warmup iterations (graph compilation), it
// times -iterations more and prints, from rank 0, one line of
// milliseconds per iteration, the share of it the slowest rank spent in
// MPI calls (transfers, and waiting for the other ranks), and a hash of
// the meta-parameters, which must not depend on the number of processes.
// Built without -tags mpi it runs as one process.
//
//	go build -tags mpi -o /tmp/benchmpi ./internal/cmd/benchmpi
//	GOMAXPROCS=1 mpirun -np 2 /tmp/benchmpi -dataset omniglot -meta-batch 32
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/metagon/metagon/dist"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/metalearn"
)

func main() {
	algorithm := flag.String("algorithm", "maml", "learner")
	dataset := flag.String("dataset", "omniglot", "task source")
	dataDir := flag.String("data", "", "the data set's directory (default: its variable, as meta)")
	metaBatch := flag.Int("meta-batch", 32, "tasks per meta-iteration")
	warmup := flag.Int("warmup", 1, "iterations before timing (the first compiles the graphs)")
	iterations := flag.Int("iterations", 3, "timed iterations")
	flag.Parse()
	comm, err := dist.Init()
	if err != nil {
		fail(err)
	}
	if err := bench(comm, *algorithm, *dataset, *dataDir, *metaBatch, *warmup, *iterations); err != nil {
		fmt.Fprintf(os.Stderr, "benchmpi: %s: %v\n", comm, err)
		comm.Abort(1)
	}
	if err := comm.Finalize(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchmpi:", err)
	os.Exit(1)
}

func bench(comm *dist.Comm, algorithm, dataset, dataDir string, metaBatch, warmup, iterations int) error {
	le, err := metalearn.LookupLearner(algorithm)
	if err != nil {
		return err
	}
	se, err := metalearn.LookupSource(dataset)
	if err != nil {
		return err
	}
	s := metalearn.Resolve(metalearn.Settings{MetaBatch: metaBatch}, le, se, dataset)
	run := metalearn.Run{Learner: algorithm, Source: dataset, Settings: s, DataDir: dataDir,
		Split: "background", Rotations: true, Resize: "area", Workers: runtime.GOMAXPROCS(0), Seed: 1}
	if comm.Size() > 1 {
		run.Comm = comm
	}
	l, src, err := metalearn.Setup(run)
	if err != nil {
		return err
	}
	for it := range warmup {
		if _, err := l.MetaStep(src.Train(it, metaBatch)); err != nil {
			return err
		}
	}
	if err := comm.Barrier(); err != nil {
		return err
	}
	start, busy0 := time.Now(), comm.Busy()
	for it := warmup; it < warmup+iterations; it++ {
		if _, err := l.MetaStep(src.Train(it, metaBatch)); err != nil {
			return err
		}
	}
	took, busy := time.Since(start), comm.Busy()-busy0
	params := 0
	for _, v := range l.Params().Values() {
		params += v.Shape().TotalSize()
	}
	transfer, err := messages(comm, params, metaBatch)
	if err != nil {
		return err
	}
	// every rank's times, to rank 0
	all := make([]float64, 3*comm.Size())
	counts := make([]int, comm.Size())
	for r := range counts {
		counts[r] = 3
	}
	if err := comm.Allgather([]float64{took.Seconds(), busy.Seconds(), transfer.Seconds()}, all, counts); err != nil {
		return err
	}
	if comm.Rank() != 0 {
		return nil
	}
	h := fnv.New64a()
	var b [8]byte
	for _, v := range l.Params().Values() {
		vals := make([]float64, v.Shape().TotalSize())
		graph.ToFloat64s(vals, v)
		for _, x := range vals {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
			h.Write(b[:])
		}
	}
	wall, mpi, msgs := 0.0, 0.0, 0.0
	for r := range comm.Size() {
		wall, mpi, msgs = max(wall, all[3*r]), max(mpi, all[3*r+1]), max(msgs, all[3*r+2])
	}
	fmt.Printf("%s %s, meta-batch %d, %s: %d processes × GOMAXPROCS %d: %.0f ms/iteration, in MPI calls %.0f ms/iteration (%.1f%%), of which the messages alone %.2f ms; %d parameters, hash %016x\n",
		algorithm, src.Describe(), metaBatch, s.Dtype, comm.Size(), runtime.GOMAXPROCS(0),
		1000*wall/float64(iterations), 1000*mpi/float64(iterations), 100*mpi/wall, 1000*msgs, params, h.Sum64())
	return nil
}

// messages times, after a barrier (no rank waits for another's compute),
// the messages of one split meta-step: the gathers of the ranks' status
// and of 2 values per task (loss, accuracy), and the running sum of the
// meta-gradients (params float64 values) passed from rank to rank and
// broadcast by the last (metalearn.Comm). Mean of 20, 0 for one process.
func messages(comm *dist.Comm, params, tasks int) (time.Duration, error) {
	size, r := comm.Size(), comm.Rank()
	if size == 1 {
		return 0, nil
	}
	const reps = 20
	acc := make([]float64, params)
	counts := make([]int, size)
	var total time.Duration
	for range reps {
		if err := comm.Barrier(); err != nil {
			return 0, err
		}
		start := time.Now()
		for k := range counts {
			counts[k] = 1
		}
		if err := comm.Allgather([]float64{0}, make([]float64, size), counts); err != nil {
			return 0, err
		}
		for k := range counts {
			counts[k] = 2 * ((k+1)*tasks/size - k*tasks/size)
		}
		if err := comm.Allgather(make([]float64, counts[r]), make([]float64, 2*tasks), counts); err != nil {
			return 0, err
		}
		if r > 0 {
			if err := comm.Recv(acc, r-1); err != nil {
				return 0, err
			}
		}
		if r < size-1 {
			if err := comm.Send(acc, r+1); err != nil {
				return 0, err
			}
		}
		if err := comm.Bcast(acc, size-1); err != nil {
			return 0, err
		}
		total += time.Since(start)
	}
	return total / reps, nil
}
