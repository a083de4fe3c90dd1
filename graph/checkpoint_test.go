package graph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ckptParam describes one parameter of a test model.
type ckptParam struct {
	name  string
	shape []int
}

// ckptModel is the parameter layout of the test model "mlp-4-3-2".
var ckptModel = []ckptParam{{"w1", []int{4, 3}}, {"b1", []int{3}}, {"w2", []int{3, 2}}, {"b2", []int{2}}}

// buildCkptParams builds parameters with the given layout, dtype and seed.
func buildCkptParams(t *testing.T, dt tensor.Dtype, layout []ckptParam, seed uint64) *Params {
	t.Helper()
	p := NewParams(G.NewGraph(), dt)
	for _, l := range layout {
		if _, err := p.Add(l.name, l.shape, GlorotUniform{Seed: InitSeed(seed, l.name)}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// paramValues returns copies of all parameter values as float64.
func paramValues(p *Params) [][]float64 {
	out := make([][]float64, len(p.List))
	for i, par := range p.List {
		out[i] = denseValues(par.Value)
	}
	return out
}

// equalValues reports whether two sets of values are identical.
func equalValues(a, b [][]float64) bool {
	return slices.EqualFunc(a, b, func(x, y []float64) bool { return slices.Equal(x, y) })
}

// trainSteps runs n optimizer steps on the loss Σ_i ½‖w_i − sin(k+j)‖², whose
// target moves with the step index k, so the optimizer state matters.
func trainSteps(t *testing.T, p *Params, opt Optimizer, from, n int) {
	t.Helper()
	for k := from; k < from+n; k++ {
		grads := make([]*tensor.Dense, len(p.List))
		for i, par := range p.List {
			ws := denseValues(par.Value)
			g := make([]float64, len(ws))
			for j := range ws {
				g[j] = ws[j] - float64((k+j+i)%7)/7
			}
			if par.Value.Dtype() == tensor.Float32 {
				grads[i] = dense32(g, par.Value.Shape()...)
			} else {
				grads[i] = dense64(g, par.Value.Shape()...)
			}
		}
		if err := opt.Step(p.Values(), grads); err != nil {
			t.Fatal(err)
		}
	}
}

// tempFiles returns the names in dir that look like checkpoint temp files.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		for _, optName := range OptimizerNames {
			t.Run(dt.Name()+"/"+optName, func(t *testing.T) {
				// Uninterrupted: 10 steps.
				ref := buildCkptParams(t, dt, ckptModel, 1)
				refOpt, _ := NewOptimizer(optName, 0.05)
				trainSteps(t, ref, refOpt, 0, 10)

				// Interrupted: 6 steps, save, restore into a fresh model and
				// optimizer, 4 more steps.
				p := buildCkptParams(t, dt, ckptModel, 1)
				opt, _ := NewOptimizer(optName, 0.05)
				trainSteps(t, p, opt, 0, 6)
				c := p.Snapshot("mlp-4-3-2")
				st := opt.State()
				c.Optimizer = &st
				c.Meta["epoch"] = "6"
				c.Meta["seed"] = "1"
				// in a directory that does not exist yet
				path := filepath.Join(t.TempDir(), "runs", "a", "model.ckpt")
				if err := SaveCheckpoint(path, c); err != nil {
					t.Fatal(err)
				}
				saved := paramValues(p)

				loaded, err := LoadCheckpoint(path)
				if err != nil {
					t.Fatal(err)
				}
				if loaded.Model != "mlp-4-3-2" || loaded.Meta["epoch"] != "6" || loaded.Meta["seed"] != "1" || len(loaded.Meta) != 2 {
					t.Errorf("model/meta = %q %v", loaded.Model, loaded.Meta)
				}
				if loaded.Params[0].Dtype != dt.Name() || !slices.Equal(loaded.Params[0].Shape, []int{4, 3}) {
					t.Errorf("saved tensor 0 = %s %v", loaded.Params[0].Dtype, loaded.Params[0].Shape)
				}
				q := buildCkptParams(t, dt, ckptModel, 99) // other initial values
				if err := q.Restore(loaded, "mlp-4-3-2"); err != nil {
					t.Fatal(err)
				}
				if !equalValues(paramValues(q), saved) {
					t.Fatal("restored values differ from saved ones")
				}
				qOpt, _ := NewOptimizer(optName, 1)
				if loaded.Optimizer == nil {
					t.Fatal("optimizer state not saved")
				}
				if err := qOpt.SetState(*loaded.Optimizer); err != nil {
					t.Fatal(err)
				}
				trainSteps(t, q, qOpt, 6, 4)
				if !equalValues(paramValues(q), paramValues(ref)) {
					t.Errorf("resumed training differs from uninterrupted training:\n%v\n%v", paramValues(q), paramValues(ref))
				}
				if qOpt.State().Step != 10 {
					t.Errorf("step count %d, want 10", qOpt.State().Step)
				}
			})
		}
	}
}

func TestCheckpointSnapshotCopies(t *testing.T) {
	p := buildCkptParams(t, tensor.Float64, ckptModel, 1)
	c := p.Snapshot("m")
	before := slices.Clone(c.Params[0].Data)
	Constant{Value: 7}.Fill(p.List[0].Value)
	if !slices.Equal(c.Params[0].Data, before) {
		t.Error("snapshot shares memory with the parameter")
	}
	if c.Optimizer != nil || c.Meta == nil {
		t.Errorf("snapshot optimizer %v meta %v", c.Optimizer, c.Meta)
	}
	// A float64 checkpoint restores into a float32 model, rounded.
	q := buildCkptParams(t, tensor.Float32, ckptModel, 2)
	if err := q.Restore(c, "m"); err != nil {
		t.Fatal(err)
	}
	for i, x := range denseValues(q.List[1].Value) {
		if want := float64(float32(c.Params[1].Data[i])); x != want {
			t.Errorf("b1[%d] = %g, want %g", i, x, want)
		}
	}
}

func TestCheckpointBadFiles(t *testing.T) {
	dir := t.TempDir()
	p := buildCkptParams(t, tensor.Float64, ckptModel, 1)
	c := p.Snapshot("mlp-4-3-2")
	st := NewAdam(0.1).State()
	c.Optimizer = &st
	good := filepath.Join(dir, "good.ckpt")
	if err := SaveCheckpoint(good, c); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}

	// A body that passes the checksum but is not a gob of a Checkpoint.
	withCRC := func(body []byte) []byte {
		out := append([]byte(checkpointMagic), body...)
		return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(body))
	}
	garbage := make([]byte, 300)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	// A well-formed gob whose tensor holds the wrong number of values.
	inconsistent, err := encodeCheckpoint(&Checkpoint{Model: "m", Params: []SavedTensor{{Name: "w", Shape: []int{2, 2}, Data: []float64{1, 2, 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(data)
	flipped[len(flipped)/2] ^= 0x40

	files := []struct {
		name     string
		contents []byte // nil: do not create the file
		want     string
	}{
		{"missing", nil, "does not exist"},
		{"empty", []byte{}, "is empty, not a metagon checkpoint"},
		{"random", garbage, "is not a metagon checkpoint"},
		{"text", []byte("hello world\n"), "is not a metagon checkpoint"},
		{"other version", []byte("metagon-checkpoint v9\nxxxx"), `has unsupported format "metagon-checkpoint v9"`},
		{"truncated in header", data[:7], "is truncated"},
		{"header only", data[:len(checkpointMagic)], "is truncated"},
		{"header+2", data[:len(checkpointMagic)+2], "is truncated"},
		{"truncated 10", data[:len(checkpointMagic)+10], "is truncated or corrupt (checksum mismatch"},
		{"truncated half", data[:len(data)/2], "is truncated or corrupt (checksum mismatch"},
		{"truncated -1", data[:len(data)-1], "is truncated or corrupt (checksum mismatch"},
		{"truncated -4", data[:len(data)-4], "is truncated or corrupt (checksum mismatch"},
		{"flipped byte", flipped, "is truncated or corrupt (checksum mismatch"},
		{"appended byte", append(slices.Clone(data), 0), "is truncated or corrupt (checksum mismatch"},
		{"garbage with crc", withCRC(garbage), "is corrupt (decode"},
		{"empty body with crc", withCRC(nil), "is corrupt"},
		{"inconsistent", inconsistent, `is corrupt: parameter "w": shape [2 2] needs 4 values, has 3`},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(f.name, " ", "_")+".ckpt")
			if f.contents != nil {
				if err := os.WriteFile(path, f.contents, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, err := LoadCheckpoint(path)
			if err == nil {
				t.Fatalf("no error (got %+v)", c)
			}
			if c != nil {
				t.Error("non-nil checkpoint with an error")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), f.want) {
				t.Errorf("error %q, want it to name %s and contain %q", err, path, f.want)
			}
		})
	}
	// Every truncation of a good file is rejected, none panics.
	for n := range len(data) {
		path := filepath.Join(dir, "cut.ckpt")
		if err := os.WriteFile(path, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCheckpoint(path); err == nil {
			t.Fatalf("truncation to %d of %d bytes loaded without error", n, len(data))
		}
	}
	if _, err := LoadCheckpoint(dir); err == nil {
		t.Error("loading a directory: no error")
	}
}

func TestCheckpointRestoreMismatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.ckpt")
	src := buildCkptParams(t, tensor.Float64, ckptModel, 1)
	if err := SaveCheckpoint(path, src.Snapshot("mlp-4-3-2")); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		model  string
		layout []ckptParam
		want   string
	}{
		{"other model", "mlp-4-5-2", ckptModel, `checkpoint ` + path + ` is for model "mlp-4-3-2", not "mlp-4-5-2"`},
		{"other shape", "mlp-4-3-2", []ckptParam{{"w1", []int{4, 5}}, {"b1", []int{3}}, {"w2", []int{3, 2}}, {"b2", []int{2}}},
			`parameter "w1": checkpoint shape [4 3], model shape [4 5]`},
		{"other later shape", "mlp-4-3-2", []ckptParam{{"w1", []int{4, 3}}, {"b1", []int{3}}, {"w2", []int{2, 3}}, {"b2", []int{2}}},
			`parameter "w2": checkpoint shape [3 2], model shape [2 3]`},
		{"other name", "mlp-4-3-2", []ckptParam{{"w1", []int{4, 3}}, {"bias1", []int{3}}, {"w2", []int{3, 2}}, {"b2", []int{2}}},
			`parameter 1 is "b1" in the checkpoint, "bias1" in the model`},
		{"other order", "mlp-4-3-2", []ckptParam{{"b1", []int{3}}, {"w1", []int{4, 3}}, {"w2", []int{3, 2}}, {"b2", []int{2}}},
			`parameter 0 is "w1" in the checkpoint, "b1" in the model`},
		{"fewer params", "mlp-4-3-2", ckptModel[:3], `checkpoint has 4 parameters [w1 b1 w2 b2], model has 3 [w1 b1 w2]`},
		{"more params", "mlp-4-3-2", append(slices.Clone(ckptModel), ckptParam{"w3", []int{2, 2}}), `checkpoint has 4 parameters [w1 b1 w2 b2], model has 5`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := buildCkptParams(t, tensor.Float64, tc.layout, 5)
			before := paramValues(p)
			err := p.Restore(c, tc.model)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if !equalValues(paramValues(p), before) {
				t.Error("failed restore changed parameter values")
			}
		})
	}
	p := buildCkptParams(t, tensor.Float64, ckptModel, 5)
	if err := p.Restore(nil, "m"); err == nil {
		t.Error("restore of nil checkpoint: no error")
	}
	// A snapshot (not loaded from a file) names no file.
	err = p.Restore(src.Snapshot("a"), "b")
	if err == nil || err.Error() != `checkpoint is for model "a", not "b"` {
		t.Errorf("snapshot mismatch error: %v", err)
	}
}

func TestCheckpointAtomicSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.ckpt")
	p := buildCkptParams(t, tensor.Float64, ckptModel, 1)
	old := p.Snapshot("m")
	if err := SaveCheckpoint(path, old); err != nil {
		t.Fatal(err)
	}
	oldBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	Constant{Value: 3}.Fill(p.List[0].Value)
	next := p.Snapshot("m")

	checkOld := func(t *testing.T) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, oldBytes) {
			t.Error("old checkpoint was modified")
		}
		if _, err := LoadCheckpoint(path); err != nil {
			t.Errorf("old checkpoint no longer loads: %v", err)
		}
		if tmp := tempFiles(t, dir); len(tmp) != 0 {
			t.Errorf("temporary files left: %v", tmp)
		}
	}

	t.Run("write fails", func(t *testing.T) {
		saveHook = func(*os.File) error { return errors.New("disk full (simulated)") }
		defer func() { saveHook = nil }()
		err := SaveCheckpoint(path, next)
		if err == nil || !strings.Contains(err.Error(), "disk full (simulated)") || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v", err)
		}
		checkOld(t)
	})
	t.Run("temp file closed under it", func(t *testing.T) {
		saveHook = func(f *os.File) error { return f.Close() }
		defer func() { saveHook = nil }()
		if err := SaveCheckpoint(path, next); err == nil {
			t.Error("no error")
		}
		checkOld(t)
	})
	t.Run("invalid checkpoint", func(t *testing.T) {
		bad := p.Snapshot("m")
		bad.Params[0].Data = bad.Params[0].Data[:5]
		err := SaveCheckpoint(path, bad)
		if err == nil || !strings.Contains(err.Error(), `parameter "w1": shape [4 3] needs 12 values, has 5`) {
			t.Errorf("error %v", err)
		}
		if err := SaveCheckpoint(path, nil); err == nil {
			t.Error("nil checkpoint: no error")
		}
		checkOld(t)
	})
	t.Run("path is a directory", func(t *testing.T) {
		sub := filepath.Join(dir, "sub.ckpt")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		err := SaveCheckpoint(sub, next)
		if err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Errorf("error %v", err)
		}
		if fi, err := os.Stat(sub); err != nil || !fi.IsDir() {
			t.Error("directory was replaced")
		}
		checkOld(t)
	})
	t.Run("parent is a file", func(t *testing.T) {
		file := filepath.Join(dir, "plain")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := SaveCheckpoint(filepath.Join(file, "x.ckpt"), next); err == nil {
			t.Error("no error")
		}
		checkOld(t)
	})
	t.Run("directory not writable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(ro, 0o755)
		if err := SaveCheckpoint(filepath.Join(ro, "x.ckpt"), next); err == nil {
			t.Error("no error")
		}
		if tmp := tempFiles(t, ro); len(tmp) != 0 {
			t.Errorf("temporary files left: %v", tmp)
		}
	})
	t.Run("overwrite succeeds", func(t *testing.T) {
		if err := SaveCheckpoint(path, next); err != nil {
			t.Fatal(err)
		}
		c, err := LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.Params[0].Data[0] != 3 {
			t.Errorf("overwritten checkpoint holds %g, want 3", c.Params[0].Data[0])
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("mode %v, err %v", fi.Mode(), err)
		}
		if tmp := tempFiles(t, dir); len(tmp) != 0 {
			t.Errorf("temporary files left: %v", tmp)
		}
	})
	t.Run("relative path", func(t *testing.T) {
		t.Chdir(dir)
		if err := SaveCheckpoint("rel.ckpt", next); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCheckpoint("rel.ckpt"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCheckpointCorruptBodyNoPanic(t *testing.T) {
	// Corrupt the gob body and fix up the checksum so the decoder itself
	// sees the damage: loading must return (an error or a valid checkpoint)
	// and never panic.
	p := buildCkptParams(t, tensor.Float32, ckptModel, 1)
	c := p.Snapshot("m")
	st := NewAdam(0.1).State()
	c.Optimizer = &st
	data, err := encodeCheckpoint(c)
	if err != nil {
		t.Fatal(err)
	}
	body := data[len(checkpointMagic) : len(data)-checkpointCRCLen]
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		b := slices.Clone(body)
		switch i % 3 {
		case 0:
			b[r.IntN(len(b))] = byte(r.Uint32())
		case 1:
			b = b[:r.IntN(len(b))]
		default:
			for range 1 + r.IntN(8) {
				b[r.IntN(len(b))] ^= byte(1 << r.IntN(8))
			}
		}
		file := binary.BigEndian.AppendUint32(append([]byte(checkpointMagic), b...), crc32.ChecksumIEEE(b))
		got, err := decodeCheckpoint(file)
		if err == nil && got.validate() != nil {
			t.Fatalf("mutation %d: accepted an inconsistent checkpoint", i)
		}
	}
}
