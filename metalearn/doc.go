// Package metalearn holds meta-learners: algorithms that learn, from many
// small tasks, how to learn a new task from a few examples.
//
// The building blocks are public. Unroll builds the inner loop as a graph
// and returns every adapted weight set θ₀…θ_S (UnrollAt tells the support
// loss its step); an InnerRule says how a weight moves (SGD, Meta-SGD's
// PerParameter rates, MAML++'s PerLayerPerStep rates). Gradient composes
// them into the optimization-based learner whose meta-gradient flows
// through the loop: MAML, first-order MAML, Meta-SGD and ANIL are
// configurations of it (maml.go, metasgd.go, anil.go), and its Objective
// and TaskGradient give one task's meta-objective and meta-gradient. It
// runs models whose batch norm depends on the inner step
// (models.StepNorm, stepnorm.go): each step's pass uses its own set, the
// running statistics follow meta-training and serve evaluation, and
// checkpoints keep them. MAMLPP (mamlpp.go) is MAML++ (Antoniou, Edwards &
// Storkey 2019), a Gradient learner whose schedules follow the iteration:
// the multi-step loss (msl.go), derivative-order annealing (da.go),
// per-step batch norm, LSLR and cosine annealing of the outer rate
// (ca.go), each a switch of MAMLPPOptions that an ablation turns off
// (Config.Without, LearnerEntry.Switches). Reptile (move toward weights trained
// on each task) has a file of its own. Metric learners share Metric
// (metric.go): the embedding of every image of an episode, the compiled
// graphs, Adam steps and evaluation; each is a MetricHead that turns the
// support and query embeddings into query scores and a loss, such as
// ProtoNet (nearest class prototype), MatchingNet (attention over the
// support set) and RelationNet (a learned relation module's scores). CNP
// (cnp.go), the Conditional Neural Process, is model-based: no inner loop,
// an encoder and a mean over the support set, and a Gaussian predicted at
// each query, trained by the targets' negative log-likelihood; it reports
// that NLL beside the MSE (Adaptation.Extra) and its σ (Adaptation.Std).
// MANN (mann.go) is model-based too: a memory-augmented network that
// reads each episode's support set as a sequence and learns within it by
// writing to an external memory (mann_memory.go). Both name the network
// they are built on, a registered model (LearnerEntry.Model: "cnp" from
// package models, "mann" registered by this package in mann_network.go),
// which the task source shapes. Transfer (transfer.go) is the baseline
// they are measured against, transfer learning without meta-learning: it
// pre-trains on batches of images labelled with all the training classes
// (a ClassTrainer, fed by a ClassBatcher source through TrainTasks) and
// fits a new linear head to each task's support set on the frozen
// embedding (headfit.go). Each learner cites its paper. A
// meta-batch runs
// on worker goroutines, each with its own compiled graph; per-task results
// are combined in task order, so a run is reproducible whatever the number
// of workers. The optimization-based learners also split a meta-batch
// across processes (Options.Comm; package dist runs them under MPI),
// continuing the sum from rank to rank in task order, so that the result
// is the same, bit for bit, for any number of processes (comm.go). For N-way classification, Options.ZeroHead starts every task
// from a zero head (Kao et al. 2022).
//
// Learners and task sources are registered by name (Register,
// RegisterSource) with per-source default Settings; Resolve merges them
// with a user's settings and Setup builds the source, the model and the
// learner of a run, as cmd/meta and the facade do. A learner with state of
// its own beyond its parameters implements Stateful so checkpoints keep it;
// every learner of this package does, if only for its place in the
// learning-rate schedule of its outer optimizer (Options.Schedule: one
// graph.Schedule for all of them, ProtoNet's halving, Reptile's annealing
// of ε and MAML++'s cosine annealing included), through which it also
// clips its meta-gradient (Options.ClipNorm).
//
// Evaluate adapts a learner to held-out tasks and reports the query loss
// (and accuracy) after every number of inner steps, mean ± 95% CI, as
// papers do, and the further measures the learner reports
// (Adaptation.Extra: CNP's NLL, MANN's accuracy by instance; a Measurer
// describes its own columns and keys); EvaluateAt measures only after the
// numbers of steps listed, which makes long evaluations (Reptile's 50
// test-time steps) several times cheaper.
//
//	l, _ := metalearn.NewMAML(models.SinusoidMLP(), metalearn.MAMLOptions{
//		Options: metalearn.Options{Spec: metalearn.SinusoidSpec(10, 10), InnerLR: 0.01},
//	})
//	for it := 0; it < 70000; it++ {
//		l.MetaStep(metalearn.SinusoidTasks(1, uint64(it*25), 25, 10, 10))
//	}
//	ev, _ := metalearn.Evaluate(l, metalearn.SinusoidTasks(2, 0, 600, 10, 10), 10)
//	fmt.Print(ev.Table(0, 1, 10)) // query MSE after 0, 1, 10 steps, mean ± 95% CI
package metalearn
