package graph

import (
	"bytes"
	"encoding/gob"
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
// result. encoding/gob is not ours, so a panic inside it becomes an error.
func decodeV1(body []byte) (c *Checkpoint, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("decoder panic: %v", r)
		}
	}()
	r := bytes.NewReader(body)
	var w checkpointV1
	if err := gob.NewDecoder(r).Decode(&w); err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d unexpected bytes after the data", r.Len())
	}
	return &Checkpoint{Model: w.Model, Meta: w.Meta, Params: w.Params, Optimizer: w.Optimizer, Inner: w.Inner}, nil
}
