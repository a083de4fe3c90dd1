// Command meta here is metagon's meta command with the example learner
// ("pretrain") and task source ("lines") of package extend added: the
// whole of what a user writes to get the command with extensions of their
// own.
//
//	go run ./examples/extend/meta -algorithm pretrain -dataset lines
//	go run ./examples/extend/meta -algorithm maml -dataset lines
package main

import (
	"github.com/metagon/metagon/command/meta"
	_ "github.com/metagon/metagon/examples/extend" // registers pretrain and lines
)

func main() { meta.Main() }
