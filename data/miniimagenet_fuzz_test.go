package data

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// miniImageNetCSVSeeds are valid CSVs in the format of Ravi & Larochelle's
// files and broken variants: cut off, headerless, with CRLF and a
// byte-order mark, quoted fields, blank lines, a file twice, a path.
func miniImageNetCSVSeeds() map[string][]byte {
	ravi := "filename,label\nn0153282900000005.jpg,n01532829\nn0153282900000006.jpg,n01532829\nn0155899300000001.jpg,n01558993\n"
	return map[string][]byte{
		"ravi-like":         []byte(ravi),
		"cut within a row":  []byte(ravi[:len(ravi)-7]),
		"cut after a comma": []byte(ravi[:strings.LastIndexByte(ravi, ',')+1]),
		"no final newline":  []byte(strings.TrimSuffix(ravi, "\n")),
		"crlf and bom":      []byte("\uFEFF" + strings.ReplaceAll(ravi, "\n", "\r\n")),
		"headerless":        []byte(ravi[strings.IndexByte(ravi, '\n')+1:]),
		"quoted":            []byte("filename,label\n\"a.jpg\",\"n01532829\"\n"),
		"blank lines":       []byte("filename,label\n\na.jpg,n01532829\n\n\n"),
		"file twice":        []byte("filename,label\na.jpg,n01532829\na.jpg,n01558993\n"),
		"path":              []byte("filename,label\n../../etc/passwd,n01532829\n"),
		"header only":       []byte("filename,label\n"),
		"empty":             nil,
	}
}

// FuzzMiniImageNetCSV feeds arbitrary bytes to the CSV parser of
// mini-ImageNet's splits. It may not panic, hang or allocate more than a
// small multiple of its input; an error must be one line naming what is
// wrong; a success must be rows of plain file names, none twice, and
// WordNet ids on lines 2, 3, ..., that parse back to themselves when
// written out in the canonical form.
func FuzzMiniImageNetCSV(f *testing.F) {
	addSeeds(f, miniImageNetCSVSeeds())
	f.Fuzz(func(t *testing.T, data []byte) {
		var rows []miniImageNetRow
		// a copy of the text, the rows (40 bytes each, room for one per
		// 12 bytes of input) and the map of file names: about 8 bytes per
		// byte of input
		limit := uint64(fuzzAllocSlack + 16*len(data))
		err := checkBounded(t, "parseMiniImageNetCSV", limit, func() error {
			var err error
			rows, err = parseMiniImageNetCSV(data)
			return err
		})
		if err != nil {
			if rows != nil {
				t.Fatalf("rows %v with error %v", rows, err)
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("no rows and no error")
		}
		seen := map[string]bool{}
		canonical := []string{miniImageNetHeader}
		for i, r := range rows {
			if !plainFileName(r.File) || !isWNID(r.WNID) || seen[r.File] || r.Line != i+2 {
				t.Fatalf("row %d: %+v", i, r)
			}
			seen[r.File] = true
			canonical = append(canonical, r.File+","+r.WNID)
		}
		again, err := parseMiniImageNetCSV([]byte(strings.Join(canonical, "\n") + "\n"))
		if err != nil {
			t.Fatalf("the rows written out do not parse: %v", err)
		}
		if !slices.Equal(again, rows) {
			t.Fatalf("rows %v written out parse as %v", rows, again)
		}
	})
}

// fuzzMiniImageNetKey is the key the cache fuzz target's files are read
// against.
var fuzzMiniImageNetKey = miniImageNetCacheKey(2, [3][]byte{[]byte("fuzz")}, nil)

// miniImageNetCacheSeeds returns a valid cache file of three 3×2×2 images
// and broken variants: cut off, a flipped pixel, another side, key or
// count, a trailing byte.
func miniImageNetCacheSeeds(t testing.TB) map[string][]byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.bin")
	if err := writeMiniImageNetCache(path, 2, fuzzMiniImageNetKey, []uint8("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ")); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	change := func(at int, v byte) []byte { b := slices.Clone(good); b[at] ^= v; return b }
	return map[string][]byte{
		"cache":          good,
		"cut-off cache":  good[:len(good)-5],
		"flipped pixel":  change(miniImageNetCacheHeader+3, 0x40),
		"other side":     change(12, 1),
		"other key":      change(30, 1),
		"other count":    change(miniImageNetCacheHeader-4, 1),
		"trailing byte":  append(slices.Clone(good), 0),
		"header only":    good[:miniImageNetCacheHeader],
		"empty":          nil,
		"2^32-1 images":  append(slices.Clone(good[:miniImageNetCacheHeader-4]), 0xff, 0xff, 0xff, 0xff),
		"not a cache at": []byte("MGOMNIGL not this one"),
	}
}

// FuzzMiniImageNetCache reads arbitrary bytes as a mini-ImageNet cache
// file of n = 0..7 images of 3×2×2 bytes. It may not panic or hang, nor
// allocate more than the bytes present; a failure must wrap
// errInvalidCache in one line, and a success hold exactly n images.
func FuzzMiniImageNetCache(f *testing.F) {
	seeds := miniImageNetCacheSeeds(f)
	addSeeds(f, seeds, uint8(3))
	addSeeds(f, seeds, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		n %= 8
		var pix []uint8
		err := checkBounded(t, "decodeMiniImageNetCache", uint64(fuzzAllocSlack+2*len(data)), func() error {
			var err error
			pix, err = decodeMiniImageNetCache(bytes.NewReader(data), int64(len(data)), 2, fuzzMiniImageNetKey, int(n))
			return err
		})
		if err != nil {
			if !errors.Is(err, errInvalidCache) {
				t.Fatalf("error %v does not wrap errInvalidCache", err)
			}
			return
		}
		if len(pix) != int(n)*12 {
			t.Fatalf("%d bytes of pixels for %d images", len(pix), n)
		}
	})
}
