package data

import (
	"os"
	"path/filepath"
)

// OmniglotTestDir finds Omniglot for tests: $OMNIGLOT_DIR if it is set and
// holds the two zips, else the first directory shared/data/omniglot that
// holds them next to the working directory or any of its ancestors (for a
// repository at /work/main that is /work/shared/data/omniglot). ok is false
// if neither does; dir is then the $OMNIGLOT_DIR it rejected, or "". Tests
// use it to skip, or fail in CI, when the data is missing.
func OmniglotTestDir() (dir string, ok bool) { return omniglotSet.testDir(hasOmniglot) }

// hasOmniglot reports whether dir holds images_background.zip and
// images_evaluation.zip as regular files.
func hasOmniglot(dir string) bool {
	for _, set := range OmniglotSets {
		st, err := os.Stat(filepath.Join(dir, "images_"+set+".zip"))
		if err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}
