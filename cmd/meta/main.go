// Command meta meta-trains and evaluates few-shot learners; run it with -h
// for its flags. It is command/meta's Main: a program of your own that
// registers more learners, task sources or models and calls meta.Main gets
// the same command with them.
//
//	go run ./cmd/meta
//	go run ./cmd/meta -algorithm reptile -iterations 20000
//	go run ./cmd/meta -dataset omniglot -algorithm protonet -checkpoint proto.ckpt
//	go run ./cmd/meta -eval -checkpoint proto.ckpt
package main

import "github.com/metagon/metagon/command/meta"

func main() { meta.Main() }
