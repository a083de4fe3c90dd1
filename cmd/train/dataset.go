package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/sirupsen/logrus"
)

// labeled is a data set the trainer reads: Len examples, copied by
// FillBatch into rows of the model's input size and class indices
// (models.LabeledSet). data.MNIST and data.CIFARSplit are.
type labeled interface {
	Len() int
	FillBatch(idx []int, x, labels []float64)
}

// dataset is a supervised data set of -dataset: how to find and load it,
// and the shape of its examples.
type dataset struct {
	name    string // the flag's value, e.g. "cifar10"
	title   string // e.g. "CIFAR-10", in messages
	shape   []int  // one example's shape (C, H, W)
	classes int
	// layout says which files the directory must hold, for the error of a
	// missing data set.
	layout string
	find   func(flagValue string) (string, error)
	// load reads the test split and, when withTrain, the training split
	// from dir; norm says how the images were normalised ("" : p/255).
	load func(dir string, withTrain bool) (train, test labeled, norm string, err error)
}

// inputs is the number of values of one example.
func (d *dataset) inputs() int { return graph.Size(d.shape) }

// shapeString writes the example shape as C×H×W.
func (d *dataset) shapeString() string {
	s := make([]string, len(d.shape))
	for i, v := range d.shape {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, "×")
}

// datasets are the data sets -dataset names, in the order help lists them.
var datasets = []*dataset{
	{
		name: "mnist", title: "MNIST", shape: []int{1, 28, 28}, classes: 10,
		layout: "DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]",
		find:   data.FindMNISTDir,
		load:   idxLoader("MNIST", data.LoadMNIST),
	},
	{
		name: "fashion-mnist", title: "Fashion-MNIST", shape: []int{1, 28, 28}, classes: 10,
		layout: "DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz], as MNIST",
		find:   data.FindFashionMNISTDir,
		load:   idxLoader("Fashion-MNIST", data.LoadFashionMNIST),
	},
	{
		name: "cifar10", title: "CIFAR-10", shape: []int{3, 32, 32}, classes: 10,
		layout: "DIR/cifar-10-binary.tar.gz, as downloaded",
		find:   data.FindCIFARDir,
		load:   cifarLoader(data.LoadCIFAR10),
	},
	{
		name: "cifar100", title: "CIFAR-100", shape: []int{3, 32, 32}, classes: 100,
		layout: "DIR/cifar-100-binary.tar.gz, as downloaded (fine labels)",
		find:   data.FindCIFARDir,
		load:   cifarLoader(data.LoadCIFAR100),
	},
}

// datasetNames lists the values -dataset takes.
func datasetNames() []string {
	var ns []string
	for _, d := range datasets {
		ns = append(ns, d.name)
	}
	return ns
}

// lookupDataset returns the data set called name, nil if there is none.
func lookupDataset(name string) *dataset {
	for _, d := range datasets {
		if d.name == name {
			return d
		}
	}
	return nil
}

// open finds and loads d (the test split, and the training split when
// withTrain), logging how it is normalised. A missing data set's error
// also says which files it wants.
func (d *dataset) open(dirFlag string, withTrain bool, log *logrus.Logger) (dir string, train, test labeled, err error) {
	missing := func(err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w (-dataset %s reads %s)", err, d.name, d.layout)
		}
		return err
	}
	if dir, err = d.find(dirFlag); err != nil {
		return "", nil, nil, missing(err)
	}
	train, test, norm, err := d.load(dir, withTrain)
	if err != nil {
		return "", nil, nil, missing(err)
	}
	if norm != "" {
		log.Infof("%s images normalised by the training split's channel statistics: %s", d.title, norm)
	}
	return dir, train, test, nil
}

// idxLoader loads an idx data set (MNIST's four files) with load, as
// LoadMNIST scales it (p/255), checking that its images are 28×28 (idx
// files can hold images of any size).
func idxLoader(title string, load func(dir, split string) (*data.MNIST, error)) func(string, bool) (labeled, labeled, string, error) {
	get := func(dir, split string) (*data.MNIST, error) {
		m, err := load(dir, split)
		if err != nil {
			return nil, err
		}
		if m.Rows != 28 || m.Cols != 28 {
			return nil, fmt.Errorf("%s %s images in %s are %d×%d; the models take 28×28 (784 values)", title, split, dir, m.Rows, m.Cols)
		}
		return m, nil
	}
	return func(dir string, withTrain bool) (labeled, labeled, string, error) {
		test, err := get(dir, "t10k")
		if err != nil {
			return nil, nil, "", err
		}
		if !withTrain {
			return nil, test, "", nil
		}
		train, err := get(dir, "train")
		if err != nil {
			return nil, nil, "", err
		}
		return train, test, "", nil
	}
}

// cifarLoader loads a CIFAR tarball with load and normalises both splits
// by the training split's per-channel mean and standard deviation (all
// 50,000 images, whatever -limit keeps).
func cifarLoader(load func(dir string) (*data.CIFAR, error)) func(string, bool) (labeled, labeled, string, error) {
	return func(dir string, _ bool) (labeled, labeled, string, error) {
		c, err := load(dir)
		if err != nil {
			return nil, nil, "", err
		}
		norm := c.Train.ChannelNorm()
		c.Train.Norm, c.Test.Norm = norm, norm
		return c.Train, c.Test, norm.String(), nil
	}
}

// span is n examples of a data set, from off on: the validation examples
// -validation holds out (the last ones of the training split), and the
// training examples -train-acc measures (the first ones).
type span struct {
	labeled
	off, n int
	idx    []int
}

// Len is the number of examples in the span.
func (s *span) Len() int { return s.n }

// FillBatch fills x and labels with the span's examples idx (0..n−1).
func (s *span) FillBatch(idx []int, x, labels []float64) {
	s.idx = s.idx[:0]
	for _, i := range idx {
		s.idx = append(s.idx, s.off+i)
	}
	s.labeled.FillBatch(s.idx, x, labels)
}
