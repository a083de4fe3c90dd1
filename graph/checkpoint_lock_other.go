//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package graph

import (
	"errors"
	"os"
)

// tempLocks reports whether lockFile can lock files on this system: not
// here, so temporary files are closed before their rename (Windows cannot
// rename an open file) and stale ones are told by their age.
const tempLocks = false

// lockFile fails: this system has no flock(2).
func lockFile(f *os.File, wait bool) error { return lockError(f, errors.ErrUnsupported) }
