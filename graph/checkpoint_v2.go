package graph

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"slices"
)

// The v2 checkpoint format, written by SaveCheckpoint.
//
// A file is the line checkpointMagic, then the body, then the big-endian
// CRC-32 (IEEE) of the body. The body is a fixed sequence of fields with no
// names and no type information:
//
//	checkpoint = string model, uvarint n, n × (string key, string value),
//	             uvarint n, n × tensor, optional optimizer, optional inner
//	tensor     = string name, string dtype, uvarint rank, rank × uvarint dim,
//	             floats data
//	optional   = byte 0 (absent) | byte 1, state
//	state      = string kind, varint step, float lr,
//	             uvarint kinds, kinds × (uvarint n, n × floats)
//	floats     = uvarint n, n × float
//	string     = uvarint n, n bytes
//	float      = 8 bytes, little-endian IEEE-754 bits
//
// uvarint and varint are encoding/binary's variable-length integers. Metadata
// keys are written sorted and must be strictly increasing, so a checkpoint
// has exactly one encoding: the same checkpoint always gives the same bytes,
// whatever order its Meta map iterates in. (v1 files were an encoding/gob
// stream, whose map order is random; see checkpoint_v1.go.)

// checkpointMagic opens every checkpoint file that SaveCheckpoint writes.
const checkpointMagic = "metagon-checkpoint v2\n"

// checkpointCRCLen is the length of the trailing checksum.
const checkpointCRCLen = 4

// encodeCheckpoint returns the v2 file contents for c. It does not validate
// c (SaveCheckpoint does), but it fails on a negative dimension, which the
// format cannot hold.
func encodeCheckpoint(c *Checkpoint) ([]byte, error) {
	floats := 0
	for _, st := range c.Params {
		for _, d := range st.Shape {
			if d < 0 {
				return nil, fmt.Errorf("encode: parameter %q: negative dimension in shape %v", st.Name, st.Shape)
			}
		}
		floats += len(st.Data)
	}
	states := []*OptimizerState{c.Optimizer}
	for _, s := range c.States {
		states = append(states, &s)
	}
	for _, s := range states {
		if s != nil {
			for _, kind := range s.Slots {
				for _, buf := range kind {
					floats += len(buf)
				}
			}
		}
	}
	out := make([]byte, 0, len(checkpointMagic)+8*floats+1024+checkpointCRCLen)
	out = append(out, checkpointMagic...)
	start := len(out)

	out = appendString(out, c.Model)
	out = binary.AppendUvarint(out, uint64(len(c.Meta)))
	for _, k := range slices.Sorted(maps.Keys(c.Meta)) {
		out = appendString(out, k)
		out = appendString(out, c.Meta[k])
	}
	out = binary.AppendUvarint(out, uint64(len(c.Params)))
	for _, st := range c.Params {
		out = appendString(out, st.Name)
		out = appendString(out, st.Dtype)
		out = binary.AppendUvarint(out, uint64(len(st.Shape)))
		for _, d := range st.Shape {
			out = binary.AppendUvarint(out, uint64(d))
		}
		out = appendFloats(out, st.Data)
	}
	out = appendOptimizerState(out, c.Optimizer)
	out = binary.AppendUvarint(out, uint64(len(c.States)))
	for _, k := range slices.Sorted(maps.Keys(c.States)) {
		s := c.States[k]
		out = appendString(out, k)
		out = appendOptimizerState(out, &s)
	}

	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:])), nil
}

// appendString appends s, preceded by its length.
func appendString(out []byte, s string) []byte {
	out = binary.AppendUvarint(out, uint64(len(s)))
	return append(out, s...)
}

// appendFloats appends xs, preceded by their number.
func appendFloats(out []byte, xs []float64) []byte {
	out = binary.AppendUvarint(out, uint64(len(xs)))
	for _, x := range xs {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(x))
	}
	return out
}

// appendOptimizerState appends s, or the marker of an absent state.
func appendOptimizerState(out []byte, s *OptimizerState) []byte {
	if s == nil {
		return append(out, 0)
	}
	out = append(out, 1)
	out = appendString(out, s.Kind)
	out = binary.AppendVarint(out, s.Step)
	out = binary.LittleEndian.AppendUint64(out, math.Float64bits(s.LR))
	out = binary.AppendUvarint(out, uint64(len(s.Slots)))
	for _, kind := range s.Slots {
		out = binary.AppendUvarint(out, uint64(len(kind)))
		for _, buf := range kind {
			out = appendFloats(out, buf)
		}
	}
	return out
}

// decodeV2 parses the body of a v2 file, data[start:]; error offsets count
// from the start of data (the file). Empty slices decode as nil, as they did
// from v1 files. It does not validate the result.
//
// No allocation is sized by a count in the file alone: every count is first
// checked against the bytes left (see wireReader.count), so a tiny file
// cannot make the decoder allocate a huge slice.
func decodeV2(data []byte, start int) (*Checkpoint, error) {
	r := &wireReader{data: data, off: start}
	c := &Checkpoint{Model: r.string()}

	n := r.count("metadata entries", 2)
	c.Meta = make(map[string]string, n)
	prev := ""
	for i := range n {
		at := r.off
		k, v := r.string(), r.string()
		if i > 0 && k <= prev && r.err == nil {
			r.err = fmt.Errorf("at byte %d: metadata key %q follows %q; keys must be strictly increasing", at, k, prev)
		}
		c.Meta[k], prev = v, k
	}

	// A tensor takes at least 4 bytes: name, dtype, rank and value count.
	if n := r.count("parameters", 4); n > 0 {
		c.Params = make([]SavedTensor, n)
	}
	for i := range c.Params {
		st := &c.Params[i]
		st.Name = r.string()
		st.Dtype = r.string()
		if rank := r.count("dimensions", 1); rank > 0 {
			st.Shape = make([]int, rank)
		}
		for j := range st.Shape {
			at := r.off
			d := r.uvarint()
			if d > math.MaxInt && r.err == nil {
				r.err = fmt.Errorf("at byte %d: parameter %q: dimension %d is larger than %d", at, st.Name, d, math.MaxInt)
			}
			st.Shape[j] = int(d)
		}
		st.Data = r.floats()
	}

	c.Optimizer = r.optimizerState()
	for n := r.count("named optimizer states", 2); n > 0 && r.err == nil; n-- {
		name := r.string()
		if st := r.optimizerState(); st != nil {
			if c.States == nil {
				c.States = map[string]OptimizerState{}
			}
			c.States[name] = *st
		}
	}
	if r.err == nil && r.off != len(r.data) {
		r.err = fmt.Errorf("%d unexpected bytes after the data", len(r.data)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// wireReader reads the fields of a v2 body in order. The first failure is
// kept in err, with the offset where it happened; after it every read
// returns a zero value, so a decoder can read a whole structure and check
// err once at the end.
type wireReader struct {
	data []byte // the file up to the checksum
	off  int    // offset of the next unread byte
	err  error
}

// fail records a failure at the current offset, unless one is recorded.
func (r *wireReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("at byte %d: %s", r.off, fmt.Sprintf(format, args...))
	}
}

// left returns the number of unread bytes.
func (r *wireReader) left() int { return len(r.data) - r.off }

// uvarint reads an unsigned variable-length integer.
func (r *wireReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data[r.off:])
	if n <= 0 {
		r.fail("truncated or overlong integer")
		return 0
	}
	r.off += n
	return v
}

// varint reads a signed variable-length integer.
func (r *wireReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.data[r.off:])
	if n <= 0 {
		r.fail("truncated or overlong integer")
		return 0
	}
	r.off += n
	return v
}

// count reads the number of items that follow (what names them, in the
// plural), each of which takes at least size bytes, and fails when the bytes
// left cannot hold that many: a count in the file never sizes an allocation
// the data cannot back.
func (r *wireReader) count(what string, size int) int {
	at := r.off
	n := r.uvarint()
	if r.err == nil && n > uint64(r.left()/size) {
		r.err = fmt.Errorf("at byte %d: %d %s do not fit in the %d bytes left", at, n, what, r.left())
		return 0
	}
	return int(n)
}

// bytes reads the next n bytes.
func (r *wireReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > r.left() {
		r.fail("truncated: %d bytes needed, %d left", n, r.left())
		return nil
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b
}

// string reads a length-prefixed string.
func (r *wireReader) string() string { return string(r.bytes(r.count("bytes", 1))) }

// float reads one float64.
func (r *wireReader) float() float64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

// floats reads a count-prefixed list of float64s; an empty list is nil.
func (r *wireReader) floats() []float64 {
	n := r.count("values", 8)
	if n == 0 {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = r.float()
	}
	return out
}

// optimizerState reads an optional optimizer state.
func (r *wireReader) optimizerState() *OptimizerState {
	switch b := r.bytes(1); {
	case b == nil:
		return nil
	case b[0] == 0:
		return nil
	case b[0] != 1:
		r.off--
		r.fail("optimizer state marker %d, want 0 (absent) or 1 (present)", b[0])
		return nil
	}
	s := &OptimizerState{Kind: r.string(), Step: r.varint(), LR: r.float()}
	// A slot kind takes at least 1 byte (its count), a buffer 1 byte too.
	if kinds := r.count("slot kinds", 1); kinds > 0 {
		s.Slots = make([][][]float64, kinds)
	}
	for k := range s.Slots {
		if n := r.count("slot buffers", 1); n > 0 {
			s.Slots[k] = make([][]float64, n)
		}
		for i := range s.Slots[k] {
			s.Slots[k][i] = r.floats()
		}
	}
	return s
}
