package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// encodeIDX3 encodes n images of rows×cols pixels in the idx3 format.
func encodeIDX3(n, rows, cols int, pix []uint8) []byte {
	var b bytes.Buffer
	for _, v := range []uint32{idx3Magic, uint32(n), uint32(rows), uint32(cols)} {
		_ = binary.Write(&b, binary.BigEndian, v)
	}
	b.Write(pix)
	return b.Bytes()
}

// encodeIDX1 encodes labels in the idx1 format.
func encodeIDX1(labels []uint8) []byte {
	var b bytes.Buffer
	for _, v := range []uint32{idx1Magic, uint32(len(labels))} {
		_ = binary.Write(&b, binary.BigEndian, v)
	}
	b.Write(labels)
	return b.Bytes()
}

// gz returns data gzip-compressed.
func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// synth returns n synthetic rows×cols images and labels: pixel j of image i
// is (7*i+j)%256 and label i is i%10.
func synth(n, rows, cols int) (pix, labels []uint8) {
	d := rows * cols
	pix = make([]uint8, n*d)
	for i := range n {
		for j := range d {
			pix[i*d+j] = uint8((7*i + j) % 256)
		}
	}
	labels = make([]uint8, n)
	for i := range labels {
		labels[i] = uint8(i % 10)
	}
	return pix, labels
}

// writeSplit writes the image and label files of split prefix into dir
// under the given names (name "" skips the file).
func writeSplit(t *testing.T, dir, imgName string, img []byte, lblName string, lbl []byte) {
	t.Helper()
	if imgName != "" {
		if err := os.WriteFile(filepath.Join(dir, imgName), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if lblName != "" {
		if err := os.WriteFile(filepath.Join(dir, lblName), lbl, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	trainImg   = "train-images-idx3-ubyte"
	trainLbl   = "train-labels-idx1-ubyte"
	trainImgGz = trainImg + ".gz"
	trainLblGz = trainLbl + ".gz"
)

func TestLoadMNISTBadInput(t *testing.T) {
	const n, rows, cols = 12, 5, 4
	pix, labels := synth(n, rows, cols)
	img := encodeIDX3(n, rows, cols, pix)
	lbl := encodeIDX1(labels)

	badLabels := slices.Clone(labels)
	badLabels[7] = 10
	wrongMagic := slices.Clone(img)
	binary.BigEndian.PutUint32(wrongMagic, 0x00000903)
	hugeHeader := encodeIDX3(maxIDXCount, maxIDXDim, maxIDXDim, pix)
	gzImg := gz(t, img)
	garbage := []byte("<html>404 Not Found</html> this is not an idx file at all")
	fakeGzip := append([]byte{0x1f, 0x8b}, garbage...)

	cases := []struct {
		name     string
		setup    func(t *testing.T, dir string) // writes the files
		split    string
		wantErrs []string // substrings the error must contain
		notExist bool     // errors.Is(err, fs.ErrNotExist)
	}{
		{
			name:     "missing dir",
			setup:    func(t *testing.T, dir string) { _ = os.Remove(dir) },
			split:    "train",
			wantErrs: []string{"directory does not exist", trainImg, trainImgGz, "scripts/download_mnist.sh", "MNIST_DIR"},
			notExist: true,
		},
		{
			name:     "missing labels file",
			setup:    func(t *testing.T, dir string) { writeSplit(t, dir, trainImg, img, "", nil) },
			split:    "train",
			wantErrs: []string{"no " + trainLbl, trainLblGz, "scripts/download_mnist.sh"},
			notExist: true,
		},
		{
			name: "truncated images file",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, img[:len(img)-7], trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{"load mnist", trainImg, "truncated: header says 12×5×4 = 240 bytes, got 233"},
		},
		{
			name: "truncated header",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, img[:9], trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{"truncated header: got 9 of 16 bytes"},
		},
		{
			name: "truncated labels file",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, img, trainLbl, lbl[:len(lbl)-3])
			},
			split:    "train",
			wantErrs: []string{trainLbl, "truncated: header says 12 labels, got 9"},
		},
		{
			name: "wrong magic",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, wrongMagic, trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{"want 0x00000803 (idx3 images), got 0x00000903"},
		},
		{
			name: "images and labels swapped",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, lbl, trainLbl, img)
			},
			split:    "train",
			wantErrs: []string{"want 0x00000803 (idx3 images), got 0x00000801", "idx1 labels file"},
		},
		{
			name: "count mismatch",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, img, trainLbl, encodeIDX1(labels[:11]))
			},
			split:    "train",
			wantErrs: []string{"count mismatch", "12 images", "11 labels"},
		},
		{
			name: "label out of range",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, img, trainLbl, encodeIDX1(badLabels))
			},
			split:    "train",
			wantErrs: []string{"label 10 at index 7 is out of range 0..9"},
		},
		{
			name: "trailing data",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, append(slices.Clone(img), 1, 2, 3), trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{"unexpected data after the 240 bytes"},
		},
		{
			name: "huge header is rejected or truncated without a huge allocation",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, hugeHeader, trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{"truncated: header says 10000000×4096×4096"},
		},
		{
			name: "implausible dims",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, encodeIDX3(1, 5000, 1, nil), trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{"implausible image size 5000×1"},
		},
		{
			name: "implausible count",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, encodeIDX3(-1, 28, 28, nil), trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{"implausible image count 4294967295"},
		},
		{
			name: "not gzip but garbage",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImgGz, garbage, trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{trainImgGz, "bad magic number", "want 0x00000803"},
		},
		{
			name: "gzip magic then garbage",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImgGz, fakeGzip, trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{trainImgGz, "gzip header"},
		},
		{
			name: "truncated gzip stream",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImgGz, gzImg[:len(gzImg)/2], trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{trainImgGz, "gzip stream truncated"},
		},
		{
			name: "gzip stream missing its trailer",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImgGz, gzImg[:len(gzImg)-4], trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{trainImgGz, "gzip stream truncated"},
		},
		{
			name: "gzip checksum mismatch",
			setup: func(t *testing.T, dir string) {
				bad := slices.Clone(gzImg)
				bad[len(bad)-8] ^= 0xff // CRC-32 in the trailer
				writeSplit(t, dir, trainImgGz, bad, trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{trainImgGz, "corrupt gzip stream", "checksum"},
		},
		{
			name:     "empty images file",
			setup:    func(t *testing.T, dir string) { writeSplit(t, dir, trainImg, nil, trainLbl, lbl) },
			split:    "train",
			wantErrs: []string{"truncated header: got 0 of 16 bytes"},
		},
		{
			name: "no images",
			setup: func(t *testing.T, dir string) {
				writeSplit(t, dir, trainImg, encodeIDX3(0, 28, 28, nil), trainLbl, lbl)
			},
			split:    "train",
			wantErrs: []string{"holds no images"},
		},
		{
			name:     "unknown split",
			setup:    func(t *testing.T, dir string) { writeSplit(t, dir, trainImg, img, trainLbl, lbl) },
			split:    "validation",
			wantErrs: []string{`unknown split "validation"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "mnist")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, dir)
			m, err := LoadMNIST(dir, tc.split)
			if err == nil {
				t.Fatalf("LoadMNIST succeeded (N=%d), want an error", m.N)
			}
			t.Log(err)
			if m != nil {
				t.Errorf("LoadMNIST returned a non-nil *MNIST with its error")
			}
			for _, want := range tc.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tc.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v (err: %v)", got, tc.notExist, err)
			}
		})
	}
}

// TestReadIDXNoPanic feeds every prefix of valid and corrupted idx data to
// the readers: all must return without panicking, and only the full data
// may succeed.
func TestReadIDXNoPanic(t *testing.T) {
	pix, labels := synth(3, 2, 2)
	img := encodeIDX3(3, 2, 2, pix)
	lbl := encodeIDX1(labels)
	for cut := 0; cut <= len(img); cut++ {
		_, _, _, _, err := ReadIDXImages(bytes.NewReader(img[:cut]))
		if (err == nil) != (cut == len(img)) {
			t.Errorf("ReadIDXImages of %d/%d bytes: err = %v", cut, len(img), err)
		}
	}
	for cut := 0; cut <= len(lbl); cut++ {
		_, err := ReadIDXLabels(bytes.NewReader(lbl[:cut]))
		if (err == nil) != (cut == len(lbl)) {
			t.Errorf("ReadIDXLabels of %d/%d bytes: err = %v", cut, len(lbl), err)
		}
	}
	// Flip every bit of the headers.
	for i := range 16 * 8 {
		b := slices.Clone(img)
		b[i/8] ^= 1 << (i % 8)
		_, _, _, _, _ = ReadIDXImages(bytes.NewReader(b))
	}
	for i := range 8 * 8 {
		b := slices.Clone(lbl)
		b[i/8] ^= 1 << (i % 8)
		_, _ = ReadIDXLabels(bytes.NewReader(b))
	}
	// Gzipped input given to the plain readers gets a hint.
	_, _, _, _, err := ReadIDXImages(bytes.NewReader(gz(t, img)))
	if err == nil || !strings.Contains(err.Error(), "gzip-compressed") {
		t.Errorf("ReadIDXImages(gzip data): err = %v, want a gzip hint", err)
	}
}

func TestLoadMNISTRoundTrip(t *testing.T) {
	const n, rows, cols = 13, 3, 5
	pix, labels := synth(n, rows, cols)
	pix[0], pix[1] = 0, 255 // make sure both ends of the range occur
	img := encodeIDX3(n, rows, cols, pix)
	lbl := encodeIDX1(labels)

	for _, tc := range []struct {
		name, imgName, lblName string
		gzImg, gzLbl           bool
		split                  string
	}{
		{"plain", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", false, false, "t10k"},
		{"gzipped", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", true, true, "test"},
		{"gzipped without .gz", "train-images-idx3-ubyte", "train-labels-idx1-ubyte.gz", true, false, "train"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			i, l := img, lbl
			if tc.gzImg {
				i = gz(t, i)
			}
			if tc.gzLbl {
				l = gz(t, l)
			}
			writeSplit(t, dir, tc.imgName, i, tc.lblName, l)
			m, err := LoadMNIST(dir, tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if m.N != n || m.Len() != n || m.Rows != rows || m.Cols != cols {
				t.Fatalf("got N=%d Len=%d %d×%d, want %d, %d×%d", m.N, m.Len(), m.Rows, m.Cols, n, rows, cols)
			}
			if len(m.Images) != n*rows*cols || len(m.Labels) != n {
				t.Fatalf("len(Images)=%d len(Labels)=%d", len(m.Images), len(m.Labels))
			}
			for k, p := range pix {
				if want := float32(p) / 255; m.Images[k] != want {
					t.Fatalf("Images[%d] = %v, want %v", k, m.Images[k], want)
				}
			}
			if m.Images[0] != 0 || m.Images[1] != 1 {
				t.Errorf("scaling: 0 → %v, 255 → %v; want 0 and 1", m.Images[0], m.Images[1])
			}
			if !slices.Equal(m.Labels, labels) {
				t.Errorf("Labels = %v, want %v", m.Labels, labels)
			}
			im := m.Image(4)
			if len(im) != rows*cols || cap(im) != rows*cols || &im[0] != &m.Images[4*rows*cols] {
				t.Errorf("Image(4): len %d cap %d, not the right sub-slice", len(im), cap(im))
			}

			// FillBatch and FillBatch32 copy rows and labels.
			idx := []int{4, 0, 12}
			d := rows * cols
			x := make([]float64, len(idx)*d+1)
			y := make([]float64, len(idx)+1)
			x32 := make([]float32, len(idx)*d)
			y32 := make([]float32, len(idx))
			x[len(x)-1], y[len(y)-1] = -1, -1
			m.FillBatch(idx, x, y)
			m.FillBatch32(idx, x32, y32)
			for b, i := range idx {
				for j := range d {
					want := m.Images[i*d+j]
					if x[b*d+j] != float64(want) || x32[b*d+j] != want {
						t.Fatalf("batch row %d col %d: %v / %v, want %v", b, j, x[b*d+j], x32[b*d+j], want)
					}
				}
				if y[b] != float64(labels[i]) || y32[b] != float32(labels[i]) {
					t.Errorf("batch label %d: %v / %v, want %d", b, y[b], y32[b], labels[i])
				}
			}
			if x[len(x)-1] != -1 || y[len(y)-1] != -1 {
				t.Errorf("FillBatch wrote past the batch")
			}
			if a := testing.AllocsPerRun(10, func() { m.FillBatch(idx, x, y); m.FillBatch32(idx, x32, y32) }); a != 0 {
				t.Errorf("FillBatch allocates %v times per call", a)
			}
		})
	}
}

func TestOneHot(t *testing.T) {
	labels := []float64{2, 0, 3}
	out := make([]float64, 12)
	for i := range out {
		out[i] = 9 // must be overwritten
	}
	OneHot(labels, 4, out)
	want := []float64{0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1}
	if !slices.Equal(out, want) {
		t.Errorf("OneHot = %v, want %v", out, want)
	}
	for _, bad := range [][]float64{{4}, {-1}, {1.5}, {math.NaN()}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("OneHot(%v, 4) did not panic", bad)
				}
			}()
			OneHot(bad, 4, make([]float64, 4))
		}()
	}
}

func TestFindMNISTDir(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	t.Setenv("HOME", missing)
	t.Setenv("XDG_CACHE_HOME", "")

	if got, err := FindMNISTDir(dir); err != nil || got != dir {
		t.Errorf("FindMNISTDir(flag) = %q, %v; want %q", got, err, dir)
	}
	t.Setenv("MNIST_DIR", dir)
	if _, err := FindMNISTDir(missing); err == nil || !strings.Contains(err.Error(), missing) ||
		!strings.Contains(err.Error(), "scripts/download_mnist.sh") {
		t.Errorf("FindMNISTDir(missing flag): err = %v, want one naming %s and the script", err, missing)
	}
	if got, err := FindMNISTDir(""); err != nil || got != dir {
		t.Errorf("FindMNISTDir with MNIST_DIR = %q, %v; want %q", got, err, dir)
	}

	t.Setenv("MNIST_DIR", "")
	t.Setenv("METAGON_DATA", dir)
	if err := os.Mkdir(filepath.Join(dir, "mnist"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := FindMNISTDir(""); err != nil || got != filepath.Join(dir, "mnist") {
		t.Errorf("FindMNISTDir with METAGON_DATA = %q, %v; want %q", got, err, filepath.Join(dir, "mnist"))
	}

	t.Setenv("MNIST_DIR", missing)
	t.Setenv("METAGON_DATA", missing)
	_, err := FindMNISTDir("")
	if err == nil {
		t.Fatal("FindMNISTDir with nothing there succeeded")
	}
	for _, want := range []string{missing + " (from $MNIST_DIR)", filepath.Join(missing, "mnist") + " (from $METAGON_DATA)", "scripts/download_mnist.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v is not fs.ErrNotExist", err)
	}

	// The download script's default location is the last resort.
	cache := filepath.Join(dir, "cache")
	t.Setenv("XDG_CACHE_HOME", cache)
	if err := os.MkdirAll(filepath.Join(cache, "metagon", "mnist"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := FindMNISTDir(""); err != nil || got != filepath.Join(cache, "metagon", "mnist") {
		t.Errorf("FindMNISTDir with the default dir = %q, %v", got, err)
	}
}

func TestMNISTTestDir(t *testing.T) {
	root := t.TempDir()
	mn := filepath.Join(root, "shared", "data", "mnist")
	deep := filepath.Join(root, "main", "data", "sub")
	for _, d := range []string{mn, deep} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(deep)
	t.Setenv("MNIST_DIR", "")
	if _, ok := MNISTTestDir(); ok {
		// An ancestor of the temp dir might hold real data; only a wrong
		// answer for our tree matters, so check after adding the file.
		t.Log("MNISTTestDir found data above the temp dir before it was written")
	}
	writeSplit(t, mn, trainImgGz, nil, "", nil)
	if dir, ok := MNISTTestDir(); !ok || dir != mn {
		t.Errorf("MNISTTestDir() = %q, %v; want %q, true", dir, ok, mn)
	}
	t.Setenv("MNIST_DIR", deep)
	if dir, ok := MNISTTestDir(); ok || dir != deep {
		t.Errorf("MNISTTestDir() with MNIST_DIR lacking files = %q, %v; want %q, false", dir, ok, deep)
	}
}

// TestRealMNIST checks the real data set, found as the tools find it.
func TestRealMNIST(t *testing.T) {
	dir := MNISTDirOrSkip(t)
	for _, tc := range []struct {
		split string
		n     int
	}{{"train", 60000}, {"t10k", 10000}} {
		t.Run(tc.split, func(t *testing.T) {
			m, err := LoadMNIST(dir, tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if m.N != tc.n || m.Rows != 28 || m.Cols != 28 || len(m.Images) != tc.n*784 || len(m.Labels) != tc.n {
				t.Fatalf("%s: N=%d %d×%d len(Images)=%d len(Labels)=%d; want %d×28×28",
					tc.split, m.N, m.Rows, m.Cols, len(m.Images), len(m.Labels), tc.n)
			}
			var count [10]int
			for i, l := range m.Labels {
				if l > 9 {
					t.Fatalf("label %d at %d", l, i)
				}
				count[l]++
			}
			for c, k := range count {
				// Every class holds roughly a tenth of the examples.
				if k < tc.n/20 {
					t.Errorf("class %d has %d of %d examples", c, k, tc.n)
				}
			}
			var sum float64
			lo, hi := float32(1), float32(0)
			for _, p := range m.Images {
				sum += float64(p)
				lo, hi = min(lo, p), max(hi, p)
			}
			mean := sum / float64(len(m.Images))
			t.Logf("%s: %d images, class counts %v, pixel mean %.4f, range [%v, %v]", tc.split, m.N, count, mean, lo, hi)
			if !(mean > 0.1 && mean < 0.15) {
				t.Errorf("pixel mean %.4f, want about 0.1307", mean)
			}
			if lo != 0 || hi != 1 {
				t.Errorf("pixel range [%v, %v], want [0, 1]", lo, hi)
			}
		})
	}
}

func TestBatcher(t *testing.T) {
	const n, bs = 103, 10
	b := NewBatcher(n, bs, 42)
	if b.NumBatches() != 11 {
		t.Errorf("NumBatches = %d, want 11", b.NumBatches())
	}
	var epochs [][][]int
	for e := range 3 {
		if b.NextEpoch() != e {
			t.Errorf("NextEpoch = %d, want %d", b.NextEpoch(), e)
		}
		batches := b.Epoch()
		epochs = append(epochs, batches)
		if len(batches) != 11 {
			t.Fatalf("epoch %d: %d batches, want 11", e, len(batches))
		}
		seen := make([]int, n)
		for k, batch := range batches {
			want := bs
			if k == len(batches)-1 {
				want = n % bs // the last partial batch is kept
			}
			if len(batch) != want {
				t.Errorf("epoch %d batch %d: size %d, want %d", e, k, len(batch), want)
			}
			if cap(batch) != len(batch) {
				t.Errorf("epoch %d batch %d: cap %d > len %d", e, k, cap(batch), len(batch))
			}
			for _, i := range batch {
				if i < 0 || i >= n {
					t.Fatalf("epoch %d: index %d out of range", e, i)
				}
				seen[i]++
			}
		}
		for i, c := range seen {
			if c != 1 {
				t.Errorf("epoch %d: index %d seen %d times", e, i, c)
			}
		}
	}
	flat := func(bb [][]int) []int { return slices.Concat(bb...) }
	if slices.Equal(flat(epochs[0]), flat(epochs[1])) || slices.Equal(flat(epochs[1]), flat(epochs[2])) {
		t.Error("consecutive epochs have the same order")
	}
	ident := make([]int, n)
	for i := range ident {
		ident[i] = i
	}
	if slices.Equal(flat(epochs[0]), ident) {
		t.Error("epoch 0 is not shuffled")
	}

	// Same seed, same order, whatever came before; different seed, other order.
	c := NewBatcher(n, bs, 42)
	if !slices.Equal(flat(c.Batches(2)), flat(epochs[2])) {
		t.Error("Batches(2) of a fresh Batcher differs from the third Epoch()")
	}
	if !slices.Equal(flat(c.Epoch()), flat(epochs[0])) {
		t.Error("same seed gives a different epoch 0")
	}
	c.SetEpoch(2)
	if !slices.Equal(flat(c.Epoch()), flat(epochs[2])) {
		t.Error("SetEpoch(2) then Epoch() differs from epoch 2")
	}
	if slices.Equal(flat(NewBatcher(n, bs, 43).Epoch()), flat(epochs[0])) {
		t.Error("seeds 42 and 43 give the same epoch 0")
	}

	// Edge cases: exact division, one batch larger than n, no data.
	if got := NewBatcher(20, 10, 1).Epoch(); len(got) != 2 || len(got[1]) != 10 {
		t.Errorf("n=20 bs=10: %d batches", len(got))
	}
	if got := NewBatcher(5, 10, 1).Epoch(); len(got) != 1 || len(got[0]) != 5 {
		t.Errorf("n=5 bs=10: %v", got)
	}
	if got := NewBatcher(0, 10, 1).Epoch(); len(got) != 0 {
		t.Errorf("n=0: %v", got)
	}
}
