// Package facade is metagon in a handful of plain functions, for notebooks
// and REPLs that load Go packages one at a time, such as gophernotes: its
// interpreter (gomacro) imports a compiled package as a plugin and can call
// ordinary functions with concrete types, but not generic ones, and
// several packages imported separately do not share their types. So this
// one package wraps the main entry points with arguments and results of
// basic types (float64, int, uint64, string, slices of them, and structs
// of those), no generics, and nothing done at init.
//
// The functions mirror the example notebooks in notebooks/ (which use the
// full library through gonb):
//
//	d, _ := facade.CubeDerivatives(2)          // [8 12 12 6]: x³ differentiated three times
//	gc, _ := facade.CheckTanhLayer(1)          // gc.MaxRelErr ≈ 1e-9: graph.Grad vs finite differences
//	tr, _ := facade.TrainSeedNetwork("", 1, 14) // tr.Accuracy ≈ 0.908 on MNIST ($MNIST_DIR)
//	s, _ := facade.MetaTrainSinusoid("maml", 3000, 1)
//	fmt.Print(s.Table)                          // query MSE after 0, 1, 10 steps on 600 tasks
//	acc, ci, _ := facade.ProtoNetOmniglot("", 100, 1) // ≈ 0.9 ± 0.01, 5-way 1-shot ($OMNIGLOT_DIR)
//
// Errors are returned, never panicked: a missing data set gives an error
// that names where it looked and the download script to run.
package facade
