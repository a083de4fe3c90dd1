package data

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The shape of a CIFAR image: 3 channels of 32×32 bytes, stored channel
// by channel (red, green, blue), each row by row.
const (
	CIFARChannels   = 3
	CIFARSide       = 32
	CIFARImageBytes = CIFARChannels * CIFARSide * CIFARSide // 3,072
)

// maxCIFARNamesBytes bounds the label-name files a CIFAR tarball holds
// (a few hundred bytes in the release), so that a damaged archive cannot
// ask for a large allocation.
const maxCIFARNamesBytes = 1 << 20

// cifarHint tells the user how to get the data.
const cifarHint = "run scripts/download_cifar.sh DIR " + scriptHome + " or set CIFAR_DIR"

// CIFAR is CIFAR-10 or CIFAR-100 (Krizhevsky, "Learning Multiple Layers
// of Features from Tiny Images", 2009) held in memory as the release
// stores it: 32×32 colour images as bytes, converted to floats only when a
// batch or an episode is filled.
type CIFAR struct {
	// Name is "cifar-10" or "cifar-100".
	Name string
	// Train and Test are the release's training (50,000 images) and test
	// (10,000) splits.
	Train, Test *CIFARSplit
	// Classes names the labels, in label order: CIFAR-10's 10 classes
	// (batches.meta.txt), CIFAR-100's 100 fine classes
	// (fine_label_names.txt).
	Classes []string
	// Superclasses names CIFAR-100's 20 coarse labels
	// (coarse_label_names.txt); nil for CIFAR-10.
	Superclasses []string
}

// cifarFile is one data file of a CIFAR release.
type cifarFile struct {
	name    string // base name in the tarball, e.g. "train.bin"
	test    bool   // its records belong to the test split
	records int    // how many records the release's file holds
}

// cifarFormat describes one CIFAR release: its tarball, record layout,
// files and label ranges.
type cifarFormat struct {
	name        string // "cifar-10", "cifar-100"
	tarball     string // e.g. "cifar-10-binary.tar.gz"
	labelBytes  int    // 1: the label; 2: the coarse label, then the fine one
	files       []cifarFile
	names       string // the class-name file
	coarseNames string // the superclass-name file, "" if none
	classes     int    // labels run 0..classes−1
	coarse      int    // coarse labels run 0..coarse−1
}

// record is the size of one record: the label bytes and an image.
func (f *cifarFormat) record() int { return f.labelBytes + CIFARImageBytes }

// The two releases, as https://www.cs.toronto.edu/~kriz/cifar.html
// describes their binary versions.
var (
	cifar10Format = cifarFormat{
		name: "cifar-10", tarball: "cifar-10-binary.tar.gz", labelBytes: 1,
		files: []cifarFile{
			{"data_batch_1.bin", false, 10_000}, {"data_batch_2.bin", false, 10_000},
			{"data_batch_3.bin", false, 10_000}, {"data_batch_4.bin", false, 10_000},
			{"data_batch_5.bin", false, 10_000}, {"test_batch.bin", true, 10_000},
		},
		names: "batches.meta.txt", classes: 10,
	}
	cifar100Format = cifarFormat{
		name: "cifar-100", tarball: "cifar-100-binary.tar.gz", labelBytes: 2,
		files:       []cifarFile{{"train.bin", false, 50_000}, {"test.bin", true, 10_000}},
		names:       "fine_label_names.txt",
		coarseNames: "coarse_label_names.txt",
		classes:     100, coarse: 20,
	}
)

// LoadCIFAR10 loads CIFAR-10 from cifar-10-binary.tar.gz in dir, the
// binary release of https://www.cs.toronto.edu/~kriz/cifar.html
// (scripts/download_cifar.sh fetches it), read as it is, without
// unpacking it: data_batch_1.bin … data_batch_5.bin are the training
// split, in that order, and test_batch.bin the test split, each 10,000
// records of a label byte (0..9) and CIFARImageBytes pixel bytes;
// batches.meta.txt names the 10 classes, one a line. Entries are matched by
// their base name, whatever folder holds them (cifar-10-batches-bin/ in
// the release); others (readme.html) are ignored. A tarball that a
// browser has already un-gzipped is read as well.
//
// It checks that every file is there once, that each data file is a whole
// number of records and holds as many as the release's, that every label is
// in range and that the names file names 10 distinct classes. Each problem
// is an error of one line naming the tarball and the file.
func LoadCIFAR10(dir string) (*CIFAR, error) { return loadCIFAR(dir, &cifar10Format) }

// LoadCIFAR100 loads CIFAR-100 from cifar-100-binary.tar.gz in dir, as
// LoadCIFAR10 loads CIFAR-10: train.bin (50,000 records) is the training
// split and test.bin (10,000) the test split, each record a coarse label
// byte (0..19), a fine label byte (0..99) and CIFARImageBytes pixel
// bytes; fine_label_names.txt and coarse_label_names.txt name the 100
// classes and 20 superclasses. Besides LoadCIFAR10's checks, every fine
// class must have one superclass throughout.
func LoadCIFAR100(dir string) (*CIFAR, error) { return loadCIFAR(dir, &cifar100Format) }

// FindCIFARDir resolves the directory holding the CIFAR tarballs the way
// metagon's tools do. A non-empty flagValue wins and must name an existing
// directory. Otherwise it returns the first existing directory of
// $CIFAR_DIR, $METAGON_DATA/cifar and the default download location of
// scripts/download_cifar.sh, ${XDG_CACHE_HOME:-$HOME/.cache}/metagon/cifar.
// The error names everything tried and the download script.
func FindCIFARDir(flagValue string) (string, error) { return cifarSet.find(flagValue) }

// loadCIFAR reads f's tarball in dir; every error names the tarball.
func loadCIFAR(dir string, f *cifarFormat) (*CIFAR, error) {
	p := filepath.Join(dir, f.tarball)
	fail := func(err error) (*CIFAR, error) { return nil, fmt.Errorf("load %s %s: %w", f.name, p, err) }
	file, err := os.Open(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !isDir(dir) {
			return fail(fmt.Errorf("%w (no directory %s); %s", fs.ErrNotExist, dir, cifarHint))
		}
		return fail(fmt.Errorf("%w; %s", fs.ErrNotExist, cifarHint))
	case err != nil:
		return fail(err)
	}
	defer file.Close()
	if st, err := file.Stat(); err != nil {
		return fail(err)
	} else if !st.Mode().IsRegular() {
		return fail(fmt.Errorf("not a regular file; %s", cifarHint))
	}
	var c *CIFAR
	err = withIDXReader(file, func(r io.Reader) error {
		var err error
		c, err = readCIFAR(r, f)
		return err
	})
	if err != nil {
		return fail(err)
	}
	return c, nil
}

// readCIFAR reads a CIFAR tarball of format f, already un-gzipped, from
// r, and checks it (see LoadCIFAR10).
func readCIFAR(r io.Reader, f *cifarFormat) (*CIFAR, error) {
	tr := tar.NewReader(r)
	raw := make(map[string][]byte)  // base name → content
	seen := make(map[string]string) // base name → its path in the archive
	var all []string                // base names of every regular file
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var gz gzipError
			if len(all) == 0 && !errors.As(err, &gz) {
				return nil, fmt.Errorf("not a tar archive (nor a gzipped one): %w; delete it and %s", err, cifarHint)
			}
			return nil, fmt.Errorf("truncated or damaged tar archive: %w; delete it and %s", err, cifarHint)
		}
		if hdr.Typeflag != tar.TypeReg { // the reader reports old-style regular files (TypeRegA) as TypeReg
			continue
		}
		base := path.Base(hdr.Name)
		all = append(all, base)
		bad, known := f.entrySize(base, hdr.Size)
		if !known || strings.HasPrefix(base, "._") {
			continue
		}
		if prev, dup := seen[base]; dup {
			return nil, fmt.Errorf("the archive holds %s twice (%s and %s)", base, prev, hdr.Name)
		}
		seen[base] = hdr.Name
		if bad != nil {
			return nil, bad
		}
		body, err := readBody(tr, hdr.Size)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w; delete it and %s", base, err, cifarHint)
		}
		if int64(len(body)) < hdr.Size {
			return nil, fmt.Errorf("truncated archive: %s ends after %s of its %s bytes; delete it and %s",
				base, commas(int64(len(body))), commas(hdr.Size), cifarHint)
		}
		raw[base] = body
	}
	// Reading to the end makes a gzip reader verify its checksum.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, fmt.Errorf("after the tar archive: %w; delete it and %s", err, cifarHint)
	}
	for _, name := range f.entries() {
		if _, ok := raw[name]; ok {
			continue
		}
		found := "no files"
		if len(all) > 0 {
			slices.Sort(all)
			if len(all) > 8 {
				all = append(all[:8], fmt.Sprintf("and %d more", len(all)-8))
			}
			found = strings.Join(all, ", ")
		}
		return nil, fmt.Errorf("no %s in the archive (it holds %s); delete it and %s", name, found, cifarHint)
	}
	return f.parse(raw)
}

// entries lists the base names of every file of the release f reads.
func (f *cifarFormat) entries() []string {
	var names []string
	for _, df := range f.files {
		names = append(names, df.name)
	}
	names = append(names, f.names)
	if f.coarseNames != "" {
		names = append(names, f.coarseNames)
	}
	return names
}

// entrySize reports whether base is a file of the release and, if so,
// whether size suits it: a data file must be a whole number of records,
// as many as the release's, and a names file at most maxCIFARNamesBytes.
// The sizes are the tar header's, checked before anything is read.
func (f *cifarFormat) entrySize(base string, size int64) (bad error, known bool) {
	if base == f.names || (f.coarseNames != "" && base == f.coarseNames) {
		if size > maxCIFARNamesBytes {
			return fmt.Errorf("%s has %s bytes, more than a names file's %s", base, commas(size), commas(maxCIFARNamesBytes)), true
		}
		return nil, true
	}
	for _, df := range f.files {
		if df.name != base {
			continue
		}
		rec := int64(f.record())
		switch {
		case size%rec != 0:
			return fmt.Errorf("%s has %s bytes, not a multiple of the %s-byte record", base, commas(size), commas(rec)), true
		case size/rec != int64(df.records):
			return fmt.Errorf("%s holds %s records of %s bytes, want the release's %s", base, commas(size/rec), commas(rec), commas(int64(df.records))), true
		}
		return nil, true
	}
	return nil, false
}

// parse splits the data files of raw into images and labels and checks
// labels and names. It reuses the files' storage: each record's image is
// moved down over the label bytes before it.
func (f *cifarFormat) parse(raw map[string][]byte) (*CIFAR, error) {
	c := &CIFAR{Name: f.name, Train: &CIFARSplit{}, Test: &CIFARSplit{}}
	var err error
	if c.Classes, err = parseCIFARNames(f.names, raw[f.names], f.classes); err != nil {
		return nil, err
	}
	if f.coarseNames != "" {
		if c.Superclasses, err = parseCIFARNames(f.coarseNames, raw[f.coarseNames], f.coarse); err != nil {
			return nil, err
		}
	}
	superOf := make([]int, f.classes) // fine class → coarse class + 1, 0: not seen
	firstAt := make([]string, f.classes)
	rec := f.record()
	for _, df := range f.files {
		body := raw[df.name]
		n := len(body) / rec
		labels := make([]uint8, n)
		var coarse []uint8
		if f.labelBytes == 2 {
			coarse = make([]uint8, n)
		}
		for i := range n {
			r := body[i*rec:]
			fine := r[f.labelBytes-1]
			if int(fine) >= f.classes {
				what := "label"
				if f.labelBytes == 2 {
					what = "fine label"
				}
				return nil, fmt.Errorf("%s record %s has %s %d, want 0..%d", df.name, commas(int64(i)), what, fine, f.classes-1)
			}
			labels[i] = fine
			if f.labelBytes == 2 {
				sup := r[0]
				if int(sup) >= f.coarse {
					return nil, fmt.Errorf("%s record %s has coarse label %d, want 0..%d", df.name, commas(int64(i)), sup, f.coarse-1)
				}
				switch at := fmt.Sprintf("%s record %s", df.name, commas(int64(i))); {
				case superOf[fine] == 0:
					superOf[fine], firstAt[fine] = int(sup)+1, at
				case superOf[fine] != int(sup)+1:
					return nil, fmt.Errorf("%s gives class %d (%s) superclass %d (%s), but %s gave it %d (%s)",
						at, fine, c.Classes[fine], sup, c.Superclasses[sup], firstAt[fine], superOf[fine]-1, c.Superclasses[superOf[fine]-1])
				}
				coarse[i] = sup
			}
			copy(body[i*CIFARImageBytes:(i+1)*CIFARImageBytes], r[f.labelBytes:rec])
		}
		s := c.Train
		if df.test {
			s = c.Test
		}
		if s.Pixels == nil {
			s.Pixels = body[:n*CIFARImageBytes] // the first file keeps its storage
		} else {
			s.Pixels = append(s.Pixels, body[:n*CIFARImageBytes]...)
		}
		s.Labels = append(s.Labels, labels...)
		if coarse != nil {
			s.Coarse = append(s.Coarse, coarse...)
		}
		delete(raw, df.name)
	}
	return c, nil
}

// parseCIFARNames reads a names file: one name a line, blank lines
// ignored (batches.meta.txt ends with some), want distinct names.
func parseCIFARNames(file string, b []byte, want int) ([]string, error) {
	var names []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if name := strings.TrimSpace(line); name != "" {
			names = append(names, name)
		}
	}
	if len(names) != want {
		return nil, fmt.Errorf("%s names %d classes, want %d", file, len(names), want)
	}
	for i, n := range names {
		if j := slices.Index(names[:i], n); j >= 0 {
			return nil, fmt.Errorf("%s names class %d and class %d both %q", file, j, i, n)
		}
	}
	return names, nil
}

// commas writes n in decimal with a comma between groups of three digits,
// 153000 as "153,000".
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}
