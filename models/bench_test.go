package models

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"gorgonia.org/tensor"
)

// The seed-network benchmarks train on synthetic MNIST-shaped data made the
// way shared/peers/numpy_backprop.py makes it: ~20% of the 784 "pixels" on,
// with values in [0, 1), and labels from a fixed random linear teacher,
// argmax((x − mean(x))·T). No data files are needed.
const (
	benchTrainN = 60000
	benchPixels = 784
	benchBatch  = 10
	benchEta    = 3.0
)

var (
	benchOnce sync.Once
	benchSet  *data.MNIST
)

// syntheticMNIST returns the (cached) 60,000-example synthetic training set.
func syntheticMNIST() *data.MNIST {
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(0, 1))
		n, d, classes := benchTrainN, benchPixels, 10
		img := make([]float32, n*d)
		for i := range img {
			v := rng.Float32()
			if rng.Float64() < 0.2 {
				img[i] = v
			}
		}
		mean := make([]float64, d)
		for i := 0; i < n; i++ {
			for j, p := range img[i*d : (i+1)*d] {
				mean[j] += float64(p)
			}
		}
		for j := range mean {
			mean[j] /= float64(n)
		}
		teacher := make([]float64, d*classes)
		for i := range teacher {
			teacher[i] = rng.NormFloat64()
		}
		labels := make([]uint8, n)
		score := make([]float64, classes)
		for i := 0; i < n; i++ {
			clear(score)
			for j, p := range img[i*d : (i+1)*d] {
				c := float64(p) - mean[j]
				for k := range score {
					score[k] += c * teacher[j*classes+k]
				}
			}
			best := 0
			for k, s := range score {
				if s > score[best] {
					best = k
				}
			}
			labels[i] = uint8(best)
		}
		benchSet = &data.MNIST{Images: img, Labels: labels, N: n, Rows: 28, Cols: 28}
	})
	return benchSet
}

// newSeedTrainer returns the seed network with cmd/train's defaults for it:
// SGD η=3, quadratic cost, seed 1.
func newSeedTrainer(b *testing.B, dt tensor.Dtype) *Trainer {
	tr, err := NewTrainer(SeedNetwork(), graph.NewSGD(benchEta), TrainerOptions{Loss: QuadraticLoss, Dtype: dt, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

var benchDtypes = []struct {
	name string
	dt   tensor.Dtype
}{{"float64", tensor.Float64}, {"float32", tensor.Float32}}

// BenchmarkSeedEpoch trains one epoch (60,000 examples, batch 10) of the
// 784-30-10 sigmoid seed network per iteration, exactly as cmd/train does:
// shuffle with data.Batcher, FillBatch, Trainer.Step. It reports s/epoch.
// Compare with shared/peers/numpy_backprop.py (scripts/bench_backprop.sh).
func BenchmarkSeedEpoch(b *testing.B) {
	ds := syntheticMNIST()
	for _, c := range benchDtypes {
		b.Run(c.name, func(b *testing.B) {
			tr := newSeedTrainer(b, c.dt)
			batcher := data.NewBatcher(ds.Len(), benchBatch, 1)
			x := make([]float64, benchBatch*benchPixels)
			labels := make([]float64, benchBatch)
			// compile the step graph outside the timing
			ds.FillBatch([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, x, labels)
			if _, err := tr.Step(x, labels); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var loss float64
			for e := 0; e < b.N; e++ {
				lossSum := 0.0
				for _, idx := range batcher.Batches(e) {
					xb, lb := x[:len(idx)*benchPixels], labels[:len(idx)]
					ds.FillBatch(idx, xb, lb)
					l, err := tr.Step(xb, lb)
					if err != nil {
						b.Fatal(err)
					}
					lossSum += l
				}
				loss = lossSum / float64(batcher.NumBatches())
			}
			b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/epoch")
			b.ReportMetric(loss, "loss")
		})
	}
}

// BenchmarkSeedStep times one Trainer.Step of batch 10 (feed, forward,
// backward, SGD update), without the data shuffling and copying.
func BenchmarkSeedStep(b *testing.B) {
	ds := syntheticMNIST()
	for _, c := range benchDtypes {
		b.Run(c.name, func(b *testing.B) {
			tr := newSeedTrainer(b, c.dt)
			const batches = 64
			x := make([]float64, batches*benchBatch*benchPixels)
			labels := make([]float64, batches*benchBatch)
			idx := make([]int, batches*benchBatch)
			for i := range idx {
				idx[i] = i
			}
			ds.FillBatch(idx, x, labels)
			step := func(i int) {
				j := i % batches
				if _, err := tr.Step(x[j*benchBatch*benchPixels:(j+1)*benchBatch*benchPixels], labels[j*benchBatch:(j+1)*benchBatch]); err != nil {
					b.Fatal(err)
				}
			}
			step(0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step(i)
			}
		})
	}
}
