package data

import (
	"bytes"
	"io"
	"testing"
)

// The formats the CIFAR fuzz target reads: the releases' own, whose record
// counts no small input meets (so that only the checks before them run),
// and cut-down ones whose whole archives are a few records.
var (
	fuzzCIFAR10  = smallFormat(&cifar10Format, 1)
	fuzzCIFAR100 = smallFormat(&cifar100Format, 2, 1)
)

// cifarSeeds returns valid small tarballs of f, gzipped and plain, and
// broken variants: cut off, not a tarball, a label out of range, a file
// whose header claims a release-sized file in a few bytes.
func cifarSeeds(t testing.TB, f *cifarFormat) map[string][]byte {
	s := newSynthCIFAR(f)
	plain := tarBytes(t, s.entries(nil, nil))
	gzipped := gz(t, plain)
	first := f.files[0].name
	bad := bytes.Clone(s.files[first])
	bad[f.labelBytes-1] = 255
	claim := int64(f.record()) * int64(f.files[0].records)
	return map[string][]byte{
		f.name + " gzipped":          gzipped,
		f.name + " plain":            plain,
		f.name + " cut-off gzip":     gzipped[:len(gzipped)*2/3],
		f.name + " cut-off tar":      plain[:len(plain)-2000],
		f.name + " label 255":        gz(t, tarBytes(t, s.entries(nil, map[string][]byte{first: bad}))),
		f.name + " lying header":     tarBytes(t, []tarEntry{{name: first, data: s.files[first][:100], size: claim * 50_000}}),
		f.name + " names only":       tarBytes(t, []tarEntry{{name: f.names, data: s.files[f.names]}}),
		f.name + " not a tarball":    []byte("<html>404 Not Found</html>"),
		f.name + " gzip, then junk":  append([]byte{0x1f, 0x8b}, "not gzip"...),
		f.name + " empty":            nil,
		f.name + " names file 2 MiB": tarBytes(t, []tarEntry{{name: f.names, data: []byte("a\n"), size: 2 << 20}}),
	}
}

// FuzzReadCIFAR feeds arbitrary bytes, gzipped or not (told from the magic
// bytes, as LoadCIFAR10 does), to the CIFAR tarball reader, in the
// CIFAR-10 or CIFAR-100 format, the release's or a cut-down one. It may
// not panic, hang or allocate more than a few times the bytes present
// (headers that claim more cost nothing); an error must be one line, and a
// success must hold whole images with labels in range.
func FuzzReadCIFAR(f *testing.F) {
	seeds := map[string][]byte{}
	for _, fm := range []*cifarFormat{fuzzCIFAR10, fuzzCIFAR100} {
		for k, v := range cifarSeeds(f, fm) {
			seeds[k] = v
		}
	}
	addSeeds(f, seeds, true, false)
	addSeeds(f, seeds, false, false)
	addSeeds(f, seeds, true, true)
	f.Fuzz(func(t *testing.T, data []byte, hundred, release bool) {
		fm := map[[2]bool]*cifarFormat{
			{false, false}: fuzzCIFAR10, {true, false}: fuzzCIFAR100,
			{false, true}: &cifar10Format, {true, true}: &cifar100Format,
		}[[2]bool{hundred, release}]
		present := max(len(data), idxContentLen(data))
		// readBody's buffers (under 4 bytes per byte) and the splits'
		// pixels, appended file by file (under 3 more)
		limit := uint64(fuzzAllocSlack + 8*present)
		var c *CIFAR
		checkBounded(t, "readCIFAR", limit, func() error {
			return withIDXReader(bytes.NewReader(data), func(r io.Reader) error {
				var err error
				c, err = readCIFAR(r, fm)
				return err
			})
		})
		if c != nil {
			checkCIFAR(t, c, fm)
		}
	})
}

// checkCIFAR checks that c is well formed for f: the release's record
// counts, whole images, labels in range, a name for every class.
func checkCIFAR(t *testing.T, c *CIFAR, f *cifarFormat) {
	t.Helper()
	var want [2]int
	for _, df := range f.files {
		want[splitOf(df)] += df.records
	}
	if len(c.Classes) != f.classes || len(c.Superclasses) != f.coarse {
		t.Fatalf("%d classes and %d superclasses, want %d and %d", len(c.Classes), len(c.Superclasses), f.classes, f.coarse)
	}
	for sp, s := range []*CIFARSplit{c.Train, c.Test} {
		if s.Len() != want[sp] || len(s.Pixels) != want[sp]*CIFARImageBytes {
			t.Fatalf("split %d: %d labels, %d pixel bytes; want %d images", sp, s.Len(), len(s.Pixels), want[sp])
		}
		for i, l := range s.Labels {
			if int(l) >= f.classes || (s.Coarse != nil && int(s.Coarse[i]) >= f.coarse) {
				t.Fatalf("split %d image %d: label %d", sp, i, l)
			}
		}
	}
}

// TestReadCIFARHugeClaims: a header claiming a release-sized file in a
// few bytes is refused without allocating for the claim.
func TestReadCIFARHugeClaims(t *testing.T) {
	const limit = 4 << 20
	for _, fm := range []*cifarFormat{&cifar10Format, &cifar100Format} {
		s := newSynthCIFAR(fuzzCIFAR10)
		if fm.labelBytes == 2 {
			s = newSynthCIFAR(fuzzCIFAR100)
		}
		first := fm.files[0].name
		data := gz(t, tarBytes(t, []tarEntry{{name: first, data: s.files[first], size: int64(fm.record() * fm.files[0].records)}}))
		err := checkBounded(t, fm.name, limit, func() error {
			return withIDXReader(bytes.NewReader(data), func(r io.Reader) error { _, err := readCIFAR(r, fm); return err })
		})
		if err == nil {
			t.Errorf("%s: no error", fm.name)
		}
		t.Logf("%s (%d bytes): %v", fm.name, len(data), err)
	}
}
