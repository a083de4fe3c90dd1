package graph

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"runtime/metrics"
	"strings"
	"testing"
)

// allocatedBytes returns the number of bytes that f allocates on the heap
// (give or take the few KiB that a span refill counts at once).
func allocatedBytes(f func()) uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	f()
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}

// encodeGobUint is the gob encoding of the unsigned integer v.
func encodeGobUint(v uint64) []byte {
	if v < 0x80 {
		return []byte{byte(v)}
	}
	b := binary.BigEndian.AppendUint64(nil, v)
	b = bytes.TrimLeft(b, "\x00")
	return append([]byte{byte(256 - len(b))}, b...)
}

// gobMessages splits a gob stream into its messages, without their length
// prefixes.
func gobMessages(t *testing.T, stream []byte) [][]byte {
	t.Helper()
	var msgs [][]byte
	for len(stream) > 0 {
		s := &gobScan{msg: stream}
		n := s.count("message bytes", 1)
		if s.err != nil {
			t.Fatal(s.err)
		}
		msgs = append(msgs, s.msg[:n])
		stream = s.msg[n:]
	}
	return msgs
}

// joinGob is the gob stream of the given messages.
func joinGob(msgs [][]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = append(out, encodeGobUint(uint64(len(m)))...)
		out = append(out, m...)
	}
	return out
}

func TestCheckpointV1HugeClaims(t *testing.T) {
	// A v1 checkpoint whose value message holds, once each, the byte
	// sequences patched below.
	c := &Checkpoint{Model: "m", Meta: map[string]string{"k": "v"},
		Params: []SavedTensor{{Name: "w", Shape: []int{1}, Dtype: "float64", Data: []float64{1.5}}}}
	file := encodeCheckpointV1(t, c)
	body := file[len(checkpointMagicV1) : len(file)-checkpointCRCLen]
	msgs := gobMessages(t, body)
	value := msgs[len(msgs)-1]
	// gob sends a float as the uint of its byte-reversed bits.
	float15 := encodeGobUint(bits.ReverseBytes64(math.Float64bits(1.5)))

	// patchValue replaces old, which must occur once in the value message.
	patchValue := func(old, new []byte) []byte {
		t.Helper()
		if n := bytes.Count(value, old); n != 1 {
			t.Fatalf("% x occurs %d times in the value message % x", old, n, value)
		}
		out := append(msgs[:len(msgs)-1:len(msgs)-1], bytes.Replace(value, old, new, 1))
		return seal(checkpointMagicV1, joinGob(out))
	}
	claimed := func(n uint64, rest ...byte) []byte { return append(encodeGobUint(n), rest...) }
	entry := []byte{1, 'k', 1, 'v'}
	withLength := func(n uint64) []byte { // the first message claims n bytes
		b := append(encodeGobUint(n), msgs[0]...)
		return seal(checkpointMagicV1, append(b, joinGob(msgs[1:])...))
	}

	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"map entries", patchValue(claimed(1, entry...), claimed(1<<22, entry...)), fmt.Sprintf("%d map entries do not fit", 1<<22)},
		{"slice elements", patchValue(claimed(1, float15...), claimed(1<<24, float15...)), fmt.Sprintf("%d elements do not fit", 1<<24)},
		{"message length", withLength(1 << 23), fmt.Sprintf("%d message bytes do not fit", 1<<23)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := allocatedBytes(func() { _, err = decodeCheckpoint(tc.file) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
			t.Logf("decoding %d bytes allocated %d bytes", len(tc.file), n)
			// The decoder's own working memory is some tens of KiB.
			if limit := uint64(1<<20 + 64*len(tc.file)); n > limit {
				t.Errorf("decoding %d bytes allocated %d bytes (limit %d)", len(tc.file), n, limit)
			}
		})
	}
	// The unpatched file loads.
	if _, err := decodeCheckpoint(patchValue(claimed(1, entry...), claimed(1, entry...))); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointV1EdgeFilesLoad(t *testing.T) {
	// The size checks must accept every v1 file, including sparse ones.
	cases := map[string]*Checkpoint{
		"empty":                    {},
		"empty inner state only":   {States: map[string]OptimizerState{"inner": {}}},
		"empty optimizer only":     {Optimizer: &OptimizerState{Slots: [][][]float64{nil, {nil, {}}}}},
		"scalar and empty tensors": {Params: []SavedTensor{{Name: "s", Data: []float64{2}}, {Name: "e", Shape: []int{0, 3}}}},
		"empty strings":            {Meta: map[string]string{"": ""}, Params: []SavedTensor{{Shape: []int{1}, Data: []float64{0}}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := decodeCheckpoint(encodeCheckpointV1(t, c))
			if err != nil {
				t.Fatal(err)
			}
			if d := diffCheckpoints(got, c); d != "" {
				t.Error(d)
			}
		})
	}
}
