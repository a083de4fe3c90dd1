// Package metalearn holds meta-learners: algorithms that learn, from many
// small tasks, how to learn a new task from a few examples.
//
// The optimization-based learners share one engine: MAML (second order,
// through an inner loop unrolled into the graph), first-order MAML,
// Meta-SGD (learned per-weight inner rates), ANIL (only the head adapts)
// and Reptile (move toward weights trained on each task). Each is a small
// type in its own file with its paper cited. A meta-batch runs on worker
// goroutines, each with its own compiled task graph; per-task
// meta-gradients are averaged in task order, so a run is reproducible
// whatever the number of workers. For N-way classification,
// Options.ZeroHead starts every task from a zero head (Kao et al. 2022),
// which lets first-order MAML learn several times faster on Omniglot.
//
// Evaluate adapts a learner to held-out tasks and reports the query loss
// (and accuracy) after every number of inner steps, mean ± 95% CI, as
// papers do; EvaluateAt measures only after the numbers of steps listed,
// which makes long evaluations (Reptile's 50 test-time steps) several
// times cheaper.
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
