package graph

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzLoadCheckpoint feeds arbitrary file contents to the checkpoint
// decoder. The seeds are small valid v2 and v1 checkpoints, with and without
// optimizer state, and damaged copies of them; `go test` runs just the
// seeds, `go test -fuzz FuzzLoadCheckpoint` mutates them. For every input,
// and for the input with its checksum recomputed (so that mutated bodies
// get past the checksum to the decoders), it checks that decoding
//   - neither panics (not even a panic that the v1 decoder recovers from)
//     nor hangs,
//   - allocates no more than a small multiple of the input's size, however
//     large the sizes that the input claims,
//   - fails with no checkpoint, or returns a valid checkpoint that encodes,
//     decodes to an equal checkpoint and encodes again to the same bytes.
func FuzzLoadCheckpoint(f *testing.F) {
	golden, err := os.ReadFile(goldenV1File)
	if err != nil {
		f.Fatal(err)
	}
	bare := goldenCheckpoint()
	bare.Optimizer, bare.States = nil, nil
	tiny := &Checkpoint{Model: "m", Meta: map[string]string{"k": "v"},
		Params: []SavedTensor{{Name: "w", Shape: []int{2}, Dtype: "float64", Data: []float64{1.5, -2}}}}
	valid := [][]byte{golden}
	for _, c := range []*Checkpoint{goldenCheckpoint(), bare, tiny, {}} {
		data, err := encodeCheckpoint(c)
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, data, encodeCheckpointV1(f, c))
	}
	for _, data := range valid {
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(data[:len(data)-1])
		f.Add(resealed(data[:len(data)-5])) // body cut short, checksum right
		flipped := slices.Clone(data)
		flipped[len(flipped)*2/3] ^= 0x10
		f.Add(flipped)
		f.Add(resealed(flipped))
	}
	f.Add([]byte(checkpointMagic))
	f.Add([]byte("metagon-checkpoint v3\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		if sealed := resealed(data); !bytes.Equal(sealed, data) {
			checkDecode(t, sealed)
		}
	})
}

// resealed returns data with its trailing checksum made right for its body,
// when data starts with a header this build reads and has room for one; else
// data itself.
func resealed(data []byte) []byte {
	for _, f := range checkpointFormats {
		if bytes.HasPrefix(data, []byte(f.magic)) && len(data) >= len(f.magic)+checkpointCRCLen {
			out := slices.Clone(data)
			end := len(out) - checkpointCRCLen
			binary.BigEndian.PutUint32(out[end:], crc32.ChecksumIEEE(out[len(f.magic):end]))
			return out
		}
	}
	return data
}

// checkDecode decodes data and checks the outcome (see FuzzLoadCheckpoint).
func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	var (
		c     *Checkpoint
		err   error
		alloc uint64
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		alloc = allocatedBytes(func() { c, err = decodeCheckpoint(data) })
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("decoding %d bytes did not finish in 10 s", len(data))
	}
	// The decoders allocate at most some tens of bytes per input byte (a
	// parameter takes 80 bytes in memory and 1 in a gob stream), nested a
	// few deep, plus gob's working memory.
	if limit := uint64(1<<20 + 512*len(data)); alloc > limit {
		t.Fatalf("decoding %d bytes allocated %d bytes (limit %d)", len(data), alloc, limit)
	}
	if err != nil {
		if c != nil {
			t.Fatalf("a checkpoint and an error (%v)", err)
		}
		if strings.Contains(err.Error(), "panic") {
			t.Fatalf("decoder panicked: %v", err)
		}
		return
	}
	if verr := c.validate(); verr != nil || c.Meta == nil {
		t.Fatalf("decoded an invalid checkpoint (%v) or nil Meta", verr)
	}
	enc, err := encodeCheckpoint(c)
	if err != nil {
		t.Fatalf("a decoded checkpoint does not encode: %v", err)
	}
	c2, err := decodeCheckpoint(enc)
	if err != nil {
		t.Fatalf("a re-encoded checkpoint does not decode: %v", err)
	}
	if d := diffCheckpoints(c, c2); d != "" {
		t.Fatalf("re-encoded checkpoint differs: %s", d)
	}
	if enc2, err := encodeCheckpoint(c2); err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding again gives other bytes (error %v)", err)
	}
}
