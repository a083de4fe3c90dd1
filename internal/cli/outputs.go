package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Output checks run before a command does any work, so that a long run
// never dies at its first save because of a path it could have refused at
// once. Each error names the flag and says what was expected.

// CheckDir checks that dir, the value of -flag, can hold output files: it
// creates dir and its parents if they are missing and tries to create a
// file in it.
func CheckDir(flag, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-%s %s: cannot create the directory: %w", flag, dir, err)
	}
	if err := probe(dir); err != nil {
		return fmt.Errorf("-%s %s: directory is not writable: %w", flag, dir, err)
	}
	return nil
}

// CheckFile checks that path, the value of -flag, can be written later:
// it is not a directory, and its directory exists (or can be created) and
// is writable. An existing file is refused unless replace is true; the
// error then says what to do instead (hint, e.g. "add -resume to continue
// it, or -overwrite to start over").
func CheckFile(flag, path string, replace bool, hint string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("-%s %s is a directory; want a file name, e.g. %s", flag, path, filepath.Join(path, "run.ckpt"))
	case err == nil && !replace:
		return fmt.Errorf("-%s %s already exists: %s", flag, path, hint)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("-%s %s: %w", flag, path, err)
	}
	return CheckDir(flag+" directory", filepath.Dir(path))
}

// probe creates and removes a file in dir.
func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".metagon-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// WriteJSON writes v to path as indented JSON, atomically: to a temporary
// file in path's directory, renamed onto path once complete, so an
// interrupted run never leaves a truncated record.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(append(b, '\n'))
	err = errors.Join(err, f.Chmod(0o644), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
