package data

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// miniFolder is a small mini-ImageNet that a test writes in the common
// layout: rows of each split's CSV, and the images they name.
type miniFolder struct {
	t    *testing.T
	dir  string
	rows [3][]string // "file,label", per split
	// want holds each image's expected 3×84×84 bytes, by file name.
	want map[string][]uint8
}

func newMiniFolder(t *testing.T) *miniFolder {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &miniFolder{t: t, dir: dir, want: map[string][]uint8{}}
}

// addPNG writes img as images/file (a PNG) and lists it in split's CSV
// with label wnid; its expected bytes are img's own, resized.
func (f *miniFolder) addPNG(split int, wnid, file string, img image.Image) {
	f.t.Helper()
	if err := writePNG(filepath.Join(f.dir, "images", file), img); err != nil {
		f.t.Fatal(err)
	}
	f.rows[split] = append(f.rows[split], file+","+wnid)
	f.want[file] = expectedPixels(f.t, img)
}

// addJPEG writes img as images/file, a JPEG of quality 95, and lists it;
// its expected bytes are those of the JPEG as image/jpeg decodes it,
// converted by color.YCbCrToRGB pixel by pixel, resized.
func (f *miniFolder) addJPEG(split int, wnid, file string, img image.Image) {
	f.t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		f.t.Fatal(err)
	}
	f.writeFile("images/"+file, b.Bytes())
	f.rows[split] = append(f.rows[split], file+","+wnid)
	dec, err := jpeg.Decode(bytes.NewReader(b.Bytes()))
	if err != nil {
		f.t.Fatal(err)
	}
	ycc, ok := dec.(*image.YCbCr)
	if !ok {
		f.t.Fatalf("a colour JPEG decodes as %T", dec)
	}
	rgb := image.NewNRGBA(ycc.Bounds())
	for y := range ycc.Bounds().Dy() {
		for x := range ycc.Bounds().Dx() {
			c := ycc.YCbCrAt(x, y)
			r, g, bl := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
			rgb.SetNRGBA(x, y, color.NRGBA{r, g, bl, 0xff})
		}
	}
	f.want[file] = expectedPixels(f.t, rgb)
}

// writeFile writes data to the folder's file name.
func (f *miniFolder) writeFile(name string, data []byte) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), data, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// writeCSVs writes the three CSVs.
func (f *miniFolder) writeCSVs() {
	f.t.Helper()
	for s, split := range MiniImageNetSplits {
		if err := writeMiniImageNetCSV(f.dir, split, f.rows[s]); err != nil {
			f.t.Fatal(err)
		}
	}
}

// load loads the folder with its cache in cache ("-": none).
func (f *miniFolder) load(cache string) (*MiniImageNet, error) {
	return LoadMiniImageNet(f.dir, MiniImageNetOptions{CacheDir: cache})
}

// expectedPixels returns the red, green and blue planes of img (read
// through img.At, whatever its type), resized to 84×84 band by band with
// resizePlane if it is another size: the documented decoding.
func expectedPixels(t *testing.T, img image.Image) []uint8 {
	t.Helper()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	planes := make([]uint8, 3*w*h)
	for y := range h {
		for x := range w {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if a != 0xffff {
				t.Fatalf("test image with alpha %d", a)
			}
			k := y*w + x
			planes[k], planes[w*h+k], planes[2*w*h+k] = uint8(r>>8), uint8(g>>8), uint8(bl>>8)
		}
	}
	if w == MiniImageNetSide && h == MiniImageNetSide {
		return planes
	}
	out := make([]uint8, MiniImageNetImageBytes)
	lz, plane := newLanczosResizer(), MiniImageNetSide*MiniImageNetSide
	for c := range 3 {
		lz.resizePlane(planes[c*w*h:(c+1)*w*h], w, w, h, out[c*plane:(c+1)*plane], MiniImageNetSide)
	}
	return out
}

// smoothRGB returns a w×h image of smooth colour gradients (what a JPEG
// keeps well), shifted by seed.
func smoothRGB(w, h, seed int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(40 + 3*x + seed), uint8(200 - 2*y), uint8(100 + x + y + seed), 0xff})
		}
	}
	return img
}

// flatRGB returns a w×h image of one colour.
func flatRGB(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 0xff
	}
	return img
}

// TestMiniImageNetRoundTrip writes a tiny mini-ImageNet (four classes
// over the three CSVs, rows of two classes interleaved; PNGs of 84×84 and
// of other sizes, a palette PNG, a 16-bit PNG, JPEGs of 84×84 and
// 50×60) and loads it: every class, label, split and file comes back in
// the CSVs' order; every PNG's pixels are the written ones (resized with
// the documented filter where not 84×84; a flat colour stays that exact
// colour); every JPEG's are those of Go's decoder (and within a few
// levels of what was encoded); a second load reads the cache and gives
// the same bytes; Image normalises by the training classes' statistics.
func TestMiniImageNetRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	f := newMiniFolder(t)
	const a, b, c, d = "n90000001", "n90000002", "n90000003", "n90000004"
	f.addPNG(0, a, "a0.png", randomRGB(r, 84, 84))
	f.addJPEG(0, b, "b0.jpg", smoothRGB(84, 84, 0))
	f.addPNG(0, a, "a1.png", randomRGB(r, 30, 21))
	f.addJPEG(0, b, "b1.jpeg", smoothRGB(50, 60, 9))
	flat := color.NRGBA{200, 17, 99, 0xff}
	f.addPNG(0, a, "a2.png", flatRGB(100, 90, flat))
	pal := image.NewPaletted(image.Rect(0, 0, 84, 84), color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 128, 255, 255}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(r.IntN(2))
	}
	f.addPNG(1, c, "c0.png", pal)
	f.addPNG(1, c, "c1.png", randomRGB(r, 84, 84))
	deep := image.NewRGBA64(image.Rect(0, 0, 40, 40))
	for i := 0; i < len(deep.Pix); i += 8 {
		for k := range 6 {
			deep.Pix[i+k] = uint8(r.IntN(256))
		}
		deep.Pix[i+6], deep.Pix[i+7] = 0xff, 0xff
	}
	f.addPNG(2, d, "d0.png", deep)
	f.writeCSVs()

	cache := t.TempDir()
	m, err := f.load(cache)
	if err != nil {
		t.Fatal(err)
	}
	if m.FromCache || m.CacheError != nil || m.CachePath == "" {
		t.Fatalf("first load: FromCache %v, CacheError %v, CachePath %q", m.FromCache, m.CacheError, m.CachePath)
	}
	wantClasses := [3][]struct {
		wnid  string
		files []string
	}{
		{{a, []string{"a0.png", "a1.png", "a2.png"}}, {b, []string{"b0.jpg", "b1.jpeg"}}},
		{{c, []string{"c0.png", "c1.png"}}},
		{{d, []string{"d0.png"}}},
	}
	for s, split := range MiniImageNetSplits {
		got := m.Classes(split)
		if len(got) != len(wantClasses[s]) {
			t.Fatalf("%s: %d classes, want %d", split, len(got), len(wantClasses[s]))
		}
		for k, wc := range wantClasses[s] {
			cl := got[k]
			if cl.WNID != wc.wnid || cl.Split != split || cl.Len() != len(wc.files) {
				t.Fatalf("%s class %d is %v, want %s with %d images", split, k, cl, wc.wnid, len(wc.files))
			}
			for j, file := range wc.files {
				if cl.File(j) != file {
					t.Errorf("%s image %d is %s, want %s", cl.WNID, j, cl.File(j), file)
				}
				if px := cl.Pixels(j); !bytes.Equal(px, f.want[file]) {
					t.Errorf("%s: %d of %d bytes differ from the expected decoding", file, diffCount(px, f.want[file]), len(px))
				}
			}
		}
	}
	for _, v := range m.Train[0].Pixels(2)[:MiniImageNetSide*MiniImageNetSide] {
		if v != flat.R {
			t.Fatalf("a flat 100×90 image resized has red %d, want %d throughout", v, flat.R)
		}
	}
	// The JPEGs are close to what was encoded.
	for j, img := range []*image.NRGBA{smoothRGB(84, 84, 0), smoothRGB(50, 60, 9)} {
		if e := meanAbsDiff(m.Train[1].Pixels(j), expectedPixels(t, img)); e > 3 {
			t.Errorf("JPEG %s: mean absolute difference of %.2f levels from the encoded image", m.Train[1].File(j), e)
		} else {
			t.Logf("JPEG %s: mean absolute difference of %.2f levels from the encoded image", m.Train[1].File(j), e)
		}
	}
	if m.RaviSplit || m.RaviCSVs {
		t.Errorf("a synthetic split reported as Ravi's: RaviSplit %v, RaviCSVs %v", m.RaviSplit, m.RaviCSVs)
	}

	// Image normalises by the training classes' statistics.
	if want := MiniImageNetClassesNorm(m.Train); m.Norm != want || m.Test[0].Norm() != want {
		t.Fatalf("Norm %v, test class's %v, want the training classes' %v", m.Norm, m.Test[0].Norm(), want)
	}
	dst := make([]float32, MiniImageNetImageBytes)
	cl := m.Valid[0]
	cl.Image(0, dst)
	plane := MiniImageNetSide * MiniImageNetSide
	for i, p := range cl.Pixels(0) {
		ch := i / plane
		if want := float32((float64(p)/255 - m.Norm.Mean[ch]) / m.Norm.Std[ch]); dst[i] != want {
			t.Fatalf("value %d (channel %d, byte %d) is %v, want %v", i, ch, p, dst[i], want)
		}
	}

	again, err := f.load(cache)
	if err != nil {
		t.Fatal(err)
	}
	if !again.FromCache || again.CachePath != m.CachePath || again.CacheError != nil {
		t.Fatalf("second load: FromCache %v, CachePath %q (first %q), CacheError %v", again.FromCache, again.CachePath, m.CachePath, again.CacheError)
	}
	for s, split := range MiniImageNetSplits {
		for k, cl := range again.Classes(split) {
			for j := range cl.Len() {
				if !bytes.Equal(cl.Pixels(j), f.want[wantClasses[s][k].files[j]]) {
					t.Errorf("from the cache, %s differs", cl.File(j))
				}
			}
		}
	}
}

// diffCount counts the positions where a and b differ.
func diffCount(a, b []uint8) int {
	n := 0
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n + max(len(a), len(b)) - min(len(a), len(b))
}

// meanAbsDiff returns the mean absolute difference of a and b.
func meanAbsDiff(a, b []uint8) float64 {
	var s float64
	for i := range a {
		s += math.Abs(float64(a[i]) - float64(b[i]))
	}
	return s / float64(len(a))
}

// errorFolder writes a valid tiny mini-ImageNet (train: n90000000 with
// a.png and b.png, n90000001 with c.png, on lines 2 to 4; val: n90000002
// with d.png; test: n90000003 with e.png; 8×8 PNGs), then lets change
// break it.
func errorFolder(t *testing.T, change func(f *miniFolder)) *miniFolder {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	f := newMiniFolder(t)
	f.addPNG(0, "n90000000", "a.png", randomRGB(r, 8, 8))
	f.addPNG(0, "n90000000", "b.png", randomRGB(r, 8, 8))
	f.addPNG(0, "n90000001", "c.png", randomRGB(r, 8, 8))
	f.addPNG(1, "n90000002", "d.png", randomRGB(r, 8, 8))
	f.addPNG(2, "n90000003", "e.png", randomRGB(r, 8, 8))
	f.writeCSVs()
	change(f)
	return f
}

// TestMiniImageNetGreyAndCMYK: grey-scale and CMYK images are read as
// RGB, as Pillow's convert("RGB") reads them: a grey level in all three
// planes (from a PNG file, 8 and 16 bits), and for CMYK each channel
// (255 − K) − round(C·(255 − K)/255), Pillow's formula.
func TestMiniImageNetGreyAndCMYK(t *testing.T) {
	const side = 4
	d := newMiniImageNetDecoder(side)
	grey := image.NewGray(image.Rect(0, 0, side, side))
	grey16 := image.NewGray16(grey.Rect)
	for i := range grey.Pix {
		grey.Pix[i] = uint8(17 * i)
		grey16.Pix[2*i], grey16.Pix[2*i+1] = uint8(17*i), 0x5a
	}
	for _, img := range []image.Image{grey, grey16} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		got := make([]uint8, 3*side*side)
		if err := d.decode(buf.Bytes(), got); err != nil {
			t.Fatalf("%T: %v", img, err)
		}
		for c := range 3 {
			if !bytes.Equal(got[c*side*side:(c+1)*side*side], grey.Pix) {
				t.Errorf("%T, plane %d: %v; want the grey levels %v", img, c, got[c*side*side:(c+1)*side*side], grey.Pix)
			}
		}
	}
	cmyk := image.NewCMYK(image.Rect(0, 0, side, side))
	for i := range cmyk.Pix {
		cmyk.Pix[i] = uint8(37*i + 11)
	}
	got := make([]uint8, 3*side*side)
	if err := rgbPlanes(cmyk, got); err != nil {
		t.Fatal(err)
	}
	for p := range side * side {
		ink := 255 - float64(cmyk.Pix[4*p+3])
		for c := range 3 {
			want := uint8(ink - math.Round(float64(cmyk.Pix[4*p+c])*ink/255))
			if g := got[c*side*side+p]; g != want {
				t.Errorf("CMYK pixel %d %v, channel %d: %d; want %d", p, cmyk.Pix[4*p:4*p+4], c, g, want)
			}
		}
	}
}

// TestMiniImageNetErrors: each way a copy can be wrong (a truncated,
// headerless or malformed CSV, a missing CSV or image, a class or image in
// two splits, a transparent, corrupt or non-image file) gives
// one line naming the file, the CSV line where a row is at fault, and
// what was expected; the valid folder itself loads.
func TestMiniImageNetErrors(t *testing.T) {
	if _, err := errorFolder(t, func(*miniFolder) {}).load("-"); err != nil {
		t.Fatalf("the valid folder: %v", err)
	}
	csv := func(split int, text string) func(f *miniFolder) {
		return func(f *miniFolder) { f.writeFile(MiniImageNetSplits[split]+".csv", []byte(text)) }
	}
	list := func(split int, row string) func(f *miniFolder) {
		return func(f *miniFolder) { f.rows[split] = append(f.rows[split], row); f.writeCSVs() }
	}
	transparent := flatRGB(8, 8, color.NRGBA{1, 2, 3, 255})
	transparent.Pix[3] = 0x80
	for _, tc := range []struct {
		name   string
		change func(f *miniFolder)
		want   []string
	}{
		{"CSV cut within a label", csv(0, "filename,label\na.png,n90000000\nb.png,n9000"),
			[]string{"train.csv: line 3 has label \"n9000\", want a WordNet id", "cut short"}},
		{"CSV cut within a file name", csv(0, "filename,label\na.png,n90000000\nb.pn"),
			[]string{"train.csv: line 3 has 1 field (\"b.pn\"), want 2: filename,label", "cut short"}},
		{"bad header", csv(1, "file,label\nd.png,n90000002\n"),
			[]string{"val.csv: line 1 is \"file,label\", want the header \"filename,label\""}},
		{"no header", csv(1, "d.png,n90000002\n"), []string{"val.csv: line 1 is \"d.png,n90000002\", want the header"}},
		{"empty CSV", csv(2, ""), []string{"test.csv: is empty, want the header"}},
		{"header only", csv(2, "filename,label\n"), []string{"test.csv: lists no images (only its header)"}},
		{"three fields", csv(2, "filename,label\ne.png,n90000003,x\n"), []string{"test.csv: line 2 has 3 fields (\"e.png,n90000003,x\"), want 2"}},
		{"blank line between rows", csv(0, "filename,label\na.png,n90000000\n\nb.png,n90000000\n"), []string{"train.csv: line 3 is blank"}},
		{"file listed twice", csv(0, "filename,label\na.png,n90000000\na.png,n90000000\n"), []string{"train.csv: line 3 lists a.png again (first on line 2)"}},
		{"file in a folder", csv(2, "filename,label\n../e.png,n90000003\n"), []string{"test.csv: line 2 has file name \"../e.png\", want the name of a file in images/"}},
		{"label not a WordNet id", csv(2, "filename,label\ne.png,dog\n"), []string{"test.csv: line 2 has label \"dog\", want a WordNet id"}},
		{"missing CSV", func(f *miniFolder) { os.Remove(filepath.Join(f.dir, "test.csv")) },
			[]string{"test.csv: file does not exist", "scripts/download_miniimagenet.sh YOUR_COPY DIR"}},
		{"missing image", func(f *miniFolder) { os.Remove(filepath.Join(f.dir, "images", "c.png")) },
			[]string{"images/c.png (train.csv line 4): file does not exist: the CSV lists it but images/ does not hold it"}},
		{"overlapping splits", list(1, "b.png,n90000000"),
			[]string{"class n90000000 is in both train.csv (line 2) and val.csv (line 3): the splits must not share classes"}},
		{"image in two splits", list(2, "d.png,n90000003"),
			[]string{"image d.png is in both val.csv (line 2) and test.csv (line 3)"}},
		{"transparent image", func(f *miniFolder) { writePNG(filepath.Join(f.dir, "images", "e.png"), transparent) },
			[]string{"images/e.png (test.csv line 2): has transparent pixels, want 3 opaque channels (RGB)"}},
		{"truncated PNG", func(f *miniFolder) {
			b, _ := os.ReadFile(filepath.Join(f.dir, "images", "b.png"))
			f.writeFile("images/b.png", b[:len(b)/2])
		}, []string{"images/b.png (train.csv line 3): corrupt PNG"}},
		{"not an image", func(f *miniFolder) { f.writeFile("images/a.png", []byte("<html>404</html>")) },
			[]string{"images/a.png (train.csv line 2): not a JPEG or PNG image (it starts with \"<html>40\")"}},
		{"a folder instead of an image", func(f *miniFolder) {
			os.Remove(filepath.Join(f.dir, "images", "e.png"))
			os.Mkdir(filepath.Join(f.dir, "images", "e.png"), 0o755)
		}, []string{"images/e.png (test.csv line 2): not a regular file, want a JPEG or PNG image"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := errorFolder(t, tc.change)
			_, err := f.load("-")
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range append([]string{"load mini-imagenet " + f.dir}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line", msg)
			}
			t.Log(msg)
		})
	}
}

// TestMiniImageNetCSV: the parser takes CRLF line ends, a byte-order mark
// and blank lines at the end, and a last row without a line end.
func TestMiniImageNetCSV(t *testing.T) {
	want := []miniImageNetRow{{"a.jpg", "n01532829", 2}, {"b b.jpg", "n01558993", 3}}
	for _, text := range []string{
		"filename,label\na.jpg,n01532829\nb b.jpg,n01558993\n",
		"filename,label\r\na.jpg,n01532829\r\nb b.jpg,n01558993\r\n",
		"\uFEFFfilename,label\na.jpg,n01532829\nb b.jpg,n01558993",
		"filename,label\na.jpg,n01532829\nb b.jpg,n01558993\n\n  \n",
	} {
		rows, err := parseMiniImageNetCSV([]byte(text))
		if err != nil || !slices.Equal(rows, want) {
			t.Errorf("%q: %v, %v; want %v", text, rows, err, want)
		}
	}
}

// TestMiniImageNetCacheStale: the cache is used while the files stay as
// they were, and rebuilt when an image or a CSV changes (a new key, a new
// file, the new pixels) or when the cache file is corrupt or cut short
// (ignored with a CacheError, then replaced); at most
// MaxMiniImageNetCacheFiles are kept.
func TestMiniImageNetCacheStale(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	f := errorFolder(t, func(*miniFolder) {})
	cache := t.TempDir()
	load := func(what string, fromCache bool) *MiniImageNet {
		t.Helper()
		m, err := f.load(cache)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if m.FromCache != fromCache {
			t.Fatalf("%s: FromCache %v, want %v (CacheError %v)", what, m.FromCache, fromCache, m.CacheError)
		}
		return m
	}
	first := load("first load", false)
	load("second load", true)

	// A rewritten image: a new cache file with its new pixels.
	newer := randomRGB(r, 8, 8)
	if err := writePNG(filepath.Join(f.dir, "images", "c.png"), newer); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(f.dir, "images", "c.png"), later, later)
	m := load("after rewriting c.png", false)
	if m.CachePath == first.CachePath {
		t.Fatalf("the rewritten image kept the cache file %s", m.CachePath)
	}
	if !bytes.Equal(m.Train[1].Pixels(0), expectedPixels(t, newer)) {
		t.Fatal("the rebuilt cache does not hold the rewritten image")
	}
	load("after rewriting c.png, again", true)

	// A changed CSV: a third cache file; the oldest is pruned.
	f.rows[0][0], f.rows[0][1] = f.rows[0][1], f.rows[0][0]
	f.writeCSVs()
	m = load("after reordering train.csv", false)
	if got := m.Train[0].File(0); got != "b.png" {
		t.Fatalf("after reordering train.csv the first image is %s, want b.png", got)
	}
	files, _ := filepath.Glob(filepath.Join(cache, miniImageNetCacheGlob))
	if len(files) != MaxMiniImageNetCacheFiles || slices.Contains(files, first.CachePath) {
		t.Fatalf("cache files %v; want the %d newest", files, MaxMiniImageNetCacheFiles)
	}

	// A corrupt cache file, then one cut short: ignored, then replaced.
	for _, tc := range []struct {
		what, want string
		damage     func(b []byte) []byte
	}{
		{"a flipped pixel byte", "checksum mismatch", func(b []byte) []byte { b[miniImageNetCacheHeader+5] ^= 1; return b }},
		{"cut short", "bytes, want", func(b []byte) []byte { return b[:len(b)-100] }},
		{"another key", "made from other files", func(b []byte) []byte { b[20] ^= 1; return b }},
	} {
		b, err := os.ReadFile(m.CachePath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(m.CachePath, tc.damage(b), 0o644); err != nil {
			t.Fatal(err)
		}
		got := load("with a cache file "+tc.what, false)
		if got.CacheError == nil || !strings.Contains(got.CacheError.Error(), tc.want) {
			t.Errorf("cache file %s: CacheError %v, want one saying %q", tc.what, got.CacheError, tc.want)
		}
		if !bytes.Equal(got.Train[0].Pixels(0), m.Train[0].Pixels(0)) {
			t.Errorf("cache file %s: decoded images differ", tc.what)
		}
		load("after replacing the cache file "+tc.what, true)
	}
}

// TestRaviMiniImageNetClasses: the published split has 64, 16 and 20
// classes, all WordNet ids, sorted, none on two sides; and there is a
// SHA-256 for each of its CSVs.
func TestRaviMiniImageNetClasses(t *testing.T) {
	s := RaviMiniImageNetClasses
	seen := map[string]string{}
	for _, side := range []struct {
		name  string
		wnids []string
		want  int
	}{{"train", s.Train, 64}, {"val", s.Valid, 16}, {"test", s.Test, 20}} {
		if len(side.wnids) != side.want {
			t.Errorf("%s: %d classes, want %d", side.name, len(side.wnids), side.want)
		}
		if !slices.IsSorted(side.wnids) {
			t.Errorf("%s: not sorted", side.name)
		}
		for _, w := range side.wnids {
			if !isWNID(w) {
				t.Errorf("%s: %q is not a WordNet id", side.name, w)
			}
			if prev, ok := seen[w]; ok {
				t.Errorf("%s is in both %s and %s", w, prev, side.name)
			}
			seen[w] = side.name
		}
	}
	for _, split := range MiniImageNetSplits {
		if h := RaviMiniImageNetCSVSHA256[split+".csv"]; len(h) != 64 {
			t.Errorf("%s.csv: SHA-256 %q", split, h)
		}
	}
}

// TestMiniImageNetDownloadHints: when mini-ImageNet is not found, the
// error names the script with the user's copy as its first argument,
// says where the script is, and names MINIIMAGENET_DIR.
func TestMiniImageNetDownloadHints(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	t.Setenv("MINIIMAGENET_DIR", missing)
	t.Setenv("METAGON_DATA", "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	_, errFind := FindMiniImageNetDir("")
	_, errFlag := FindMiniImageNetDir(missing)
	_, errLoad := LoadMiniImageNet(missing, MiniImageNetOptions{CacheDir: "-"})
	for what, tc := range map[string]struct {
		err  error
		want []string
	}{
		"FindMiniImageNetDir, nothing found": {errFind, []string{"scripts/download_miniimagenet.sh YOUR_COPY [DIR]", "MINIIMAGENET_DIR"}},
		"FindMiniImageNetDir(missing flag)":  {errFlag, []string{"scripts/download_miniimagenet.sh YOUR_COPY " + missing}},
		"LoadMiniImageNet(missing dir)":      {errLoad, []string{"scripts/download_miniimagenet.sh YOUR_COPY DIR", "MINIIMAGENET_DIR", "no directory"}},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", what)
			continue
		}
		msg := tc.err.Error()
		for _, w := range append(tc.want, "in the metagon source repository") {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error %q does not contain %q", what, msg, w)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q is not one line", what, msg)
		}
	}
}

// TestMiniImageNetSampler: 5-way 1-shot episodes of the synthetic data
// set written by WriteSyntheticMiniImageNet have 3×84×84 images, classes
// of the right side only, and the values Image gives.
func TestMiniImageNetSampler(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSyntheticMiniImageNet(dir, [3]int{6, 5, 5}, 3, 1); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMiniImageNet(dir, MiniImageNetOptions{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Train) != 6 || len(m.Valid) != 5 || len(m.Test) != 5 || m.Train[0].Len() != 3 {
		t.Fatalf("%d/%d/%d classes of %d images, want 6/5/5 of 3", len(m.Train), len(m.Valid), len(m.Test), m.Train[0].Len())
	}
	s, err := NewSampler(m.Train, EpisodeOptions{Ways: 5, Shots: 1, Queries: 2}, 7)
	if err != nil {
		t.Fatal(err)
	}
	e := s.Episode(3)
	if e.Shape != [3]int{3, 84, 84} || len(e.SupportX) != 5*MiniImageNetImageBytes || len(e.QueryX) != 10*MiniImageNetImageBytes {
		t.Fatalf("episode of shape %v, %d support and %d query values", e.Shape, len(e.SupportX), len(e.QueryX))
	}
	img := make([]float32, MiniImageNetImageBytes)
	for l, c := range e.Classes {
		if !slices.Contains(m.Train, c) {
			t.Fatalf("class %v is not a training class", c)
		}
		c.Image(e.SupportDrawings[l], img)
		if !slices.Equal(img, e.SupportX[l*MiniImageNetImageBytes:(l+1)*MiniImageNetImageBytes]) {
			t.Fatalf("support image %d is not image %d of %v", l, e.SupportDrawings[l], c)
		}
	}
	if _, err := NewSampler(m.Test, EpisodeOptions{Ways: 5, Shots: 2, Queries: 2}, 7); err == nil || !strings.Contains(err.Error(), "3 drawings: 2 shots + 2 queries is too many") {
		t.Errorf("too many shots: %v", err)
	}
}

// TestRealMiniImageNet checks a real copy, where MiniImageNetTestDir finds
// one (it skips otherwise, under CI=true too: see MiniImageNetTestDir):
// 64/16/20 classes of 600 images, 60,000 in all, Ravi & Larochelle's
// classes, and a second load from the cache.
func TestRealMiniImageNet(t *testing.T) {
	dir, ok := MiniImageNetTestDir()
	if !ok {
		t.Skipf("no mini-ImageNet (MINIIMAGENET_DIR=%q, no shared/data/mini-imagenet above the working directory); run scripts/download_miniimagenet.sh YOUR_COPY DIR and set MINIIMAGENET_DIR=DIR", dir)
	}
	cache := filepath.Join(os.TempDir(), "metagon-test-cache")
	start := time.Now()
	m, err := LoadMiniImageNet(dir, MiniImageNetOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded in %v (from cache: %v); RaviSplit %v, RaviCSVs %v; training classes' %v",
		time.Since(start).Round(time.Millisecond), m.FromCache, m.RaviSplit, m.RaviCSVs, m.Norm)
	total := 0
	for _, side := range []struct {
		name    string
		classes []MiniImageNetClass
		want    int
	}{{"train", m.Train, 64}, {"val", m.Valid, 16}, {"test", m.Test, 20}} {
		if len(side.classes) != side.want {
			t.Errorf("%s: %d classes, want %d", side.name, len(side.classes), side.want)
		}
		for _, c := range side.classes {
			if c.Len() != MiniImageNetImagesPerClass {
				t.Errorf("%v: want %d images", c, MiniImageNetImagesPerClass)
			}
			total += c.Len()
		}
	}
	if total != 60_000 || !m.RaviSplit {
		t.Errorf("%d images, RaviSplit %v; want 60,000 and Ravi & Larochelle's classes", total, m.RaviSplit)
	}
	if !m.FromCache {
		again, err := LoadMiniImageNet(dir, MiniImageNetOptions{CacheDir: cache})
		if err != nil || !again.FromCache {
			t.Errorf("second load: %v, from cache %v", err, again != nil && again.FromCache)
		}
	}
}
