package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/models"
)

// The learners of this package, registered by name. Each default is the
// setting of the paper's experiments on that task source.

func init() {
	Register("maml", LearnerEntry{
		Title:   "MAML",
		Summary: "MAML, second order (Finn et al. 2017)",
		New: func(c Config) (Learner, error) {
			return NewMAML(c.Model, MAMLOptions{Options: c.adam(), FirstOrder: c.FirstOrder})
		},
	})
	Register("fomaml", LearnerEntry{
		Title:   "first-order MAML",
		Summary: "first-order MAML (Finn et al. 2017)",
		New: func(c Config) (Learner, error) {
			return NewMAML(c.Model, MAMLOptions{Options: c.adam(), FirstOrder: true})
		},
	})
	Register("metasgd", LearnerEntry{
		Title:   "Meta-SGD",
		Summary: "Meta-SGD: learned per-weight inner rates (Li et al. 2017)",
		New: func(c Config) (Learner, error) {
			return NewMetaSGD(c.Model, MetaSGDOptions{Options: c.adam()})
		},
	})
	Register("anil", LearnerEntry{
		Title:   "ANIL",
		Summary: "ANIL: only the head adapts (Raghu et al. 2020)",
		New: func(c Config) (Learner, error) {
			return NewANIL(c.Model, c.Head, MAMLOptions{Options: c.adam(), FirstOrder: c.FirstOrder})
		},
	})
	Register("foanil", LearnerEntry{
		Title:   "first-order ANIL",
		Summary: "first-order ANIL",
		New: func(c Config) (Learner, error) {
			return NewANIL(c.Model, c.Head, MAMLOptions{Options: c.adam(), FirstOrder: true})
		},
	})
	// Antoniou et al.'s code (experiment_template_config): 5 inner steps
	// in training and evaluation; on Omniglot meta-batches of 8, learned
	// rates from 0.1 and 100 epochs of 500 iterations; on mini-ImageNet
	// (here CIFAR-FS and FC100, the nearest sources) meta-batches of 2 and
	// rates from 0.01 (the sources' α). Adam at 1e-3 as MAML's.
	mini := Settings{MetaBatch: 2, Iterations: 50000}
	Register("mamlpp", LearnerEntry{
		Title:    "MAML++",
		Summary:  "MAML++: multi-step loss, derivative-order annealing, per-step batch norm, learned per-step rates, cosine-annealed outer rate (Antoniou et al. 2019)",
		Anneals:  true,
		Switches: mamlppSwitches,
		Defaults: map[string]Settings{
			"":         {InnerSteps: 5, EvalSteps: 5},
			"omniglot": {MetaBatch: 8, InnerLR: 0.1, Iterations: 50000, CheckpointEvery: 500},
			"cifar-fs": mini,
			"fc100":    mini,
		},
		New: func(c Config) (Learner, error) {
			if c.FirstOrder {
				return nil, fmt.Errorf("mamlpp: first order: MAML++ anneals the derivative order itself (its switch da; without it, second order throughout)")
			}
			return NewMAMLPP(c.Model, mamlppWithout(MAMLPPOptions{Options: c.adam(), Iterations: c.Iterations}, c.Without))
		},
	})
	Register("reptile", LearnerEntry{
		Title:   "Reptile",
		Summary: "Reptile (Nichol et al. 2018)",
		Anneals: true,
		Defaults: map[string]Settings{
			"": {InnerSteps: 5, OuterLR: 0.1, Init: "torch"},
			// Nichol et al.: 10-shot training episodes, 5 Adam steps
			// (lr 1e-3, β₁ = 0) on batches of 10, meta-batch 5, ε = 1,
			// 50 test-time steps.
			"omniglot": {TrainShots: 10, MetaBatch: 5, InnerLR: 0.001, InnerOptimizer: "adam", InnerBatch: 10, OuterLR: 1, EvalSteps: 50},
		},
		New: func(c Config) (Learner, error) {
			adam := c.InnerOptimizer == "adam"
			return NewReptile(c.Model, ReptileOptions{Options: c.Options(), OuterLR: c.OuterLR, Iterations: c.Iterations,
				InnerAdam: adam, CarryAdam: adam && !c.FreshAdam, InnerBatch: c.InnerBatch})
		},
	})
	// Chen et al. 2019's Baseline: pre-training by Adam at 1e-3 (their
	// batches of 16; 64 here, four times the images per step on a CPU)
	// for 5 epochs on Omniglot, 6,000 batches of 64 of the 77,120 images
	// of the background characters with rotations; a new head fitted for
	// 100 steps at adaptation.
	Register("transfer", LearnerEntry{
		Title:        "Transfer (pre-train + fine-tune head)",
		Summary:      "transfer learning: pre-train on all training classes, fit a new linear head per task on the frozen embedding (Chen et al. 2019, Baseline)",
		Embedding:    true,
		ClassBatches: true,
		Defaults: map[string]Settings{
			"":         {MetaBatch: 64, OuterLR: 1e-3, InnerLR: 0.01, EvalSteps: 100},
			"omniglot": {Iterations: 6000, CheckpointEvery: 500},
		},
		New: func(c Config) (Learner, error) {
			return NewTransfer(c.Model, TransferOptions{Options: c.adam(), Classes: c.TrainClasses})
		},
	})
	Register("cnp", LearnerEntry{
		Title:       "CNP",
		Summary:     "Conditional Neural Processes: encoder, mean, Gaussian decoder; no inner loop (Garnelo et al. 2018)",
		NoInnerLoop: true,
		AnySize:     true,
		Model:       "cnp",
		Objective:   NLL,
		// DeepMind's notebook (conditional_neural_process.ipynb): batches
		// of 64 curves, Adam at 1e-4, 2·10⁵ iterations.
		Defaults: map[string]Settings{"": {MetaBatch: 64, OuterLR: 1e-4, Iterations: 200000, CheckpointEvery: 5000}},
		New: func(c Config) (Learner, error) {
			return NewCNP(c.Model, CNPOptions{Options: c.adam(), LR: c.OuterLR})
		},
	})
	Register("protonet", LearnerEntry{
		Title:       "ProtoNet",
		Summary:     "Prototypical Networks (Snell et al. 2017)",
		NoInnerLoop: true,
		Embedding:   true,
		StepPerTask: true,
		// Snell et al.: one 60-way episode with 5 queries per class per
		// step; on mini-ImageNet 30-way episodes with 15 queries per class
		// (their 1-shot setting; for 5-shot they used 20 ways).
		Defaults: map[string]Settings{"": {MetaBatch: 1, TrainWays: 60, Queries: 5}, "mini-imagenet": {TrainWays: 30, Queries: 15}},
		New: func(c Config) (Learner, error) {
			return NewProtoNet(c.Model, ProtoNetOptions{Options: c.adam(), LR: c.OuterLR})
		},
	})
	// Vinyals et al.: training episodes of the test shape (ways, shots
	// and 15 queries per class, as at evaluation), one per Adam step at
	// lr 1e-3.
	matching := map[string]Settings{"": {MetaBatch: 1, Queries: 15}}
	Register("matchingnet", LearnerEntry{
		Title:       "Matching Networks",
		Summary:     "Matching Networks: cosine attention over the support set (Vinyals et al. 2016)",
		NoInnerLoop: true,
		Embedding:   true,
		StepPerTask: true,
		Defaults:    matching,
		New: func(c Config) (Learner, error) {
			return NewMatchingNet(c.Model, MatchingNetOptions{MetricOptions: MetricOptions{Options: c.adam(), LR: c.OuterLR}, Scale: c.Scale})
		},
	})
	Register("matchingnet-fce", LearnerEntry{
		Title:       "Matching Networks (FCE)",
		Summary:     "Matching Networks with full context embeddings (Vinyals et al. 2016)",
		NoInnerLoop: true,
		Embedding:   true,
		StepPerTask: true,
		Defaults:    matching,
		New: func(c Config) (Learner, error) {
			return NewMatchingNet(c.Model, MatchingNetOptions{MetricOptions: MetricOptions{Options: c.adam(), LR: c.OuterLR}, FCE: true, Scale: c.Scale})
		},
	})
	Register("mann", LearnerEntry{
		Title:       "MANN",
		Summary:     "memory-augmented network: LSTM controller, LRUA memory, episodes as sequences (Santoro et al. 2016)",
		NoInnerLoop: true,
		Model:       "mann",
		// Santoro et al. on Omniglot: episodes of 5 classes × 10
		// instances, batches of 16 episodes. The sequence is the support
		// set; one query per class (unused) is the least a source draws.
		Defaults: map[string]Settings{"": {Shots: 10, Queries: 1, EvalQueries: 1, MetaBatch: 16, OuterLR: 1e-3}},
		New: func(c Config) (Learner, error) {
			net, err := mannNetworkOf(c.Model)
			if err != nil {
				return nil, err
			}
			return NewMANN(net, MANNOptions{Options: c.adam()})
		},
	})
	Register("relationnet", LearnerEntry{
		Title:       "RelationNet",
		Summary:     "Relation Networks: a learned comparison of feature maps (Sung et al. 2018)",
		NoInnerLoop: true,
		Embedding:   true,
		StepPerTask: true,
		// The embedding keeps feature maps for the relation module: on
		// Omniglot, Conv-4 without its last two max-pools (64 maps of 7×7).
		ModelOptions: models.Spec{Pools: 2},
		// Sung et al.: one episode per step, Adam at 1e-3 (halved every
		// 100,000 episodes: NewRelationNet's default); on Omniglot,
		// training episodes as the evaluation's (5-way 1-shot) with 19
		// queries per class. (Their other shapes: 15 queries for 5-way
		// 5-shot, 10 for 20-way 1-shot, 5 for 20-way 5-shot; set -queries.)
		Defaults: map[string]Settings{"": {MetaBatch: 1, OuterLR: 1e-3}, "omniglot": {Queries: 19}},
		New: func(c Config) (Learner, error) {
			return NewRelationNet(c.Model, RelationNetOptions{MetricOptions: MetricOptions{Options: c.adam(), LR: c.OuterLR}})
		},
	})
}
