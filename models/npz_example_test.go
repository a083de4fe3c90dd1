package models_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"codeberg.org/sbinet/npyio/npz"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Exporting a Conv-4 for PyTorch and reading it back. The archive holds
// the state_dict of scripts/torch_models.py's Conv4(1, 8, 5): the head's
// weight is (classes, features) as nn.Linear keeps it, where metagon's
// fc.w is (features, classes). In Python:
//
//	m = torch_models.Conv4(in_channels=1, filters=8, classes=5)
//	m.load_state_dict(torch_models.load_npz("conv4.npz"), strict=True)
func ExampleSaveTorchNPZ() {
	dir, err := os.MkdirTemp("", "metagon-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "conv4.npz")

	m := &models.Conv4{InChannels: 1, Height: 28, Width: 28, Filters: 8, Classes: 5}
	p := graph.NewParams(G.NewGraph(), tensor.Float32)
	if err := m.Init(p, 1); err != nil {
		fmt.Println(err)
		return
	}
	if err := models.SaveTorchNPZ(path, m, p); err != nil {
		fmt.Println(err)
		return
	}

	r, err := npz.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	for _, k := range r.Keys() {
		h := r.Header(k).Descr
		fmt.Printf("%-20s %v %s\n", strings.TrimSuffix(k, ".npy"), h.Shape, strings.Trim(h.Type, "'"))
	}
	fmt.Println("metagon's fc.w:", p.Get("fc.w").Value.Shape())

	// Loading checks every name and shape, then copies all values.
	q := graph.NewParams(G.NewGraph(), tensor.Float32)
	if err := m.Init(q, 2); err != nil {
		fmt.Println(err)
		return
	}
	err = models.LoadTorchNPZ(path, m, q)
	fmt.Println("loaded:", err == nil, q.Get("fc.b").Value.Float32s()[0] == p.Get("fc.b").Value.Float32s()[0])
	// Output:
	// blocks.0.conv.weight [8 1 3 3] <f4
	// blocks.0.bn.weight   [8] <f4
	// blocks.0.bn.bias     [8] <f4
	// blocks.1.conv.weight [8 8 3 3] <f4
	// blocks.1.bn.weight   [8] <f4
	// blocks.1.bn.bias     [8] <f4
	// blocks.2.conv.weight [8 8 3 3] <f4
	// blocks.2.bn.weight   [8] <f4
	// blocks.2.bn.bias     [8] <f4
	// blocks.3.conv.weight [8 8 3 3] <f4
	// blocks.3.bn.weight   [8] <f4
	// blocks.3.bn.bias     [8] <f4
	// fc.weight            [5 8] <f4
	// fc.bias              [5] <f4
	// metagon's fc.w: (8, 5)
	// loaded: true true
}
