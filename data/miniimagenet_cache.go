package data

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// MaxMiniImageNetCacheFiles is how many mini-ImageNet cache files
// (miniimagenet-*.bin, 1.3 GB each for the whole data set) LoadMiniImageNet
// keeps in a cache directory: after writing a new one it deletes all but
// the MaxMiniImageNetCacheFiles most recently used.
const MaxMiniImageNetCacheFiles = 2

// Cache file format, version 1. All integers are little-endian.
//
//	magic   [8]byte  "MGMINIIN"
//	version uint32   1
//	side    uint32   image side (84)
//	key     [32]byte the SHA-256 of the sources (miniImageNetCacheKey)
//	nimages uint32   number of images
//	nimages × 3·side·side bytes: each image's red, green and blue planes,
//	        in the CSVs' order (train.csv's rows, val.csv's, test.csv's)
//	crc     uint32   CRC-32 (Castagnoli) of everything before it
//
// The images' classes and files are not stored: they are the CSVs',
// which the key covers.
const (
	miniImageNetCacheMagic   = "MGMINIIN"
	miniImageNetCacheVersion = 1
	miniImageNetCacheHeader  = 8 + 4 + 4 + sha256.Size + 4
	miniImageNetCacheGlob    = "miniimagenet-*.bin"
)

// fileStamp is what the cache key records of one image file: its name in
// images/, size and modification time.
type fileStamp struct {
	name  string
	size  int64
	mtime int64 // Unix nanoseconds
}

// miniImageNetCacheKey returns the SHA-256 of everything the decoded
// images depend on: the cache format version, the image side and resize
// filter, the three CSVs' bytes, and the name, size and modification
// time of every image file, in the CSVs' order. Any change to a CSV, and
// any image rewritten, added or replaced, gives a new key, so a stale
// cache file is never read. (Hashing the images' contents would read the
// whole data set at every load; a copy made without keeping modification
// times is decoded again once.)
func miniImageNetCacheKey(side int, csvs [3][]byte, images []fileStamp) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "metagon mini-imagenet cache v%d, %d×%d, %s resize\n", miniImageNetCacheVersion, side, side, FilterLanczos)
	for i, b := range csvs {
		fmt.Fprintf(h, "%s.csv: %d bytes\n", MiniImageNetSplits[i], len(b))
		h.Write(b)
	}
	fmt.Fprintf(h, "%d images\n", len(images))
	for _, f := range images {
		fmt.Fprintf(h, "%q %d %d\n", f.name, f.size, f.mtime)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// miniImageNetCacheName returns the cache file name for images of the
// given side decoded from sources with the given key:
// miniimagenet-<side>-<first 16 hex digits of key>.bin.
func miniImageNetCacheName(side int, key [sha256.Size]byte) string {
	return fmt.Sprintf("miniimagenet-%d-%s.bin", side, hex.EncodeToString(key[:])[:16])
}

// writeMiniImageNetCache writes the images pix (n images of 3·side·side
// bytes) to path atomically: to a temporary file in the same directory,
// then renamed over path.
func writeMiniImageNetCache(path string, side int, key [sha256.Size]byte, pix []uint8) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write mini-imagenet cache: %w", err)
	}
	f, err := os.CreateTemp(dir, ".miniimagenet-*.tmp")
	if err != nil {
		return fmt.Errorf("write mini-imagenet cache: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("write mini-imagenet cache %s: %w", path, err)
		}
	}()
	imgBytes := 3 * side * side
	if len(pix)%imgBytes != 0 {
		return fmt.Errorf("%d bytes of pixels are not whole images of %d bytes", len(pix), imgBytes)
	}
	crc := crc32.New(omniglotCRCTable)
	bw := bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)
	hdr := make([]byte, 0, miniImageNetCacheHeader)
	hdr = append(hdr, miniImageNetCacheMagic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, miniImageNetCacheVersion)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(side))
	hdr = append(hdr, key[:]...)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(pix)/imgBytes))
	bw.Write(hdr)
	bw.Write(pix)
	if err := bw.Flush(); err != nil {
		return err
	}
	if _, err := f.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// readMiniImageNetCache reads the n images of 3·side·side bytes that a
// cache file written by writeMiniImageNetCache for key holds. Any
// deviation (a size that is not that of n images, another magic, version,
// side, key or count, a bad checksum) is an error wrapping
// errInvalidCache; nothing is allocated for the pixels before the file's
// size has been checked. Failures to open or stat the file are
// *fs.PathError (a missing file satisfies errors.Is(err, fs.ErrNotExist)).
func readMiniImageNetCache(path string, side int, key [sha256.Size]byte, n int) ([]uint8, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return decodeMiniImageNetCache(bufio.NewReaderSize(f, 1<<20), st.Size(), side, key, n)
}

// decodeMiniImageNetCache is readMiniImageNetCache on the fileSize bytes
// of r. Every error wraps errInvalidCache.
func decodeMiniImageNetCache(r io.Reader, fileSize int64, side int, key [sha256.Size]byte, n int) ([]uint8, error) {
	pix, err := decodeMiniImageNetCacheData(r, fileSize, side, key, n)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidCache, err)
	}
	return pix, nil
}

// decodeMiniImageNetCacheData is decodeMiniImageNetCache without
// errInvalidCache.
func decodeMiniImageNetCacheData(r io.Reader, fileSize int64, side int, key [sha256.Size]byte, n int) ([]uint8, error) {
	imgBytes := int64(3 * side * side)
	if want := miniImageNetCacheHeader + int64(n)*imgBytes + 4; fileSize != want {
		return nil, fmt.Errorf("%d bytes, want %d for %d images of 3×%d×%d", fileSize, want, n, side, side)
	}
	crc := crc32.New(omniglotCRCTable)
	tr := io.TeeReader(r, crc)
	var hdr [miniImageNetCacheHeader]byte
	if _, err := io.ReadFull(tr, hdr[:]); err != nil {
		return nil, fmt.Errorf("truncated header")
	}
	le := binary.LittleEndian
	switch {
	case string(hdr[:8]) != miniImageNetCacheMagic:
		return nil, fmt.Errorf("bad magic %q", hdr[:8])
	case le.Uint32(hdr[8:]) != miniImageNetCacheVersion:
		return nil, fmt.Errorf("format version %d, want %d", le.Uint32(hdr[8:]), miniImageNetCacheVersion)
	case le.Uint32(hdr[12:]) != uint32(side):
		return nil, fmt.Errorf("image side %d, want %d", le.Uint32(hdr[12:]), side)
	case string(hdr[16:16+sha256.Size]) != string(key[:]):
		return nil, fmt.Errorf("made from other files (its key differs from the CSVs' and images')")
	case le.Uint32(hdr[16+sha256.Size:]) != uint32(n):
		return nil, fmt.Errorf("%d images, want %d", le.Uint32(hdr[16+sha256.Size:]), n)
	}
	pix := make([]uint8, int64(n)*imgBytes)
	if _, err := io.ReadFull(tr, pix); err != nil {
		return nil, fmt.Errorf("truncated pixel data")
	}
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return nil, fmt.Errorf("truncated: no checksum")
	}
	if crc.Sum32() != le.Uint32(tail[:]) {
		return nil, fmt.Errorf("checksum mismatch (corrupt file)")
	}
	return pix, nil
}
