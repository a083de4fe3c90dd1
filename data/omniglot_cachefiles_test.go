package data

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// copyZips copies the two Omniglot zips from src to a new temporary
// directory and returns it.
func copyZips(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, set := range OmniglotSets {
		b, err := os.ReadFile(filepath.Join(src, "images_"+set+".zip"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, "images_"+set+".zip"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// cacheFiles returns the base names of the Omniglot cache files in dir,
// sorted.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, omniglotCacheGlob))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		paths[i] = filepath.Base(p)
	}
	slices.Sort(paths)
	return paths
}

// TestOmniglotCacheKeyIsContent checks that copies of the same zips in
// different directories, with different modification times, share one
// cache file, and that a zip with other content gets another.
func TestOmniglotCacheKeyIsContent(t *testing.T) {
	dirA, cacheDir := t.TempDir(), t.TempDir()
	synthOmniglot(t, dirA)
	dirB := copyZips(t, dirA)
	old := time.Now().Add(-48 * time.Hour)
	for _, set := range OmniglotSets {
		if err := os.Chtimes(filepath.Join(dirB, "images_"+set+".zip"), old, old); err != nil {
			t.Fatal(err)
		}
	}
	opts := OmniglotOptions{Size: 4, CacheDir: cacheDir}
	a, err := LoadOmniglot(dirA, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOmniglot(dirB, opts)
	if err != nil {
		t.Fatal(err)
	}
	if a.FromCache || !b.FromCache || b.CachePath != a.CachePath {
		t.Errorf("copy in another directory, 48 h older: FromCache %v, %v; paths %s, %s; want the first load's cache file used",
			a.FromCache, b.FromCache, a.CachePath, b.CachePath)
	}
	if p, err := OmniglotCachePath(dirB, opts); err != nil || p != a.CachePath {
		t.Errorf("OmniglotCachePath of the copy = %s, %v; want %s", p, err, a.CachePath)
	}
	if files := cacheFiles(t, cacheDir); len(files) != 1 {
		t.Errorf("cache files %v, want one", files)
	}

	// Same names, other content: drawing 01 of character 0003 is another
	// character's.
	dirC := copyZips(t, dirA)
	var entries []zipEntry
	zr, err := zip.OpenReader(filepath.Join(dirA, "images_background.zip"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		var buf bytes.Buffer
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		buf.ReadFrom(rc)
		rc.Close()
		if f.Name == "images_background/A/character01/0003_01.png" {
			buf.Reset()
			buf.Write(pngBytes(t, synthDrawing(4, 1)))
		}
		entries = append(entries, zipEntry{name: f.Name, data: buf.Bytes()})
	}
	zr.Close()
	writeZip(t, filepath.Join(dirC, "images_background.zip"), entries)
	c, err := LoadOmniglot(dirC, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.FromCache || c.CachePath == a.CachePath {
		t.Errorf("changed zip: FromCache %v, path %s; want a new cache file, not %s", c.FromCache, c.CachePath, a.CachePath)
	}
	if d := sameImages(a, c); d == "" {
		t.Errorf("changed zip: same images as the original")
	}
}

// TestOmniglotCachePrune checks that writing a cache file deletes all but
// the MaxOmniglotCacheFiles most recently used ones, that a load from a
// cache file counts as a use, and that other files are left alone.
func TestOmniglotCachePrune(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	synthOmniglot(t, dir)
	now := time.Now()
	setAge := func(path string, age time.Duration) {
		t.Helper()
		if err := os.Chtimes(path, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	// Old cache files, fakes[i] used i+1 hours ago, and two files that are
	// not cache files.
	var fakes []string
	for i := range MaxOmniglotCacheFiles + 1 {
		name := fmt.Sprintf("omniglot-9-%016d.bin", i)
		if err := os.WriteFile(filepath.Join(cacheDir, name), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		setAge(filepath.Join(cacheDir, name), time.Duration(i+1)*time.Hour)
		fakes = append(fakes, name)
	}
	for _, other := range []string{"notes.txt", ".omniglot-123.tmp"} {
		if err := os.WriteFile(filepath.Join(cacheDir, other), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		setAge(filepath.Join(cacheDir, other), 100*time.Hour)
	}

	o4, err := LoadOmniglot(dir, OmniglotOptions{Size: 4, CacheDir: cacheDir})
	if err != nil || o4.CacheError != nil {
		t.Fatalf("%v, cache error %v", err, o4.CacheError)
	}
	want := append(slices.Clone(fakes[:MaxOmniglotCacheFiles-1]), filepath.Base(o4.CachePath))
	slices.Sort(want)
	if got := cacheFiles(t, cacheDir); !slices.Equal(got, want) {
		t.Errorf("after writing a cache file: %v, want %v (the new one and the %d most recently used)",
			got, want, MaxOmniglotCacheFiles-1)
	}
	for _, other := range []string{"notes.txt", ".omniglot-123.tmp"} {
		if _, err := os.Stat(filepath.Join(cacheDir, other)); err != nil {
			t.Errorf("pruning removed %s: %v", other, err)
		}
	}

	// Make the new file the least recently used, then use it: the next
	// write keeps it and deletes the oldest fake instead.
	setAge(o4.CachePath, 10*time.Hour)
	before := time.Now()
	if o, err := LoadOmniglot(dir, OmniglotOptions{Size: 4, CacheDir: cacheDir}); err != nil || !o.FromCache {
		t.Fatalf("cached load: %v", err)
	}
	if st, err := os.Stat(o4.CachePath); err != nil || st.ModTime().Before(before.Add(-time.Second)) {
		t.Errorf("a load from %s did not touch it: %v", o4.CachePath, err)
	}
	o3, err := LoadOmniglot(dir, OmniglotOptions{Size: 3, CacheDir: cacheDir})
	if err != nil || o3.CacheError != nil {
		t.Fatalf("%v, cache error %v", err, o3.CacheError)
	}
	want = append(slices.Clone(fakes[:MaxOmniglotCacheFiles-2]), filepath.Base(o4.CachePath), filepath.Base(o3.CachePath))
	slices.Sort(want)
	if got := cacheFiles(t, cacheDir); !slices.Equal(got, want) {
		t.Errorf("after using one and writing another: %v, want %v", got, want)
	}
}

// TestZipDirectory checks that zipDirectory finds the central directory of
// a small zip, of one with data prepended, and of a zip64 archive (65,535
// entries or more), as archive/zip reads them: the region starts with a
// directory entry, holds one per file, and is followed by the end record.
func TestZipDirectory(t *testing.T) {
	many := make([]zipEntry, 1<<16)
	for i := range many {
		many[i] = zipEntry{name: fmt.Sprintf("%05d", i), store: true}
	}
	small := synthOmniglotZips(t)["background"]
	for name, b := range map[string][]byte{
		"small":     small,
		"prepended": append([]byte("#!/bin/sh\nexit 0\n"), small...),
		"zip64":     zipBytes(t, many),
	} {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		start, n, err := zipDirectory(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dir, end := b[start:start+n], string(b[start+n:start+n+4])
		if entries := bytes.Count(dir, []byte(zipDirSig)); !bytes.HasPrefix(dir, []byte(zipDirSig)) || entries != len(zr.File) ||
			(end != zipEndSig && end != zip64EndSig) {
			t.Errorf("%s: directory [%d, %d) holds %d entries and is followed by %q; want %d and an end record",
				name, start, start+n, entries, end, len(zr.File))
		}
		t.Logf("%s: %d entries, directory [%d, %d), then %q", name, len(zr.File), start, start+n, end)
	}
	if _, _, err := zipDirectory(bytes.NewReader(small[:len(small)-10]), int64(len(small)-10)); err == nil {
		t.Errorf("cut-off zip: no error")
	}
}
