//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package graph

import (
	"errors"
	"os"
	"syscall"
)

// tempLocks reports whether lockFile can lock files on this system; a
// locked temporary file stays open until its rename (see SaveCheckpoint).
const tempLocks = true

// lockFile takes an exclusive flock(2) on f, waiting for it when wait is
// set, else failing with errLocked when another open file holds it. The
// lock lasts until f is closed or its process ends.
func lockFile(f *os.File, wait bool) error {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errLocked
		default:
			return lockError(f, err)
		}
	}
}
