package data

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tarEntry is one file of a tarball a test writes.
type tarEntry struct {
	name string
	data []byte
	size int64 // the header's size when > 0 (a header that lies); else len(data)
}

// tarBytes returns a tar archive of the entries, with a folder entry for
// each folder they are in.
func tarBytes(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	dirs := map[string]bool{}
	for _, e := range entries {
		if d := filepath.Dir(e.name); d != "." && !dirs[d] {
			dirs[d] = true
			if err := w.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				t.Fatal(err)
			}
		}
		size := int64(len(e.data))
		if e.size > 0 {
			size = e.size
		}
		if err := w.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil && e.size == 0 {
			t.Fatal(err)
		}
	}
	// a lying header leaves its entry short, which Close reports: the
	// bytes written so far are what such a test wants
	if err := w.Close(); err != nil && !strings.Contains(err.Error(), "missed writing") {
		t.Fatal(err)
	}
	return b.Bytes()
}

// smallFormat returns f with every data file holding records records, so
// that tests can write whole archives of a few images.
func smallFormat(f *cifarFormat, records ...int) *cifarFormat {
	g := *f
	g.files = slices.Clone(f.files)
	for i := range g.files {
		g.files[i].records = records[min(i, len(records)-1)]
	}
	return &g
}

// synthCIFAR is a synthetic CIFAR data set of format f: the bytes of each
// data file and what they hold.
type synthCIFAR struct {
	f       *cifarFormat
	files   map[string][]byte // base name → content, data and names files
	classes []string
	supers  []string
	// per split (0 train, 1 test): the images, fine and coarse labels
	pix    [2][]uint8
	labels [2][]uint8
	coarse [2][]uint8
}

// superOfClass is the superclass the synthetic CIFAR-100 gives class l.
func superOfClass(l int) int { return (l * 7) % 20 }

// newSynthCIFAR makes the data files of f: pixel k of record i of the
// j-th file is (31·j + 7·i + 3·k) mod 256 plus the channel, so that every
// byte tells where it is; labels cycle through the classes, offset per
// file; a CIFAR-100 class c always has superclass superOfClass(c).
func newSynthCIFAR(f *cifarFormat) *synthCIFAR {
	s := &synthCIFAR{f: f, files: map[string][]byte{}}
	for l := range f.classes {
		s.classes = append(s.classes, fmt.Sprintf("class_%02d", l))
	}
	for l := range f.coarse {
		s.supers = append(s.supers, fmt.Sprintf("super_%02d", l))
	}
	var total [2]int
	for _, df := range f.files {
		total[splitOf(df)] += df.records
	}
	for sp := range 2 {
		s.pix[sp] = make([]uint8, 0, total[sp]*CIFARImageBytes)
		s.labels[sp] = make([]uint8, 0, total[sp])
		if f.labelBytes == 2 {
			s.coarse[sp] = make([]uint8, 0, total[sp])
		}
	}
	rec := f.record()
	for j, df := range f.files {
		sp := splitOf(df)
		b := make([]byte, df.records*rec)
		for i := range df.records {
			r := b[i*rec : (i+1)*rec]
			fine := uint8((i + 3*j) % f.classes)
			r[f.labelBytes-1] = fine
			s.labels[sp] = append(s.labels[sp], fine)
			if f.labelBytes == 2 {
				r[0] = uint8(superOfClass(int(fine)))
				s.coarse[sp] = append(s.coarse[sp], r[0])
			}
			img := r[f.labelBytes:]
			for k := range img {
				img[k] = uint8(31*j + 7*i + 3*k + k/1024)
			}
			s.pix[sp] = append(s.pix[sp], img...)
		}
		s.files[df.name] = b
	}
	s.files[f.names] = []byte(strings.Join(s.classes, "\n") + "\n\n")
	if f.coarseNames != "" {
		s.files[f.coarseNames] = []byte(strings.Join(s.supers, "\r\n") + "\r\n")
	}
	return s
}

// splitOf returns 0 for a training file, 1 for a test file.
func splitOf(df cifarFile) int {
	if df.test {
		return 1
	}
	return 0
}

// folder is the folder the release's tarball holds its files in.
func (s *synthCIFAR) folder() string {
	if s.f.labelBytes == 1 {
		return "cifar-10-batches-bin"
	}
	return "cifar-100-binary"
}

// entries returns the files as tarball entries in the release's folder,
// with a readme.html the loader ignores, leaving out the files named in
// skip and replacing those in replace.
func (s *synthCIFAR) entries(skip []string, replace map[string][]byte) []tarEntry {
	es := []tarEntry{{name: s.folder() + "/readme.html", data: []byte("<html>readme</html>")}}
	for _, name := range slices.Sorted(maps.Keys(s.files)) {
		if slices.Contains(skip, name) {
			continue
		}
		d := s.files[name]
		if r, ok := replace[name]; ok {
			d = r
		}
		es = append(es, tarEntry{name: s.folder() + "/" + name, data: d})
	}
	return es
}

// tarball returns the files as a gzipped tarball.
func (s *synthCIFAR) tarball(t testing.TB) []byte { return gz(t, tarBytes(t, s.entries(nil, nil))) }

// check compares c with what s holds: every pixel, label, coarse label and
// name.
func (s *synthCIFAR) check(t *testing.T, c *CIFAR) {
	t.Helper()
	if c.Name != s.f.name || !slices.Equal(c.Classes, s.classes) || !slices.Equal(c.Superclasses, s.supers) {
		t.Fatalf("%s, classes %q, superclasses %q; want %s, %q, %q", c.Name, c.Classes, c.Superclasses, s.f.name, s.classes, s.supers)
	}
	for sp, split := range []*CIFARSplit{c.Train, c.Test} {
		if !bytes.Equal(split.Pixels, s.pix[sp]) {
			t.Errorf("split %d: pixels differ (%d bytes, want %d)", sp, len(split.Pixels), len(s.pix[sp]))
		}
		if !slices.Equal(split.Labels, s.labels[sp]) || !slices.Equal(split.Coarse, s.coarse[sp]) {
			t.Errorf("split %d: labels %v coarse %v; want %v and %v", sp, split.Labels, split.Coarse, s.labels[sp], s.coarse[sp])
		}
		if split.Len()*CIFARImageBytes != len(split.Pixels) {
			t.Errorf("split %d: %d images, %d pixel bytes", sp, split.Len(), len(split.Pixels))
		}
	}
}

// TestReadCIFARRoundTrip writes small CIFAR-10 and CIFAR-100 tarballs in
// the release's format (gzipped, and plain as a browser may leave them)
// and checks that every pixel, label and name comes back.
func TestReadCIFARRoundTrip(t *testing.T) {
	for _, f := range []*cifarFormat{smallFormat(&cifar10Format, 3, 2, 4, 1, 2, 5), smallFormat(&cifar100Format, 23, 9)} {
		s := newSynthCIFAR(f)
		plain := tarBytes(t, s.entries(nil, nil))
		for name, b := range map[string][]byte{"gzipped": gz(t, plain), "plain": plain} {
			t.Run(f.name+"/"+name, func(t *testing.T) {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, f.tarball), b, 0o644); err != nil {
					t.Fatal(err)
				}
				c, err := loadCIFAR(dir, f)
				if err != nil {
					t.Fatal(err)
				}
				s.check(t, c)
				// image i of the split is the i-th record's pixels
				if got := c.Test.Image(c.Test.Len() - 1); !bytes.Equal(got, s.pix[1][len(s.pix[1])-CIFARImageBytes:]) || cap(got) != CIFARImageBytes {
					t.Errorf("last test image differs or has capacity %d", cap(got))
				}
			})
		}
	}
}

// writeCIFAR writes the tarball of f holding b into a new directory and
// returns the directory.
func writeCIFAR(t *testing.T, f *cifarFormat, b []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, f.tarball), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadCIFARErrors: each broken tarball gives one line naming the
// tarball, the file and what is wrong with it.
func TestLoadCIFARErrors(t *testing.T) {
	small100 := smallFormat(&cifar100Format, 6, 3)
	small10 := smallFormat(&cifar10Format, 2)
	s100, s10 := newSynthCIFAR(small100), newSynthCIFAR(small10)
	rec100 := small100.record()
	good := s100.tarball(t)
	// a record's label bytes, changed
	relabel := func(s *synthCIFAR, file string, i, at int, v byte) map[string][]byte {
		b := bytes.Clone(s.files[file])
		b[i*s.f.record()+at] = v
		return map[string][]byte{file: b}
	}
	// train.bin with record 4 of class 0 (superclass 0) given superclass 5
	wrongSuper := relabel(s100, "train.bin", 4, 0, 5)
	names99 := []byte(strings.Join(s100.classes[:99], "\n"))
	dupNames := []byte(strings.Join(append(slices.Clone(s100.classes[:99]), s100.classes[3]), "\n"))
	plain := tarBytes(t, s100.entries(nil, nil))
	// the plain tarball cut in the middle of test.bin's records
	cutAt := bytes.Index(plain, s100.files["test.bin"]) + rec100 + 100

	type tc struct {
		name string
		f    *cifarFormat
		dir  func(t *testing.T) string
		want []string
	}
	with := func(f *cifarFormat, b []byte) func(t *testing.T) string {
		return func(t *testing.T) string { return writeCIFAR(t, f, b) }
	}
	cases := []tc{
		{"no directory", small100, func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") },
			[]string{"does not exist (no directory", "scripts/download_cifar.sh", "CIFAR_DIR"}},
		{"no tarball", small100, func(t *testing.T) string { return t.TempDir() },
			[]string{"cifar-100-binary.tar.gz: file does not exist", "scripts/download_cifar.sh"}},
		{"tarball is a directory", small100, func(t *testing.T) string {
			d := t.TempDir()
			os.Mkdir(filepath.Join(d, small100.tarball), 0o755)
			return d
		}, []string{"not a regular file"}},
		{"not a tarball", small100, with(small100, []byte("<html>404 Not Found</html>")), []string{"not a tar archive (nor a gzipped one)"}},
		{"cut-off gzip", small100, with(small100, good[:len(good)/2]), []string{"gzip stream truncated"}},
		{"cut-off tar", small100, with(small100, plain[:cutAt]), []string{fmt.Sprintf("truncated archive: test.bin ends after %s of its %s bytes", commas(int64(rec100+100)), commas(int64(3*rec100)))}},
		{"corrupt gzip", small100, with(small100, append(bytes.Clone(good[:len(good)-8]), 1, 2, 3, 4, 5, 6, 7, 8)), []string{"gzip"}},
		{"missing test.bin", small100, with(small100, gz(t, tarBytes(t, s100.entries([]string{"test.bin"}, nil)))),
			[]string{"no test.bin in the archive (it holds coarse_label_names.txt, fine_label_names.txt, readme.html, train.bin)"}},
		{"missing names", small100, with(small100, gz(t, tarBytes(t, s100.entries([]string{"fine_label_names.txt"}, nil)))),
			[]string{"no fine_label_names.txt in the archive"}},
		{"duplicate file", small100, with(small100, gz(t, tarBytes(t, append(s100.entries(nil, nil), tarEntry{name: "copy/train.bin", data: s100.files["train.bin"]})))),
			[]string{"holds train.bin twice (cifar-100-binary/train.bin and copy/train.bin)"}},
		{"partial record", small100, with(small100, gz(t, tarBytes(t, s100.entries(nil, map[string][]byte{"train.bin": s100.files["train.bin"][:5*rec100+7]})))),
			[]string{fmt.Sprintf("train.bin has %s bytes, not a multiple of the 3,074-byte record", commas(int64(5*rec100+7)))}},
		{"record missing", small100, with(small100, gz(t, tarBytes(t, s100.entries(nil, map[string][]byte{"train.bin": s100.files["train.bin"][:5*rec100]})))),
			[]string{"train.bin holds 5 records of 3,074 bytes, want the release's 6"}},
		{"fine label out of range", small100, with(small100, gz(t, tarBytes(t, s100.entries(nil, relabel(s100, "train.bin", 2, 1, 100))))),
			[]string{"train.bin record 2 has fine label 100, want 0..99"}},
		{"coarse label out of range", small100, with(small100, gz(t, tarBytes(t, s100.entries(nil, relabel(s100, "test.bin", 1, 0, 20))))),
			[]string{"test.bin record 1 has coarse label 20, want 0..19"}},
		{"two superclasses", small100, with(small100, gz(t, tarBytes(t, s100.entries(nil, wrongSuper)))),
			[]string{"test.bin record 1 gives class 4 (class_04) superclass 8 (super_08), but train.bin record 4 gave it 5 (super_05)"}},
		{"99 class names", small100, with(small100, gz(t, tarBytes(t, s100.entries(nil, map[string][]byte{"fine_label_names.txt": names99})))),
			[]string{"fine_label_names.txt names 99 classes, want 100"}},
		{"repeated class name", small100, with(small100, gz(t, tarBytes(t, s100.entries(nil, map[string][]byte{"fine_label_names.txt": dupNames})))),
			[]string{`fine_label_names.txt names class 3 and class 99 both "class_03"`}},
		{"cifar-10 label out of range", small10, with(small10, gz(t, tarBytes(t, s10.entries(nil, relabel(s10, "data_batch_3.bin", 1, 0, 10))))),
			[]string{"load cifar-10 ", "cifar-10-binary.tar.gz: data_batch_3.bin record 1 has label 10, want 0..9"}},
		{"cifar-10 batch missing", small10, with(small10, gz(t, tarBytes(t, s10.entries([]string{"data_batch_5.bin"}, nil)))),
			[]string{"no data_batch_5.bin in the archive"}},
		// the release's counts, checked from the tar header before reading
		{"the issue's example", &cifar100Format, with(&cifar100Format, gz(t, tarBytes(t, []tarEntry{{name: "cifar-100-binary/train.bin", data: make([]byte, 153_000)}}))),
			[]string{"train.bin has 153,000 bytes, not a multiple of the 3,074-byte record"}},
		{"a release file of 3 records", &cifar100Format, with(&cifar100Format, good),
			[]string{"test.bin holds 3 records of 3,074 bytes, want the release's 10,000"}},
		{"a header claiming a whole release", &cifar100Format, with(&cifar100Format, gz(t, tarBytes(t, []tarEntry{{name: "cifar-100-binary/train.bin", data: make([]byte, 1000), size: 50_000 * 3074}}))),
			[]string{"truncated archive: train.bin ends after 1,000 of its 153,700,000 bytes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.dir(t)
			_, err := loadCIFAR(dir, c.f)
			if err == nil {
				t.Fatalf("no error; want one with %q", c.want)
			}
			msg := err.Error()
			prefix := fmt.Sprintf("load %s %s: ", c.f.name, filepath.Join(dir, c.f.tarball))
			if !strings.HasPrefix(msg, prefix) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting %q", msg, prefix)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			t.Logf("%v", err)
		})
	}
	_, err := LoadCIFAR100(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadCIFAR100 of a missing directory: %v, want fs.ErrNotExist", err)
	}
}

// TestCIFARFullSize loads tarballs of the release's size (60,000 records)
// through LoadCIFAR10 and LoadCIFAR100 and checks every byte.
func TestCIFARFullSize(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 2×184 MB")
	}
	for _, f := range []*cifarFormat{&cifar10Format, &cifar100Format} {
		t.Run(f.name, func(t *testing.T) {
			s := newSynthCIFAR(f)
			dir := writeCIFAR(t, f, s.tarball(t))
			s.files = nil // 184 MB the check does not need
			load := LoadCIFAR10
			if f == &cifar100Format {
				load = LoadCIFAR100
			}
			c, err := load(dir)
			if err != nil {
				t.Fatal(err)
			}
			s.check(t, c)
			if c.Train.Len() != 50_000 || c.Test.Len() != 10_000 {
				t.Errorf("%d training and %d test images, want 50,000 and 10,000", c.Train.Len(), c.Test.Len())
			}
		})
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 3074: "3,074", 153000: "153,000",
		153_700_000: "153,700,000", -1234567: "-1,234,567"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestRealCIFAR checks the real releases, where CIFARTestDir finds them
// (it skips otherwise, under CI=true too: see CIFARTestDir): every class
// holds the release's 5,000 and 1,000 (CIFAR-10) or 500 and 100
// (CIFAR-100) images, CIFAR-100's superclasses 5 classes each, the
// training images' channel statistics are the values commonly quoted for
// them, and CIFAR-FS and FC100 classes hold 600 images each.
func TestRealCIFAR(t *testing.T) {
	dir, ok := CIFARTestDir()
	if !ok {
		t.Skipf("no CIFAR tarballs (CIFAR_DIR=%q, no shared/data/cifar above the working directory); run scripts/download_cifar.sh DIR and set CIFAR_DIR=DIR", dir)
	}
	for _, tc := range []struct {
		f           *cifarFormat
		load        func(string) (*CIFAR, error)
		train, test int // images per class
		mean, std   [3]float64
	}{
		{&cifar10Format, LoadCIFAR10, 5000, 1000, [3]float64{0.4914, 0.4822, 0.4465}, [3]float64{0.2470, 0.2435, 0.2616}},
		{&cifar100Format, LoadCIFAR100, 500, 100, [3]float64{0.5071, 0.4865, 0.4409}, [3]float64{0.2673, 0.2564, 0.2762}},
	} {
		t.Run(tc.f.name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, tc.f.tarball)); err != nil {
				t.Skipf("no %s in %s", tc.f.tarball, dir)
			}
			c, err := tc.load(dir)
			if err != nil {
				t.Fatal(err)
			}
			for sp, s := range []*CIFARSplit{c.Train, c.Test} {
				per := []int{tc.train, tc.test}[sp]
				count := make([]int, len(c.Classes))
				for _, l := range s.Labels {
					count[l]++
				}
				for l, k := range count {
					if k != per {
						t.Errorf("split %d: class %d (%s) has %d images, want %d", sp, l, c.Classes[l], k, per)
					}
				}
			}
			n := c.Train.ChannelNorm()
			t.Logf("%s training images: %v", c.Name, n)
			if !closeNorm(n, ChannelNorm{Mean: tc.mean, Std: tc.std}, 5e-4) {
				t.Errorf("training images' statistics %v, want about mean %v std %v", n, tc.mean, tc.std)
			}
			if c.Superclasses == nil {
				return
			}
			for _, name := range FewShotSplits {
				fs, err := c.FewShot(name)
				if err != nil {
					t.Fatal(err)
				}
				for _, side := range [][]CIFARClass{fs.Train, fs.Valid, fs.Test} {
					for _, cl := range side {
						if cl.Len() != tc.train+tc.test {
							t.Errorf("%s: %v has %d images, want %d", name, cl, cl.Len(), tc.train+tc.test)
						}
					}
				}
				t.Logf("%s: %d/%d/%d classes, training classes' %v", name, len(fs.Train), len(fs.Valid), len(fs.Test), fs.Norm)
			}
		})
	}
}
