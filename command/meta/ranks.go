package meta

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"time"

	"github.com/metagon/metagon/dist"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/metalearn"
	"github.com/sirupsen/logrus"
)

// A run of several processes (built with -tags mpi and started by mpirun,
// srun or an MPIJob; see package dist) splits every meta-batch across them
// (metalearn.Comm) and ends with the parameters of one process, bit for
// bit. Every process reads the flags, the data and, with -resume, the
// checkpoint; rank 0 alone writes (checkpoints, metrics.json, plots),
// prints the progress bar and the log, validates and evaluates. The
// others wait for it at their next collective call.
//
// The processes stop together: each iteration they agree on whether any
// was interrupted (SIGINT, SIGTERM), and a failed meta-step fails on every
// one of them at the same iteration (metalearn.Comm). Such an ending is
// agreed: each process exits as one process would, rank 0 after saving
// what it saves. Any other failure is one process's alone (its data
// cannot be read, rank 0 cannot write its checkpoint, its validation
// diverges): that process says so, naming its rank, and aborts the whole
// job (MPI_Abort) rather than leave the others waiting. A process that
// dies (SIGKILL, out of memory) cannot say so: the launcher sees it exit
// and ends the job, naming the rank (Open MPI's mpirun within seconds;
// scripts/mpi_check.sh checks it); -mpi-timeout is the last resort for a
// launcher that would not.

// processes is the group a run belongs to: package dist's Comm.
type processes interface {
	metalearn.Comm
	// Abort ends every process of the job with status code.
	Abort(code int)
	// Finalize ends this process's part in the group.
	Finalize() error
}

// agreedError is an error every process of a run returns at the same
// point, so that none is left waiting.
type agreedError struct{ error }

func (e agreedError) Unwrap() error { return e.error }

// agreed marks err (nil stays nil) as reached by every process.
func agreed(err error) error {
	if err == nil {
		return nil
	}
	return agreedError{err}
}

// runRanked is the command as one of the processes of comm: a single
// process runs as without MPI; in a group, the ranks other than 0 write
// nothing but a failure of their own.
func runRanked(ctx context.Context, comm processes, args []string, stdout, stderr io.Writer, log *logrus.Logger) error {
	if comm.Size() <= 1 {
		err := runIn(ctx, nil, args, stdout, stderr, log)
		if ferr := comm.Finalize(); err == nil && ferr != nil {
			err = ferr
		}
		return err
	}
	rank, size := comm.Rank(), comm.Size()
	errOut := stderr
	if rank != 0 {
		stdout, stderr = io.Discard, io.Discard
		log.SetOutput(io.Discard)
	}
	err := runIn(ctx, comm, args, stdout, stderr, log)
	var ag agreedError
	if err != nil && !errors.As(err, &ag) && !errors.Is(err, cli.ErrUsage) {
		fmt.Fprintf(errOut, "meta: rank %d of %d: %v (aborting the job)\n", rank, size, err)
		comm.Abort(1)
	}
	if ferr := comm.Finalize(); err == nil && ferr != nil {
		err = fmt.Errorf("rank %d of %d: %w", rank, size, ferr)
	}
	if rank != 0 {
		// rank 0 says it: the others end quietly with its status
		os.Exit(cli.Status(err))
	}
	return err
}

// runIn is the command with comm (nil: one process).
func runIn(ctx context.Context, comm metalearn.Comm, args []string, stdout, stderr io.Writer, log *logrus.Logger) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if comm != nil && comm.Size() > 1 {
		cfg.comm = comm
		if d, ok := comm.(*dist.Comm); ok {
			d.Timeout = cfg.mpiTimeout
		}
	}
	return metaTrain(ctx, cfg, stdout, stderr, log)
}

// rank is this process's rank (0 without a group).
func (c config) rank() int {
	if c.comm == nil {
		return 0
	}
	return c.comm.Rank()
}

// ranks is the number of processes of the run.
func (c config) ranks() int {
	if c.comm == nil {
		return 1
	}
	return c.comm.Size()
}

// anyOf tells every process whether any says yes.
func anyOf(comm metalearn.Comm, yes bool) (bool, error) {
	send := []float64{0}
	if yes {
		send[0] = 1
	}
	all := make([]float64, comm.Size())
	counts := make([]int, comm.Size())
	for r := range counts {
		counts[r] = 1
	}
	if err := comm.Allgather(send, all, counts); err != nil {
		return false, err
	}
	for _, v := range all {
		if v != 0 {
			return true, nil
		}
	}
	return false, nil
}

// sameRun checks that every process starts the same run: the same
// settings and the same learner state (parameters, optimizer, iteration),
// by a hash of them. Processes that read different flags, checkpoints or
// weights would otherwise each add their own tasks' meta-gradients to a
// sum that no single run computes.
func sameRun(c config, l metalearn.Learner, start int) error {
	h := fnv.New64a()
	settings, _ := json.Marshal(c.asJSON())
	h.Write(settings)
	fmt.Fprintf(h, "%s|%d|%s|%d|%d", learnerKey(l), start, c.dtype, c.filters, c.hidden)
	var b [8]byte
	for _, v := range l.Params().Values() {
		vals := make([]float64, v.Shape().TotalSize())
		graph.ToFloat64s(vals, v)
		for _, x := range vals {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
			h.Write(b[:])
		}
	}
	st := l.Optimizer().State()
	fmt.Fprintf(h, "|%s|%d|%v", st.Kind, st.Step, st.LR)
	for _, slot := range st.Slots {
		for _, p := range slot {
			for _, x := range p {
				binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
				h.Write(b[:])
			}
		}
	}
	mine := float64(h.Sum64() >> 11) // exact in a float64
	size := c.comm.Size()
	all := make([]float64, size)
	counts := make([]int, size)
	for r := range counts {
		counts[r] = 1
	}
	if err := c.comm.Allgather([]float64{mine}, all, counts); err != nil {
		return err
	}
	for r, v := range all {
		if v != all[0] {
			return agreed(fmt.Errorf("rank %d starts another run than rank 0 (other flags, checkpoint or weights): every process needs the same files", r))
		}
	}
	return nil
}

// mpiSeconds is the time this process spent in MPI calls (package dist's
// Comm.Busy), 0 without.
func (c config) mpiSeconds() float64 {
	if b, ok := c.comm.(interface{ Busy() time.Duration }); ok {
		return b.Busy().Seconds()
	}
	return 0
}
