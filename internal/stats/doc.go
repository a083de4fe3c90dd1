// Package stats summarizes evaluation results the way the MAML paper and
// code report them: a mean with a 95% confidence interval of
// 1.96·σ/√n, σ being the population standard deviation (numpy's np.std,
// ddof = 0). It also has running mean and exponential moving average helpers
// for training logs.
//
//	accs := make([]float64, 0, 600)
//	for _, task := range evalTasks {
//		accs = append(accs, evaluate(task))
//	}
//	fmt.Println("accuracy:", stats.Summarize(accs).Percent()) // "98.70 ± 0.40%"
//
//	var loss stats.Running
//	for step := range steps {
//		loss.Add(trainStep())
//		if step%100 == 99 {
//			log.Printf("step %d: loss %.4f", step+1, loss.Mean())
//			loss.Reset()
//		}
//	}
package stats
