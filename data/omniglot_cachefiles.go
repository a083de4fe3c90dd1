package data

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// MaxOmniglotCacheFiles is how many Omniglot cache files (omniglot-*.bin)
// LoadOmniglot keeps in a cache directory: after writing a new one it
// deletes all but the MaxOmniglotCacheFiles most recently used (each load
// from a cache file touches its modification time). A 28×28 cache file
// is about 100 MB.
const MaxOmniglotCacheFiles = 4

// omniglotCacheGlob matches the names of omniglotCacheName, of this and
// earlier versions.
const omniglotCacheGlob = "omniglot-*.bin"

// omniglotCacheKey returns the content key of the two zips (background,
// then evaluation): the first 16 hex digits of the SHA-256 of the cache
// format version and each zip's central directory, the table at the end of
// a zip that lists every member's name, sizes and CRC-32. Byte-identical
// copies of the zips share a key wherever they are and whatever their
// modification times; a zip whose content changes gets a new one. It reads
// only the directories (about 3 MB for Omniglot), not the members.
func omniglotCacheKey(zips [2]string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "metagon omniglot cache v%d, keyed on the zips' central directories\n", omniglotCacheVersion)
	for i, p := range zips {
		if err := hashZipDirectory(h, OmniglotSets[i], p); err != nil {
			return "", fmt.Errorf("omniglot cache key: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// hashZipDirectory writes the central directory of the zip at p, after a
// line naming set and the directory's length, to h.
func hashZipDirectory(h io.Writer, set, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	start, n, err := zipDirectory(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	fmt.Fprintf(h, "images_%s.zip: %d bytes of central directory\n", set, n)
	if _, err := io.Copy(h, io.NewSectionReader(f, start, n)); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// Signatures and sizes of the zip records zipDirectory reads (APPNOTE.TXT
// 4.3.12-4.3.16).
const (
	zipDirSig        = "PK\x01\x02" // a central directory entry
	zipEndSig        = "PK\x05\x06" // end of central directory record
	zipEndLen        = 22           // its length without the comment
	zip64LocatorSig  = "PK\x06\x07" // zip64 end of central directory locator
	zip64LocatorLen  = 20
	zip64EndSig      = "PK\x06\x06" // zip64 end of central directory record
	zip64EndLen      = 56
	maxZipCommentLen = 1<<16 - 1
)

// zipDirectory finds the central directory of the zip archive r, size bytes
// long: it starts at offset start and is n bytes long. It reads the end of
// central directory record (and, for a zip64 archive, the zip64 record it
// points to), and takes the directory to be the n bytes just before that
// record, as the format lays it out; so data prepended to the archive does
// not matter.
func zipDirectory(r io.ReaderAt, size int64) (start, n int64, err error) {
	tail := make([]byte, min(size, zipEndLen+maxZipCommentLen+zip64LocatorLen))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil {
		return 0, 0, fmt.Errorf("read the end of the zip: %w", err)
	}
	// The last record signature whose comment length reaches the end.
	end := -1
	for i := len(tail) - zipEndLen; i >= 0; i-- {
		if string(tail[i:i+4]) == zipEndSig && i+zipEndLen+int(binary.LittleEndian.Uint16(tail[i+20:])) <= len(tail) {
			end = i
			break
		}
	}
	if end < 0 {
		return 0, 0, errors.New("no end of central directory record: not a zip archive, or a truncated one")
	}
	recordAt := size - int64(len(tail)) + int64(end)
	n = int64(binary.LittleEndian.Uint32(tail[end+12:]))
	// A zip64 archive has its own end record, located by the locator just
	// before this one, between the directory and the locator.
	if loc := end - zip64LocatorLen; loc >= 0 && string(tail[loc:loc+4]) == zip64LocatorSig {
		at := int64(binary.LittleEndian.Uint64(tail[loc+8:]))
		var rec [zip64EndLen]byte
		if at < 0 || at > size-zip64EndLen {
			return 0, 0, fmt.Errorf("zip64 end of central directory record at %d is outside the file", at)
		}
		if _, err := r.ReadAt(rec[:], at); err != nil || string(rec[:4]) != zip64EndSig {
			return 0, 0, fmt.Errorf("no zip64 end of central directory record at %d", at)
		}
		recordAt, n = at, int64(binary.LittleEndian.Uint64(rec[40:]))
	}
	start = recordAt - n
	if n < 0 || start < 0 {
		return 0, 0, fmt.Errorf("central directory of %d bytes does not fit before its end record at %d", n, recordAt)
	}
	if n > 0 {
		var sig [4]byte
		if _, err := r.ReadAt(sig[:], start); err != nil || string(sig[:]) != zipDirSig {
			return 0, 0, fmt.Errorf("no central directory in the %d bytes before the end record at %d", n, recordAt)
		}
	}
	return start, n, nil
}

// touchOmniglotCache sets the modification time of a cache file just used
// to now, so that pruneOmniglotCache keeps the most recently used files.
// A failure (say, a read-only cache) only makes pruning less apt, so it is
// ignored.
func touchOmniglotCache(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now)
}

// pruneOmniglotCache deletes all but the MaxOmniglotCacheFiles most
// recently modified cache files (omniglotCacheGlob) in dir, never keep,
// the file just written. Other files are left alone. Files that vanish
// meanwhile (another process pruning) are no error.
func pruneOmniglotCache(dir, keep string) error {
	return pruneCacheFiles(dir, omniglotCacheGlob, keep, MaxOmniglotCacheFiles, "omniglot")
}

// pruneCacheFiles deletes all but the most recently modified maxFiles
// files matching glob in dir, never keep, the file just written, which
// counts as one of them. what names the cache in errors ("omniglot").
func pruneCacheFiles(dir, glob, keep string, maxFiles int, what string) error {
	paths, err := filepath.Glob(filepath.Join(dir, glob))
	if err != nil {
		return fmt.Errorf("prune %s cache %s: %w", what, dir, err)
	}
	type file struct {
		path  string
		mtime time.Time
	}
	var files []file
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && p != keep {
			files = append(files, file{p, st.ModTime()})
		}
	}
	if len(files) < maxFiles {
		return nil
	}
	slices.SortFunc(files, func(a, b file) int { // newest first
		return cmp.Or(b.mtime.Compare(a.mtime), cmp.Compare(a.path, b.path))
	})
	var firstErr error
	failed := 0
	for _, f := range files[maxFiles-1:] { // keep is one of the maxFiles
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			firstErr = cmp.Or(firstErr, err)
			failed++
		}
	}
	if firstErr != nil {
		return fmt.Errorf("prune %s cache: %d old cache files not deleted: %w", what, failed, firstErr)
	}
	return nil
}
