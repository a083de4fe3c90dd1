// Package meta is the meta command, importable: cmd/meta is its main, and a
// program that registers learners, task sources or models of its own (see
// metalearn.Register, metalearn.RegisterSource, models.Register) and then
// calls Main gets the same command with those added:
//
//	import (
//		"github.com/metagon/metagon/command/meta"
//		_ "example.com/mylearners" // registers in init
//	)
//
//	func main() { meta.Main() }
//
// The command meta-trains and evaluates few-shot learners.
//
// With no flags it meta-trains second-order MAML on 10-shot sinusoid
// regression (Finn et al. 2017, §5.1; no data needed) for about two minutes
// on two cores, prints the evaluation table (query MSE after 0–10 inner
// steps on 600 fresh tasks, mean ± 95% CI), and writes a learning curve,
// the paper's Fig. 2 fits and a JSON file of the run's metrics to -out.
//
//	go run ./cmd/meta
//	go run ./cmd/meta -algorithm reptile -iterations 20000
//	go run ./cmd/meta -algorithm maml -iterations 70000 -checkpoint maml.ckpt
//	go run ./cmd/meta -eval -checkpoint maml.ckpt
//
// -lr-schedule replaces the learner's schedule of its outer learning rate
// (ProtoNet's halving, Reptile's linear ε, MAML++'s cosine) with one of
// graph.ParseSchedule's, by meta-iteration (by episode for the metric
// learners); -clip-norm clips the meta-gradient's global norm; -early-stop
// P stops after P validations without improvement and evaluates the best
// learner, kept in CHECKPOINT.best. The checkpoint records all three and
// -outer-lr, so -resume goes on with the same rates.
package meta

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/metagon/metagon/dist"
	"github.com/metagon/metagon/internal/cli"
	"github.com/sirupsen/logrus"
)

// Main runs the command on os.Args and exits (see cli.Main). Built with
// -tags mpi and started as several processes (mpirun, srun, an MPIJob),
// it meta-trains as one job split across them (see package dist and
// ranks.go).
func Main() {
	comm, err := dist.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, "meta:", err)
		os.Exit(1)
	}
	cli.Main("meta", func(ctx context.Context, args []string, stdout, stderr io.Writer, log *logrus.Logger) error {
		return runRanked(ctx, comm, args, stdout, stderr, log)
	})
}

// Run is the whole command: it parses args and runs, writing results to
// stdout and progress to stderr, and stops early (saving its state) when
// ctx is cancelled.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, log *logrus.Logger) error {
	return run(ctx, args, stdout, stderr, log)
}

// run is the whole command as one process, separated from Main so tests
// can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, log *logrus.Logger) error {
	return runIn(ctx, nil, args, stdout, stderr, log)
}
