package graph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gorgonia.org/tensor"
)

// Checkpoint is a saved training state: parameter values, optional optimizer
// state and free-form metadata.
//
// On disk (see SaveCheckpoint) it is the line "metagon-checkpoint v2\n",
// then the fields in a fixed binary layout (checkpoint_v2.go), then the
// big-endian CRC-32 (IEEE) of those bytes, so that truncated or corrupt files
// are detected. The layout has one encoding per checkpoint: saving the same
// checkpoint twice gives byte-identical files. LoadCheckpoint also reads the
// older gob-based "metagon-checkpoint v1" files (checkpoint_v1.go).
type Checkpoint struct {
	// Model names the model the parameters belong to, e.g. "mlp-784-30-10".
	Model string
	// Meta holds free-form metadata: epoch, seed, flags...
	Meta map[string]string
	// Params holds the parameter values, in the model's order.
	Params []SavedTensor
	// Optimizer is the optimizer state, or nil when none was saved.
	Optimizer *OptimizerState
	// States holds named optimizer states that a learner carries besides
	// Optimizer (an inner-loop optimizer kept from task to task, say); the
	// learner that wrote them reads them back. Nil or empty when none.
	States map[string]OptimizerState

	// source is the file the checkpoint was loaded from, for messages.
	source string
}

// SavedTensor is one saved parameter. Data holds its values in row-major
// order, converted to float64 whatever Dtype (the parameter's dtype name,
// e.g. "float32") says.
type SavedTensor struct {
	Name  string
	Shape []int
	Dtype string
	Data  []float64
}

// Snapshot returns a checkpoint of model holding a copy of every parameter
// value, an empty Meta map and no optimizer state; set c.Optimizer to a
// State() of the optimizer to save it too.
func (p *Params) Snapshot(model string) *Checkpoint {
	c := &Checkpoint{Model: model, Meta: map[string]string{}, Params: make([]SavedTensor, len(p.List))}
	for i, par := range p.List {
		st := SavedTensor{Name: par.Name, Dtype: par.Value.Dtype().Name()}
		st.Shape = slices.Clone([]int(par.Value.Shape()))
		st.Data = make([]float64, 0, par.Value.Shape().TotalSize())
		forEachFloat(par.Value, func(x float64) { st.Data = append(st.Data, x) })
		c.Params[i] = st
	}
	return c
}

// name describes the checkpoint in messages: its file, when it has one.
func (c *Checkpoint) name() string {
	if c.source == "" {
		return "checkpoint"
	}
	return "checkpoint " + c.source
}

// validate checks that every saved tensor holds as many values as its shape
// says and that parameter names are unique.
func (c *Checkpoint) validate() error {
	seen := make(map[string]bool, len(c.Params))
	for i, st := range c.Params {
		if seen[st.Name] {
			return fmt.Errorf("parameter %d: name %q appears twice", i, st.Name)
		}
		seen[st.Name] = true
		n, err := elementCount(st.Shape)
		if err != nil {
			return fmt.Errorf("parameter %q: %w", st.Name, err)
		}
		if len(st.Data) != n {
			return fmt.Errorf("parameter %q: shape %v needs %d values, has %d", st.Name, st.Shape, n, len(st.Data))
		}
	}
	return nil
}

// elementCount returns the number of elements of a tensor of the given
// shape. It fails on a negative dimension, and on a product larger than
// math.MaxInt, which no slice can hold: the product is computed with
// overflow checks, so a shape such as [1<<32 1<<32] cannot wrap around to a
// small count. A shape with a zero dimension has no elements, whatever the
// other dimensions are.
func elementCount(shape []int) (int, error) {
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
	}
	if slices.Contains(shape, 0) {
		return 0, nil
	}
	n := 1
	for _, d := range shape {
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, math.MaxInt)
		}
		n = int(lo)
	}
	return n, nil
}

// Restore copies the values of checkpoint c into p, converting float64 to
// float32 where p holds float32. It checks first that c is for model, that it
// has the same parameter names in the same order and the same shapes, and
// changes nothing when any of that differs; the error then names exactly
// what differs. The optimizer state in c, if any, is left for the caller to
// pass to Optimizer.SetState.
func (p *Params) Restore(c *Checkpoint, model string) error {
	if c == nil {
		return errors.New("restore: nil checkpoint")
	}
	if c.Model != model {
		return fmt.Errorf("%s is for model %q, not %q", c.name(), c.Model, model)
	}
	if err := c.validate(); err != nil {
		return fmt.Errorf("restore %s: %w", c.name(), err)
	}
	if len(c.Params) != len(p.List) {
		return fmt.Errorf("restore %s: checkpoint has %d parameters %v, model has %d %v",
			c.name(), len(c.Params), savedNames(c.Params), len(p.List), paramNames(p.List))
	}
	for i, st := range c.Params {
		par := p.List[i]
		if st.Name != par.Name {
			return fmt.Errorf("restore %s: parameter %d is %q in the checkpoint, %q in the model (checkpoint has %v, model has %v)",
				c.name(), i, st.Name, par.Name, savedNames(c.Params), paramNames(p.List))
		}
		if shape := []int(par.Value.Shape()); !slices.Equal(st.Shape, shape) {
			return fmt.Errorf("restore %s: parameter %q: checkpoint shape %v, model shape %v", c.name(), st.Name, st.Shape, shape)
		}
		if dt := par.Value.Dtype(); dt != tensor.Float64 && dt != tensor.Float32 {
			return fmt.Errorf("restore %s: parameter %q: model dtype %v is not float64 or float32", c.name(), st.Name, dt)
		}
	}
	for i, st := range c.Params {
		v := p.List[i].Value
		switch v.Dtype() {
		case tensor.Float64:
			copyFloatsInto(v, v.Float64s(), st.Data)
		case tensor.Float32:
			copyFloatsInto(v, v.Float32s(), st.Data)
		}
	}
	return nil
}

// copyFloatsInto writes src, in row-major order, into the logical elements of t,
// whose backing slice is data.
func copyFloatsInto[T float32 | float64](t *tensor.Dense, data []T, src []float64) {
	k := 0
	visitFloats(t, data, func(i int, _ T) {
		if k < len(src) {
			data[i] = T(src[k])
			k++
		}
	})
}

// savedNames returns the names of saved tensors.
func savedNames(ts []SavedTensor) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// paramNames returns the names of parameters.
func paramNames(ps []*Param) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// saveHook, when set (by tests), runs after the data is written to the
// temporary file and before it is synced; an error aborts the save.
var saveHook func(tmp *os.File) error

// SaveCheckpoint writes c to path atomically: it writes a temporary file in
// the same directory, syncs it, then renames it over path. On any error the
// temporary file is removed and path is left as it was, so path never holds
// a half-written checkpoint. Missing parent directories are created (mode
// 0755); the file is created with mode 0644.
//
// A process killed during a save leaves its temporary file (".<base>.tmp-"
// and digits) behind. Each save first removes those of path's checkpoint
// that no live save is writing: on Unix, those that no process holds
// locked (a save locks its temporary file until the rename, and the lock
// dies with the process); elsewhere, those unmodified for an hour. See
// checkpoint_tmp.go.
func SaveCheckpoint(path string, c *Checkpoint) (err error) {
	if c == nil {
		return fmt.Errorf("save checkpoint %s: nil checkpoint", path)
	}
	if verr := c.validate(); verr != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, verr)
	}
	data, err := encodeCheckpoint(c)
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	removeStaleTemps(dir, base)
	tmp, err := createTemp(dir, base)
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	tmpName := tmp.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = tmp.Close()
			}
			_ = os.Remove(tmpName)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("save checkpoint %s: write: %w", path, err)
	}
	if saveHook != nil {
		if err = saveHook(tmp); err != nil {
			return fmt.Errorf("save checkpoint %s: %w", path, err)
		}
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("save checkpoint %s: chmod: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("save checkpoint %s: sync: %w", path, err)
	}
	if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
		err = fmt.Errorf("save checkpoint %s: path is a directory", path)
		return err
	}
	if !tempLocks {
		closed = true
		if err = tmp.Close(); err != nil {
			return fmt.Errorf("save checkpoint %s: close: %w", path, err)
		}
	}
	if err = os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	if !closed {
		// Closing drops the lock that kept other saves from removing the
		// temporary file until the rename. Sync has written everything,
		// so closing cannot fail in a way that matters.
		closed = true
		_ = tmp.Close()
	}
	// Make the rename durable; failing to sync the directory is not fatal
	// since the file itself is complete either way.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint. It returns an
// error, and never panics, on a missing, empty, foreign, truncated or corrupt
// file.
func LoadCheckpoint(path string) (c *Checkpoint, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("load checkpoint: %s does not exist", path)
		}
		return nil, fmt.Errorf("load checkpoint %s: %w", path, err)
	}
	c, err = decodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %s %w", path, err)
	}
	c.source = path
	return c, nil
}

// checkpointFormats are the header lines this build reads, newest first,
// with the decoder of the bytes between the header and the checksum. A
// decoder gets the file up to the checksum and the offset where the body
// starts; its errors are reported as "is corrupt (decode: <error>)".
var checkpointFormats = []struct {
	magic  string
	decode func(data []byte, start int) (*Checkpoint, error)
}{
	{checkpointMagic, decodeV2},
	{checkpointMagicV1, func(data []byte, start int) (*Checkpoint, error) { return decodeV1(data[start:]) }},
}

// decodeCheckpoint parses file contents, in any format of checkpointFormats;
// its errors read well after the file name ("<path> is not a metagon
// checkpoint").
func decodeCheckpoint(data []byte) (*Checkpoint, error) {
	if len(data) == 0 {
		return nil, errors.New("is empty, not a metagon checkpoint")
	}
	var decode func([]byte, int) (*Checkpoint, error)
	start := 0
	for _, f := range checkpointFormats {
		if bytes.HasPrefix(data, []byte(f.magic)) {
			decode, start = f.decode, len(f.magic)
			break
		}
		if len(data) < len(f.magic) && bytes.HasPrefix([]byte(f.magic), data) {
			return nil, fmt.Errorf("is truncated (%d bytes, inside the header)", len(data))
		}
	}
	if decode == nil {
		if bytes.HasPrefix(data, []byte("metagon-checkpoint ")) {
			line, _, _ := bytes.Cut(data, []byte("\n"))
			var known []string
			for _, f := range checkpointFormats {
				known = append(known, fmt.Sprintf("%q", f.magic[:len(f.magic)-1]))
			}
			return nil, fmt.Errorf("has unsupported format %q (this build reads %s)", line, strings.Join(known, " and "))
		}
		return nil, errors.New("is not a metagon checkpoint (bad header)")
	}
	if len(data)-start < checkpointCRCLen {
		return nil, fmt.Errorf("is truncated (%d bytes, no checksum)", len(data))
	}
	end := len(data) - checkpointCRCLen
	if crc32.ChecksumIEEE(data[start:end]) != binary.BigEndian.Uint32(data[end:]) {
		return nil, fmt.Errorf("is truncated or corrupt (checksum mismatch, %d bytes)", len(data))
	}
	c, err := decode(data[:end], start)
	if err != nil {
		return nil, fmt.Errorf("is corrupt (decode: %w)", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("is corrupt: %w", err)
	}
	if c.Meta == nil {
		c.Meta = map[string]string{}
	}
	return c, nil
}
