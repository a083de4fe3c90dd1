package data

import "os"

// DebianFashionMNISTDir is where Debian's dataset-fashion-mnist package
// installs Fashion-MNIST's four gzipped idx files; FindFashionMNISTDir
// looks there last.
const DebianFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// fashionHint tells the user how to get Fashion-MNIST.
const fashionHint = "run scripts/download_fashion_mnist.sh DIR " + scriptHome +
	" and set FASHION_MNIST_DIR, or install Debian's dataset-fashion-mnist (" + DebianFashionMNISTDir + ")"

var fashionIDX = idxSet{name: "fashion-mnist", hint: fashionHint}

// FashionMNISTClasses names Fashion-MNIST's labels 0..9, as the data set's
// README (github.com/zalandoresearch/fashion-mnist) lists them.
var FashionMNISTClasses = [10]string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// LoadFashionMNIST loads one split of Fashion-MNIST (Xiao, Rasul &
// Vollgraf 2017: Zalando's article images, 28×28 grey, 10 classes,
// 60,000 training and 10,000 test images) from dir. The data set is
// stored exactly as MNIST is, in four idx files, so this is LoadMNIST with
// Fashion-MNIST's name and download hint in its errors: split is "train",
// or "t10k" (alias "test"), and the files may be gzipped or not.
func LoadFashionMNIST(dir string, split string) (*MNIST, error) { return fashionIDX.load(dir, split) }

// FindFashionMNISTDir resolves the Fashion-MNIST directory the way
// metagon's tools do. A non-empty flagValue wins and must name an existing
// directory. Otherwise it returns the first existing directory of
// $FASHION_MNIST_DIR, $METAGON_DATA/fashion-mnist, the default download
// location of scripts/download_fashion_mnist.sh
// (${XDG_CACHE_HOME:-$HOME/.cache}/metagon/fashion-mnist) and
// DebianFashionMNISTDir. The error names everything tried, the download
// script and the Debian package.
func FindFashionMNISTDir(flagValue string) (string, error) { return fashionSet.find(flagValue) }

// FashionMNISTTestDir finds Fashion-MNIST for tests as MNISTTestDir finds
// MNIST: $FASHION_MNIST_DIR if it is set and holds the files, else a
// directory shared/data/fashion-mnist above the working directory, else
// DebianFashionMNISTDir.
func FashionMNISTTestDir() (dir string, ok bool) { return fashionSet.testDir(hasMNIST) }

// FashionMNISTDirOrSkip returns FashionMNISTTestDir's directory, or skips
// t when Fashion-MNIST is missing, naming the download script and the
// Debian package. Under CI=true it fails t instead.
func FashionMNISTDirOrSkip(t TestingT) string {
	t.Helper()
	dir, ok := FashionMNISTTestDir()
	if ok {
		return dir
	}
	msg := "Fashion-MNIST not found (FASHION_MNIST_DIR unset, no shared/data/fashion-mnist above the working directory, nothing in " +
		DebianFashionMNISTDir + "); apt-get install dataset-fashion-mnist, or run scripts/download_fashion_mnist.sh DIR and set FASHION_MNIST_DIR=DIR"
	if dir != "" {
		msg = "FASHION_MNIST_DIR=" + dir + " holds no Fashion-MNIST files; run scripts/download_fashion_mnist.sh " + dir
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
