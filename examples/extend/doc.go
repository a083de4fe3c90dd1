// Package extend shows how a user adds a learner and a task source to
// metagon in their own Go code, without touching the library: each is a
// type implementing the library's interface plus one registration line,
// and then runs through the same registry and construction
// (metalearn.Setup) as cmd/meta and the facade.
//
//   - lines.go: a task source, "lines": regression tasks y = a·x + b.
//   - pretrain.go: a learner, "pretrain": the transfer-learning baseline
//     that fits one network to every task and fine-tunes it on a new
//     task's support set by SGD.
//
// See Example for both in use, and the README's "How to extend".
package extend
