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
// $METAGON_DATA/Sub, then the default folder of scripts/Script.
type dataSet struct {
	Name   string // "mnist", used in messages
	Env    string // e.g. "MNIST_DIR"
	Sub    string // folder under $METAGON_DATA and the script's default
	Script string // e.g. "download_mnist.sh"
}

// find resolves the data set's directory the way metagon's tools do. A
// non-empty flagValue wins and must name an existing directory. Otherwise
// it returns the first existing directory of $Env, $METAGON_DATA/Sub and
// ${XDG_CACHE_HOME:-$HOME/.cache}/metagon/Sub. The error names everything
// tried and the download script.
func (s dataSet) find(flagValue string) (string, error) {
	if flagValue != "" {
		if isDir(flagValue) {
			return flagValue, nil
		}
		return "", fmt.Errorf("%s directory %s (from flag): %w; run scripts/%s %s %s",
			s.Name, flagValue, fs.ErrNotExist, s.Script, flagValue, scriptHome)
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
	return "", fmt.Errorf("%s directory not found (tried %s): %w; run scripts/%s [DIR] %s and set %s",
		s.Name, strings.Join(tried, ", "), fs.ErrNotExist, s.Script, scriptHome, s.Env)
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
// /work/main that is /work/shared/data/Sub). ok is false if neither does;
// dir is then the $Env it rejected, or "".
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
			return "", false
		}
		p = parent
	}
}

// isDir reports whether path exists and is a directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

var (
	mnistSet    = dataSet{Name: "mnist", Env: "MNIST_DIR", Sub: "mnist", Script: "download_mnist.sh"}
	omniglotSet = dataSet{Name: "omniglot", Env: "OMNIGLOT_DIR", Sub: "omniglot", Script: "download_omniglot.sh"}
)
