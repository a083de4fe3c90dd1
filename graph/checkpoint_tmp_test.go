package graph

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckpointRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.ckpt")
	create := func(name string, age time.Duration) *os.File {
		t.Helper()
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if age > 0 {
			old := time.Now().Add(-age)
			if err := os.Chtimes(f.Name(), old, old); err != nil {
				t.Fatal(err)
			}
		}
		return f
	}
	exists := func(name string) bool {
		_, err := os.Lstat(filepath.Join(dir, name))
		return err == nil
	}

	// Left by saves killed long ago (stale everywhere) and just now (stale
	// where files can be locked, since nobody holds them).
	old := []string{".model.ckpt.tmp-123", ".model.ckpt.tmp-4567890"}
	recent := ".model.ckpt.tmp-42"
	for _, name := range old {
		create(name, 2*staleTempAge).Close()
	}
	create(recent, 0).Close()
	// Not temporary files of model.ckpt.
	others := []string{".other.ckpt.tmp-123", ".model.ckpt.tmp-x.tmp-123", "model.ckpt.tmp-123",
		".model.ckpt.tmp-", ".model.ckpt.tmp-12a", ".model.ckpt.tmp-9.bak", ".model.ckpt.tmp"}
	for _, name := range others {
		create(name, 2*staleTempAge).Close()
	}
	if err := os.Mkdir(filepath.Join(dir, ".model.ckpt.tmp-77"), 0o755); err != nil {
		t.Fatal(err)
	}
	others = append(others, ".model.ckpt.tmp-77")
	// One that a live save is writing: open and locked, however old.
	live := ".model.ckpt.tmp-555"
	f := create(live, 2*staleTempAge)
	defer f.Close()
	if tempLocks {
		if err := lockFile(f, false); err != nil {
			t.Fatal(err)
		}
	} else {
		now := time.Now()
		if err := os.Chtimes(f.Name(), now, now); err != nil {
			t.Fatal(err)
		}
	}

	if err := SaveCheckpoint(path, goldenCheckpoint()); err != nil {
		t.Fatal(err)
	}
	for _, name := range old {
		if exists(name) {
			t.Errorf("stale temporary file %s was not removed", name)
		}
	}
	if exists(recent) != !tempLocks {
		t.Errorf("recent unlocked temporary file %s: exists %v, want %v (files can be locked: %v)", recent, exists(recent), !tempLocks, tempLocks)
	}
	for _, name := range append(others, live) {
		if !exists(name) {
			t.Errorf("%s was removed", name)
		}
	}
	if _, err := LoadCheckpoint(path); err != nil {
		t.Fatal(err)
	}

	// Once the live save is gone (its lock with it), the next save removes
	// its file.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if !tempLocks {
		old := time.Now().Add(-2 * staleTempAge)
		if err := os.Chtimes(filepath.Join(dir, live), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := SaveCheckpoint(path, goldenCheckpoint()); err != nil {
		t.Fatal(err)
	}
	if exists(live) || exists(recent) {
		t.Errorf("after the live save ended: %s exists %v, %s exists %v", live, exists(live), recent, exists(recent))
	}
	// A save's own temporary file is safe from a cleanup that runs while it
	// is being written (where it is told by its lock).
	if tempLocks {
		saveHook = func(tmp *os.File) error {
			removeStaleTemps(dir, "model.ckpt")
			_, err := os.Stat(tmp.Name())
			return err
		}
		err := SaveCheckpoint(path, goldenCheckpoint())
		saveHook = nil
		if err != nil {
			t.Errorf("a cleanup during a save removed its temporary file: %v", err)
		}
	}

	// Nothing else was removed, and the saves left no file of their own.
	var want []string
	for _, name := range others {
		if strings.Contains(name, ".tmp-") { // what tempFiles lists
			want = append(want, name)
		}
	}
	slices.Sort(want)
	if tmp := tempFiles(t, dir); !slices.Equal(tmp, want) {
		t.Errorf("temporary files left: %v, want %v", tmp, want)
	}
}
