package meta

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/metalearn"
	"github.com/metagon/metagon/models"
)

// config is the parsed command line. Zero values of the numeric flags mean
// "the default for this dataset and algorithm" (see defaults).
type config struct {
	algorithm   string
	dataset     string
	shots       int
	trainShots  int
	queries     int
	ways        int
	trainWays   int
	evalQueries int
	metaBatch   int
	innerSteps  int
	evalSteps   int
	innerLR     float64
	outerLR     float64
	innerAdam   bool
	freshAdam   bool
	innerBatch  int
	scale       float64
	zeroHead    bool
	iterations  int
	seed        uint64
	workers     int
	firstOrder  bool
	// bnEval is -bn-eval: "running" evaluates with per-step running
	// statistics; "" or "batch" with each batch's own.
	bnEval     string
	without    []string
	out        string
	checkpoint string
	ckptEvery  int
	resume     bool
	overwrite  bool
	evalOnly   bool
	evalTasks  int
	evalEvery  int
	dtype      string
	noPlots    bool
	init       string
	split      string
	dataDir    string
	rotations  bool
	resize     string
	model      string
	filters    int
	hidden     []int
	torch      cli.TorchFlags
	mpiTimeout time.Duration
	grid       string
	trial      int
	trialLine  string // the grid's line the trial adds
	essentials        // -lr-schedule, -clip-norm, -early-stop

	// es is -early-stop's record of the validations while training; nil
	// without -early-stop.
	es *earlyStop

	// comm is the group of processes the run is split across (see
	// ranks.go); nil for one process.
	comm metalearn.Comm

	// ck is -checkpoint as read while parsing (-resume, -eval), so that
	// the file is read once; nil if it could not be read.
	ck *graph.Checkpoint

	// learner and source are the registered learner and task source.
	learner metalearn.LearnerEntry
	source  metalearn.SourceEntry
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	return parseArgs(args, stderr, false)
}

// parseArgs parses args; unless expanded, -grid's trial is added to them
// first (see grid.go).
func parseArgs(args []string, stderr io.Writer, expanded bool) (config, error) {
	var c config
	fs := flag.NewFlagSet("meta", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.algorithm, "algorithm", "maml", "meta-learner: "+strings.Join(metalearn.Learners(), ", "))
	fs.StringVar(&c.dataset, "dataset", "sinusoid", "task source: "+strings.Join(metalearn.Sources(), ", ")+" (sinusoid and gp need no data)")
	fs.IntVar(&c.shots, "shots", 0, "K: support examples per task (sinusoid) or per class (omniglot; for mann, the presentations of each class in its sequence), the most context points (gp); 0: 10, 1 or 9, 10 for mann")
	fs.IntVar(&c.trainShots, "train-shots", 0, "support examples per class (omniglot) or per task (sinusoid) in meta-training; 0: -shots, or 10 for reptile on omniglot (Nichol et al.)")
	fs.IntVar(&c.queries, "queries", 0, "query examples per task (sinusoid) or per class in training episodes (omniglot), the most further targets in training (gp); 0: the default (19 for relationnet on omniglot, 9 on gp)")
	fs.IntVar(&c.ways, "ways", 0, "classification sources: classes per evaluation episode (0: 5)")
	fs.IntVar(&c.trainWays, "train-ways", 0, "omniglot: classes per training episode (0: -ways, or 60 for protonet)")
	fs.IntVar(&c.evalQueries, "eval-queries", 0, "query examples per class at evaluation (0: 15 on omniglot, -queries on sinusoid)")
	fs.IntVar(&c.metaBatch, "meta-batch", 0, "tasks per meta-update (0: 25 sinusoid, 32 omniglot, 64 cnp, 1 protonet, matchingnet and relationnet, 5 reptile on omniglot, 16 mann, 8 mamlpp on omniglot); transfer: images per pre-training batch (0: 64)")
	fs.IntVar(&c.innerSteps, "inner-steps", 0, "inner-loop steps in meta-training (0: 1, or 5 for reptile and mamlpp)")
	fs.IntVar(&c.evalSteps, "eval-steps", 0, "inner steps at evaluation; the table reports 0, 1 and this (default: 10, or 50 for reptile on omniglot, 5 for mamlpp, 100 for transfer (steps fitting its new head); 0 for learners without an inner loop)")
	fs.Float64Var(&c.innerLR, "inner-lr", 0, "inner learning rate α (0: 0.01 sinusoid, 0.4 omniglot, 0.001 Adam for reptile on omniglot; mamlpp: where its learned rates start, 0.1 on omniglot; transfer: its new head's Adam rate, 0.01)")
	fs.Float64Var(&c.outerLR, "outer-lr", 0, "outer learning rate (0: Adam 1e-3, 1e-4 for cnp, or Reptile's ε: 0.1 sinusoid, 1 omniglot)")
	fs.BoolVar(&c.innerAdam, "inner-adam", false, "reptile: inner loop with Adam (β₁ = 0) instead of SGD (default on omniglot)")
	fs.BoolVar(&c.freshAdam, "fresh-adam", false, "reptile with -inner-adam: start every task with a fresh Adam instead of carrying its moments from task to task (Nichol et al. carry them)")
	fs.Float64Var(&c.scale, "scale", 0, "matchingnet: factor on the cosine similarities in the attention softmax (0: 1, the paper's)")
	fs.IntVar(&c.innerBatch, "inner-batch", 0, "reptile: support examples per inner step, shuffled (0: 10 on omniglot, as Nichol et al.; else the whole support set)")
	fs.BoolVar(&c.zeroHead, "zero-head", false, "omniglot, gradient-based learners: start every task from a zero classifier head (zeroing trick, Kao et al. 2022)")
	fs.IntVar(&c.iterations, "iterations", 0, "meta-iterations (episodes for protonet and the other metric learners, pre-training batches for transfer); default 40000 sinusoid, 2000 omniglot, 200000 cnp, 50000 mamlpp on omniglot, 6000 transfer on omniglot; 0 evaluates the initial (or -import-torch) weights")
	fs.IntVar(&c.iterations, "episodes", 0, "alias of -iterations")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed (initialisation and task streams)")
	fs.IntVar(&c.workers, "workers", 0, "worker goroutines (0: one per CPU); results do not depend on it")
	fs.DurationVar(&c.mpiTimeout, "mpi-timeout", 30*time.Minute, "built with -tags mpi, run as several processes: how long a process waits for the others in one MPI call before it aborts the job, naming its rank (0: no limit); rank 0's validations and checkpoints count")
	fs.BoolVar(&c.firstOrder, "first-order", false, "maml, anil: drop second-order terms (fomaml, foanil)")
	fs.Func("bn-eval", "mamlpp: how batch norm normalises in evaluation and validation: batch (each batch with its own statistics, as in meta-training and the paper's code; the default) or running (with the per-step running statistics, BNRS as the paper describes)", func(v string) error {
		if v != "batch" && v != "running" {
			return fmt.Errorf("want batch or running")
		}
		c.bnEval = v
		return nil
	})
	fs.Func("without", "switches of the learner to turn off, comma-separated, for ablations (mamlpp: msl, da, bnwb, bnrs, lslr, ca; see -help's learner list)", func(v string) error {
		c.without = nil
		for _, w := range strings.Split(v, ",") {
			if w = strings.TrimSpace(w); w != "" && !slices.Contains(c.without, w) {
				c.without = append(c.without, w)
			}
		}
		return nil
	})
	fs.StringVar(&c.out, "out", "runs/meta", "output directory for metrics.json and plots")
	fs.StringVar(&c.checkpoint, "checkpoint", "", "checkpoint file, written atomically every -checkpoint-every iterations, at the end and on Ctrl-C or SIGTERM")
	fs.IntVar(&c.ckptEvery, "checkpoint-every", 0, "iterations between checkpoints (0: 5000 sinusoid and gp, 200 omniglot)")
	fs.BoolVar(&c.resume, "resume", false, "continue meta-training from -checkpoint (reptile anneals ε over -iterations: a different -iterations changes the rest of its schedule)")
	fs.BoolVar(&c.overwrite, "overwrite", false, "start a fresh run even if -checkpoint exists, replacing it")
	fs.BoolVar(&c.evalOnly, "eval", false, "only evaluate the learner in -checkpoint, writing eval.json and eval_*.png to -out (the training run's metrics.json and plots are left alone)")
	fs.IntVar(&c.evalTasks, "eval-tasks", 600, "held-out tasks (episodes) for the final evaluation")
	fs.IntVar(&c.evalTasks, "eval-episodes", 600, "alias of -eval-tasks")
	fs.IntVar(&c.evalEvery, "eval-every", 0, "iterations between validations (0: 10 per run)")
	fs.StringVar(&c.dtype, "dtype", "", "element type: float64 or float32 (empty: float64 sinusoid, float32 omniglot, cifar-fs, fc100, mini-imagenet)")
	fs.BoolVar(&c.noPlots, "no-plots", false, "do not write PNG plots")
	fs.StringVar(&c.model, "model", "", "network: "+strings.Join(models.Names(), ", ")+" (empty: the learner's or the task source's, conv4 for omniglot, cifar-fs, fc100 and mini-imagenet, sinusoid-mlp for sinusoid, cnp for -algorithm cnp, mann for -algorithm mann)")
	c.torch.Register(fs)
	fs.IntVar(&c.filters, "filters", 0, "convolutional models: filters per layer (0: the model's, 64 for conv4)")
	cli.IntList(fs, "hidden", "MLPs: hidden layer widths, comma-separated, e.g. 40,40; cnp: the encoder's widths, the decoder taking two hidden layers of the last; mann: its LSTM controller's units (default: the model's, 200 for mann)", &c.hidden)
	fs.StringVar(&c.init, "init", "", "sinusoid weight initialisation: finn (truncated normal 0.01) or torch (U(±1/√fan-in)); empty: finn, or torch for reptile")
	fs.StringVar(&c.split, "split", "background", "omniglot split: background (Lake: background/evaluation sets) or vinyals (1200/423 characters)")
	fs.StringVar(&c.dataDir, "data", "", "directory of the data set's files: omniglot's images_background.zip and images_evaluation.zip (default $OMNIGLOT_DIR); cifar-fs and fc100: cifar-100-binary.tar.gz (default $CIFAR_DIR); mini-imagenet: train.csv, val.csv, test.csv and images/ (default $MINIIMAGENET_DIR)")
	fs.BoolVar(&c.rotations, "rotations", true, "omniglot: classes ×4 by 90° rotations (Vinyals et al.)")
	fs.StringVar(&c.resize, "resize", "area", "omniglot: 105→28 resize filter, area (area average) or lanczos (Pillow's LANCZOS, as the PyTorch peers)")
	c.essentials.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: meta [flags]\n\nMeta-trains and evaluates a few-shot learner.\n\nLearners (-algorithm):\n")
		// names in a column as wide as the longest
		width := 0
		for _, n := range append(metalearn.Learners(), metalearn.Sources()...) {
			width = max(width, len(n))
		}
		for _, n := range metalearn.Learners() {
			e, _ := metalearn.LookupLearner(n)
			fmt.Fprintf(stderr, "  %-*s %s\n", width, n, e.Summary)
			for _, sw := range e.Switches {
				fmt.Fprintf(stderr, "  %-*s   -without %s: %s\n", width, "", sw.Name, sw.Summary)
			}
		}
		fmt.Fprintf(stderr, "\nTask sources (-dataset):\n")
		for _, n := range metalearn.Sources() {
			e, _ := metalearn.LookupSource(n)
			fmt.Fprintf(stderr, "  %-*s %s\n", width, n, e.Summary)
		}
		fmt.Fprintf(stderr, "\nModels (-model): %s\n\nFlags:\n", strings.Join(models.Names(), ", "))
		fs.PrintDefaults()
	}
	fs.StringVar(&c.grid, "grid", "", "a sweep: a file of one trial per line, each line more flags for the run (blank lines and # comments skipped); -trial-index picks the trial, and {trial} in any flag's value becomes its index")
	fs.IntVar(&c.trial, "trial-index", -1, "with -grid: the trial to run, from 0 (default: $SLURM_ARRAY_TASK_ID of a Slurm job array, else $JOB_COMPLETION_INDEX of a Kubernetes indexed Job)")
	if err := cli.Parse(fs, args); err != nil {
		return c, err
	}
	set := cli.Set(fs)
	if !expanded && (c.grid != "" || set["trial-index"]) {
		more, line, err := c.trialArgs(args, set["trial-index"])
		if err != nil {
			return c, cli.AsUsage(err)
		}
		c, err := parseArgs(more, stderr, true)
		c.trialLine = line
		return c, err
	}
	if c.resume || c.evalOnly {
		c.fromCheckpoint(set)
	}
	if set["eval-steps"] && c.evalSteps < 0 {
		return c, cli.Usagef("-eval-steps %d: want 0 or more", c.evalSteps)
	}
	if c.evalEvery < 0 {
		return c, cli.Usagef("-eval-every %d: want 0 (10 validations per run) or more", c.evalEvery)
	}
	var err error
	if c.learner, err = metalearn.LookupLearner(c.algorithm); err != nil {
		return c, cli.Usagef("-algorithm %q: want one of %s", c.algorithm, strings.Join(metalearn.Learners(), ", "))
	}
	if c.source, err = metalearn.LookupSource(c.dataset); err != nil {
		return c, cli.Usagef("-dataset %q: want one of %s", c.dataset, strings.Join(metalearn.Sources(), ", "))
	}
	if err := c.learner.CheckWithout(c.without); err != nil {
		return c, cli.Usagef("-without %s: %v", strings.Join(c.without, ","), err)
	}
	if c.learner.ClassBatches && !c.source.Classification {
		return c, cli.Usagef("-algorithm %s pre-trains on the classes of an image data set: use it with a classification source, not %s", c.algorithm, c.dataset)
	}
	if c.learner.Embedding && !c.source.Classification {
		return c, cli.Usagef("-algorithm %s classifies episodes by distances: use it with a classification source, not %s", c.algorithm, c.dataset)
	}
	c.resolve(set)
	return c, cli.AsUsage(c.validate())
}

// settings returns the settings the command line sets (zero: not set).
func (c *config) settings(set map[string]bool) metalearn.Settings {
	s := metalearn.Settings{Ways: c.ways, Shots: c.shots, TrainWays: c.trainWays, TrainShots: c.trainShots,
		Queries: c.queries, EvalQueries: c.evalQueries, MetaBatch: c.metaBatch, InnerSteps: c.innerSteps,
		EvalSteps: c.evalSteps, InnerLR: c.innerLR, OuterLR: c.outerLR, InnerBatch: c.innerBatch, Scale: c.scale,
		Iterations: c.iterations, CheckpointEvery: c.ckptEvery, Dtype: c.dtype, Init: c.init}
	if set["inner-adam"] {
		s.InnerOptimizer = map[bool]string{true: "adam", false: "sgd"}[c.innerAdam]
	}
	return s
}

// resolve fills every setting the command line leaves unset with the
// registered defaults of the learner on the task source (metalearn.Resolve).
// A 0 given explicitly where 0 means something (-eval-steps 0: no
// adaptation; -inner-batch 0: the whole support set) is kept.
func (c *config) resolve(set map[string]bool) {
	s := metalearn.Resolve(c.settings(set), c.learner, c.source, c.dataset)
	if set["eval-steps"] && !c.learner.NoInnerLoop {
		s.EvalSteps = c.evalSteps
	}
	if set["inner-batch"] {
		s.InnerBatch = c.innerBatch
	}
	if set["iterations"] || set["episodes"] {
		s.Iterations = c.iterations // 0: no meta-training, evaluate the initial (or imported) weights
	}
	c.ways, c.shots, c.trainWays, c.trainShots = s.Ways, s.Shots, s.TrainWays, s.TrainShots
	c.queries, c.evalQueries, c.metaBatch, c.innerSteps, c.evalSteps = s.Queries, s.EvalQueries, s.MetaBatch, s.InnerSteps, s.EvalSteps
	c.innerLR, c.outerLR, c.innerBatch, c.innerAdam = s.InnerLR, s.OuterLR, s.InnerBatch, s.InnerOptimizer == "adam"
	c.scale = s.Scale
	c.iterations, c.ckptEvery, c.dtype, c.init = s.Iterations, s.CheckpointEvery, s.Dtype, s.Init
	if c.evalEvery == 0 {
		c.evalEvery = max(c.iterations/10, 1)
	}
}

// resolved returns the run's resolved settings.
func (c config) resolved() metalearn.Settings {
	s := c.settings(nil)
	s.InnerOptimizer = map[bool]string{true: "adam", false: "sgd"}[c.innerAdam]
	return s
}

// fromCheckpoint takes what the run in -checkpoint was (algorithm, data
// set, ways, shots, inner steps, -scale, -without) for each of those flags not given on the command line,
// so that -eval and -resume need only -checkpoint. An unreadable checkpoint
// is left for the load to report.
func (c *config) fromCheckpoint(set map[string]bool) {
	ck, err := graph.LoadCheckpoint(c.checkpoint)
	if err != nil {
		return
	}
	c.ck = ck
	if alg := ck.Meta["algorithm"]; alg != "" && !set["algorithm"] && !set["first-order"] {
		c.algorithm = alg
	}
	if d := ck.Meta["dataset"]; d != "" && !set["dataset"] {
		c.dataset = d
	}
	for flag, v := range map[string]*int{"shots": &c.shots, "ways": &c.ways, "inner-steps": &c.innerSteps} {
		if n, err := strconv.Atoi(ck.Meta[strings.ReplaceAll(flag, "-", "_")]); err == nil && !set[flag] {
			*v = n
		}
	}
	if f, err := strconv.ParseFloat(ck.Meta["scale"], 64); err == nil && !set["scale"] {
		c.scale = f
	}
	// the switches turned off shape the learner (MAML++'s bnwb: its
	// parameters), so -eval and -resume take them from the checkpoint
	if w, ok := ck.Meta["without"]; ok && !set["without"] {
		c.without = nil
		if w != "" {
			c.without = strings.Split(w, ",")
		}
	}
	c.takeEssentials(ck, set)
}

func (c *config) validate() error {
	switch {
	case c.init != "" && c.init != "finn" && c.init != "torch":
		return fmt.Errorf("-init %q: want finn or torch", c.init)
	case c.zeroHead && c.learner.Embedding:
		return fmt.Errorf("-zero-head: %s has no classifier head to zero", c.algorithm)
	case c.zeroHead && c.learner.NoInnerLoop:
		return fmt.Errorf("-zero-head: %s has no inner loop to start from a zero head", c.algorithm)
	case (c.torch.Import != "" || c.torch.Export != "") && !torchModule(c.modelName()):
		return fmt.Errorf("-import-torch, -export-torch: model %s has no PyTorch module (scripts/torch_models.py)", c.modelName())
	case c.innerBatch < 0:
		return fmt.Errorf("-inner-batch %d: want 0 (whole support set) or more", c.innerBatch)
	case c.shots < 1 || c.trainShots < 1 || c.queries < 1 || c.evalQueries < 1:
		return fmt.Errorf("-shots %d, -train-shots %d, -queries %d, -eval-queries %d: want at least 1 each", c.shots, c.trainShots, c.queries, c.evalQueries)
	case c.source.Classification && (c.ways < 2 || c.trainWays < 2):
		return fmt.Errorf("-ways %d, -train-ways %d: want at least 2", c.ways, c.trainWays)
	case c.source.Classification && !c.learner.Embedding && c.trainWays != c.ways:
		return fmt.Errorf("-train-ways %d differs from -ways %d: %s's classifier head has one output per way", c.trainWays, c.ways, c.algorithm)
	case c.metaBatch < 1:
		return fmt.Errorf("-meta-batch %d: want at least 1", c.metaBatch)
	case c.innerSteps < 1:
		return fmt.Errorf("-inner-steps %d: want at least 1", c.innerSteps)
	case c.iterations < 0:
		return fmt.Errorf("-iterations %d: want ≥ 0", c.iterations)
	case c.scale < 0:
		return fmt.Errorf("-scale %g: want a positive factor (or 0 for the paper's 1)", c.scale)
	case c.innerLR < 0 || c.outerLR < 0:
		return fmt.Errorf("learning rates must be positive")
	case c.mpiTimeout < 0:
		return fmt.Errorf("-mpi-timeout %v: want 0 (no limit) or more", c.mpiTimeout)
	case c.workers < 0:
		return fmt.Errorf("-workers %d: want ≥ 0", c.workers)
	case c.evalTasks < 1:
		return fmt.Errorf("-eval-tasks %d: want at least 1", c.evalTasks)
	case c.dtype != "float64" && c.dtype != "float32":
		return fmt.Errorf("-dtype %q: want float64 or float32", c.dtype)
	case (c.resume || c.evalOnly) && c.checkpoint == "":
		return fmt.Errorf("-resume and -eval need -checkpoint FILE")
	case c.resume && c.evalOnly:
		return fmt.Errorf("-resume and -eval: choose one (-eval only evaluates)")
	case c.torch.Import != "" && (c.resume || c.evalOnly):
		return fmt.Errorf("-import-torch starts a fresh run from those weights: it does not go with -resume or -eval")
	case c.overwrite && (c.resume || c.evalOnly):
		return fmt.Errorf("-overwrite starts a fresh run: it does not go with -resume or -eval")
	case c.ckptEvery < 1:
		return fmt.Errorf("-checkpoint-every %d: want at least 1", c.ckptEvery)
	case c.split != "background" && c.split != "vinyals":
		return fmt.Errorf("-split %q: want background or vinyals", c.split)
	case !slices.Contains(data.OmniglotFilters, c.resize):
		return fmt.Errorf("-resize %q: want one of %s", c.resize, strings.Join(data.OmniglotFilters, ", "))
	}
	return c.essentials.check()
}

// modelName is the registered model the run names: -model, else the
// learner's (metalearn.LearnerEntry.Model, e.g. cnp, mann); "" for the
// task source's.
func (c *config) modelName() string {
	if c.model != "" {
		return c.model
	}
	return c.learner.Model
}

// torchModule reports whether the registered model name has PyTorch
// equivalents (models.TorchNamer), so that -import-torch and
// -export-torch are refused before a run rather than at its end. The
// task source's models ("") have them; an unknown name is left for the
// run to report.
func torchModule(name string) bool {
	if name == "" {
		return true
	}
	m, err := models.New(name, models.Spec{})
	if err != nil {
		return true
	}
	_, ok := m.(models.TorchNamer)
	return ok
}
