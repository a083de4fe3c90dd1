// Package data loads the data sets metagon trains on: MNIST (idx files), and
// (later) the sinusoid task family and Omniglot.
//
// MNIST is read from the four original idx files, gzipped or not (gzip is
// detected from the file's magic bytes, not its name). Get them with
// scripts/download_mnist.sh DIR and point MNIST_DIR at DIR, or pass the
// directory explicitly:
//
//	dir, err := data.FindMNISTDir(*mnistFlag) // flag, else $MNIST_DIR, else $METAGON_DATA/mnist, ...
//	if err != nil {
//		return err
//	}
//	train, err := data.LoadMNIST(dir, "train")
//	if err != nil {
//		return err
//	}
//	b := data.NewBatcher(train.Len(), 64, seed)
//	x := make([]float32, 64*train.Rows*train.Cols)
//	y := make([]float32, 64)
//	for _, idx := range b.Epoch() {
//		train.FillBatch32(idx, x, y)
//		// x[:len(idx)*784] holds one image per row, y[:len(idx)] the classes.
//	}
package data
