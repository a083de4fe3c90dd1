package graph

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
)

// The v1 checkpoint format, which this package wrote before v2 and still
// reads: the line checkpointMagicV1, then the encoding/gob encoding of the
// checkpoint (the fields of checkpointV1), then the big-endian CRC-32 (IEEE)
// of the gob bytes.

// checkpointMagicV1 opens every v1 checkpoint file.
const checkpointMagicV1 = "metagon-checkpoint v1\n"

// checkpointV1 is what a v1 file gob-encodes: the exported fields that
// Checkpoint had when v1 was current. gob matches fields by name, so this
// keeps reading v1 files whatever fields Checkpoint gains later.
type checkpointV1 struct {
	Model     string
	Meta      map[string]string
	Params    []SavedTensor
	Optimizer *OptimizerState
	Inner     *OptimizerState
}

// decodeV1 parses the gob body of a v1 file. It does not validate the
// result. encoding/gob is not ours, so a panic inside it becomes an error,
// and the sizes in the body are checked before gob sees it (checkGobSizes).
func decodeV1(body []byte) (c *Checkpoint, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("decoder panic: %v", r)
		}
	}()
	if err := checkGobSizes(body); err != nil {
		return nil, err
	}
	r := bytes.NewReader(body)
	// A nil map would make gob allocate one sized by the entry count in the
	// file; a non-nil one is filled entry by entry.
	w := checkpointV1{Meta: map[string]string{}}
	if err := gob.NewDecoder(r).Decode(&w); err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d unexpected bytes after the data", r.Len())
	}
	c = &Checkpoint{Model: w.Model, Meta: w.Meta, Params: w.Params, Optimizer: w.Optimizer}
	if w.Inner != nil { // v1's one carried state: Reptile's inner Adam
		c.States = map[string]OptimizerState{"inner": *w.Inner}
	}
	return c, nil
}

// The v1 decoder hands the body to encoding/gob, which sizes some
// allocations from counts in the data before it reads the items: a map's
// entry count (with no limit), a message's length and a slice's length (up
// to 10 MiB each). A v1 file of a few hundred bytes could thus make gob
// allocate gigabytes. checkGobSizes rules that out: before gob sees the
// body, it walks the stream and checks every length and count against the
// bytes that follow, so gob never allocates more than a small multiple of
// the file's size. It checks sizes only; gob checks everything else.

// Type ids that encoding/gob predefines (see its type.go); v1 checkpoints
// use only these and the types that the stream defines.
const (
	gobBool    = 1
	gobInt     = 2
	gobUint    = 3
	gobFloat   = 4
	gobBytes   = 5
	gobString  = 6
	gobComplex = 7
)

// gobMaxDepth bounds the nesting of values; in a v1 checkpoint they nest 5
// deep (checkpoint, optimizer state, Slots, slot kind, buffer, value).
const gobMaxDepth = 32

// gobKind is the kind of a type defined in a gob stream.
type gobKind int

const (
	gobArrayKind gobKind = iota + 1
	gobSliceKind
	gobStructKind
	gobMapKind
)

// gobType is a type defined in a gob stream, reduced to what sizes need.
type gobType struct {
	kind      gobKind
	key, elem int64   // map key and element, array or slice element
	fields    []int64 // struct field types, in field order
}

// gobScan walks a gob stream. Like wireReader it keeps the first failure
// and then does nothing.
type gobScan struct {
	msg   []byte            // the unread rest of the current message
	types map[int64]gobType // the types that the stream defined so far
	err   error
}

// checkGobSizes checks, without decoding the gob stream, that every message
// length, string or byte-slice length, and slice, array or map count in it
// fits in the bytes that follow it (each item takes at least one byte, a
// map entry two).
func checkGobSizes(stream []byte) error {
	s := &gobScan{types: map[int64]gobType{}}
	for len(stream) > 0 && s.err == nil {
		s.msg = stream
		n := s.count("message bytes", 1)
		if s.err != nil {
			break
		}
		if n == 0 {
			return errors.New("empty gob message")
		}
		s.msg, stream = s.msg[:n], s.msg[n:]
		if id := s.int(); id < 0 {
			s.typeDef(-id)
		} else {
			s.value(id, 0)
		}
	}
	if s.err != nil {
		return fmt.Errorf("gob stream: %w", s.err)
	}
	return nil
}

// fail records a failure, unless one is recorded.
func (s *gobScan) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf(format, args...)
	}
}

// uint reads a gob unsigned integer: one byte below 0x80, else a byte
// holding minus the number of big-endian bytes that follow (at most 8).
func (s *gobScan) uint() uint64 {
	if s.err != nil {
		return 0
	}
	if len(s.msg) == 0 {
		s.fail("truncated: integer expected")
		return 0
	}
	b := s.msg[0]
	if b < 0x80 {
		s.msg = s.msg[1:]
		return uint64(b)
	}
	n := -int(int8(b))
	if n > 8 || n > len(s.msg)-1 {
		s.fail("bad integer (%d bytes announced, %d left)", n, len(s.msg)-1)
		return 0
	}
	var v uint64
	for _, c := range s.msg[1 : 1+n] {
		v = v<<8 | uint64(c)
	}
	s.msg = s.msg[1+n:]
	return v
}

// int reads a gob signed integer: a uint whose low bit is the sign.
func (s *gobScan) int() int64 {
	u := s.uint()
	if u&1 != 0 {
		return ^int64(u >> 1)
	}
	return int64(u >> 1)
}

// count reads a number of items (what names them) that each take at least
// size bytes, and fails when the rest of the message cannot hold them.
func (s *gobScan) count(what string, size int) int {
	n := s.uint()
	if s.err == nil && n > uint64(len(s.msg)/size) {
		s.fail("%d %s do not fit in the %d bytes left", n, what, len(s.msg))
		return 0
	}
	return int(n)
}

// skipBytes skips a string or byte slice.
func (s *gobScan) skipBytes() {
	n := s.count("bytes", 1)
	if s.err == nil {
		s.msg = s.msg[n:]
	}
}

// fields reads the fields of a struct value up to its end marker, calling
// field with each field number; field reads the field's value.
func (s *gobScan) fields(field func(n int)) {
	n := -1
	for s.err == nil {
		delta := s.uint()
		if delta == 0 || s.err != nil {
			return
		}
		if delta > 1<<16 { // no struct has that many fields; keeps n from overflowing
			s.fail("bad field delta %d", delta)
			return
		}
		n += int(delta)
		field(n)
	}
}

// typeDef reads the definition (a gob wireType) of type id.
func (s *gobScan) typeDef(id int64) {
	var t gobType
	common := func() { // CommonType{Name string; Id typeId}
		s.fields(func(n int) {
			switch n {
			case 0:
				s.skipBytes()
			case 1:
				s.int()
			default:
				s.fail("type %d: unknown CommonType field %d", id, n)
			}
		})
	}
	s.fields(func(n int) {
		if t.kind != 0 {
			s.fail("type %d: defined as two kinds", id)
			return
		}
		switch n {
		case 0: // arrayType{CommonType; Elem typeId; Len int}
			t.kind = gobArrayKind
			s.fields(func(n int) {
				switch n {
				case 0:
					common()
				case 1:
					t.elem = s.int()
				case 2:
					s.int()
				default:
					s.fail("type %d: unknown arrayType field %d", id, n)
				}
			})
		case 1: // sliceType{CommonType; Elem typeId}
			t.kind = gobSliceKind
			s.fields(func(n int) {
				switch n {
				case 0:
					common()
				case 1:
					t.elem = s.int()
				default:
					s.fail("type %d: unknown sliceType field %d", id, n)
				}
			})
		case 2: // structType{CommonType; Field []fieldType{Name string; Id typeId}}
			t.kind = gobStructKind
			s.fields(func(n int) {
				switch n {
				case 0:
					common()
				case 1:
					for range s.count("struct fields", 1) {
						var fieldID int64
						s.fields(func(n int) {
							switch n {
							case 0:
								s.skipBytes()
							case 1:
								fieldID = s.int()
							default:
								s.fail("type %d: unknown fieldType field %d", id, n)
							}
						})
						t.fields = append(t.fields, fieldID)
					}
				default:
					s.fail("type %d: unknown structType field %d", id, n)
				}
			})
		case 3: // mapType{CommonType; Key, Elem typeId}
			t.kind = gobMapKind
			s.fields(func(n int) {
				switch n {
				case 0:
					common()
				case 1:
					t.key = s.int()
				case 2:
					t.elem = s.int()
				default:
					s.fail("type %d: unknown mapType field %d", id, n)
				}
			})
		default: // GobEncoder, BinaryMarshaler, TextMarshaler: not in checkpoints
			s.fail("type %d: unsupported kind (wireType field %d)", id, n)
		}
	})
	if s.err == nil && t.kind == 0 {
		s.fail("type %d: empty definition", id)
	}
	if _, dup := s.types[id]; dup {
		s.fail("type %d: defined twice", id)
	}
	s.types[id] = t
}

// value reads a value of type id, nested depth deep.
func (s *gobScan) value(id int64, depth int) {
	if s.err != nil {
		return
	}
	if depth > gobMaxDepth {
		s.fail("values nested more than %d deep", gobMaxDepth)
		return
	}
	switch id {
	case gobBool, gobInt, gobUint, gobFloat:
		s.uint()
		return
	case gobComplex:
		s.uint()
		s.uint()
		return
	case gobBytes, gobString:
		s.skipBytes()
		return
	}
	t, ok := s.types[id]
	if !ok {
		s.fail("value of undefined or unsupported type %d", id)
		return
	}
	switch t.kind {
	case gobArrayKind, gobSliceKind:
		for range s.count("elements", 1) {
			s.value(t.elem, depth+1)
		}
	case gobMapKind:
		for range s.count("map entries", 2) {
			s.value(t.key, depth+1)
			s.value(t.elem, depth+1)
		}
	case gobStructKind:
		s.fields(func(n int) {
			if n >= len(t.fields) {
				s.fail("type %d: field %d of %d", id, n, len(t.fields))
				return
			}
			s.value(t.fields[n], depth+1)
		})
	}
}
