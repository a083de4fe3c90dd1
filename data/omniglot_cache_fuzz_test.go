package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// cacheClaim returns the header of the cache file good with the given
// image side and counts, then pad zero bytes.
func cacheClaim(good []byte, size, nchars, nimages uint32, pad int) []byte {
	b := slices.Clone(good[:24])
	binary.LittleEndian.PutUint32(b[12:], size)
	binary.LittleEndian.PutUint32(b[16:], nchars)
	binary.LittleEndian.PutUint32(b[20:], nimages)
	return append(b, make([]byte, pad)...)
}

// omniglotCacheSeeds returns a valid cache file of the synthetic data set
// at 2×2 and broken variants: cut off, a flipped pixel, another image
// size, and headers that claim far more than the bytes present. All are
// small, as fuzzing wants.
func omniglotCacheSeeds(t testing.TB) map[string][]byte {
	t.Helper()
	dir, cacheDir := t.TempDir(), t.TempDir()
	synthOmniglot(t, dir)
	om, err := LoadOmniglot(dir, OmniglotOptions{Size: 2, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(om.CachePath)
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(good)
	flipped[len(flipped)-50] ^= 0x40
	otherSize := slices.Clone(good)
	binary.LittleEndian.PutUint32(otherSize[12:], 3)
	return map[string][]byte{
		"cache":                     good,
		"cut-off cache":             good[:len(good)-9],
		"flipped pixel":             flipped,
		"other size":                otherSize,
		"trailing byte":             append(slices.Clone(good), 0),
		"10^7 characters, 28 bytes": cacheClaim(good, 2, maxOmniglotCacheN, maxOmniglotCacheN, 4),
		"10^7 images, 28 bytes":     cacheClaim(good, 2, 1, maxOmniglotCacheN, 4),
		"empty":                     nil,
	}
}

// FuzzOmniglotCache reads arbitrary bytes as an Omniglot cache file of
// 1..32-pixel images. It may not panic or hang, nor allocate more than 16
// bytes per byte present (a character table entry of 13 bytes or more
// becomes an 80-byte OmniglotChar and its strings); a failure must wrap
// errInvalidCache in one line, and a success hold well-formed characters.
func FuzzOmniglotCache(f *testing.F) {
	addSeeds(f, omniglotCacheSeeds(f), uint8(1)) // 2×2, as the valid seed
	f.Fuzz(func(t *testing.T, data []byte, sizeSeed uint8) {
		size := 1 + int(sizeSeed)%32
		var om *Omniglot
		err := checkBounded(t, "decodeOmniglotCache", uint64(fuzzAllocSlack+16*len(data)), func() (err error) {
			om, err = decodeOmniglotCache(bytes.NewReader(data), int64(len(data)), size)
			return err
		})
		if err != nil && !errors.Is(err, errInvalidCache) {
			t.Fatalf("error %v does not wrap errInvalidCache", err)
		}
		if err == nil {
			checkOmniglot(t, om, size)
		}
	})
}

// TestOmniglotCacheHugeClaims checks that a cache header whose counts need
// more bytes than the file has is refused from the header alone, with
// little memory: 2^13 characters of one 1-pixel image each in 32 KiB
// (which do hold their pixels) would cost an 80-byte OmniglotChar each
// before the reader found the character table short.
func TestOmniglotCacheHugeClaims(t *testing.T) {
	seeds := omniglotCacheSeeds(t)
	if _, err := decodeOmniglotCache(bytes.NewReader(seeds["cache"]), int64(len(seeds["cache"])), 2); err != nil {
		t.Fatalf("the valid seed: %v", err)
	}
	const n = 1 << 13
	seeds["2^13 1-pixel images, 32 KiB"] = cacheClaim(seeds["cache"], 1, n, n, 4*n)
	for name, size := range map[string]int{"10^7 characters, 28 bytes": 2, "10^7 images, 28 bytes": 2, "2^13 1-pixel images, 32 KiB": 1} {
		data := seeds[name]
		err := checkBounded(t, name, 128<<10, func() error {
			_, err := decodeOmniglotCache(bytes.NewReader(data), int64(len(data)), size)
			return err
		})
		if err == nil || !errors.Is(err, errInvalidCache) || !strings.Contains(err.Error(), "truncated: header announces") {
			t.Errorf("%s: error %v, want an invalid cache truncated as the header shows", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}
