// Package data loads the data sets metagon trains on: MNIST and
// Fashion-MNIST (idx files), Omniglot (the canonical zips, decoded,
// resized to 28×28 and cached, with the background/evaluation and Vinyals
// splits), CIFAR-10 and CIFAR-100 (the binary tarballs, read as they are,
// kept as bytes), the CIFAR-FS and FC100 few-shot splits of CIFAR-100,
// mini-ImageNet (its CSVs and JPEG or PNG images, decoded once into 84×84
// RGB bytes and cached, Ravi & Larochelle's split), an N-way K-shot
// episode sampler over any of their classes, the sinusoid
// task family of Finn et al. (2017), and curves drawn from a Gaussian
// process, the 1-D regression tasks of Conditional Neural Processes
// (Garnelo et al. 2018; GPPrior, SampleGP).
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
//
// Omniglot episodes:
//
//	dir, _ := data.FindOmniglotDir(*omniglotFlag) // flag, else $OMNIGLOT_DIR, ...
//	o, _ := data.LoadOmniglot(dir, data.OmniglotOptions{}) // seconds the first time, cached after
//	train, test, _ := o.Split("background", true)        // ×4 rotations
//	s, _ := data.NewSampler(test, data.EpisodeOptions{Ways: 5, Shots: 1, Queries: 15}, seed)
//	ep := s.Episode(0) // deterministic per (seed, index)
//
// CIFAR-FS episodes of 3×32×32 images, normalised by the training
// classes' channel statistics:
//
//	dir, _ := data.FindCIFARDir(*cifarFlag) // flag, else $CIFAR_DIR, ...
//	c, _ := data.LoadCIFAR100(dir)           // cifar-100-binary.tar.gz, about a second
//	fs, _ := c.FewShot("cifar-fs")           // or "fc100"
//	s, _ := data.NewSampler(fs.Test, data.EpisodeOptions{Ways: 5, Shots: 1, Queries: 15}, seed)
//
// mini-ImageNet episodes of 3×84×84 images (scripts/download_miniimagenet.sh
// puts your own copy in place and checks it):
//
//	dir, _ := data.FindMiniImageNetDir(*miniFlag)                  // flag, else $MINIIMAGENET_DIR, ...
//	m, _ := data.LoadMiniImageNet(dir, data.MiniImageNetOptions{}) // minutes the first time, seconds after
//	s, _ := data.NewSampler(m.Test, data.EpisodeOptions{Ways: 5, Shots: 1, Queries: 15}, seed)
package data
