// Command throughput measures how fast the registered image classifiers
// train on MNIST at several batch sizes in float64 and float32, and how
// accurate one epoch leaves them: the table and figure of docs/FAQ.md,
// "How do I make training faster?" (scripts/faq_speed.sh).
//
//	GOMAXPROCS=1 go run ./internal/cmd/throughput -model mlp=30000 -model conv4=2560 -out docs/faq_speed.png
//
// For each model (-model NAME=EXAMPLES: the registered model and the
// training examples of its epoch, the first ones of MNIST's training
// split), each -dtypes and each -batches, it trains a fresh model (seed
// 1) for one epoch with -optimizer at the model's default learning rate,
// as cmd/train does, and then evaluates it on the first -test test
// images. Throughput is the batch size divided by the median CPU time
// (user and system, all threads) of the epoch's full-size steps but the
// first (the step that builds and compiles the graph): on a machine shared
// with other work, CPU time is far steadier than the wall clock, and the
// median leaves out the steps other processes' interruptions slowed down.
// The wall-clock rate over the same steps is printed beside it. With
// GOMAXPROCS=1 the two agree on an idle machine.
//
// The table goes to stdout as Markdown; the figure (-out) has the batch
// size on x and examples per CPU-second on y, both logarithmic, a colour
// per model, solid for float64 and dashed for float32.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/internal/plots"
	"github.com/metagon/metagon/internal/stats"
	"github.com/metagon/metagon/models"
	"github.com/sirupsen/logrus"
	"gorgonia.org/tensor"
)

func main() { cli.Main("throughput", run) }

// modelRun is a -model: a registered model and its epoch's examples.
type modelRun struct {
	name     string
	examples int
}

// config is the parsed command line.
type config struct {
	models    []modelRun
	batches   []int
	dtypes    []tensor.Dtype
	optimizer string
	lr        float64
	test      int
	dataDir   string
	out       string
	overwrite bool
}

// result is one measurement: a row of the table.
type result struct {
	model, dtype string
	batch        int
	cpu          []float64 // CPU seconds of each timed step
	wall         float64   // wall-clock seconds of the timed steps
	acc          float64   // test accuracy after the epoch
}

// perCPU is the batch size over the median CPU time of a step.
func (r result) perCPU() float64 {
	return float64(r.batch) / stats.Median(r.cpu)
}

// perWall is the examples of the timed steps over their wall-clock time.
func (r result) perWall() float64 { return float64(r.batch*len(r.cpu)) / r.wall }

func run(ctx context.Context, args []string, stdout, stderr io.Writer, log *logrus.Logger) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if c.out != "" {
		if err := cli.CheckFile("out", c.out, c.overwrite, "add -overwrite to replace it"); err != nil {
			return err
		}
	}
	dir, err := data.FindMNISTDir(c.dataDir)
	if err != nil {
		return err
	}
	train, err := data.LoadMNIST(dir, "train")
	if err != nil {
		return err
	}
	test, err := data.LoadMNIST(dir, "t10k")
	if err != nil {
		return err
	}
	for _, m := range c.models {
		if m.examples > train.Len() {
			return cli.Usagef("-model %s=%d: MNIST has %d training examples", m.name, m.examples, train.Len())
		}
	}
	testSet := firstN{test, min(c.test, test.Len())}
	fmt.Fprintln(stdout, "| model | dtype | batch | examples/CPU-s | examples/s (wall) | steps | test accuracy after 1 epoch |")
	fmt.Fprintln(stdout, "|---|---|---:|---:|---:|---:|---:|")
	var results []result
	for _, m := range c.models {
		for _, dt := range c.dtypes {
			for _, batch := range c.batches {
				if ctx.Err() != nil {
					return fmt.Errorf("interrupted")
				}
				r, err := measure(m, dt, batch, c, train, testSet)
				if err != nil {
					return err
				}
				log.Debugf("%+v", r)
				results = append(results, r)
				steps := (m.examples + batch - 1) / batch
				fmt.Fprintf(stdout, "| %s | %s | %d | %.0f | %.0f | %d | %.1f%% |\n", r.model, r.dtype, batch, r.perCPU(), r.perWall(), steps, 100*r.acc)
			}
		}
	}
	if c.out == "" {
		return nil
	}
	return plot(c, results)
}

// parseFlags parses and checks the command line.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("throughput", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Func("model", "NAME=EXAMPLES: a registered image classifier (seed, mlp, conv4) and the training examples of its epoch; repeat for several", func(v string) error {
		name, n, ok := strings.Cut(v, "=")
		examples, err := strconv.Atoi(n)
		if !ok || err != nil || examples < 1 {
			return fmt.Errorf("want NAME=EXAMPLES, e.g. mlp=30000")
		}
		if _, err := models.New(name, models.Spec{}); err != nil {
			return err
		}
		c.models = append(c.models, modelRun{name, examples})
		return nil
	})
	cli.IntList(fs, "batches", "batch sizes, comma-separated (default 10,32,128,512)", &c.batches)
	dtypes := fs.String("dtypes", "float64,float32", "element types, comma-separated")
	fs.StringVar(&c.optimizer, "optimizer", "adam", "sgd, momentum or adam")
	fs.Float64Var(&c.lr, "lr", 1e-3, "learning rate")
	fs.IntVar(&c.test, "test", 2000, "test images the accuracy is measured on (the first ones)")
	fs.StringVar(&c.dataDir, "data", "", "MNIST's directory (default $MNIST_DIR, as cmd/train)")
	fs.StringVar(&c.out, "out", "", "the figure to write (PNG; empty: the table only)")
	fs.BoolVar(&c.overwrite, "overwrite", false, "replace -out if it exists")
	if err := cli.Parse(fs, args); err != nil {
		return c, err
	}
	if len(c.models) == 0 {
		return c, cli.Usagef("no -model: want -model NAME=EXAMPLES, e.g. -model mlp=30000")
	}
	if len(c.batches) == 0 {
		c.batches = []int{10, 32, 128, 512}
	}
	for _, d := range strings.Split(*dtypes, ",") {
		switch d {
		case "float64":
			c.dtypes = append(c.dtypes, tensor.Float64)
		case "float32":
			c.dtypes = append(c.dtypes, tensor.Float32)
		default:
			return c, cli.Usagef("-dtypes: %q, want float64 or float32", d)
		}
	}
	if _, err := graph.NewOptimizer(c.optimizer, c.lr); err != nil {
		return c, cli.Usagef("-optimizer: %v", err)
	}
	if c.test < 1 {
		return c, cli.Usagef("-test %d: want at least 1 test image", c.test)
	}
	return c, nil
}

// measure trains a fresh model m for one epoch in dt with batches of
// batch and returns its throughput and test accuracy.
func measure(m modelRun, dt tensor.Dtype, batch int, c config, train *data.MNIST, test firstN) (result, error) {
	r := result{model: m.name, dtype: dt.Name(), batch: batch}
	model, err := models.New(m.name, models.Spec{})
	if err != nil {
		return r, err
	}
	opt, err := graph.NewOptimizer(c.optimizer, c.lr)
	if err != nil {
		return r, err
	}
	tr, err := models.NewTrainer(model, opt, models.TrainerOptions{Dtype: dt, Seed: 1})
	if err != nil {
		return r, err
	}
	in := graph.Size(model.InputShape())
	x, labels := make([]float64, batch*in), make([]float64, batch)
	compiled := false // the graph of full batches is built
	for _, idx := range data.NewBatcher(m.examples, batch, 1).Batches(0) {
		n := len(idx)
		train.FillBatch(idx, x[:n*in], labels[:n])
		cpu0, wall0 := cpuSeconds(), time.Now()
		if _, err := tr.Step(x[:n*in], labels[:n]); err != nil {
			return r, fmt.Errorf("%s %s batch %d: %w", m.name, r.dtype, batch, err)
		}
		if n == batch && compiled {
			r.cpu = append(r.cpu, cpuSeconds()-cpu0)
			r.wall += time.Since(wall0).Seconds()
		}
		compiled = compiled || n == batch
	}
	if len(r.cpu) == 0 {
		return r, cli.Usagef("-model %s=%d: batch %d leaves no step to time after the first; give more examples", m.name, m.examples, batch)
	}
	r.acc, err = tr.Accuracy(test, 1000)
	return r, err
}

// firstN is the first n examples of a data set.
type firstN struct {
	*data.MNIST
	n int
}

// Len returns n.
func (f firstN) Len() int { return f.n }

// plot draws examples per CPU-second against the batch size.
func plot(c config, results []result) error {
	var series []plots.Series
	for _, m := range c.models {
		for i, dt := range c.dtypes {
			s := plots.Series{Label: m.name + " " + dt.Name(), Dashed: dt == tensor.Float32, SameColor: i > 0}
			for _, r := range results {
				if r.model == m.name && r.dtype == dt.Name() {
					s.X = append(s.X, float64(r.batch))
					s.Y = append(s.Y, r.perCPU())
				}
			}
			series = append(series, s)
		}
	}
	title := fmt.Sprintf("Training throughput on MNIST: one epoch, %s lr %g, GOMAXPROCS=%d\nsolid: float64, dashed: float32; examples per second of CPU time",
		c.optimizer, c.lr, runtime.GOMAXPROCS(0))
	return plots.LearningCurve(c.out, plots.CurveOptions{Title: title, XLabel: "batch size",
		YLabel: "training examples per CPU-second", LogX: true, LogY: true}, series...)
}
