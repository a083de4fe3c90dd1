package data

// MNISTTestDir finds MNIST for tests: $MNIST_DIR if it is set and holds the
// files, else the first directory shared/data/mnist that holds them next to
// the working directory or any of its ancestors (for a repository at
// /work/main that is /work/shared/data/mnist). ok is false if neither does;
// dir is then the $MNIST_DIR it rejected, or "". Tests use it to skip, or
// fail in CI, when the data is missing.
func MNISTTestDir() (dir string, ok bool) { return mnistSet.testDir(hasMNIST) }

// hasMNIST reports whether dir holds the MNIST training images, gzipped or
// not.
func hasMNIST(dir string) bool {
	_, err := findIDXFile(dir, "train-images-idx3-ubyte")
	return err == nil
}
