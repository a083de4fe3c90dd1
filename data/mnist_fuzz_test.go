package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"testing"
)

// idxSeeds returns valid small idx files, raw and gzipped, and broken
// variants: cut off, with trailing data, and headers that claim far more
// data than the few bytes present.
func idxSeeds(t testing.TB) map[string][]byte {
	pix, labels := synth(3, 4, 5)
	img, lbl := encodeIDX3(3, 4, 5, pix), encodeIDX1(labels)
	gzImg := gz(t, img)
	hugeLabels := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, idx1Magic), maxIDXCount)
	return map[string][]byte{
		"images":                      img,
		"labels":                      lbl,
		"gzip images":                 gzImg,
		"gzip labels":                 gz(t, lbl),
		"cut-off images":              img[:len(img)-3],
		"cut-off gzip":                gzImg[:len(gzImg)-6],
		"trailing byte":               append(bytes.Clone(img), 0),
		"2^31 images in 20 bytes":     encodeIDX3(1<<31, 28, 28, pix[:4]),
		"10^7×4096×4096 in 20 bytes":  encodeIDX3(maxIDXCount, maxIDXDim, maxIDXDim, pix[:4]),
		"gzip 10^7×4096×4096":         gz(t, encodeIDX3(maxIDXCount, maxIDXDim, maxIDXDim, pix[:4])),
		"10^7 labels in 12 bytes":     append(hugeLabels, 1, 2, 3, 4),
		"gzip magic, then no gzip":    []byte{0x1f, 0x8b, 'n', 'o', 't'},
		"not an idx file":             []byte("<html>404 Not Found</html>"),
		"images header, labels magic": encodeIDX1(labels)[:4],
	}
}

// idxContentLen returns the length of data as the idx readers see it: of
// its gzip-decompressed content (as far as it decompresses) if it starts
// with the gzip magic bytes, else of data itself.
func idxContentLen(data []byte) int {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return len(data)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return 0
	}
	n, _ := io.Copy(io.Discard, zr)
	return int(n)
}

// FuzzReadIDX feeds arbitrary bytes, raw or gzipped (told from the magic
// bytes, as LoadMNIST does), to ReadIDXImages and ReadIDXLabels. Neither
// may panic, hang or allocate more than a few times the bytes present; an
// error must be one line, and a success must account for every byte.
func FuzzReadIDX(f *testing.F) {
	addSeeds(f, idxSeeds(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		content := idxContentLen(data)
		// readBody's buffer at most doubles past the bytes present, and is
		// copied once per doubling: under 4 bytes per byte in all.
		limit := uint64(fuzzAllocSlack + 4*max(len(data), content))
		checkBounded(t, "ReadIDXImages", limit, func() error {
			return withIDXReader(bytes.NewReader(data), func(r io.Reader) error {
				n, rows, cols, pix, err := ReadIDXImages(r)
				if err == nil && (n*rows*cols != len(pix) || 16+len(pix) != content) {
					t.Errorf("ReadIDXImages: %d×%d×%d images, %d pixels from %d bytes", n, rows, cols, len(pix), content)
				}
				return err
			})
		})
		checkBounded(t, "ReadIDXLabels", limit, func() error {
			return withIDXReader(bytes.NewReader(data), func(r io.Reader) error {
				labels, err := ReadIDXLabels(r)
				if err == nil && 8+len(labels) != content {
					t.Errorf("ReadIDXLabels: %d labels from %d bytes", len(labels), content)
				}
				return err
			})
		})
	})
}

// TestReadIDXHugeClaims checks that headers claiming far more data than is
// present are refused, or read, without allocating for the claim: 2^31
// images (beyond the count limit), and 10^7 images of 4096×4096 (within
// the limits) in 20 bytes.
func TestReadIDXHugeClaims(t *testing.T) {
	seeds := idxSeeds(t)
	for _, name := range []string{"images", "gzip images"} {
		if err := withIDXReader(bytes.NewReader(seeds[name]), func(r io.Reader) error {
			_, _, _, _, err := ReadIDXImages(r)
			return err
		}); err != nil {
			t.Fatalf("the valid seed %q: %v", name, err)
		}
	}
	const limit = 256 << 10 // readBody's first 64 KiB chunk and change
	for _, name := range []string{"2^31 images in 20 bytes", "10^7×4096×4096 in 20 bytes"} {
		data := seeds[name]
		err := checkBounded(t, name, limit, func() error {
			_, _, _, _, err := ReadIDXImages(bytes.NewReader(data))
			return err
		})
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		t.Logf("%s (%d bytes): %v", name, len(data), err)
	}
	data := seeds["10^7 labels in 12 bytes"]
	if _, err := ReadIDXLabels(bytes.NewReader(data)); err == nil {
		t.Errorf("10^7 labels in 12 bytes: no error")
	}
	checkBounded(t, "10^7 labels in 12 bytes", limit, func() error {
		_, err := ReadIDXLabels(bytes.NewReader(data))
		return err
	})
}
