package graph

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Temporary files of checkpoint saves.
//
// SaveCheckpoint writes a checkpoint to a temporary file next to it, named
// ".<base>.tmp-<digits>", and renames it over the checkpoint when complete.
// A save that is killed leaves its temporary file behind, so every save
// first removes the stale temporary files of its checkpoint. Which are
// stale? Where files can be locked (tempLocks: Unix), a save holds an
// exclusive flock(2) on its temporary file from creation until after the
// rename, and the kernel drops it when the process dies, however it dies: a
// temporary file nobody holds locked is stale. Where files cannot be locked
// (other systems, or file systems that refuse locks), one is stale when it
// has not been modified for staleTempAge, far longer than any save takes.
// Removing a file that a live save still writes would only make that save
// fail with an error (its rename finds no file), never corrupt a checkpoint.
// (On NFS, Linux emulates flock with POSIX locks, which belong to a process:
// two saves of one checkpoint at once from one process do not see each
// other's locks there.)

// staleTempAge is how long a temporary file must have gone unmodified to be
// removed when it cannot be locked.
const staleTempAge = time.Hour

// tempPrefix is how the temporary files of checkpoint base begin.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// isTempOf reports whether name is a temporary file of checkpoint base:
// the prefix, then the digits that os.CreateTemp puts for its "*". (Digits
// only, so that the temporary files of a checkpoint named, say,
// "<base>.tmp-x" are not taken for those of base.)
func isTempOf(name, base string) bool {
	rest, ok := strings.CutPrefix(name, tempPrefix(base))
	return ok && rest != "" && strings.Trim(rest, "0123456789") == ""
}

// createTemp creates and locks a temporary file for a save of base in dir.
// A cleanup by another save may remove the file between its creation and
// its lock (it is not locked yet, so it looks stale); then the file's name
// no longer leads to it, and createTemp tries again with a new one.
func createTemp(dir, base string) (*os.File, error) {
	for range 3 {
		f, err := os.CreateTemp(dir, tempPrefix(base)+"*")
		if err != nil {
			return nil, err
		}
		if err := lockFile(f, true); err != nil {
			// Locks are refused here; cleanups then go by age.
			return f, nil
		}
		if sameFile(f, f.Name()) {
			return f, nil
		}
		_ = f.Close()
	}
	return nil, errors.New("temporary files removed by other saves as soon as created, three times")
}

// removeStaleTemps removes the stale temporary files of checkpoint base in
// dir (see the top of this file). It is best-effort: a file it cannot judge
// or remove stays, and a save goes on whatever happens here.
func removeStaleTemps(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() && isTempOf(e.Name(), base) {
			removeIfStale(filepath.Join(dir, e.Name()))
		}
	}
}

// removeIfStale removes the temporary file at path if no live save holds
// it. It holds the file's lock while it removes it, so no save can be
// renaming it meanwhile.
func removeIfStale(path string) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer f.Close()
	switch err := lockFile(f, false); {
	case errors.Is(err, errLocked):
		return // a live save holds it
	case err != nil: // cannot lock: go by age
		fi, err := f.Stat()
		if err != nil || time.Since(fi.ModTime()) < staleTempAge {
			return
		}
	}
	// The save that held it may have renamed it over its checkpoint before
	// dying, and a new file may have its name; remove only what was locked.
	if sameFile(f, path) {
		_ = os.Remove(path)
	}
}

// errLocked is returned by lockFile when another open file holds the lock.
var errLocked = errors.New("file is locked")

// sameFile reports whether path names the open file f.
func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Lstat(path)
	return err == nil && os.SameFile(a, b)
}

// lockError describes a failure to lock the file f.
func lockError(f *os.File, err error) error {
	return fmt.Errorf("lock %s: %w", f.Name(), err)
}
