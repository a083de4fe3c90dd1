package metalearn

import (
	"fmt"
	"testing"

	"github.com/metagon/metagon/models"
	"gorgonia.org/tensor"
)

// BenchmarkMAMLSinusoid times one second-order MAML meta-iteration on
// 10-shot sinusoids with meta-batch 25 (Finn et al.'s settings), the
// workload of ../shared/peers/maml_sinusoid.py; task sampling included.
// scripts/bench_maml_sinusoid.sh runs it beside the PyTorch peer.
func BenchmarkMAMLSinusoid(b *testing.B) {
	for _, firstOrder := range []bool{false, true} {
		for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
			for _, workers := range []int{1, 2} {
				order := "second-order"
				if firstOrder {
					order = "first-order"
				}
				b.Run(fmt.Sprintf("%s/%v/workers=%d", order, dt, workers), func(b *testing.B) {
					l, err := NewMAML(models.SinusoidMLP(), MAMLOptions{Options: Options{Spec: SinusoidSpec(10, 10), Workers: workers, Dtype: dt, Seed: 1}, FirstOrder: firstOrder})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := l.MetaStep(SinusoidTasks(1, 0, 25, 10, 10)); err != nil { // compile outside the timing
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := l.MetaStep(SinusoidTasks(1, uint64(25*(i+1)), 25, 10, 10)); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/iter")
				})
			}
		}
	}
}
