package facade

import (
	"math"
	"strings"
	"testing"

	"github.com/metagon/metagon/data"
)

func TestCubeDerivatives(t *testing.T) {
	d, err := CubeDerivatives(2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{8, 12, 12, 6}
	if len(d) != len(want) {
		t.Fatalf("got %v, want %v", d, want)
	}
	for i := range want {
		if math.Abs(d[i]-want[i]) > 1e-12 {
			t.Fatalf("got %v, want %v", d, want)
		}
	}
}

func TestCheckTanhLayer(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		gc, err := CheckTanhLayer(seed)
		if err != nil {
			t.Fatal(err)
		}
		if gc.Checked != 12 || gc.MaxRelErr > 1e-6 || gc.SecondOrderMaxRelErr > 1e-6 {
			t.Errorf("seed %d: %+v", seed, *gc)
		}
	}
}

func TestMetaTrainSinusoid(t *testing.T) {
	iters := 1500
	if testing.Short() {
		iters = 200
	}
	for _, alg := range SinusoidAlgorithms {
		if testing.Short() && alg != "maml" {
			continue
		}
		n := iters
		if alg != "maml" {
			n = 300 // only checks that every algorithm runs end to end
		}
		r, err := MetaTrainSinusoid(alg, n, 1)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		t.Logf("%s, %d iterations, %.1f s:\n%s", alg, n, r.Seconds, r.Table)
		if len(r.X) != 200 || len(r.True) != 200 || len(r.Pre) != 200 || len(r.Post) != 200 || len(r.Post10) != 200 ||
			len(r.SupportX) != 10 || len(r.SupportY) != 10 || len(r.MetaLosses) != n/100 {
			t.Fatalf("%s: wrong lengths: %d %d %d %d %d %d %d %d", alg, len(r.X), len(r.True), len(r.Pre), len(r.Post),
				len(r.Post10), len(r.SupportX), len(r.SupportY), len(r.MetaLosses))
		}
		for _, v := range []float64{r.PreMSE, r.PostMSE, r.Post10MSE} {
			if math.IsNaN(v) || v <= 0 {
				t.Fatalf("%s: MSE %v", alg, v)
			}
		}
		if alg == "maml" && !testing.Short() && r.PostMSE > 0.7*r.PreMSE {
			t.Errorf("maml after %d iterations: one step %.3f, not below 0.7 × %.3f", n, r.PostMSE, r.PreMSE)
		}
	}
	if _, err := MetaTrainSinusoid("nope", 1, 1); err == nil {
		t.Error("unknown algorithm accepted")
	}
	if _, err := MetaTrainSinusoid("cnp", 1, 1); err == nil || !strings.Contains(err.Error(), "no inner loop") {
		t.Errorf("cnp, which has no inner loop: err %v", err)
	}
	if _, err := MetaTrainSinusoid("maml", -1, 1); err == nil {
		t.Error("negative iterations accepted")
	}
}

// mnistDir finds MNIST for the tests, or skips (fails under CI).
func mnistDir(t *testing.T) string {
	dir := data.MNISTDirOrSkip(t)
	return dir
}

func TestTrainSeedNetwork(t *testing.T) {
	if _, err := TrainSeedNetwork(t.TempDir(), 1, 1); err == nil {
		t.Error("empty MNIST directory accepted")
	}
	if _, err := TrainSeedNetwork("", 0, 1); err == nil {
		t.Error("0 epochs accepted")
	}
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	r, err := TrainSeedNetwork(mnistDir(t), 1, 14)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed network, 1 epoch, seed 14: %.2f%% in %.1f s", 100*r.Accuracy, r.Seconds)
	if r.Accuracy < 0.85 || r.Steps != 6000 || len(r.Losses) != 12 {
		t.Errorf("accuracy %.4f, %d steps, %d loss points", r.Accuracy, r.Steps, len(r.Losses))
	}
	if r.Losses[len(r.Losses)-1] >= r.Losses[0] {
		t.Errorf("loss did not fall: %v", r.Losses)
	}
}

func TestProtoNetOmniglot(t *testing.T) {
	if _, _, err := ProtoNetOmniglot(t.TempDir(), 1, 1); err == nil {
		t.Error("empty Omniglot directory accepted")
	}
	if testing.Short() {
		t.Skip("meta-trains on Omniglot")
	}
	dir := data.OmniglotDirOrSkip(t)
	// A short run: 10 training episodes, 40 test episodes (the notebook
	// runs the full protocol). An untrained embedding already scores
	// 60–70%, chance is 20%.
	acc, ci, err := protoNetOmniglot(dir, 10, 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ProtoNet after 10 episodes: 5-way 1-shot %.2f ± %.2f%% (40 episodes)", 100*acc, 100*ci)
	if acc < 0.6 || ci <= 0 || ci > 0.15 {
		t.Errorf("accuracy %.4f ± %.4f", acc, ci)
	}
}
