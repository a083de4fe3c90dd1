package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Magic numbers of the idx files MNIST ships in: two zero bytes, the element
// type (0x08 = unsigned byte) and the number of dimensions.
const (
	idx3Magic = 0x00000803 // unsigned bytes, 3 dimensions: images
	idx1Magic = 0x00000801 // unsigned bytes, 1 dimension: labels
)

// Sanity limits on idx header fields, so that a corrupt header cannot ask for
// an absurd allocation. MNIST itself is 60000×28×28.
const (
	maxIDXCount = 10_000_000
	maxIDXDim   = 4096
)

// mnistClasses is the number of MNIST classes; labels run 0..9.
const mnistClasses = 10

// downloadHint tells the user how to get the data.
const downloadHint = "run scripts/download_mnist.sh DIR " + scriptHome + " or set MNIST_DIR"

// idxSet is a data set in MNIST's four idx files: MNIST itself, or
// Fashion-MNIST. name and hint go into its errors.
type idxSet struct {
	name string // "mnist", "fashion-mnist"
	hint string // how to get the files
}

var mnistIDX = idxSet{name: "mnist", hint: downloadHint}

// MNIST is one split of the MNIST data set held in memory.
type MNIST struct {
	// Images holds N images of Rows×Cols pixels each, row-major, one image
	// after the other, scaled from 0..255 to [0,1].
	Images []float32
	// Labels holds the class (0..9) of each image.
	Labels []uint8
	// N is the number of images; Rows and Cols are the size of one image.
	N, Rows, Cols int
}

// Len returns the number of examples, N.
func (m *MNIST) Len() int { return m.N }

// Image returns the Rows*Cols pixels of image i as a sub-slice of m.Images
// (not a copy; its capacity ends with the image). Like any slice index, it
// panics if i is not in [0, N).
func (m *MNIST) Image(i int) []float32 {
	d := m.Rows * m.Cols
	return m.Images[i*d : (i+1)*d : (i+1)*d]
}

// LoadMNIST loads one split of MNIST from dir. split is "train", or "t10k"
// (alias "test") for the test set. For each of the images and labels it uses
// the first file found of, for example, train-images-idx3-ubyte and
// train-images-idx3-ubyte.gz; either may be gzip-compressed or not, which is
// told from the content. It checks the headers, lengths, that the image and
// label counts agree and that every label is in 0..9.
func LoadMNIST(dir string, split string) (*MNIST, error) { return mnistIDX.load(dir, split) }

// load is LoadMNIST for the idx set s.
func (s idxSet) load(dir string, split string) (*MNIST, error) {
	var prefix string
	switch split {
	case "train":
		prefix = "train"
	case "t10k", "test":
		prefix = "t10k"
	default:
		return nil, fmt.Errorf("load %s: unknown split %q (want \"train\", \"t10k\" or \"test\")", s.name, split)
	}

	imgPath, err := s.findFile(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lblPath, err := s.findFile(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}

	var n, rows, cols int
	var pix []uint8
	err = withIDXFile(imgPath, func(r io.Reader) error {
		var err error
		n, rows, cols, pix, err = ReadIDXImages(r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load %s %s: %w", s.name, imgPath, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("load %s %s: file holds no images", s.name, imgPath)
	}

	var labels []uint8
	err = withIDXFile(lblPath, func(r io.Reader) error {
		var err error
		labels, err = ReadIDXLabels(r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load %s %s: %w", s.name, lblPath, err)
	}

	if len(labels) != n {
		return nil, fmt.Errorf("load %s %s: image/label count mismatch: %d images in %s but %d labels in %s",
			s.name, dir, n, filepath.Base(imgPath), len(labels), filepath.Base(lblPath))
	}
	for i, l := range labels {
		if l >= mnistClasses {
			return nil, fmt.Errorf("load %s %s: label %d at index %d is out of range 0..%d",
				s.name, lblPath, l, i, mnistClasses-1)
		}
	}

	var scale [256]float32
	for i := range scale {
		scale[i] = float32(i) / 255
	}
	images := make([]float32, len(pix))
	for i, p := range pix {
		images[i] = scale[p]
	}
	return &MNIST{Images: images, Labels: labels, N: n, Rows: rows, Cols: cols}, nil
}

// findIDXFile returns the path of dir/base or dir/base.gz, whichever exists
// first, or an error naming both paths and how to get MNIST.
func findIDXFile(dir, base string) (string, error) { return mnistIDX.findFile(dir, base) }

// findFile is findIDXFile for the idx set s.
func (s idxSet) findFile(dir, base string) (string, error) {
	tried := []string{filepath.Join(dir, base), filepath.Join(dir, base+".gz")}
	for _, p := range tried {
		st, err := os.Stat(p)
		if err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	what := "no " + base + " file"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		what = "directory does not exist"
	}
	return "", fmt.Errorf("load %s %s: %s (tried %s): %w; %s",
		s.name, dir, what, strings.Join(tried, ", "), fs.ErrNotExist, s.hint)
}

// withIDXFile opens path and hands its content to read through
// withIDXReader.
func withIDXFile(path string, read func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return withIDXReader(f, read)
}

// withIDXReader un-gzips r if it starts with the gzip magic bytes 0x1f 0x8b
// and hands the content to read.
func withIDXReader(r io.Reader, read func(io.Reader) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return fmt.Errorf("truncated gzip header: %w", err)
			}
			return fmt.Errorf("corrupt gzip header: %w", err)
		}
		defer zr.Close()
		return read(gzipErrReader{zr})
	}
	return read(br)
}

// gzipErrReader names gzip as the culprit in the errors of its reader, so
// that a cut-off .gz file reads "gzip stream truncated" rather than a bare
// "unexpected EOF". io.EOF passes through unchanged.
type gzipErrReader struct{ r io.Reader }

func (g gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	switch {
	case err == nil || err == io.EOF:
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = gzipError{fmt.Errorf("gzip stream truncated: %w", err)}
	default:
		err = gzipError{fmt.Errorf("corrupt gzip stream: %w", err)}
	}
	return n, err
}

// gzipError is an error of the gzip layer (gzipErrReader), so that a
// reader of what the stream holds can tell it from errors of its own
// format (errors.As).
type gzipError struct{ error }

func (e gzipError) Unwrap() error { return e.error }

// ReadIDXImages reads an idx3 file of unsigned bytes (magic 0x00000803), as
// MNIST's image files are, from r, which must not be gzip-compressed. It
// returns the number of images, their size and the n*rows*cols pixels,
// row-major. It reads r to its end: data after the pixels is an error, and
// so is any header field beyond sane limits (n ≤ 10,000,000; 1 ≤ rows, cols
// ≤ 4096).
func ReadIDXImages(r io.Reader) (n, rows, cols int, pix []uint8, err error) {
	var hdr [16]byte
	if err := readHeader(r, hdr[:]); err != nil {
		return 0, 0, 0, nil, err
	}
	if err := checkMagic(hdr[:4], idx3Magic, "idx3 images"); err != nil {
		return 0, 0, 0, nil, err
	}
	un := binary.BigEndian.Uint32(hdr[4:8])
	ur := binary.BigEndian.Uint32(hdr[8:12])
	uc := binary.BigEndian.Uint32(hdr[12:16])
	if un > maxIDXCount {
		return 0, 0, 0, nil, fmt.Errorf("implausible image count %d in header (limit %d)", un, maxIDXCount)
	}
	if ur == 0 || uc == 0 || ur > maxIDXDim || uc > maxIDXDim {
		return 0, 0, 0, nil, fmt.Errorf("implausible image size %d×%d in header (want 1..%d each)", ur, uc, maxIDXDim)
	}
	total := int64(un) * int64(ur) * int64(uc)
	// The caller usually converts to float32, so leave room for 4 bytes each.
	if total > math.MaxInt/4 {
		return 0, 0, 0, nil, fmt.Errorf("header says %d×%d×%d = %d bytes, too large for this platform", un, ur, uc, total)
	}
	pix, err = readBody(r, total)
	if err != nil {
		return 0, 0, 0, nil, fmt.Errorf("read pixels: %w", err)
	}
	if int64(len(pix)) < total {
		return 0, 0, 0, nil, fmt.Errorf("truncated: header says %d×%d×%d = %d bytes, got %d", un, ur, uc, total, len(pix))
	}
	if err := checkEnd(r, total); err != nil {
		return 0, 0, 0, nil, err
	}
	return int(un), int(ur), int(uc), pix, nil
}

// ReadIDXLabels reads an idx1 file of unsigned bytes (magic 0x00000801), as
// MNIST's label files are, from r, which must not be gzip-compressed. It
// reads r to its end: data after the labels is an error, and so is a count
// above 10,000,000. It does not check the label values.
func ReadIDXLabels(r io.Reader) ([]uint8, error) {
	var hdr [8]byte
	if err := readHeader(r, hdr[:]); err != nil {
		return nil, err
	}
	if err := checkMagic(hdr[:4], idx1Magic, "idx1 labels"); err != nil {
		return nil, err
	}
	un := binary.BigEndian.Uint32(hdr[4:8])
	if un > maxIDXCount {
		return nil, fmt.Errorf("implausible label count %d in header (limit %d)", un, maxIDXCount)
	}
	labels, err := readBody(r, int64(un))
	if err != nil {
		return nil, fmt.Errorf("read labels: %w", err)
	}
	if len(labels) < int(un) {
		return nil, fmt.Errorf("truncated: header says %d labels, got %d", un, len(labels))
	}
	if err := checkEnd(r, int64(un)); err != nil {
		return nil, err
	}
	return labels, nil
}

// readHeader fills hdr from r, reporting a short read as a truncated header.
func readHeader(r io.Reader, hdr []byte) error {
	n, err := io.ReadFull(r, hdr)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return fmt.Errorf("truncated header: got %d of %d bytes", n, len(hdr))
	case err != nil:
		return fmt.Errorf("read header: %w", err)
	}
	return nil
}

// checkMagic compares the big-endian magic number in b with want.
func checkMagic(b []byte, want uint32, what string) error {
	got := binary.BigEndian.Uint32(b)
	if got == want {
		return nil
	}
	var hint string
	switch {
	case b[0] == 0x1f && b[1] == 0x8b:
		hint = " (the data is gzip-compressed; decompress it first)"
	case got == idx1Magic:
		hint = " (that is an idx1 labels file)"
	case got == idx3Magic:
		hint = " (that is an idx3 images file)"
	}
	return fmt.Errorf("bad magic number: want 0x%08x (%s), got 0x%08x%s", want, what, got, hint)
}

// readBody reads up to total bytes from r. It returns fewer, with a nil
// error, if r ends early. Memory grows with the data actually read, so a
// header that overstates the size costs no more than the real data: the
// buffer starts at 64 KiB and doubles (up to total) only when full.
func readBody(r io.Reader, total int64) ([]byte, error) {
	const firstChunk = 1 << 16 // 64 KiB, then doubling up to total
	buf := make([]byte, 0, min(total, firstChunk))
	for int64(len(buf)) < total {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(total, 2*int64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		end := min(int64(cap(buf)), total)
		n, err := io.ReadFull(r, buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// checkEnd makes sure r holds nothing after the want bytes of data. Reading
// to the end also makes a gzip reader verify its checksum.
func checkEnd(r io.Reader, want int64) error {
	var one [1]byte
	n, err := io.ReadFull(r, one[:])
	switch {
	case n > 0:
		return fmt.Errorf("unexpected data after the %d bytes the header announces", want)
	case err == io.EOF:
		return nil
	default:
		return fmt.Errorf("at end of data: %w", err)
	}
}

// FindMNISTDir resolves the MNIST directory the way metagon's tools do. A
// non-empty flagValue wins and must name an existing directory. Otherwise it
// returns the first existing directory of $MNIST_DIR, $METAGON_DATA/mnist
// and the default download location of scripts/download_mnist.sh,
// ${XDG_CACHE_HOME:-$HOME/.cache}/metagon/mnist. The error names everything
// tried.
func FindMNISTDir(flagValue string) (string, error) { return mnistSet.find(flagValue) }
