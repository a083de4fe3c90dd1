package data

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

// pngChunk appends one PNG chunk (length, type, data, CRC) to b.
func pngChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(append(b, typ...), data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// craftPNG returns a PNG whose header says w×h pixels of the given bit
// depth and colour type and whose one IDAT chunk is the zlib compression
// of raw, however little that is.
func craftPNG(t testing.TB, w, h uint32, depth, colorType byte, raw []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, w), h)
	ihdr = append(ihdr, depth, colorType, 0, 0, 0) // deflate, adaptive filters, no interlace
	b := pngChunk([]byte("\x89PNG\r\n\x1a\n"), "IHDR", ihdr)
	b = pngChunk(b, "IDAT", z.Bytes())
	return pngChunk(b, "IEND", nil)
}

// omniglotZipSeeds returns a valid small background zip and broken
// variants: cut off, not a zip, a corrupt PNG, and PNGs whose headers
// claim far more pixels than their few bytes hold.
func omniglotZipSeeds(t testing.TB) map[string][]byte {
	good := synthOmniglotZips(t)["background"]
	name := "images_background/A/character01/0003_01.png"
	one := func(png []byte) []byte { return zipBytes(t, []zipEntry{{name: name, data: png}}) }
	return map[string][]byte{
		"background":                  good,
		"cut-off zip":                 good[:len(good)-30],
		"zip without its directory":   good[:len(good)/2],
		"not a zip":                   []byte("<html>404 Not Found</html>"),
		"corrupt PNG":                 one([]byte("\x89PNG\r\n\x1a\nthis is not a png")),
		"60000×60000 PNG":             one(craftPNG(t, 60000, 60000, 8, 0, make([]byte, 100))),
		"4096×4096×64-bit PNG":        one(craftPNG(t, 4096, 4096, 16, 6, make([]byte, 100))),
		"4096×4096 1-bit, rows short": one(craftPNG(t, 4096, 4096, 1, 0, make([]byte, 1000))),
		"1×1 PNG":                     one(craftPNG(t, 1, 1, 8, 0, []byte{0, 0})),
	}
}

// zipContentLen returns the bytes the entries of the zip data decompress
// to, as far as they do, each counted up to the entry limit the loader
// applies, or 0 if data is not a zip.
func zipContentLen(data []byte) int {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return 0
	}
	total := 0
	for _, f := range zr.File {
		if rc, err := f.Open(); err == nil {
			n, _ := io.Copy(io.Discard, io.LimitReader(rc, maxOmniglotEntryBytes+1))
			rc.Close()
			total += int(n)
		}
	}
	return total
}

// FuzzOmniglotZip reads arbitrary bytes as images_background.zip (with a
// valid synthetic images_evaluation.zip beside it) into classes of
// 1..32-pixel images, with either filter. It may not panic or hang; a
// success must hold well-formed characters, a failure one line of error.
//
// Memory may grow with what the bytes present decompress to, not with the
// sizes headers claim: a PNG's image data inflates at most
// maxDeflateRatio-fold, and a decoded image can take 32 bytes per byte of
// samples (1-bit grey with transparency becomes 4-byte NRGBA), plus grey
// and resize scratch, so 64·maxDeflateRatio bytes per byte of entry
// content bound it.
func FuzzOmniglotZip(f *testing.F) {
	eval := synthOmniglotZips(f)["evaluation"]
	seeds := omniglotZipSeeds(f)
	addSeeds(f, seeds, uint8(4), false)
	addSeeds(f, seeds, uint8(27), true)
	f.Fuzz(func(t *testing.T, data []byte, sizeSeed uint8, lanczos bool) {
		size, filter := 1+int(sizeSeed)%32, FilterArea
		if lanczos {
			filter = FilterLanczos
		}
		present := len(data) + zipContentLen(data)
		limit := uint64(fuzzAllocSlack + 64*maxDeflateRatio*present)
		var om *Omniglot
		checkBounded(t, "decodeOmniglotZips", limit, func() error {
			bg, err := newZipReader("images_background.zip", bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return err
			}
			ev, err := zip.NewReader(bytes.NewReader(eval), int64(len(eval)))
			if err != nil {
				return err
			}
			om, err = decodeOmniglotZips([2]omniglotZip{{"images_background.zip", bg}, {"images_evaluation.zip", ev}}, size, filter)
			return err
		})
		if om != nil {
			checkOmniglot(t, om, size)
		}
	})
}

// checkOmniglot checks that om's characters are sorted by unique id, have
// drawings, and that every image has size×size pixels in [0,1].
func checkOmniglot(t *testing.T, om *Omniglot, size int) {
	t.Helper()
	const eps = 1e-6 // sums of float64 filter weights may pass 1 by rounding
	for i, c := range om.Chars {
		if (i > 0 && c.ID <= om.Chars[i-1].ID) || len(c.Images) == 0 {
			t.Fatalf("character %d: id %d after %d, %d images", i, c.ID, om.Chars[max(i-1, 0)].ID, len(c.Images))
		}
		for j, im := range c.Images {
			if len(im) != size*size {
				t.Fatalf("character %04d image %d: %d pixels, want %d", c.ID, j, len(im), size*size)
			}
			for _, v := range im {
				if !(v >= -eps && v <= 1+eps) || math.IsNaN(float64(v)) {
					t.Fatalf("character %04d image %d: pixel %v outside [0,1]", c.ID, j, v)
				}
			}
		}
	}
}

// TestOmniglotPNGHugeClaims checks that PNGs whose headers claim far more
// pixels than their bytes hold are refused before decoding (a 4096×4096
// RGBA image of 16-bit samples would cost 128 MiB), while a large PNG that
// really is that compressible still loads.
func TestOmniglotPNGHugeClaims(t *testing.T) {
	evalZip := synthOmniglotZips(t)["evaluation"]
	eval, err := zip.NewReader(bytes.NewReader(evalZip), int64(len(evalZip)))
	if err != nil {
		t.Fatal(err)
	}
	load := func(zipData []byte) (*Omniglot, error) {
		bg, err := newZipReader("images_background.zip", bytes.NewReader(zipData), int64(len(zipData)))
		if err != nil {
			return nil, err
		}
		return decodeOmniglotZips([2]omniglotZip{{"images_background.zip", bg}, {"images_evaluation.zip", eval}}, 28, FilterArea)
	}
	seeds := omniglotZipSeeds(t)
	if _, err := load(seeds["background"]); err != nil {
		t.Fatalf("the valid seed: %v", err)
	}
	const limit = 4 << 20
	for name, want := range map[string]string{
		"60000×60000 PNG":             "implausible PNG size 60000×60000",
		"4096×4096×64-bit PNG":        "header says 4096×4096 pixels of 64 bits",
		"4096×4096 1-bit, rows short": "header says 4096×4096 pixels of 1 bits",
	} {
		err := checkBounded(t, name, limit, func() error { _, err := load(seeds[name]); return err })
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "0003_01.png") {
			t.Errorf("%s: error %v, want one naming the entry and containing %q", name, err, want)
		}
		t.Logf("%s (%d bytes): %v", name, len(seeds[name]), err)
	}

	// A 2000×2000 white PNG of 8-bit grey is a few kilobytes whose image
	// data inflates hundreds of times over, under the bound: it loads.
	white := image.NewGray(image.Rect(0, 0, 2000, 2000))
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, white); err != nil {
		t.Fatal(err)
	}
	om, err := load(zipBytes(t, []zipEntry{{name: "images_background/A/character01/0003_01.png", data: b.Bytes()}}))
	if err != nil {
		t.Fatalf("2000×2000 white PNG of %d bytes: %v", b.Len(), err)
	}
	ratio := float64(2000*2001) / float64(b.Len()) // filter byte and samples per row
	t.Logf("2000×2000 white PNG: %d bytes, inflating %.0f-fold (bound %d)", b.Len(), ratio, maxDeflateRatio)
	if ratio < maxDeflateRatio/4 {
		t.Errorf("the white PNG inflates only %.0f-fold: too little to test the bound", ratio)
	}
	if c := charByID(t, om, 3); len(c.Images) != 1 || slices.Max(c.Images[0]) != 0 {
		t.Errorf("2000×2000 white PNG: %d images, want 1 of no ink", len(c.Images))
	}
}
