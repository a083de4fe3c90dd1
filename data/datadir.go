package data

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// scriptHome says where the download scripts are: a user who installed the
// tools with go install has no scripts/ directory, so messages that name a
// script say "scripts/download_mnist.sh (in the metagon source repository,
// github.com/metagon/metagon)".
const scriptHome = "(in the metagon source repository, github.com/metagon/metagon)"

// dataSet names where one data set is looked for: a flag, then $Env, then
// $METAGON_DATA/Sub, then the default folder of scripts/Script, then the
// folders of System.
type dataSet struct {
	Name   string // "mnist", used in messages
	Env    string // e.g. "MNIST_DIR"
	Sub    string // folder under $METAGON_DATA and the script's default
	Script string // e.g. "download_mnist.sh"
	// Args are the script's arguments before DIR, if it needs any (the
	// mini-ImageNet script takes the user's own copy first).
	Args string
	// System lists folders where a system package installs the data set,
	// tried last, e.g. Debian's dataset-fashion-mnist; Package names it.
	System  []string
	Package string
}

// find resolves the data set's directory the way metagon's tools do. A
// non-empty flagValue wins and must name an existing directory. Otherwise
// it returns the first existing directory of $Env, $METAGON_DATA/Sub,
// ${XDG_CACHE_HOME:-$HOME/.cache}/metagon/Sub and System. The error names
// everything tried and the download script.
func (s dataSet) find(flagValue string) (string, error) {
	if flagValue != "" {
		if isDir(flagValue) {
			return flagValue, nil
		}
		return "", fmt.Errorf("%s directory %s (from flag): %w; run scripts/%s %s%s %s",
			s.Name, flagValue, fs.ErrNotExist, s.Script, s.args(), flagValue, scriptHome)
	}
	var tried []string
	try := func(dir, from string) bool {
		if dir == "" {
			return false
		}
		if isDir(dir) {
			return true
		}
		tried = append(tried, dir+" (from "+from+")")
		return false
	}
	if d := os.Getenv(s.Env); try(d, "$"+s.Env) {
		return d, nil
	} else if d == "" {
		tried = append(tried, "$"+s.Env+" (unset)")
	}
	if m := os.Getenv("METAGON_DATA"); m != "" {
		if d := filepath.Join(m, s.Sub); try(d, "$METAGON_DATA") {
			return d, nil
		}
	} else {
		tried = append(tried, "$METAGON_DATA/"+s.Sub+" ($METAGON_DATA unset)")
	}
	if d := s.defaultDir(); try(d, "default of scripts/"+s.Script) {
		return d, nil
	}
	for _, d := range s.System {
		if try(d, s.Package) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%s directory not found (tried %s): %w; run scripts/%s %s[DIR] %s and set %s%s",
		s.Name, strings.Join(tried, ", "), fs.ErrNotExist, s.Script, s.args(), scriptHome, s.Env, s.installHint())
}

// args is Args followed by a space, or "".
func (s dataSet) args() string {
	if s.Args == "" {
		return ""
	}
	return s.Args + " "
}

// installHint is ", or install Debian's PACKAGE" for a data set that a
// system package installs, else "".
func (s dataSet) installHint() string {
	if s.Package == "" {
		return ""
	}
	return ", or install " + s.Package
}

// defaultDir is where the download script puts the files when it is given
// no directory, or "" if there is no home directory.
func (s dataSet) defaultDir() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return ""
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "metagon", s.Sub)
}

// testDir finds the data set for tests: $Env if it is set and has(dir),
// else the first directory shared/data/Sub that has the files next to the
// working directory or any of its ancestors (for a repository at
// /work/main that is /work/shared/data/Sub), else the first of System
// that has them. ok is false if none does; dir is then the $Env it
// rejected, or "".
func (s dataSet) testDir(has func(dir string) bool) (dir string, ok bool) {
	if d := os.Getenv(s.Env); d != "" {
		return d, has(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for p := wd; ; {
		if d := filepath.Join(p, "shared", "data", s.Sub); has(d) {
			return d, true
		}
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		p = parent
	}
	for _, d := range s.System {
		if has(d) {
			return d, true
		}
	}
	return "", false
}

// isDir reports whether path exists and is a directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

var (
	mnistSet    = dataSet{Name: "mnist", Env: "MNIST_DIR", Sub: "mnist", Script: "download_mnist.sh"}
	omniglotSet = dataSet{Name: "omniglot", Env: "OMNIGLOT_DIR", Sub: "omniglot", Script: "download_omniglot.sh"}
	cifarSet    = dataSet{Name: "cifar", Env: "CIFAR_DIR", Sub: "cifar", Script: "download_cifar.sh"}
	miniSet     = dataSet{Name: "mini-imagenet", Env: "MINIIMAGENET_DIR", Sub: "mini-imagenet", Script: "download_miniimagenet.sh",
		Args: "YOUR_COPY"}
	fashionSet = dataSet{Name: "fashion-mnist", Env: "FASHION_MNIST_DIR", Sub: "fashion-mnist", Script: "download_fashion_mnist.sh",
		System: []string{DebianFashionMNISTDir}, Package: "Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"}
)
