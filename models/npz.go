package models

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"
	"github.com/metagon/metagon/graph"
	"gorgonia.org/tensor"
)

// SaveTorchNPZ writes the weights of m, held in p, to path as a NumPy .npz
// archive that the matching module of scripts/torch_models.py loads with
//
//	model.load_state_dict(torch_models.load_npz(path), strict=True)
//
// Each array is named
// by its state_dict key and laid out as PyTorch lays it out (see
// TorchParams: linear weights are transposed to (out, in)), in p's dtype,
// float32 or float64. m must be a TorchNamer. The file is written
// atomically (a temporary file renamed over path), and missing parent
// directories are created.
func SaveTorchNPZ(path string, m Model, p *graph.Params) error {
	entries, err := torchEntries(m, p)
	if err != nil {
		return fmt.Errorf("save torch weights %s: %w", path, err)
	}
	if p.Dtype != tensor.Float32 && p.Dtype != tensor.Float64 {
		return fmt.Errorf("save torch weights %s: parameters are %v, want float32 or float64", path, p.Dtype)
	}
	snap := p.Snapshot(m.Name())
	var buf bytes.Buffer
	w := npz.NewWriter(&buf)
	for _, e := range entries {
		data := snap.Params[e.index].Data
		if e.Transpose {
			data = transpose2(data, e.shape[0], e.shape[1])
		}
		if err := w.Write(e.Torch+".npy", nestedArray(data, e.torchShape, p.Dtype)); err != nil {
			return fmt.Errorf("save torch weights %s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("save torch weights %s: %w", path, err)
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("save torch weights %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it over path, so that path never holds a half-written archive. Missing
// parent directories are created, as graph.SaveCheckpoint does.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// LoadTorchNPZ reads the weights of m from the .npz archive at path into p.
// The archive must hold exactly the state_dict entries that m's
// TorchParams lists, in PyTorch's layout — a linear weight is (out, in),
// as nn.Linear keeps it; a square layer's two orientations have the same
// shape, so its orientation is given by the name alone — as float32 or
// float64 arrays (converted to p's dtype), such as
//
//	torch_models.save_npz(model, path)
//
// writes for a module of scripts/torch_models.py. Batch-norm running
// statistics are not weights of metagon's models (their batch norm always
// uses the batch's statistics) and are rejected as unexpected arrays. It
// checks every array's name, dtype and shape before it changes anything, and leaves p untouched when any of them is wrong; the error
// names the file, the array, and what was found and expected.
func LoadTorchNPZ(path string, m Model, p *graph.Params) error {
	entries, err := torchEntries(m, p)
	if err != nil {
		return fmt.Errorf("load torch weights %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load torch weights: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("load torch weights: %w", err)
	}
	r, err := npz.NewReader(f, fi.Size())
	if err != nil {
		return fmt.Errorf("load torch weights %s: not a NumPy .npz archive: %w", path, err)
	}
	if err := checkTorchNames(r.Keys(), entries); err != nil {
		return fmt.Errorf("load torch weights %s: %w", path, err)
	}
	// Read and check every array before touching p: Restore copies all
	// values or none.
	snap := p.Snapshot(m.Name())
	for _, e := range entries {
		data, err := readTorchArray(r, e)
		if err != nil {
			return fmt.Errorf("load torch weights %s: array %q: %w", path, e.Torch, err)
		}
		if e.Transpose {
			data = transpose2(data, e.torchShape[0], e.torchShape[1])
		}
		snap.Params[e.index].Data = data
	}
	if err := p.Restore(snap, m.Name()); err != nil {
		return fmt.Errorf("load torch weights %s: %w", path, err)
	}
	return nil
}

// torchEntry is one TorchParam resolved against a parameter set.
type torchEntry struct {
	TorchParam
	index      int   // position in p.List
	shape      []int // metagon's shape
	torchShape []int // PyTorch's shape
}

// torchEntries resolves m's TorchParams against p and checks that they
// cover every parameter of p exactly once.
// TorchLeftOut returns the names of p's parameters that SaveTorchNPZ does
// not write because model m maps no PyTorch weight to them: a learner's
// own meta-parameters (Meta-SGD's rates, Relation Networks' relation
// module, the LSTMs of Matching Networks' full context embeddings).
func TorchLeftOut(m Model, p *graph.Params) []string {
	tn, ok := m.(TorchNamer)
	if !ok {
		return paramNames(p)
	}
	mapped := map[string]bool{}
	for _, tp := range tn.TorchParams() {
		mapped[tp.Name] = true
	}
	var out []string
	for _, par := range p.List {
		if !mapped[par.Name] {
			out = append(out, par.Name)
		}
	}
	return out
}

func torchEntries(m Model, p *graph.Params) ([]torchEntry, error) {
	tn, ok := m.(TorchNamer)
	if !ok {
		return nil, fmt.Errorf("model %s has no PyTorch equivalent (it does not implement models.TorchNamer)", m.Name())
	}
	index := make(map[string]int, len(p.List))
	for i, par := range p.List {
		index[par.Name] = i
	}
	// p may hold more than the model's weights (Meta-SGD's learned rates,
	// say): those are no PyTorch module's weights and are left out.
	tps := tn.TorchParams()
	if len(tps) > len(p.List) {
		return nil, fmt.Errorf("model %s maps %d parameters to PyTorch, the parameter set holds %d (%s): was it initialised by another model?",
			m.Name(), len(tps), len(p.List), strings.Join(paramNames(p), ", "))
	}
	entries := make([]torchEntry, len(tps))
	for k, tp := range tps {
		i, ok := index[tp.Name]
		if !ok {
			return nil, fmt.Errorf("model %s: no parameter %q in the parameter set (%s): was it initialised by another model?",
				m.Name(), tp.Name, strings.Join(paramNames(p), ", "))
		}
		shape := []int(p.List[i].Value.Shape())
		torchShape := slices.Clone(shape)
		if tp.Transpose {
			if len(shape) != 2 {
				return nil, fmt.Errorf("model %s: parameter %q of shape %v cannot be transposed", m.Name(), tp.Name, shape)
			}
			torchShape[0], torchShape[1] = shape[1], shape[0]
		}
		for _, d := range shape {
			if d < 1 {
				return nil, fmt.Errorf("model %s: parameter %q has an empty shape %v", m.Name(), tp.Name, shape)
			}
		}
		entries[k] = torchEntry{TorchParam: tp, index: i, shape: shape, torchShape: torchShape}
	}
	return entries, nil
}

// paramNames lists the names in p.
func paramNames(p *graph.Params) []string {
	names := make([]string, len(p.List))
	for i, par := range p.List {
		names[i] = par.Name
	}
	return names
}

// checkTorchNames checks that the archive's keys are exactly the entries'
// PyTorch names, each once, with or without NumPy's ".npy" suffix.
func checkTorchNames(keys []string, entries []torchEntry) error {
	want := make(map[string]bool, len(entries))
	for _, e := range entries {
		want[e.Torch] = true
	}
	seen := make(map[string]bool, len(keys))
	var extra []string
	for _, k := range keys {
		name := strings.TrimSuffix(k, ".npy")
		if seen[name] {
			return fmt.Errorf("array %q appears twice", name)
		}
		seen[name] = true
		if !want[name] {
			extra = append(extra, name)
		}
	}
	var missing []string
	for _, e := range entries {
		if !seen[e.Torch] {
			missing = append(missing, fmt.Sprintf("%s %v", e.Torch, e.torchShape))
		}
	}
	switch {
	case len(missing) > 0 && len(extra) > 0:
		return fmt.Errorf("missing arrays %s; unexpected arrays %s", strings.Join(missing, ", "), strings.Join(extra, ", "))
	case len(missing) > 0:
		return fmt.Errorf("missing arrays %s", strings.Join(missing, ", "))
	case len(extra) > 0:
		return fmt.Errorf("unexpected arrays %s (the model has %s)", strings.Join(extra, ", "), strings.Join(torchNames(entries), ", "))
	}
	return nil
}

// torchNames lists the entries' PyTorch names.
func torchNames(entries []torchEntry) []string {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Torch
	}
	return names
}

// readTorchArray reads e's array from r, checks its dtype and shape, and
// returns its values in row-major (C) order.
func readTorchArray(r *npz.Reader, e torchEntry) (data []float64, err error) {
	key := e.Torch + ".npy"
	if !slices.Contains(r.Keys(), key) {
		key = e.Torch
	}
	rc, err := r.Open(key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	ar, err := npy.NewReader(rc)
	if err != nil {
		return nil, fmt.Errorf("not a NumPy array: %w", err)
	}
	hdr := ar.Header.Descr
	dtype := strings.Trim(hdr.Type, `'"`)
	if !slices.Equal(hdr.Shape, e.torchShape) {
		return nil, fmt.Errorf("shape %v, want %v (%s)", shapeOrScalar(hdr.Shape), e.torchShape, torchLayout(e))
	}
	switch strings.TrimLeft(dtype, "<>=|") {
	case "f4":
		var v []float32
		if err := ar.Read(&v); err != nil {
			return nil, fmt.Errorf("read %s data: %w", dtype, err)
		}
		data = make([]float64, len(v))
		for i, x := range v {
			data[i] = float64(x)
		}
	case "f8":
		if err := ar.Read(&data); err != nil {
			return nil, fmt.Errorf("read %s data: %w", dtype, err)
		}
	default:
		return nil, fmt.Errorf("dtype %s, want float32 (<f4) or float64 (<f8)", dtype)
	}
	if n := graph.Size(hdr.Shape); len(data) != n {
		return nil, fmt.Errorf("holds %d values, shape %v needs %d", len(data), hdr.Shape, n)
	}
	if hdr.Fortran {
		data = fromFortranOrder(data, hdr.Shape)
	}
	return data, nil
}

// shapeOrScalar shows a shape, or "() (a scalar)" for none.
func shapeOrScalar(s []int) string {
	if len(s) == 0 {
		return "() (a scalar)"
	}
	return fmt.Sprint(s)
}

// torchLayout describes the PyTorch layout e expects, for messages.
func torchLayout(e torchEntry) string {
	switch {
	case e.Transpose:
		return fmt.Sprintf("nn.Linear weight [out, in]: the transpose of metagon's %s %v", e.Name, e.shape)
	case len(e.shape) == 4:
		return fmt.Sprintf("nn.Conv2d weight [out, in, kh, kw], as metagon's %s", e.Name)
	default:
		return fmt.Sprintf("as metagon's %s", e.Name)
	}
}

// transpose2 returns the transpose of the rows×cols row-major matrix a.
func transpose2(a []float64, rows, cols int) []float64 {
	t := make([]float64, len(a))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			t[j*rows+i] = a[i*cols+j]
		}
	}
	return t
}

// fromFortranOrder reorders data of the given shape from column-major
// (Fortran) order, in which NumPy saves e.g. a transposed array, to
// row-major order.
func fromFortranOrder(data []float64, shape []int) []float64 {
	out := make([]float64, len(data))
	idx := make([]int, len(shape)) // row-major multi-index of out[k]
	for k := range out {
		f, stride := 0, 1 // the same element's position in data
		for d := range shape {
			f += idx[d] * stride
			stride *= shape[d]
		}
		out[k] = data[f]
		for d := len(shape) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// nestedArray returns data as nested slices of the given shape — what
// npyio needs to write an array of more than one dimension — of float32
// when dt is tensor.Float32, else of float64.
func nestedArray(data []float64, shape []int, dt tensor.Dtype) any {
	var flat reflect.Value
	if dt == tensor.Float32 {
		v := make([]float32, len(data))
		for i, x := range data {
			v[i] = float32(x)
		}
		flat = reflect.ValueOf(v)
	} else {
		flat = reflect.ValueOf(slices.Clone(data))
	}
	return nest(flat, shape).Interface()
}

// nest splits the flat slice v into nested slices of the given shape, whose
// dimensions are all positive.
func nest(v reflect.Value, shape []int) reflect.Value {
	if len(shape) <= 1 {
		return v
	}
	step := v.Len() / shape[0]
	var out reflect.Value
	for i := 0; i < shape[0]; i++ {
		sub := nest(v.Slice(i*step, (i+1)*step), shape[1:])
		if i == 0 {
			out = reflect.MakeSlice(reflect.SliceOf(sub.Type()), shape[0], shape[0])
		}
		out.Index(i).Set(sub)
	}
	return out
}
