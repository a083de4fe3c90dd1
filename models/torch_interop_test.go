package models

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"codeberg.org/sbinet/npyio/npz"
	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// torchInteropCase is one model and dtype of TestTorchInterop; the
// exported fields are what scripts/torch_interop_check.py reads from
// cases.json to build the same model in PyTorch.
type torchInteropCase struct {
	Name    string         `json:"name"`
	Model   string         `json:"model"` // "conv4" or "mlp"
	Args    map[string]any `json:"args"`  // the torch_models constructor's
	Dtype   string         `json:"dtype"`
	Seed    int            `json:"seed"`    // PyTorch's initialisation
	Fortran bool           `json:"fortran"` // save PyTorch's arrays in Fortran order

	m   Model
	dt  tensor.Dtype
	tol float64 // on max |Δ output| / max(1, max |output|)
}

// torchInteropCases are a Conv-4 on 28×28 images and an MLP with a square
// 40×40 layer, whose orientation no shape check can catch, with and
// without batch norm, each in float64 and float32; the float32 MLP without
// batch norm is a sigmoid network like SeedNetwork.
func torchInteropCases() []*torchInteropCase {
	var cs []*torchInteropCase
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		// float64 agrees to a few ulps. In float32 each of Conv-4's four
		// batch norms divides by a batch's standard deviation, which
		// magnifies rounding: outputs near 1 differ by about 1e-6 (ten
		// float32 ulps). A mapping error shows as differences near 1.
		tol := 1e-12
		if dt == tensor.Float32 {
			tol = 1e-5
		}
		conv := &Conv4{InChannels: 1, Height: 28, Width: 28, Filters: 8, Classes: 5}
		cs = append(cs, &torchInteropCase{Name: "conv4-" + dt.Name(), Model: "conv4", Dtype: dt.Name(), Seed: 11,
			Args: map[string]any{"in_channels": 1, "filters": 8, "classes": 5, "height": 28, "width": 28},
			m:    conv, dt: dt, tol: tol})
		mlp := &MLP{Sizes: []int{5, 40, 40, 3}, Hidden: ReLUActivation}
		if dt == tensor.Float32 {
			mlp.Hidden, mlp.Output = SigmoidActivation, SigmoidActivation
		}
		cs = append(cs, &torchInteropCase{Name: "mlp-" + dt.Name(), Model: "mlp", Dtype: dt.Name(), Seed: 12,
			Args:    map[string]any{"sizes": mlp.Sizes, "activation": string(mlp.Hidden), "output": string(mlp.Output)},
			Fortran: dt == tensor.Float64, m: mlp, dt: dt, tol: tol})
		bn := &MLP{Sizes: []int{5, 40, 40, 3}, Hidden: ReLUActivation, BatchNorm: true}
		cs = append(cs, &torchInteropCase{Name: "mlp-bn-" + dt.Name(), Model: "mlp", Dtype: dt.Name(), Seed: 13,
			Args: map[string]any{"sizes": bn.Sizes, "activation": string(bn.Hidden), "batch_norm": true},
			m:    bn, dt: dt, tol: tol})
	}
	return cs
}

// TestTorchInterop moves weights both ways between metagon and the PyTorch
// modules of scripts/torch_models.py and checks that both compute the same
// outputs on the same batch: weights metagon exports load into PyTorch with
// load_state_dict(strict=True), and a state_dict PyTorch saves loads into
// metagon. It runs scripts/torch_interop_check.py once for all cases and
// skips without a Python that has torch and numpy (see torchPython).
func TestTorchInterop(t *testing.T) {
	python := torchPython(t)
	dir := t.TempDir()
	cases := torchInteropCases()
	batches := make(map[string][]float64)
	for _, c := range cases {
		base := filepath.Join(dir, c.Name)
		p := initTorchTest(t, c.m, c.dt, 3)
		if err := SaveTorchNPZ(base+".go.npz", c.m, p); err != nil {
			t.Fatal(err)
		}
		shape := append([]int{10}, c.m.InputShape()...)
		rng := rand.New(rand.NewPCG(4, 0))
		x := make([]float64, graph.Size(shape))
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		batches[c.Name] = x
		if err := npz.Write(base+".x.npz", map[string]any{"x": nestedArray(x, shape, tensor.Float64)}); err != nil {
			t.Fatal(err)
		}
	}
	js, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cases.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, python, "../scripts/torch_interop_check.py", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/torch_interop_check.py: %v\n%s", err, out)
	}
	t.Logf("PyTorch's half took %v", time.Since(start).Round(time.Millisecond))

	for _, c := range cases {
		base := filepath.Join(dir, c.Name)
		// metagon → PyTorch: the weights exported above, PyTorch's output.
		p := initTorchTest(t, c.m, c.dt, 3)
		c.compare(t, "metagon → PyTorch", p, batches[c.Name], base+".go-logits.npz")
		// PyTorch → metagon: PyTorch's weights into fresh parameters.
		p = initTorchTest(t, c.m, c.dt, 5)
		if err := LoadTorchNPZ(base+".torch.npz", c.m, p); err != nil {
			t.Fatal(err)
		}
		c.compare(t, "PyTorch → metagon", p, batches[c.Name], base+".torch-logits.npz")
	}
}

// compare computes the case's model on the batch x with the weights p and
// checks the outputs against the array "logits" that PyTorch wrote to path.
func (c *torchInteropCase) compare(t *testing.T, dir string, p *graph.Params, x []float64, path string) {
	t.Helper()
	r, err := npz.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var want []float64
	if c.dt == tensor.Float32 {
		var w32 []float32
		err = r.Read("logits.npy", &w32)
		for _, v := range w32 {
			want = append(want, float64(v))
		}
	} else {
		err = r.Read("logits.npy", &want)
	}
	if err != nil {
		t.Fatal(err)
	}
	got := forwardBatch(t, c.m, p, x)
	if len(got) != len(want) {
		t.Fatalf("%s %s: metagon gives %d outputs, PyTorch %d", c.Name, dir, len(got), len(want))
	}
	diff, scale := maxAbsDiff(got, want)
	t.Logf("%-13s %s: max |Δ output| = %.2g (max |output| %.2g)", c.Name, dir, diff, scale)
	if diff > c.tol*max(1, scale) {
		t.Errorf("%s %s: outputs differ by up to %.3g (max |output| %.3g), want at most %.0g relative",
			c.Name, dir, diff, scale, c.tol)
	}
}

// forwardBatch runs m with the weights p on the batch x of examples of
// m's input shape and returns the outputs.
func forwardBatch(t *testing.T, m Model, p *graph.Params, x []float64) []float64 {
	t.Helper()
	per := graph.Size(m.InputShape())
	shape := append([]int{len(x) / per}, m.InputShape()...)
	xn := G.NewTensor(p.Graph, p.Dtype, len(shape), G.WithShape(shape...), G.WithName("x"))
	var y *G.Node
	if err := graph.Build(func() { y = m.Forward(p.Weights(), xn) }); err != nil {
		t.Fatal(err)
	}
	r, err := graph.NewRunner(y)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Feed(xn, x); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	return r.Float64s(y)
}

// torchPython returns a Python that can import torch and numpy — $PYTHON
// if set, else /usr/bin/python3 (where apt installs python3-torch), else
// python3 on the PATH — and skips the test when there is none.
func torchPython(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3", "python3"}
	if py := os.Getenv("PYTHON"); py != "" {
		candidates = []string{py}
	}
	var why []string
	for _, py := range candidates {
		path, err := exec.LookPath(py)
		if err != nil {
			why = append(why, py+": not found")
			continue
		}
		out, err := exec.Command(path, "-c", "import torch, numpy").CombinedOutput()
		if err == nil {
			return path
		}
		why = append(why, py+": "+lastLine(string(out)))
	}
	t.Skipf("no Python with torch and numpy (%s): apt-get install python3-torch python3-numpy to run this test",
		strings.Join(why, "; "))
	return ""
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
