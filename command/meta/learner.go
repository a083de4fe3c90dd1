package meta

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/metalearn"
	"github.com/metagon/metagon/models"
	"github.com/sirupsen/logrus"
)

// setup builds the run the flags describe: the registered task source,
// model and learner (metalearn.Setup). log hears what the source does
// that takes long (nil: nothing is logged).
func setup(c config, log logrus.FieldLogger) (metalearn.Learner, metalearn.TaskSource, error) {
	return metalearn.Setup(metalearn.Run{
		Learner: c.algorithm, Source: c.dataset, Settings: c.resolved(),
		Model: c.model, ModelOptions: models.Spec{Filters: c.filters, Hidden: c.hidden},
		DataDir: c.dataDir, Split: c.split, Rotations: c.rotations, Resize: c.resize, Log: log,
		ZeroHead: c.zeroHead, FirstOrder: c.firstOrder, FreshAdam: c.freshAdam, Without: c.without, Workers: c.workers, Seed: c.seed, Comm: c.comm,
		RunningStatsEval: c.bnEval == "running",
		LRSchedule:       c.lrSchedule, ClipNorm: c.clipNorm,
	})
}

// learnerKey names what a checkpoint holds: algorithm and model.
func learnerKey(l metalearn.Learner) string { return l.Name() + "/" + l.Model().Name() }

// saveCheckpoint writes the meta-parameters, the outer optimizer's state
// and the iteration count to c.checkpoint (snapshot).
func saveCheckpoint(l metalearn.Learner, c config, iteration int) error {
	if err := graph.SaveCheckpoint(c.checkpoint, snapshot(l, c, iteration)); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// snapshot is what a checkpoint of l after iteration holds: the
// meta-parameters, the outer optimizer's state, the learner's own state,
// and the run's settings that -eval and -resume take from it.
func snapshot(l metalearn.Learner, c config, iteration int) *graph.Checkpoint {
	ck := l.Params().Snapshot(learnerKey(l))
	st := l.Optimizer().State()
	ck.Optimizer = &st
	if s, ok := l.(metalearn.Stateful); ok {
		s.SaveState(ck)
	}
	ck.Meta["iteration"] = strconv.Itoa(iteration)
	ck.Meta["iterations"] = strconv.Itoa(c.iterations)
	ck.Meta["seed"] = strconv.FormatUint(c.seed, 10)
	ck.Meta["algorithm"] = l.Name()
	ck.Meta["dataset"] = c.dataset
	ck.Meta["shots"] = strconv.Itoa(c.shots)
	ck.Meta["inner_steps"] = strconv.Itoa(c.innerSteps) // MAML++'s per-step parameters depend on it
	if c.source.Classification {
		ck.Meta["ways"] = strconv.Itoa(c.ways)
	}
	if len(c.without) > 0 {
		ck.Meta["without"] = strings.Join(c.without, ",") // part of the learner: -eval and -resume keep it
	}
	if c.scale != 0 {
		ck.Meta["scale"] = strconv.FormatFloat(c.scale, 'g', -1, 64) // part of the classifier: -eval keeps it
	}
	c.essentials.save(ck.Meta, c.outerLR)
	if c.es != nil {
		c.es.Save(ck.Meta, "iteration")
	}
	return ck
}

// loadCheckpoint restores l from c.checkpoint and returns the iterations
// done. A checkpoint of another learner over the same model (maml and
// fomaml, say) is restored when its parameters are the same, with a
// warning; its optimizer state only when the optimizer is of the same kind.
func loadCheckpoint(l metalearn.Learner, c config, log *logrus.Logger) (int, error) {
	path := c.checkpoint
	ck := c.ck // read while parsing the flags
	if ck == nil {
		var err error
		if ck, err = graph.LoadCheckpoint(path); err != nil {
			return 0, err
		}
	}
	key := learnerKey(l)
	if alg, model, ok := strings.Cut(ck.Model, "/"); ok && model == l.Model().Name() && alg != l.Name() {
		key = ck.Model
		log.Warnf("%s was written by %s; continuing with %s from its parameters", path, alg, l.Name())
	}
	if err := l.Params().Restore(ck, key); err != nil {
		return 0, err
	}
	switch opt := l.Optimizer(); {
	case ck.Optimizer != nil && ck.Optimizer.Kind == opt.Name():
		if err := opt.SetState(*ck.Optimizer); err != nil {
			return 0, fmt.Errorf("restore optimizer from %s: %w", path, err)
		}
	case ck.Optimizer != nil:
		log.Warnf("%s holds %s optimizer state; %s starts its %s afresh", path, ck.Optimizer.Kind, l.Name(), opt.Name())
	}
	it, err := strconv.Atoi(ck.Meta["iteration"])
	if err != nil {
		return 0, fmt.Errorf("checkpoint %s: iteration %q is not a number", path, ck.Meta["iteration"])
	}
	if s, ok := l.(metalearn.Stateful); ok {
		if err := s.LoadState(ck, it); err != nil {
			return 0, fmt.Errorf("restore %s: %w", path, err)
		}
	}
	if planned := ck.Meta["iterations"]; c.resume && c.anneals() && planned != "" && planned != strconv.Itoa(c.iterations) {
		log.Warnf("%s was started for %s iterations; %s anneals over -iterations, so from iteration %d on it follows the schedule of %d", path, planned, l.Name(), it, c.iterations)
	}
	if c.es != nil {
		if err := c.es.Load(ck.Meta, "iteration"); err != nil {
			return 0, fmt.Errorf("checkpoint %s: %w", path, err)
		}
		if c.es.At > 0 {
			best, err := graph.LoadCheckpoint(bestPath(path))
			if err != nil {
				log.Warnf("%s records the best learner after iteration %d, but it cannot be read (%v); the final evaluation takes the last learner unless a better one comes", path, c.es.At, err)
			}
			c.es.snapshot = best
		}
	}
	return it, nil
}
