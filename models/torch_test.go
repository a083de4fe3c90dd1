package models

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// torchTestModels are small models of both kinds with PyTorch names: the
// MLP has a square 40×40 layer, the Conv-4 a head.
func torchTestModels() map[string]Model {
	return map[string]Model{
		"mlp": &MLP{Sizes: []int{3, 40, 40, 2}, Hidden: ReLUActivation},
		// no hidden biases: norms.i.weight and norms.i.bias
		"mlp batch norm": &MLP{Sizes: []int{3, 40, 40, 2}, Hidden: ReLUActivation, BatchNorm: true},
		"conv4":          &Conv4{InChannels: 2, Height: 16, Width: 16, Filters: 4, Classes: 3},
		// MAML++'s per-step scales and shifts: blocks.i.bn.weight.k
		"conv4 per step": &Conv4{InChannels: 2, Height: 16, Width: 16, Filters: 4, Classes: 3, PerStep: StepNorm{Steps: 3, Weights: true, Running: true}},
	}
}

// initTorchTest returns m's parameters in dtype dt, initialised from seed,
// with every one-dimensional parameter — biases, batch-norm scales and
// shifts, which Init may set to 0 or 1 — drawn at random too, so that a
// swapped or dropped one shows.
func initTorchTest(t *testing.T, m Model, dt tensor.Dtype, seed uint64) *graph.Params {
	t.Helper()
	p := graph.NewParams(G.NewGraph(), dt)
	if err := m.Init(p, seed); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, par := range p.List {
		if par.Value.Dims() != 1 {
			continue
		}
		for i := 0; i < par.Value.Size(); i++ {
			v := rng.Float64() - 0.5
			if strings.HasSuffix(par.Name, ".scale") {
				v += 1
			}
			if err := par.Value.SetAt(castTo(dt, v), i); err != nil {
				t.Fatal(err)
			}
		}
	}
	return p
}

// castTo returns v as a value of dtype dt.
func castTo(dt tensor.Dtype, v float64) any {
	if dt == tensor.Float32 {
		return float32(v)
	}
	return v
}

// paramValues returns a copy of every parameter's values, by name.
func paramValues(p *graph.Params) map[string][]float64 {
	out := map[string][]float64{}
	for _, st := range p.Snapshot("").Params {
		out[st.Name] = st.Data
	}
	return out
}

// TestTorchNPZRoundTrip saves the weights of each model and loads them into
// parameters initialised from another seed: every value comes back
// bit-identical, in float32 and float64, and across dtypes (a float64
// archive into a float32 model rounds each value once).
func TestTorchNPZRoundTrip(t *testing.T) {
	for name, m := range torchTestModels() {
		for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
			for _, into := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
				src := initTorchTest(t, m, dt, 1)
				path := filepath.Join(t.TempDir(), "new", "w.npz") // Save creates new/
				if err := SaveTorchNPZ(path, m, src); err != nil {
					t.Fatal(err)
				}
				dst := initTorchTest(t, m, into, 2)
				want, before := paramValues(src), paramValues(dst)
				if err := LoadTorchNPZ(path, m, dst); err != nil {
					t.Fatalf("%s %v into %v: %v", name, dt, into, err)
				}
				got := paramValues(dst)
				for pn, w := range want {
					if slices.Equal(before[pn], w) {
						t.Fatalf("%s: %s has the same values under both seeds: the test shows nothing", name, pn)
					}
					if into == tensor.Float32 {
						for i := range w {
							w[i] = float64(float32(w[i]))
						}
					}
					if !slices.Equal(got[pn], w) {
						t.Errorf("%s %v archive into %v model: %s differs after the round trip", name, dt, into, pn)
					}
				}
			}
		}
	}
}

// TestTorchNPZLayout reads an exported archive with npyio, as NumPy would:
// it holds exactly the PyTorch names, in the model's dtype, each linear
// weight transposed — element [o][i] of layers.k.weight is element [i][o]
// of metagon's w(k+1) — and conv weights in metagon's own (F, C, 3, 3).
func TestTorchNPZLayout(t *testing.T) {
	models := torchTestModels()
	for _, name := range []string{"mlp", "conv4"} {
		m := models[name]
		p := initTorchTest(t, m, tensor.Float32, 1)
		path := filepath.Join(t.TempDir(), "w.npz")
		if err := SaveTorchNPZ(path, m, p); err != nil {
			t.Fatal(err)
		}
		r, err := npz.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var keys []string
		for _, tp := range m.(TorchNamer).TorchParams() {
			keys = append(keys, tp.Torch+".npy")
		}
		if !slices.Equal(r.Keys(), keys) {
			t.Fatalf("%s: archive holds %v, want %v", name, r.Keys(), keys)
		}
		for _, tp := range m.(TorchNamer).TorchParams() {
			key := tp.Torch + ".npy"
			par := p.Get(tp.Name)
			shape := []int(par.Value.Shape())
			hdr := r.Header(key).Descr
			if hdr.Type != "'<f4'" || hdr.Fortran {
				t.Errorf("%s: %s has dtype %s (Fortran order %v), want '<f4' in C order", name, key, hdr.Type, hdr.Fortran)
			}
			var got []float32
			if err := r.Read(key, &got); err != nil {
				t.Fatal(err)
			}
			want := par.Value.Float32s()
			if !tp.Transpose {
				if !slices.Equal(hdr.Shape, shape) || !slices.Equal(got, want) {
					t.Errorf("%s: %s shape %v, want %v as %s, with the same values", name, key, hdr.Shape, shape, tp.Name)
				}
				continue
			}
			in, out := shape[0], shape[1]
			if !slices.Equal(hdr.Shape, []int{out, in}) {
				t.Fatalf("%s: %s shape %v, want [out in] = [%d %d]", name, key, hdr.Shape, out, in)
			}
			for o := 0; o < out; o++ {
				for i := 0; i < in; i++ {
					if got[o*in+i] != want[i*out+o] {
						t.Fatalf("%s: %s[%d][%d] = %g, want %s[%d][%d] = %g", name, key, o, i, got[o*in+i], tp.Name, i, o, want[i*out+o])
					}
				}
			}
		}
	}
}

// TestLoadTorchNPZRejects loads archives that do not fit a 3-40-40-2 MLP:
// each load fails with one line naming the file and what is wrong, and
// leaves the parameters as they were, even when only the last array is bad.
func TestLoadTorchNPZRejects(t *testing.T) {
	m := &MLP{Sizes: []int{3, 40, 40, 2}, Hidden: ReLUActivation}
	z := func(r, c int) [][]float64 {
		a := make([][]float64, r)
		for i := range a {
			a[i] = make([]float64, c)
		}
		return a
	}
	good := func() map[string]any {
		return map[string]any{
			"layers.0.weight": z(40, 3), "layers.0.bias": make([]float32, 40),
			"layers.1.weight": z(40, 40), "layers.1.bias": make([]float64, 40),
			"layers.2.weight": z(2, 40), "layers.2.bias": make([]float64, 2),
		}
	}
	with := func(change func(map[string]any)) map[string]any {
		a := good()
		change(a)
		return a
	}
	for _, c := range []struct {
		name   string
		arrays map[string]any
		want   []string // substrings of the error
	}{
		{"missing", with(func(a map[string]any) { delete(a, "layers.2.bias") }),
			[]string{"missing arrays layers.2.bias [2]"}},
		{"extra", with(func(a map[string]any) { a["layers.3.weight"] = []float64{1} }),
			[]string{"unexpected arrays layers.3.weight", "the model has layers.0.weight"}},
		{"metagon layout", with(func(a map[string]any) { a["layers.0.weight"] = z(3, 40) }),
			[]string{`array "layers.0.weight"`, "shape [3 40], want [40 3]", "nn.Linear weight [out, in]"}},
		{"rank", with(func(a map[string]any) { a["layers.2.bias"] = [][]float64{{0, 0}} }),
			[]string{`array "layers.2.bias"`, "shape [1 2], want [2]"}},
		{"scalar", with(func(a map[string]any) { a["layers.2.bias"] = 1.5 }),
			[]string{`array "layers.2.bias"`, "shape () (a scalar), want [2]"}},
		{"int", with(func(a map[string]any) { a["layers.2.bias"] = []int64{1, 2} }),
			[]string{`array "layers.2.bias"`, "dtype <i8, want float32 (<f4) or float64 (<f8)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.name+".npz")
			if err := npz.Write(path, c.arrays); err != nil {
				t.Fatal(err)
			}
			p := initTorchTest(t, m, tensor.Float64, 1)
			before := paramValues(p)
			err := LoadTorchNPZ(path, m, p)
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			for _, w := range append([]string{"load torch weights " + path + ": "}, c.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for pn, v := range paramValues(p) {
				if !slices.Equal(v, before[pn]) {
					t.Errorf("%s changed by a failed load", pn)
				}
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		// The archive the cases above spoil loads: zeroes every value.
		path := filepath.Join(t.TempDir(), "good.npz")
		if err := npz.Write(path, good()); err != nil {
			t.Fatal(err)
		}
		p := initTorchTest(t, m, tensor.Float64, 1)
		if err := LoadTorchNPZ(path, m, p); err != nil {
			t.Fatal(err)
		}
		for pn, v := range paramValues(p) {
			if slices.ContainsFunc(v, func(x float64) bool { return x != 0 }) {
				t.Errorf("%s not zeroed by the load", pn)
			}
		}
	})
}

// plainModel hides an MLP's TorchParams: a Model without PyTorch names.
type plainModel struct{ Model }

// TestTorchNPZBadArguments: a model without PyTorch names, parameters of
// another model, a file that is not an archive, and a missing one are
// errors that say so, not panics.
func TestTorchNPZBadArguments(t *testing.T) {
	dir := t.TempDir()
	mlp := &MLP{Sizes: []int{3, 5, 2}, Hidden: TanhActivation}
	p := initTorchTest(t, mlp, tensor.Float64, 1)
	text := filepath.Join(dir, "text.npz")
	if err := os.WriteFile(text, []byte("not a zip\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := &MLP{Sizes: []int{3, 6, 2}, Hidden: TanhActivation}
	deeper := &MLP{Sizes: []int{3, 5, 5, 2}, Hidden: TanhActivation}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"save plain", SaveTorchNPZ(filepath.Join(dir, "a.npz"), plainModel{mlp}, p), "has no PyTorch equivalent"},
		{"load plain", LoadTorchNPZ(text, plainModel{mlp}, p), "has no PyTorch equivalent"},
		{"other model", SaveTorchNPZ(filepath.Join(dir, "b.npz"), deeper, p), "maps 6 parameters to PyTorch, the parameter set holds 4"},
		{"not a zip", LoadTorchNPZ(text, mlp, p), "text.npz: not a NumPy .npz archive"},
		{"missing file", LoadTorchNPZ(filepath.Join(dir, "none.npz"), mlp, p), "none.npz"},
		{"not a directory", SaveTorchNPZ(filepath.Join(text, "c.npz"), mlp, p), "text.npz/c.npz"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, c.err, c.want)
		}
	}
	// Same parameter count, other shapes: the archive's shapes are checked.
	path := filepath.Join(dir, "mlp.npz")
	if err := SaveTorchNPZ(path, mlp, p); err != nil {
		t.Fatal(err)
	}
	q := initTorchTest(t, other, tensor.Float64, 1)
	if err := LoadTorchNPZ(path, other, q); err == nil || !strings.Contains(err.Error(), "shape [5 3], want [6 3]") {
		t.Errorf("3-5-2 weights into a 3-6-2 MLP: error %v", err)
	}
}

// maxAbsDiff returns max |a[i] − b[i]| and max |b[i]|.
func maxAbsDiff(a, b []float64) (diff, scale float64) {
	for i := range a {
		diff = math.Max(diff, math.Abs(a[i]-b[i]))
		scale = math.Max(scale, math.Abs(b[i]))
	}
	return diff, scale
}

// TestFromFortranOrder: NumPy saves a transposed (column-major) array in
// Fortran order; element (i, j, k) of a 2×3×4 array is then at position
// i + 2j + 6k, and fromFortranOrder puts it at 12i + 4j + k.
func TestFromFortranOrder(t *testing.T) {
	shape := []int{2, 3, 4}
	fortran := make([]float64, 24)
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 4; k++ {
				fortran[i+2*j+6*k] = float64(100*i + 10*j + k)
			}
		}
	}
	got := fromFortranOrder(fortran, shape)
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 4; k++ {
				if want := float64(100*i + 10*j + k); got[12*i+4*j+k] != want {
					t.Fatalf("element (%d, %d, %d) = %g, want %g", i, j, k, got[12*i+4*j+k], want)
				}
			}
		}
	}
}

// TestTorchLeftOut names exactly the parameters a learner added beside the
// model's: none for a model's own set, the extra ones otherwise.
func TestTorchLeftOut(t *testing.T) {
	for name, m := range torchTestModels() {
		p := initTorchTest(t, m, tensor.Float64, 1)
		if left := TorchLeftOut(m, p); len(left) != 0 {
			t.Errorf("%s: %v left out of the model's own parameters", name, left)
		}
		extra := []string{"relation.fc1.w", "lr.conv1.w"}
		for _, e := range extra {
			if _, err := p.Add(e, []int{2, 3}, graph.Zeros{}); err != nil {
				t.Fatal(err)
			}
		}
		if left := TorchLeftOut(m, p); !slices.Equal(left, extra) {
			t.Errorf("%s: left out %v, want the learner's own %v", name, left, extra)
		}
	}
}
