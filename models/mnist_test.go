package models

import (
	"sort"
	"testing"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
)

// loadMNIST finds MNIST the way the tools do, or skips (fails under CI).
func loadMNIST(t *testing.T) (train, test *data.MNIST) {
	t.Helper()
	dir := data.MNISTDirOrSkip(t)
	var err error
	if train, err = data.LoadMNIST(dir, "train"); err != nil {
		t.Fatal(err)
	}
	if test, err = data.LoadMNIST(dir, "t10k"); err != nil {
		t.Fatal(err)
	}
	return train, test
}

// trainMNIST trains tr for the given epochs and returns the test accuracy.
func trainMNIST(t *testing.T, tr *Trainer, train, test *data.MNIST, batch, epochs int, seed int64) float64 {
	t.Helper()
	in := train.Rows * train.Cols
	b := data.NewBatcher(train.Len(), batch, seed)
	x, y := make([]float64, batch*in), make([]float64, batch)
	for e := 0; e < epochs; e++ {
		for _, idx := range b.Epoch() {
			train.FillBatch(idx, x[:len(idx)*in], y[:len(idx)])
			if _, err := tr.Step(x[:len(idx)*in], y[:len(idx)]); err != nil {
				t.Fatal(err)
			}
		}
	}
	const eb = 1000
	correct := 0.0
	x, y = make([]float64, eb*in), make([]float64, eb)
	for start := 0; start < test.Len(); start += eb {
		idx := make([]int, eb)
		for i := range idx {
			idx[i] = start + i
		}
		test.FillBatch(idx, x, y)
		out, err := tr.Predict(x, eb)
		if err != nil {
			t.Fatal(err)
		}
		correct += graph.Accuracy(out, tr.Model.OutputSize(), y) * eb
	}
	return correct / float64(test.Len())
}

// TestSeedNetworkLearnsMNIST trains the 784-30-10 sigmoid network for one
// epoch (quadratic cost, SGD batch 10, η = 3, N(0, 1) initialisation). This
// initialisation saturates on some seeds (an output unit stuck near 0 or 1
// costs a whole digit: ~82%), so the median over three seeds must reach
// 90%. A network with a wrong gradient stays near chance (10%).
func TestSeedNetworkLearnsMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	train, test := loadMNIST(t)
	var accs []float64
	for _, seed := range []uint64{14, 15, 16} {
		tr, err := NewTrainer(SeedNetwork(), graph.NewSGD(3.0), TrainerOptions{Loss: QuadraticLoss, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		acc := trainMNIST(t, tr, train, test, 10, 1, int64(seed))
		t.Logf("seed %d: test accuracy %.2f%% after 1 epoch", seed, 100*acc)
		accs = append(accs, acc)
	}
	sort.Float64s(accs)
	if accs[1] < 0.90 {
		t.Errorf("median test accuracy %.2f%% < 90%%", 100*accs[1])
	}
}

// TestMLPAdamLearnsMNIST trains 784-100-10 ReLU with Adam 1e-3 (batch 32)
// for three epochs: it must reach 97% test accuracy.
func TestMLPAdamLearnsMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	train, test := loadMNIST(t)
	m, _ := New("mlp", Spec{})
	tr, err := NewTrainer(m, graph.NewAdam(1e-3), TrainerOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	acc := trainMNIST(t, tr, train, test, 32, 3, 1)
	t.Logf("784-100-10 ReLU, Adam: test accuracy %.2f%% after 3 epochs", 100*acc)
	if acc < 0.97 {
		t.Errorf("test accuracy %.2f%% < 97%%", 100*acc)
	}
}
