package graph

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// goldenV1File is a checkpoint written by the v1 encoder (before v2 existed);
// it holds goldenCheckpoint().
const goldenV1File = "testdata/checkpoint/v1-adam-momentum.ckpt"

// goldenCheckpoint returns the checkpoint held by goldenV1File: the layout
// ckptModel with values from a formula (exact in binary, so the same on
// every machine), metadata, an Adam state and a carried momentum state.
func goldenCheckpoint() *Checkpoint {
	c := &Checkpoint{Model: "mlp-4-3-2", Meta: map[string]string{"epoch": "6", "seed": "1", "note": "written by the v1 encoder"}}
	for k, l := range ckptModel {
		n := 1
		for _, d := range l.shape {
			n *= d
		}
		data := make([]float64, n)
		for i := range data {
			data[i] = float64(i+k)/8 - 1
		}
		c.Params = append(c.Params, SavedTensor{Name: l.name, Shape: l.shape, Dtype: "float32", Data: data})
	}
	slots := func(kinds int, scale float64) [][][]float64 {
		out := make([][][]float64, kinds)
		for s := range out {
			for _, p := range c.Params {
				buf := make([]float64, len(p.Data))
				for i := range buf {
					buf[i] = float64(i+s) * scale
				}
				out[s] = append(out[s], buf)
			}
		}
		return out
	}
	c.Optimizer = &OptimizerState{Kind: "adam", Step: 6, LR: 0.05, Slots: slots(2, 0.25)}
	c.States = map[string]OptimizerState{"inner": {Kind: "momentum", Step: 2, LR: 0.5, Slots: slots(1, -0.5)}}
	return c
}

// encodeCheckpointV1 is the v1 encoder as it was before v2: the gob encoding
// of c between the v1 header and the CRC-32 of the gob bytes. Tests use it to
// make v1 files.
func encodeCheckpointV1(t testing.TB, c *Checkpoint) []byte {
	t.Helper()
	// the v1 layout: the "inner" state in the field Inner
	w := checkpointV1{Model: c.Model, Meta: c.Meta, Params: c.Params, Optimizer: c.Optimizer}
	if s, ok := c.States["inner"]; ok {
		w.Inner = &s
	}
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(w); err != nil {
		t.Fatal(err)
	}
	return seal(checkpointMagicV1, body.Bytes())
}

// seal returns a file of the given header and body, with the body's checksum.
func seal(magic string, body []byte) []byte {
	out := append([]byte(magic), body...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(body))
}

// diffCheckpoints describes the first difference between a and b, or
// returns "" when they hold the same model, metadata, tensors and optimizer
// states. Floats are compared bit for bit (so NaNs compare equal to
// themselves), and a nil slice equals an empty one.
func diffCheckpoints(a, b *Checkpoint) string {
	switch {
	case a.Model != b.Model:
		return fmt.Sprintf("model %q vs %q", a.Model, b.Model)
	case !maps.Equal(a.Meta, b.Meta):
		return fmt.Sprintf("meta %v vs %v", a.Meta, b.Meta)
	case len(a.Params) != len(b.Params):
		return fmt.Sprintf("%d vs %d parameters", len(a.Params), len(b.Params))
	}
	for i, x := range a.Params {
		y := b.Params[i]
		if x.Name != y.Name || x.Dtype != y.Dtype || !slices.Equal(x.Shape, y.Shape) || !sameBits(x.Data, y.Data) {
			return fmt.Sprintf("parameter %d: %q %s %v (%d values) vs %q %s %v (%d values)",
				i, x.Name, x.Dtype, x.Shape, len(x.Data), y.Name, y.Dtype, y.Shape, len(y.Data))
		}
	}
	if d := diffStates(a.Optimizer, b.Optimizer); d != "" {
		return d
	}
	if len(a.States) != len(b.States) {
		return fmt.Sprintf("%d named states vs %d", len(a.States), len(b.States))
	}
	for k, x := range a.States {
		y, ok := b.States[k]
		if !ok {
			return fmt.Sprintf("named state %q missing", k)
		}
		if d := diffStates(&x, &y); d != "" {
			return k + ": " + d
		}
	}
	return ""
}

// diffStates describes the first difference between two optimizer states.
func diffStates(a, b *OptimizerState) string {
	switch {
	case a == nil || b == nil:
		if a != b {
			return fmt.Sprintf("optimizer state %v vs %v", a, b)
		}
		return ""
	case a.Kind != b.Kind || a.Step != b.Step || math.Float64bits(a.LR) != math.Float64bits(b.LR) || len(a.Slots) != len(b.Slots):
		return fmt.Sprintf("optimizer state %s step %d lr %g, %d slot kinds vs %s step %d lr %g, %d slot kinds",
			a.Kind, a.Step, a.LR, len(a.Slots), b.Kind, b.Step, b.LR, len(b.Slots))
	}
	for k := range a.Slots {
		if !slices.EqualFunc(a.Slots[k], b.Slots[k], sameBits) {
			return fmt.Sprintf("optimizer %s: slot kind %d differs", a.Kind, k)
		}
	}
	return ""
}

// sameBits reports whether two float slices hold the same bits.
func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

func TestCheckpointEncodingDeterministic(t *testing.T) {
	// 20 metadata keys, inserted in a different random order into a fresh
	// map for every encoding: map iteration order differs from map to map
	// and from loop to loop, so an encoder that follows it writes different
	// bytes for the same checkpoint.
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%02d", i)
	}
	r := rand.New(rand.NewPCG(5, 6))
	withMeta := func() *Checkpoint {
		c := goldenCheckpoint()
		c.Meta = map[string]string{}
		for _, j := range r.Perm(len(keys)) {
			c.Meta[keys[j]] = "value of " + keys[j]
		}
		return c
	}
	first, err := encodeCheckpoint(withMeta())
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 100; i++ {
		data, err := encodeCheckpoint(withMeta())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, first) {
			t.Fatalf("encoding %d differs from encoding 0 (%d vs %d bytes)", i, len(data), len(first))
		}
	}
	// Two saves make byte-identical files.
	dir := t.TempDir()
	var files [2][]byte
	for i := range files {
		path := filepath.Join(dir, fmt.Sprintf("run%d.ckpt", i))
		if err := SaveCheckpoint(path, withMeta()); err != nil {
			t.Fatal(err)
		}
		if files[i], err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(files[0], files[1]) || !bytes.Equal(files[0], first) {
		t.Error("two saves of the same checkpoint differ")
	}
	c, err := decodeCheckpoint(first)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffCheckpoints(c, withMeta()); d != "" {
		t.Errorf("decoded checkpoint differs: %s", d)
	}
}

func TestCheckpointLoadsV1(t *testing.T) {
	want := goldenCheckpoint()
	check := func(t *testing.T, c *Checkpoint, want *Checkpoint) {
		t.Helper()
		if d := diffCheckpoints(c, want); d != "" {
			t.Errorf("loaded checkpoint differs from the saved one: %s", d)
		}
	}
	// The file that the v1 encoder wrote.
	got, err := LoadCheckpoint(goldenV1File)
	if err != nil {
		t.Fatal(err)
	}
	check(t, got, want)
	q := buildCkptParams(t, tensor.Float32, ckptModel, 9)
	if err := q.Restore(got, "mlp-4-3-2"); err != nil {
		t.Fatal(err)
	}
	inner := got.States["inner"]
	for name, s := range map[string]*OptimizerState{"adam": got.Optimizer, "momentum": &inner} {
		opt, _ := NewOptimizer(name, 1)
		if err := opt.SetState(*s); err != nil {
			t.Errorf("%s state from a v1 file: %v", name, err)
		}
	}

	// Files that the v1 encoder writes now, with and without optimizer state.
	bare := goldenCheckpoint()
	bare.Optimizer, bare.States = nil, nil
	for name, c := range map[string]*Checkpoint{"with optimizer state": want, "without optimizer state": bare} {
		t.Run(name, func(t *testing.T) {
			c2, err := decodeCheckpoint(encodeCheckpointV1(t, c))
			if err != nil {
				t.Fatal(err)
			}
			check(t, c2, c)
		})
	}

	// A v1 checkpoint saved again is written as v2, with the same contents.
	path := filepath.Join(t.TempDir(), "resaved.ckpt")
	if err := SaveCheckpoint(path, got); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(checkpointMagic)) {
		t.Errorf("resaved file starts %q, want %q", data[:len(checkpointMagic)], checkpointMagic)
	}
	again, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	check(t, again, want)
}

func TestCheckpointV2Corrupt(t *testing.T) {
	// body assembles a v2 body from the encoder's pieces.
	body := func(parts ...func([]byte) []byte) []byte {
		var b []byte
		for _, p := range parts {
			b = p(b)
		}
		return b
	}
	str := func(s string) func([]byte) []byte { return func(b []byte) []byte { return appendString(b, s) } }
	uv := func(n uint64) func([]byte) []byte { return func(b []byte) []byte { return binary.AppendUvarint(b, n) } }
	raw := func(bs ...byte) func([]byte) []byte { return func(b []byte) []byte { return append(b, bs...) } }
	noStates := raw(0, 0)
	tensor1 := func(dim uint64, values uint64) func([]byte) []byte {
		return func(b []byte) []byte {
			return body(raw(b...), uv(1), str("w"), str("float64"), uv(1), uv(dim), uv(values))
		}
	}
	valid, err := encodeCheckpoint(goldenCheckpoint())
	if err != nil {
		t.Fatal(err)
	}
	validBody := valid[len(checkpointMagic) : len(valid)-checkpointCRCLen]
	tooBig := uint64(math.MaxInt) + 1

	cases := []struct {
		name string
		body []byte
		want string
	}{
		{"unsorted keys", body(str("m"), uv(2), str("b"), str("1"), str("a"), str("2"), uv(0), noStates),
			`metadata key "a" follows "b"; keys must be strictly increasing`},
		{"repeated key", body(str("m"), uv(2), str("a"), str("1"), str("a"), str("2"), uv(0), noStates),
			`metadata key "a" follows "a"`},
		{"bad state marker", body(str("m"), uv(0), uv(0), raw(2)), "optimizer state marker 2, want 0 (absent) or 1 (present)"},
		{"dimension too large", body(str("m"), uv(0), tensor1(tooBig, 0), noStates),
			fmt.Sprintf(`parameter "w": dimension %d is larger than %d`, tooBig, math.MaxInt)},
		{"value count beyond the data", body(str("m"), uv(0), tensor1(2, 1<<40), noStates),
			fmt.Sprintf("%d values do not fit in the 2 bytes left", 1<<40)},
		{"string length beyond the data", body(uv(1 << 50)), fmt.Sprintf("%d bytes do not fit in the 0 bytes left", 1<<50)},
		{"truncated integer", body(str("m"), raw(0x80)), "truncated or overlong integer"},
		{"trailing byte", append(slices.Clone(validBody), 0), "1 unexpected bytes after the data"},
		{"no states", body(str("m"), uv(0), uv(0)), "truncated: 1 bytes needed, 0 left"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decodeCheckpoint(seal(checkpointMagic, tc.body))
			if err == nil || !strings.Contains(err.Error(), "is corrupt (decode: ") {
				t.Fatalf("got %+v, error %v", c, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
