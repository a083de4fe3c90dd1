package data

import (
	"fmt"
	"slices"
)

// ClassSplit names the training, validation and test classes (or
// superclasses) of a few-shot benchmark.
type ClassSplit struct {
	Train, Valid, Test []string
}

// CIFARFSClasses is the class split of CIFAR-FS (Bertinetto, Henriques,
// Torr & Vedaldi, "Meta-learning with differentiable closed-form
// solvers", ICLR 2019): 64 training, 16 validation and 20 test classes of
// CIFAR-100, drawn at random by the authors and published with their code
// (github.com/bertinetto/r2d2) as data/CIFAR_FS/splits/bertinetto/
// {train,val,test}.txt. These are those files' class names (torchmeta
// ships the same lists as torchmeta/datasets/assets/cifar100/cifar-fs/
// {train,val,test}.json), in alphabetical order, which is their label
// order in CIFAR-100.
var CIFARFSClasses = ClassSplit{
	Train: []string{
		"apple", "aquarium_fish", "bear", "bee", "bottle", "bowl", "boy", "bridge",
		"bus", "can", "castle", "caterpillar", "chair", "clock", "cloud", "cockroach",
		"couch", "cup", "dinosaur", "dolphin", "elephant", "forest", "girl", "hamster",
		"house", "kangaroo", "keyboard", "lawn_mower", "lion", "lizard", "lobster", "mountain",
		"mouse", "mushroom", "oak_tree", "orange", "orchid", "palm_tree", "pear", "pine_tree",
		"plate", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "seal",
		"shrew", "skunk", "skyscraper", "snake", "spider", "squirrel", "streetcar", "sunflower",
		"tank", "tiger", "train", "trout", "tulip", "turtle", "willow_tree", "wolf",
	},
	Valid: []string{
		"beaver", "beetle", "butterfly", "camel", "cattle", "crab", "crocodile", "flatfish",
		"lamp", "maple_tree", "motorcycle", "otter", "sea", "shark", "television", "tractor",
	},
	Test: []string{
		"baby", "bed", "bicycle", "chimpanzee", "fox", "leopard", "man", "pickup_truck",
		"plain", "poppy", "rocket", "rose", "snail", "sweet_pepper", "table", "telephone",
		"wardrobe", "whale", "woman", "worm",
	},
}

// FC100Superclasses is the superclass split of FC100, Fewshot-CIFAR100
// (Oreshkin, Rodríguez López & Lacoste, "TADAM: Task dependent adaptive
// metric for improved few-shot learning", NeurIPS 2018): CIFAR-100's 20
// superclasses divided 12 / 4 / 4, so that training, validation and test
// classes (60 / 20 / 20, every class of a superclass on one side) share as
// little as possible. The lists are those torchmeta ships for FC100
// (torchmeta/datasets/assets/cifar100/fc100/{train,test}.json and the
// validation list beside them), in alphabetical order.
var FC100Superclasses = ClassSplit{
	Train: []string{
		"fish", "flowers", "food_containers", "fruit_and_vegetables",
		"household_electrical_devices", "household_furniture", "large_man-made_outdoor_things",
		"large_natural_outdoor_scenes", "reptiles", "trees", "vehicles_1", "vehicles_2",
	},
	Valid: []string{"large_carnivores", "large_omnivores_and_herbivores", "non-insect_invertebrates", "small_mammals"},
	Test:  []string{"aquatic_mammals", "insects", "medium_mammals", "people"},
}

// CIFAR100Hierarchy is CIFAR-100's class hierarchy, superclass by
// superclass, as the data set's page (https://www.cs.toronto.edu/~kriz/
// cifar.html) lists it, spelt as the release's fine_label_names.txt and
// coarse_label_names.txt spell the names. FC100 divides the classes by
// it; LoadCIFAR100 takes the hierarchy from the data itself.
var CIFAR100Hierarchy = map[string][]string{
	"aquatic_mammals":                {"beaver", "dolphin", "otter", "seal", "whale"},
	"fish":                           {"aquarium_fish", "flatfish", "ray", "shark", "trout"},
	"flowers":                        {"orchid", "poppy", "rose", "sunflower", "tulip"},
	"food_containers":                {"bottle", "bowl", "can", "cup", "plate"},
	"fruit_and_vegetables":           {"apple", "mushroom", "orange", "pear", "sweet_pepper"},
	"household_electrical_devices":   {"clock", "keyboard", "lamp", "telephone", "television"},
	"household_furniture":            {"bed", "chair", "couch", "table", "wardrobe"},
	"insects":                        {"bee", "beetle", "butterfly", "caterpillar", "cockroach"},
	"large_carnivores":               {"bear", "leopard", "lion", "tiger", "wolf"},
	"large_man-made_outdoor_things":  {"bridge", "castle", "house", "road", "skyscraper"},
	"large_natural_outdoor_scenes":   {"cloud", "forest", "mountain", "plain", "sea"},
	"large_omnivores_and_herbivores": {"camel", "cattle", "chimpanzee", "elephant", "kangaroo"},
	"medium_mammals":                 {"fox", "porcupine", "possum", "raccoon", "skunk"},
	"non-insect_invertebrates":       {"crab", "lobster", "snail", "spider", "worm"},
	"people":                         {"baby", "boy", "girl", "man", "woman"},
	"reptiles":                       {"crocodile", "dinosaur", "lizard", "snake", "turtle"},
	"small_mammals":                  {"hamster", "mouse", "rabbit", "shrew", "squirrel"},
	"trees":                          {"maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"},
	"vehicles_1":                     {"bicycle", "bus", "motorcycle", "pickup_truck", "train"},
	"vehicles_2":                     {"lawn_mower", "rocket", "streetcar", "tank", "tractor"},
}

// FewShotSplits are the names CIFAR.FewShot accepts.
var FewShotSplits = []string{"cifar-fs", "fc100"}

// CIFARFewShot is a few-shot benchmark made of CIFAR-100's classes:
// disjoint training, validation and test classes, each with all 600 of
// its images (the release's 500 training and 100 test images, pooled, as
// both benchmarks use them), every image normalised by Norm.
type CIFARFewShot struct {
	// Name is "cifar-fs" or "fc100".
	Name string
	// Train, Valid and Test are the classes of each side of the split, in
	// the order of the split's lists (FC100: superclass by superclass, by
	// label within one).
	Train, Valid, Test []CIFARClass
	// Norm is the per-channel mean and standard deviation of the training
	// classes' images (CIFARClassesNorm), which normalises every class.
	Norm ChannelNorm
}

// FewShot returns the few-shot benchmark name ("cifar-fs": CIFARFSClasses;
// "fc100": FC100Superclasses) of d, which must be CIFAR-100. Classes are
// found by the names of the release's names files; a name the split lists
// but d lacks is an error, and so is a superclass with no classes.
func (d *CIFAR) FewShot(name string) (*CIFARFewShot, error) {
	if d.Name != cifar100Format.name || len(d.Superclasses) == 0 {
		return nil, fmt.Errorf("%s: %s is made of CIFAR-100's classes, not %s's", name, name, d.Name)
	}
	var sides [3][]CIFARClass
	var err error
	switch name {
	case "cifar-fs":
		for i, names := range [3][]string{CIFARFSClasses.Train, CIFARFSClasses.Valid, CIFARFSClasses.Test} {
			for _, n := range names {
				c, err := d.ClassNamed(n)
				if err != nil {
					return nil, fmt.Errorf("cifar-fs: %w", err)
				}
				sides[i] = append(sides[i], c)
			}
		}
	case "fc100":
		for i, names := range [3][]string{FC100Superclasses.Train, FC100Superclasses.Valid, FC100Superclasses.Test} {
			if sides[i], err = d.superclassClasses(names); err != nil {
				return nil, fmt.Errorf("fc100: %w", err)
			}
		}
	default:
		return nil, fmt.Errorf("few-shot split %q: unknown (valid: %q)", name, FewShotSplits)
	}
	fs := &CIFARFewShot{Name: name, Norm: CIFARClassesNorm(sides[0])}
	for i := range sides {
		for j := range sides[i] {
			sides[i][j] = sides[i][j].WithNorm(fs.Norm)
		}
	}
	fs.Train, fs.Valid, fs.Test = sides[0], sides[1], sides[2]
	return fs, nil
}

// superclassClasses returns the classes of the superclasses names, by
// label within each.
func (d *CIFAR) superclassClasses(names []string) ([]CIFARClass, error) {
	var out []CIFARClass
	for _, n := range names {
		sup := slices.Index(d.Superclasses, n)
		if sup < 0 {
			return nil, fmt.Errorf("%s has no superclass named %q", d.Name, n)
		}
		k := 0
		for l := range d.Classes {
			if d.superclassOf(l) != sup {
				continue
			}
			c, err := d.Class(l)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
			k++
		}
		if k == 0 {
			return nil, fmt.Errorf("no image of %s has superclass %q", d.Name, n)
		}
	}
	return out, nil
}

// superclassOf returns the superclass of class l, as its first image
// gives it (LoadCIFAR100 checks that all agree), or -1 without images.
func (d *CIFAR) superclassOf(l int) int {
	for _, s := range []*CIFARSplit{d.Train, d.Test} {
		if s == nil || s.Coarse == nil {
			continue
		}
		if i := slices.Index(s.Labels, uint8(l)); i >= 0 {
			return int(s.Coarse[i])
		}
	}
	return -1
}
