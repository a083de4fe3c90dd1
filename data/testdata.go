package data

import (
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
)

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

// TestingT is the part of testing.TB that the DirOrSkip helpers use.
type TestingT interface {
	Helper()
	Fatal(args ...any)
	Skip(args ...any)
}

// MNISTDirOrSkip returns MNISTTestDir's directory, or skips t when MNIST is
// missing, naming the download script. Under CI=true it fails t instead:
// CI must never pass by skipping a data set.
func MNISTDirOrSkip(t TestingT) string {
	t.Helper()
	return dirOrSkip(t, MNISTTestDir, "MNIST", "MNIST_DIR", "shared/data/mnist", "no MNIST files", "scripts/download_mnist.sh")
}

// OmniglotDirOrSkip is MNISTDirOrSkip for Omniglot (OmniglotTestDir).
func OmniglotDirOrSkip(t TestingT) string {
	t.Helper()
	return dirOrSkip(t, OmniglotTestDir, "Omniglot", "OMNIGLOT_DIR", "shared/data/omniglot",
		"no images_background.zip and images_evaluation.zip", "scripts/download_omniglot.sh")
}

func dirOrSkip(t TestingT, find func() (string, bool), name, env, shared, lacks, script string) string {
	t.Helper()
	dir, ok := find()
	if ok {
		return dir
	}
	msg := name + " not found (" + env + " unset and no " + shared + " above the working directory); run " +
		script + " DIR and set " + env + "=DIR"
	if dir != "" {
		msg = env + "=" + dir + " holds " + lacks + "; run " + script + " " + dir
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// CIFARTestDir finds the CIFAR tarballs for tests: $CIFAR_DIR if it is
// set and holds cifar-10-binary.tar.gz or cifar-100-binary.tar.gz, else a
// directory shared/data/cifar above the working directory that holds one.
// ok is false if none does; dir is then the $CIFAR_DIR it rejected, or "".
// Unlike MNIST and Omniglot, CI has no copy of CIFAR (the machines reach
// no download site), so tests of the real data skip without it even under
// CI=true; the readers are tested on tarballs the tests write.
func CIFARTestDir() (dir string, ok bool) { return cifarSet.testDir(hasCIFAR) }

// hasCIFAR reports whether dir holds either CIFAR tarball as a regular
// file.
func hasCIFAR(dir string) bool {
	for _, f := range []*cifarFormat{&cifar10Format, &cifar100Format} {
		if st, err := os.Stat(filepath.Join(dir, f.tarball)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// SyntheticCIFAR100 returns a CIFAR-100 for tests: the release's class and
// superclass names (CIFAR100Hierarchy, sorted, as the release's files list
// them) and random images, perTrain training and perTest test images of
// every class, the classes taking turns, each byte drawn from a PCG
// seeded with seed (channel c from [0, 256−64c), so that the channels
// differ).
func SyntheticCIFAR100(perTrain, perTest int, seed uint64) *CIFAR {
	d := &CIFAR{Name: "cifar-100", Superclasses: slices.Sorted(maps.Keys(CIFAR100Hierarchy))}
	superOf := map[string]int{}
	for s, name := range d.Superclasses {
		for _, c := range CIFAR100Hierarchy[name] {
			d.Classes = append(d.Classes, c)
			superOf[c] = s
		}
	}
	slices.Sort(d.Classes)
	split := func(per int, seed uint64) *CIFARSplit {
		n := per * len(d.Classes)
		s := &CIFARSplit{Pixels: randomImages(n, seed), Labels: make([]uint8, n), Coarse: make([]uint8, n)}
		for i := range n {
			l := i % len(d.Classes)
			s.Labels[i], s.Coarse[i] = uint8(l), uint8(superOf[d.Classes[l]])
		}
		return s
	}
	d.Train, d.Test = split(perTrain, 2*seed), split(perTest, 2*seed+1)
	return d
}

// randomImages returns n CIFAR images of bytes drawn from a seeded PCG,
// channel c drawn from [0, 256−64c) so that the channels differ.
func randomImages(n int, seed uint64) []uint8 {
	r := rand.New(rand.NewPCG(seed, 7))
	pix := make([]uint8, n*CIFARImageBytes)
	for i := range pix {
		c := (i % CIFARImageBytes) / (CIFARImageBytes / CIFARChannels)
		pix[i] = uint8(r.IntN(256 - 64*c))
	}
	return pix
}
