package meta

import (
	"github.com/metagon/metagon/internal/cli"
)

// checkOutputs checks, before any data is loaded, that everything the run
// will write can be written: -out is (or can be made) a writable
// directory, and -checkpoint a file there. A fresh run refuses to replace
// an existing checkpoint unless -overwrite says so.
func (c config) checkOutputs() error {
	if err := cli.CheckDir("out", c.out); err != nil {
		return err
	}
	if err := c.torch.Check(); err != nil {
		return err
	}
	if c.checkpoint == "" || c.evalOnly {
		return nil // -eval reads the checkpoint and does not write it
	}
	fresh := !c.resume
	hint := "add -resume to continue that run, or -overwrite to start a new one over it"
	if err := cli.CheckFile("checkpoint", c.checkpoint, !fresh || c.overwrite, hint); err != nil {
		return err
	}
	if c.earlyStop > 0 { // the best learner's file
		return cli.CheckFile("checkpoint", bestPath(c.checkpoint), !fresh || c.overwrite, hint)
	}
	return nil
}
