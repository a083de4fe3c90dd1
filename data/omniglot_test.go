package data

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---------------------------------------------------------------------------
// Helpers

// refBox is an independent reference of the area-averaging resize of the
// w×h image in (row-major) to size×size, in exact integer arithmetic: in
// units of 1/size input pixels, output o covers [o·n, (o+1)·n) and input i
// covers [i·size, (i+1)·size), so each overlap is an integer, and output
// (oy, ox) is Σ in·overlapY·overlapX / (h·w).
func refBox(in []float64, w, h, size int) []float64 {
	ovl := func(i, o, n int) int {
		return max(0, min((o+1)*n, (i+1)*size)-max(o*n, i*size))
	}
	out := make([]float64, size*size)
	for oy := range size {
		for ox := range size {
			var s float64
			for y := range h {
				wy := ovl(y, oy, h)
				if wy == 0 {
					continue
				}
				for x := range w {
					if wx := ovl(x, ox, w); wx != 0 {
						s += in[y*w+x] * float64(wy*wx)
					}
				}
			}
			out[oy*size+ox] = s / float64(h*w)
		}
	}
	return out
}

// grayImage returns a w×h *image.Gray whose pixel (x, y) is f(x, y).
func grayImage(w, h int, f func(x, y int) uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			g.SetGray(x, y, color.Gray{Y: f(x, y)})
		}
	}
	return g
}

// inkValues returns the ink 1 − grey/255 of g's pixels, row-major.
func inkValues(g *image.Gray) []float64 {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := make([]float64, w*h)
	for y := range h {
		for x := range w {
			out[y*w+x] = 1 - float64(g.GrayAt(x, y).Y)/255
		}
	}
	return out
}

// maxDiff returns the largest |a[i] − b[i]|.
func maxDiff(a []float32, b []float64) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-b[i]))
	}
	return m
}

// pngBytes encodes img as a PNG.
func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zipEntry is one file of a synthetic zip.
type zipEntry struct {
	name  string
	data  []byte
	store bool // store uncompressed instead of deflating
}

// writeZip writes the entries as a zip archive to path.
func writeZip(t testing.TB, path string, entries []zipEntry) {
	t.Helper()
	if err := os.WriteFile(path, zipBytes(t, entries), 0o644); err != nil {
		t.Fatal(err)
	}
}

// zipBytes returns the entries as a zip archive.
func zipBytes(t testing.TB, entries []zipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.store || strings.HasSuffix(e.name, "/") {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// synthDrawing is drawing d of character id in the synthetic data set: a
// 10×10 white image with 1+(id+d)%7 black pixels on its first row and a
// black pixel at (id%10, 9), so that images differ by character and drawer.
func synthDrawing(id, d int) *image.Gray {
	return grayImage(10, 10, func(x, y int) uint8 {
		if (y == 0 && x < 1+(id+d)%7) || (y == 9 && x == id%10) {
			return 0
		}
		return 255
	})
}

// synthOmniglot writes a small data set in Omniglot's layout to dir, the
// zips of synthOmniglotZips.
func synthOmniglot(t testing.TB, dir string) {
	t.Helper()
	for set, b := range synthOmniglotZips(t) {
		if err := os.WriteFile(filepath.Join(dir, "images_"+set+".zip"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// synthOmniglotZips returns the zips of a small data set in Omniglot's
// layout by set: background with alphabets A (ids 3, 4) and B (id 1, 2),
// evaluation with alphabet C (ids 5, 6, 7), 3 drawings each, entries
// deliberately out of order, with directory entries and a stray file.
func synthOmniglotZips(t testing.TB) map[string][]byte {
	t.Helper()
	type ch struct {
		set, alphabet, folder string
		id                    int
	}
	chars := []ch{
		{"background", "A", "character01", 3}, {"background", "A", "character02", 4},
		{"background", "B", "character01", 1}, {"background", "B", "character02", 2},
		{"evaluation", "C", "character02", 6}, {"evaluation", "C", "character01", 5},
		{"evaluation", "C", "character03", 7},
	}
	entries := map[string][]zipEntry{}
	for _, set := range OmniglotSets {
		entries[set] = []zipEntry{{name: "images_" + set + "/"}, {name: "images_" + set + "/README.txt", data: []byte("x")}}
	}
	for _, c := range chars {
		folder := fmt.Sprintf("images_%s/%s/%s/", c.set, c.alphabet, c.folder)
		entries[c.set] = append(entries[c.set], zipEntry{name: folder})
		for _, d := range []int{3, 1, 2} {
			entries[c.set] = append(entries[c.set], zipEntry{
				name: fmt.Sprintf("%s%04d_%02d.png", folder, c.id, d),
				data: pngBytes(t, synthDrawing(c.id, d)),
			})
		}
	}
	zips := map[string][]byte{}
	for _, set := range OmniglotSets {
		zips[set] = zipBytes(t, entries[set])
	}
	return zips
}

// omniglotDirOrSkip returns the real data's directory, or skips the test
// (fails it in CI) if the data is missing.
func omniglotDirOrSkip(t *testing.T) string {
	t.Helper()
	return OmniglotDirOrSkip(t)
}

// The real data set, decoded once per test binary (without cache).
var realOmniglotOnce struct {
	sync.Once
	o   *Omniglot
	err error
	dur time.Duration
}

// realOmniglot returns the real data set at 28×28 and its directory.
func realOmniglot(t *testing.T) (*Omniglot, string) {
	t.Helper()
	dir := omniglotDirOrSkip(t)
	realOmniglotOnce.Do(func() {
		t0 := time.Now()
		realOmniglotOnce.o, realOmniglotOnce.err = LoadOmniglot(dir, OmniglotOptions{CacheDir: "-"})
		realOmniglotOnce.dur = time.Since(t0)
		t.Logf("decoded Omniglot from %s in %v", dir, realOmniglotOnce.dur)
	})
	if realOmniglotOnce.err != nil {
		t.Fatal(realOmniglotOnce.err)
	}
	return realOmniglotOnce.o, dir
}

// charByID returns the character with the given id.
func charByID(t *testing.T, o *Omniglot, id int) *OmniglotChar {
	t.Helper()
	i, ok := slices.BinarySearchFunc(o.Chars, id, func(c OmniglotChar, id int) int { return c.ID - id })
	if !ok {
		t.Fatalf("no character %04d", id)
	}
	return &o.Chars[i]
}

// sameImages reports the first difference between a's and b's characters
// and images, or "".
func sameImages(a, b *Omniglot) string {
	if a.Size != b.Size || len(a.Chars) != len(b.Chars) {
		return fmt.Sprintf("size %d vs %d, %d vs %d characters", a.Size, b.Size, len(a.Chars), len(b.Chars))
	}
	for i := range a.Chars {
		ca, cb := &a.Chars[i], &b.Chars[i]
		if ca.Set != cb.Set || ca.Alphabet != cb.Alphabet || ca.Character != cb.Character || ca.ID != cb.ID ||
			len(ca.Images) != len(cb.Images) {
			return fmt.Sprintf("character %d: %+v vs %+v (%d vs %d images)", i,
				[]any{ca.Set, ca.Alphabet, ca.Character, ca.ID}, []any{cb.Set, cb.Alphabet, cb.Character, cb.ID},
				len(ca.Images), len(cb.Images))
		}
		for j := range ca.Images {
			if !slices.Equal(ca.Images[j], cb.Images[j]) {
				return fmt.Sprintf("character %04d image %d differs", ca.ID, j)
			}
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// The area filter

func TestBoxFilterSynthetic(t *testing.T) {
	r := newBoxResizer()
	resized := func(img image.Image, size int) []float32 {
		dst := make([]float32, size*size)
		r.resizeImage(img, dst, size)
		return dst
	}
	// asRGBA copies g into an RGBA image, to exercise the generic path.
	asRGBA := func(g *image.Gray) image.Image {
		m := image.NewRGBA(g.Rect)
		for y := g.Rect.Min.Y; y < g.Rect.Max.Y; y++ {
			for x := g.Rect.Min.X; x < g.Rect.Max.X; x++ {
				m.Set(x, y, g.At(x, y))
			}
		}
		return m
	}
	const eps = 1e-6 // float32 rounding of values ≤ 1 is below 6e-8

	t.Run("constant", func(t *testing.T) {
		for _, v := range []uint8{0, 128, 255} {
			g := grayImage(105, 105, func(x, y int) uint8 { return v })
			want := 1 - float64(v)/255
			for _, img := range []image.Image{g, asRGBA(g)} {
				for i, got := range resized(img, 28) {
					if math.Abs(float64(got)-want) > eps {
						t.Fatalf("grey %d (%T): pixel %d = %v, want %v", v, img, i, got, want)
					}
				}
			}
		}
	})

	t.Run("single black pixel", func(t *testing.T) {
		// Pixel (3,3) covers [3,4)²; output cells are 3.75 wide, so it lies
		// 0.75 in cell 0 and 0.25 in cell 1 along each axis. Each output
		// averages 3.75² = 14.0625 pixels.
		g := grayImage(105, 105, func(x, y int) uint8 {
			if x == 3 && y == 3 {
				return 0
			}
			return 255
		})
		want := map[[2]int]float64{
			{0, 0}: 0.75 * 0.75 / 14.0625, // 0.04
			{0, 1}: 0.75 * 0.25 / 14.0625, // 1/75
			{1, 0}: 0.25 * 0.75 / 14.0625,
			{1, 1}: 0.25 * 0.25 / 14.0625, // 1/225
		}
		if math.Abs(want[[2]int{0, 0}]-0.04) > 1e-15 || math.Abs(want[[2]int{1, 1}]-1.0/225) > 1e-15 {
			t.Fatal("arithmetic in the test is off")
		}
		for _, img := range []image.Image{g, asRGBA(g)} {
			got := resized(img, 28)
			var sum float64
			for i, v := range got {
				sum += float64(v)
				if w := want[[2]int{i / 28, i % 28}]; math.Abs(float64(v)-w) > eps {
					t.Errorf("%T: output (%d,%d) = %v, want %v", img, i/28, i%28, v, w)
				}
			}
			// The pixel's ink is spread, not lost: Σ out · 3.75² = 1.
			if math.Abs(sum*14.0625-1) > 1e-5 {
				t.Errorf("%T: total ink %v·14.0625 = %v, want 1", img, sum, sum*14.0625)
			}
		}
	})

	t.Run("checkerboard", func(t *testing.T) {
		g := grayImage(105, 105, func(x, y int) uint8 { return uint8(255 * ((x + y) % 2)) })
		want := refBox(inkValues(g), 105, 105, 28)
		for _, img := range []image.Image{g, asRGBA(g)} {
			if d := maxDiff(resized(img, 28), want); d > eps {
				t.Errorf("%T: max difference from the exact area average %g", img, d)
			}
		}
		// Spot check against hand arithmetic: output (0,0) covers 3 whole
		// rows and columns plus a 0.75 strip; its ink is the area of the
		// black cells (x+y even) inside [0,3.75)², divided by 14.0625.
		var area float64
		for y := range 4 {
			for x := range 4 {
				if (x+y)%2 == 0 {
					area += min(1, 3.75-float64(y)) * min(1, 3.75-float64(x))
				}
			}
		}
		if got := resized(g, 28)[0]; math.Abs(float64(got)-area/14.0625) > eps {
			t.Errorf("checkerboard output (0,0) = %v, want %v", got, area/14.0625)
		}
	})

	t.Run("random sizes", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, c := range []struct{ w, h, size int }{{105, 105, 28}, {105, 105, 64}, {10, 7, 3}, {2, 3, 5}, {1, 1, 4}, {105, 105, 105}} {
			g := grayImage(c.w, c.h, func(x, y int) uint8 { return uint8(rng.IntN(256)) })
			in := inkValues(g)
			want := refBox(in, c.w, c.h, c.size)
			for _, img := range []image.Image{g, asRGBA(g)} {
				got := resized(img, c.size)
				if d := maxDiff(got, want); d > eps {
					t.Errorf("%d×%d→%d (%T): max difference %g", c.w, c.h, c.size, img, d)
				}
				// The filter preserves the mean.
				var mi, mo float64
				for _, v := range in {
					mi += v
				}
				for _, v := range got {
					mo += float64(v)
				}
				mi /= float64(len(in))
				mo /= float64(len(got))
				if math.Abs(mi-mo) > eps {
					t.Errorf("%d×%d→%d (%T): mean %v in, %v out", c.w, c.h, c.size, img, mi, mo)
				}
			}
		}
	})

	t.Run("sub-image", func(t *testing.T) {
		big := grayImage(20, 20, func(x, y int) uint8 { return uint8((x*7 + y*13) % 256) })
		sub := big.SubImage(image.Rect(5, 3, 15, 13)).(*image.Gray)
		flat := grayImage(10, 10, func(x, y int) uint8 { return big.GrayAt(x+5, y+3).Y })
		if !slices.Equal(resized(sub, 4), resized(flat, 4)) {
			t.Error("a sub-image resizes differently from a copy of it")
		}
	})
}

// ---------------------------------------------------------------------------
// Loading synthetic data: layout, order, cache

func TestLoadOmniglotSynthetic(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	synthOmniglot(t, dir)
	o, err := LoadOmniglot(dir, OmniglotOptions{Size: 5, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	if o.Size != 5 || len(o.Chars) != 7 {
		t.Fatalf("Size %d, %d characters; want 5, 7", o.Size, len(o.Chars))
	}
	wantMeta := []string{
		"background B character01 1", "background B character02 2", "background A character01 3",
		"background A character02 4", "evaluation C character01 5", "evaluation C character02 6",
		"evaluation C character03 7",
	}
	r := newBoxResizer()
	for i, c := range o.Chars {
		if got := fmt.Sprintf("%s %s %s %d", c.Set, c.Alphabet, c.Character, c.ID); got != wantMeta[i] {
			t.Errorf("character %d = %s, want %s", i, got, wantMeta[i])
		}
		if len(c.Images) != 3 {
			t.Fatalf("character %04d has %d images, want 3", c.ID, len(c.Images))
		}
		for d, im := range c.Images {
			want := make([]float32, 25)
			r.resizeImage(synthDrawing(c.ID, d+1), want, 5)
			if !slices.Equal(im, want) {
				t.Errorf("character %04d image %d is not drawing %02d", c.ID, d, d+1)
			}
			if len(im) != 25 || cap(im) != 25 {
				t.Errorf("image len %d cap %d, want 25, 25", len(im), cap(im))
			}
		}
	}
	if a, c, n := o.Counts("background"); a != 2 || c != 4 || n != 12 {
		t.Errorf("Counts(background) = %d, %d, %d; want 2, 4, 12", a, c, n)
	}
	if a, c, n := o.Counts(""); a != 3 || c != 7 || n != 21 {
		t.Errorf("Counts(\"\") = %d, %d, %d; want 3, 7, 21", a, c, n)
	}

	// The cache.
	if o.FromCache || o.CacheError != nil || o.CachePath == "" {
		t.Fatalf("first load: FromCache %v, CacheError %v, CachePath %q", o.FromCache, o.CacheError, o.CachePath)
	}
	if want, err := OmniglotCachePath(dir, OmniglotOptions{Size: 5, CacheDir: cacheDir}); err != nil || want != o.CachePath {
		t.Errorf("OmniglotCachePath = %q, %v; LoadOmniglot used %q", want, err, o.CachePath)
	}
	if base := filepath.Base(o.CachePath); !strings.HasPrefix(base, "omniglot-5-") || !strings.HasSuffix(base, ".bin") ||
		filepath.Dir(o.CachePath) != cacheDir {
		t.Errorf("cache path %s, want %s/omniglot-5-<key>.bin", o.CachePath, cacheDir)
	}
	if ents, _ := os.ReadDir(cacheDir); len(ents) != 1 {
		t.Errorf("cache dir holds %d files, want 1 (no temporary file left)", len(ents))
	}
	load := func(what string) *Omniglot {
		t.Helper()
		o2, err := LoadOmniglot(dir, OmniglotOptions{Size: 5, CacheDir: cacheDir})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if d := sameImages(o, o2); d != "" {
			t.Fatalf("%s: %s", what, d)
		}
		return o2
	}
	if o2 := load("cached load"); !o2.FromCache || o2.CacheError != nil {
		t.Fatalf("cached load: FromCache %v, CacheError %v", o2.FromCache, o2.CacheError)
	}

	good, err := os.ReadFile(o.CachePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"flipped pixel byte", "checksum", func() []byte { b := slices.Clone(good); b[len(b)-50] ^= 0x40; return b }()},
		{"flipped crc byte", "checksum", func() []byte { b := slices.Clone(good); b[len(b)-1] ^= 1; return b }()},
		{"truncated", "truncated", good[:len(good)-9]},
		{"extra data", "after the checksum", append(slices.Clone(good), 0)},
		{"empty", "truncated", nil},
		{"bad magic", "magic", append([]byte("XXXXXXXX"), good[8:]...)},
		{"other version", "version", func() []byte { b := slices.Clone(good); b[8] = 99; return b }()},
	} {
		if err := os.WriteFile(o.CachePath, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		o2 := load(c.name)
		if o2.FromCache || o2.CacheError == nil || !strings.Contains(o2.CacheError.Error(), c.want) {
			t.Errorf("%s: FromCache %v, CacheError %v; want the cache ignored with an error containing %q",
				c.name, o2.FromCache, o2.CacheError, c.want)
		}
		if rewritten, _ := os.ReadFile(o.CachePath); !bytes.Equal(rewritten, good) {
			t.Errorf("%s: the cache file was not rewritten", c.name)
		}
		if o3 := load(c.name + ", then"); !o3.FromCache {
			t.Errorf("%s: the rewritten cache is not used", c.name)
		}
	}

	// A replaced zip (new content) gets a new cache file; a touched one
	// (new modification time, same content) keeps it.
	bg := filepath.Join(dir, "images_background.zip")
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(bg, later, later); err != nil {
		t.Fatal(err)
	}
	if o2 := load("after touching a zip"); !o2.FromCache || o2.CachePath != o.CachePath {
		t.Errorf("after touching a zip: FromCache %v, path %s (old %s)", o2.FromCache, o2.CachePath, o.CachePath)
	}
	replaced := t.TempDir()
	synthOmniglot(t, replaced)
	writeZip(t, filepath.Join(replaced, "images_background.zip"),
		[]zipEntry{{name: "images_background/B/character01/0001_01.png", data: pngBytes(t, synthDrawing(1, 1))}})
	if o2, err := LoadOmniglot(replaced, OmniglotOptions{Size: 5, CacheDir: cacheDir}); err != nil {
		t.Errorf("after replacing a zip: %v", err)
	} else if o2.FromCache || o2.CachePath == o.CachePath {
		t.Errorf("after replacing a zip: FromCache %v, path %s (old %s)", o2.FromCache, o2.CachePath, o.CachePath)
	}
	// Another size, another cache file; "-" disables the cache.
	if o2, err := LoadOmniglot(dir, OmniglotOptions{Size: 3, CacheDir: cacheDir}); err != nil || o2.Size != 3 ||
		!strings.Contains(filepath.Base(o2.CachePath), "omniglot-3-") || len(o2.Chars[0].Images[0]) != 9 {
		t.Errorf("size 3: %v", err)
	}
	before, _ := os.ReadDir(cacheDir)
	if o2, err := LoadOmniglot(dir, OmniglotOptions{Size: 5, CacheDir: "-"}); err != nil || o2.CachePath != "" || o2.FromCache {
		t.Errorf("CacheDir \"-\": %v, CachePath %q, FromCache %v", err, o2.CachePath, o2.FromCache)
	}
	if after, _ := os.ReadDir(cacheDir); len(after) != len(before) {
		t.Errorf("CacheDir \"-\" wrote to the cache dir")
	}
	// An unwritable cache does not fail the load.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if o2, err := LoadOmniglot(dir, OmniglotOptions{Size: 5, CacheDir: filepath.Join(blocker, "sub")}); err != nil || o2.CacheError == nil {
		t.Errorf("unwritable cache dir: err %v, CacheError %v; want nil and a cache error", err, o2.CacheError)
	} else {
		t.Logf("unwritable cache: %v", o2.CacheError)
	}
}

// TestLoadOmniglotDefaultCacheDir checks that an empty CacheDir uses
// os.UserCacheDir()/metagon (pointed into a temporary directory here).
func TestLoadOmniglotDefaultCacheDir(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	synthOmniglot(t, dir)
	t.Setenv("XDG_CACHE_HOME", home)
	t.Setenv("HOME", home)
	base, err := os.UserCacheDir()
	if err != nil || !strings.HasPrefix(base, home) {
		t.Skipf("os.UserCacheDir() = %q, %v does not follow XDG_CACHE_HOME/HOME on this platform", base, err)
	}
	o, err := LoadOmniglot(dir, OmniglotOptions{Size: 4})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(base, "metagon"); filepath.Dir(o.CachePath) != want {
		t.Errorf("cache path %s, want one in %s", o.CachePath, want)
	}
	if _, err := os.Stat(o.CachePath); err != nil {
		t.Error(err)
	}
}

func TestLoadOmniglotErrors(t *testing.T) {
	// check loads dir and wants an error containing every one of wants.
	check := func(t *testing.T, dir string, o OmniglotOptions, wants ...string) error {
		t.Helper()
		if o.CacheDir == "" {
			o.CacheDir = "-"
		}
		got, err := LoadOmniglot(dir, o)
		if err == nil {
			t.Fatalf("LoadOmniglot succeeded with %d characters; want an error", len(got.Chars))
		}
		if got != nil {
			t.Errorf("LoadOmniglot returned data with the error")
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
		t.Logf("error: %v", err)
		return err
	}
	synthDir := func(t *testing.T) string {
		d := t.TempDir()
		synthOmniglot(t, d)
		return d
	}
	pngName := "images_background/A/character01/0003_01.png"

	t.Run("missing dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "nope")
		err := check(t, dir, OmniglotOptions{}, "images_background.zip", "no directory", "scripts/download_omniglot.sh", "OMNIGLOT_DIR")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error is not fs.ErrNotExist: %v", err)
		}
	})
	t.Run("missing zip", func(t *testing.T) {
		dir := synthDir(t)
		os.Remove(filepath.Join(dir, "images_evaluation.zip"))
		err := check(t, dir, OmniglotOptions{}, filepath.Join(dir, "images_evaluation.zip"), "scripts/download_omniglot.sh")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error is not fs.ErrNotExist: %v", err)
		}
	})
	t.Run("not a zip", func(t *testing.T) {
		dir := synthDir(t)
		p := filepath.Join(dir, "images_background.zip")
		if err := os.WriteFile(p, []byte("<html>404: Not Found</html>\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		check(t, dir, OmniglotOptions{}, p, "is not a zip archive")
	})
	t.Run("empty file", func(t *testing.T) {
		dir := synthDir(t)
		p := filepath.Join(dir, "images_evaluation.zip")
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		check(t, dir, OmniglotOptions{}, p, "not a zip archive")
	})
	t.Run("truncated zip", func(t *testing.T) {
		dir := synthDir(t)
		p := filepath.Join(dir, "images_evaluation.zip")
		src := p
		if real, ok := OmniglotTestDir(); ok {
			src = filepath.Join(real, "images_evaluation.zip") // a truncated copy of the real zip
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		check(t, dir, OmniglotOptions{}, p, "truncated", "scripts/download_omniglot.sh")
	})
	t.Run("corrupt PNG", func(t *testing.T) {
		dir := synthDir(t)
		p := filepath.Join(dir, "images_background.zip")
		writeZip(t, p, []zipEntry{
			{name: "images_background/A/character01/0003_02.png", data: pngBytes(t, synthDrawing(3, 2))},
			{name: pngName, data: []byte("\x89PNG\r\n\x1a\nthis is not a png")},
		})
		check(t, dir, OmniglotOptions{}, p, "entry "+pngName, "corrupt PNG")
	})
	t.Run("cut-off PNG", func(t *testing.T) {
		dir := synthDir(t)
		p := filepath.Join(dir, "images_background.zip")
		full := pngBytes(t, synthDrawing(3, 1))
		writeZip(t, p, []zipEntry{{name: pngName, data: full[:len(full)-20]}})
		check(t, dir, OmniglotOptions{}, p, "entry "+pngName, "corrupt PNG")
	})
	t.Run("corrupt zip entry", func(t *testing.T) {
		dir := synthDir(t)
		p := filepath.Join(dir, "images_background.zip")
		data := pngBytes(t, synthDrawing(3, 1))
		writeZip(t, p, []zipEntry{{name: pngName, data: data, store: true}})
		b, _ := os.ReadFile(p)
		i := bytes.Index(b, data)
		if i < 0 {
			t.Fatal("stored entry not found in the zip")
		}
		b[i+len(data)/2] ^= 0xff
		os.WriteFile(p, b, 0o644)
		check(t, dir, OmniglotOptions{}, p, "entry "+pngName, "checksum")
	})
	t.Run("bad file name", func(t *testing.T) {
		dir := synthDir(t)
		p := filepath.Join(dir, "images_background.zip")
		name := "images_background/A/character01/drawing.png"
		writeZip(t, p, []zipEntry{{name: name, data: pngBytes(t, synthDrawing(3, 1))}})
		check(t, dir, OmniglotOptions{}, p, name, "IIII_DD.png")
	})
	t.Run("mixed ids in a folder", func(t *testing.T) {
		dir := synthDir(t)
		p := filepath.Join(dir, "images_background.zip")
		writeZip(t, p, []zipEntry{
			{name: pngName, data: pngBytes(t, synthDrawing(3, 1))},
			{name: "images_background/A/character01/0004_02.png", data: pngBytes(t, synthDrawing(3, 1))},
		})
		check(t, dir, OmniglotOptions{}, "0004", "0003")
	})
	t.Run("repeated id", func(t *testing.T) {
		dir := synthDir(t)
		p := filepath.Join(dir, "images_background.zip")
		writeZip(t, p, []zipEntry{
			{name: pngName, data: pngBytes(t, synthDrawing(3, 1))},
			{name: "images_background/B/character01/0003_01.png", data: pngBytes(t, synthDrawing(3, 1))},
		})
		check(t, dir, OmniglotOptions{}, "id 0003", "A/character01", "B/character01")
	})
	t.Run("repeated drawer", func(t *testing.T) {
		dir := synthDir(t)
		p := filepath.Join(dir, "images_background.zip")
		writeZip(t, p, []zipEntry{
			{name: pngName, data: pngBytes(t, synthDrawing(3, 1))},
			{name: "prefix/" + pngName, data: pngBytes(t, synthDrawing(3, 1))},
		})
		check(t, dir, OmniglotOptions{}, "both drawing 01")
	})
	t.Run("wrong layout", func(t *testing.T) {
		dir := synthDir(t)
		p := filepath.Join(dir, "images_evaluation.zip")
		writeZip(t, p, []zipEntry{{name: "images_background/A/character01/0003_01.png", data: pngBytes(t, synthDrawing(3, 1))}})
		check(t, dir, OmniglotOptions{}, p, "no entries images_evaluation/")
	})
	t.Run("size", func(t *testing.T) {
		dir := synthDir(t)
		check(t, dir, OmniglotOptions{Size: -1}, "image size -1")
		check(t, dir, OmniglotOptions{Size: MaxOmniglotSize + 1}, "out of range")
	})
}

func TestFindOmniglotDir(t *testing.T) {
	flagDir, envDir, dataDir := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(dataDir, "omniglot"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("OMNIGLOT_DIR", envDir)
	t.Setenv("METAGON_DATA", dataDir)
	if d, err := FindOmniglotDir(flagDir); err != nil || d != flagDir {
		t.Errorf("flag: %q, %v", d, err)
	}
	if _, err := FindOmniglotDir(filepath.Join(flagDir, "nope")); err == nil || !errors.Is(err, fs.ErrNotExist) ||
		!strings.Contains(err.Error(), "download_omniglot.sh") {
		t.Errorf("missing flag dir: %v", err)
	}
	if d, err := FindOmniglotDir(""); err != nil || d != envDir {
		t.Errorf("env: %q, %v", d, err)
	}
	t.Setenv("OMNIGLOT_DIR", "")
	if d, err := FindOmniglotDir(""); err != nil || d != filepath.Join(dataDir, "omniglot") {
		t.Errorf("METAGON_DATA: %q, %v", d, err)
	}
	t.Setenv("METAGON_DATA", "")
	_, err := FindOmniglotDir("")
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "$OMNIGLOT_DIR (unset)") ||
		!strings.Contains(err.Error(), "download_omniglot.sh") {
		t.Errorf("nothing set: %v", err)
	}
	def := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "metagon", "omniglot")
	if err := os.MkdirAll(def, 0o755); err != nil {
		t.Fatal(err)
	}
	if d, err := FindOmniglotDir(""); err != nil || d != def {
		t.Errorf("default: %q, %v; want %s", d, err, def)
	}
}

func TestOmniglotTestDir(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("OMNIGLOT_DIR", empty)
	if d, ok := OmniglotTestDir(); ok || d != empty {
		t.Errorf("OMNIGLOT_DIR without zips: %q, %v", d, ok)
	}
	synthOmniglot(t, empty)
	if d, ok := OmniglotTestDir(); !ok || d != empty {
		t.Errorf("OMNIGLOT_DIR with zips: %q, %v", d, ok)
	}
}

// ---------------------------------------------------------------------------
// The real data

func TestRealOmniglot(t *testing.T) {
	o, dir := realOmniglot(t)
	if o.Size != 28 {
		t.Fatalf("Size %d, want 28", o.Size)
	}
	for _, c := range []struct {
		set                    string
		alphabets, chars, imgs int
		ink                    float64 // fraction of black pixels at 105×105, from the data's README
	}{{"background", 30, 964, 19280, 0.0779}, {"evaluation", 20, 659, 13180, 0.0843}} {
		a, n, m := o.Counts(c.set)
		if a != c.alphabets || n != c.chars || m != c.imgs {
			t.Errorf("%s: %d alphabets, %d characters, %d images; want %d, %d, %d", c.set, a, n, m, c.alphabets, c.chars, c.imgs)
		}
		// The area filter preserves each image's mean, so the mean ink of
		// the 28×28 images is the README's fraction of black pixels,
		// which is given to 0.01 percentage points.
		var sum float64
		var cnt int
		for _, ch := range o.Chars {
			if ch.Set != c.set {
				continue
			}
			for _, im := range ch.Images {
				for _, v := range im {
					sum += float64(v)
				}
				cnt += len(im)
			}
		}
		mean := sum / float64(cnt)
		t.Logf("%s: mean ink %.5f (README: %.4f black pixels)", c.set, mean, c.ink)
		if math.Abs(mean-c.ink) > 0.00006 {
			t.Errorf("%s: mean ink %.5f, want %.4f ± 0.00005", c.set, mean, c.ink)
		}
	}
	alphabets := map[string]bool{}
	for i, c := range o.Chars {
		alphabets[c.Alphabet] = true
		if c.ID != i+1 {
			t.Fatalf("character %d has id %d, want %d", i, c.ID, i+1)
		}
		if (c.ID <= 964) != (c.Set == "background") {
			t.Errorf("character %04d is in set %s", c.ID, c.Set)
		}
		if len(c.Images) != 20 {
			t.Errorf("character %04d (%s) has %d drawings, want 20", c.ID, c.Name(), len(c.Images))
		}
		for j, im := range c.Images {
			if len(im) != 28*28 {
				t.Fatalf("character %04d image %d has %d pixels", c.ID, j, len(im))
			}
			for _, v := range im {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("character %04d image %d has value %v outside [0,1]", c.ID, j, v)
				}
			}
		}
	}
	if len(alphabets) != 50 {
		t.Errorf("%d alphabets, want 50", len(alphabets))
	}
	// Per-alphabet id ranges from the data's README.
	for _, c := range []struct {
		alphabet string
		first    int
		n        int
	}{{"Arcadian", 1, 26}, {"Latin", 683, 26}, {"Tifinagh", 910, 55}, {"Angelic", 965, 20}, {"ULOG", 1598, 26}} {
		for k := range c.n {
			ch := charByID(t, o, c.first+k)
			if want := fmt.Sprintf("character%02d", k+1); ch.Alphabet != c.alphabet || ch.Character != want {
				t.Errorf("id %04d is %s, want %s/%s", ch.ID, ch.Name(), c.alphabet, want)
			}
		}
	}
	// A known quirk: Braille character01's drawings 03 and 19 are the same file.
	br := charByID(t, o, 192)
	if br.Name() != "Braille/character01" || !slices.Equal(br.Images[2], br.Images[18]) {
		t.Errorf("%s: drawings 03 and 19 differ; they are identical files", br.Name())
	}
	if slices.Equal(br.Images[2], br.Images[3]) {
		t.Errorf("%s: drawings 03 and 04 are equal", br.Name())
	}

	// A few images against a direct decode: each 28×28 image is the exact
	// area average of the 105×105 PNG's ink, and has its mean. The mean
	// can differ only by float32 rounding of values ≤ 1 (at most 2^-25
	// each), so 2^-22 is a generous bound.
	zr, err := zip.OpenReader(filepath.Join(dir, "images_evaluation.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	checked := 0
	for _, f := range zr.File {
		name := f.Name
		var id, d int
		if _, err := fmt.Sscanf(filepath.Base(name), "%04d_%02d.png", &id, &d); err != nil || id%97 != 0 || d%7 != 1 {
			continue
		}
		img := decodeZipPNG(t, f)
		g, ok := img.(*image.Gray)
		if !ok || g.Rect.Dx() != 105 || g.Rect.Dy() != 105 {
			t.Fatalf("%s: %T %v, want a 105×105 *image.Gray", name, img, img.Bounds())
		}
		for _, v := range g.Pix {
			if v != 0 && v != 255 {
				t.Fatalf("%s: grey value %d in a 1-bit image", name, v)
			}
		}
		in := inkValues(g)
		got := charByID(t, o, id).Images[d-1]
		if diff := maxDiff(got, refBox(in, 105, 105, 28)); diff > 1e-6 {
			t.Errorf("%s: max difference %g from the exact area average", name, diff)
		}
		var full, small float64
		for _, v := range in {
			full += v
		}
		for _, v := range got {
			small += float64(v)
		}
		full /= float64(len(in))
		small /= float64(len(got))
		if math.Abs(full-small) > 0x1p-22 {
			t.Errorf("%s: mean ink %v at 105×105, %v at 28×28", name, full, small)
		}
		checked++
	}
	if checked < 10 {
		t.Errorf("checked only %d images against a direct decode", checked)
	}
	t.Logf("checked %d images against a direct decode", checked)
}

func TestRealOmniglotCache(t *testing.T) {
	shared, dir := realOmniglot(t)
	cacheDir := t.TempDir()
	opts := OmniglotOptions{CacheDir: cacheDir}

	t0 := time.Now()
	first, err := LoadOmniglot(dir, opts)
	tFirst := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	second, err := LoadOmniglot(dir, opts)
	tSecond := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(first.CachePath)
	t.Logf("first load (decode + write cache) %v, cached load %v; cache file %s, %d bytes; shared decode without cache %v",
		tFirst, tSecond, first.CachePath, st.Size(), realOmniglotOnce.dur)
	if first.FromCache || first.CacheError != nil || !second.FromCache || second.CacheError != nil {
		t.Fatalf("FromCache %v, %v; CacheError %v, %v", first.FromCache, second.FromCache, first.CacheError, second.CacheError)
	}
	// The speed of a cached load is a benchmark (BenchmarkOmniglotCachedLoad),
	// not a timed assertion: CI machines are shared and noisy.
	if d := sameImages(first, second); d != "" {
		t.Errorf("cached data differ: %s", d)
	}
	if d := sameImages(shared, second); d != "" {
		t.Errorf("cached data differ from an uncached load: %s", d)
	}

	// A corrupted copy of the cache is detected.
	b, err := os.ReadFile(first.CachePath)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	bad := filepath.Join(t.TempDir(), "bad.bin")
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readOmniglotCache(bad, 28); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("corrupted cache: %v, want a checksum error", err)
	}
	if _, err := readOmniglotCache(first.CachePath, 32); err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("cache of another size: %v, want an image size error", err)
	}
}

// ---------------------------------------------------------------------------
// Splits and rotations

func TestClassImageRotation(t *testing.T) {
	// numpy.rot90([[1, 2], [3, 4]]) == [[2, 4], [1, 3]] (counterclockwise).
	ch := &OmniglotChar{Images: [][]float32{{1, 2, 3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9}}}
	for _, c := range []struct {
		rot  int
		img  int
		want []float32
	}{
		{0, 0, []float32{1, 2, 3, 4}},
		{90, 0, []float32{2, 4, 1, 3}},
		{180, 0, []float32{4, 3, 2, 1}},
		{270, 0, []float32{3, 1, 4, 2}},
		{90, 1, []float32{3, 6, 9, 2, 5, 8, 1, 4, 7}},
		{270, 1, []float32{7, 4, 1, 8, 5, 2, 9, 6, 3}},
	} {
		dst := make([]float32, len(c.want)+1)
		dst[len(c.want)] = -1
		Class{ch, c.rot}.Image(c.img, dst)
		if !slices.Equal(dst[:len(c.want)], c.want) || dst[len(c.want)] != -1 {
			t.Errorf("rotation %d of image %d = %v, want %v", c.rot, c.img, dst, c.want)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("rotation 45 did not panic")
			}
		}()
		Class{ch, 45}.Image(0, make([]float32, 4))
	}()
}

func TestRealOmniglotSplit(t *testing.T) {
	o, _ := realOmniglot(t)
	chars := func(cs []Class) map[int]bool {
		m := map[int]bool{}
		for _, c := range cs {
			m[c.Char.ID] = true
		}
		return m
	}
	for _, c := range []struct {
		name                 string
		rotations            bool
		train, test          int
		trainChars, testChar int
	}{
		{"background", true, 3856, 2636, 964, 659},
		{"background", false, 964, 659, 964, 659},
		{"vinyals", true, 4800, 1692, 1200, 423},
		{"vinyals", false, 1200, 423, 1200, 423},
	} {
		train, test, err := o.Split(c.name, c.rotations)
		if err != nil {
			t.Fatal(err)
		}
		if len(train) != c.train || len(test) != c.test {
			t.Errorf("%s rotations=%v: %d train, %d test classes; want %d, %d", c.name, c.rotations, len(train), len(test), c.train, c.test)
		}
		tr, te := chars(train), chars(test)
		if len(tr) != c.trainChars || len(te) != c.testChar {
			t.Errorf("%s rotations=%v: %d train, %d test characters; want %d, %d", c.name, c.rotations, len(tr), len(te), c.trainChars, c.testChar)
		}
		for id := range tr {
			if te[id] {
				t.Errorf("%s: character %04d is in train and test", c.name, id)
			}
		}
		for k, cl := range append(train, test...) {
			want := 0
			if c.rotations {
				want = 90 * (k % 4)
			}
			if cl.Rotation != want {
				t.Fatalf("%s: class %d has rotation %d, want %d", c.name, k, cl.Rotation, want)
			}
		}
		if c.name == "background" {
			for _, cl := range train {
				if cl.Char.Set != "background" {
					t.Fatalf("background split trains on %s", cl)
				}
			}
		}
		train2, test2, _ := o.Split(c.name, c.rotations)
		if !slices.Equal(train, train2) || !slices.Equal(test, test2) {
			t.Errorf("%s: Split is not deterministic", c.name)
		}
	}
	// The vinyals split mixes the sets and is pinned: a change of the
	// shuffle would silently change every result quoted on it.
	train, test, _ := o.Split("vinyals", false)
	var bgTest int
	for _, c := range test {
		if c.Char.Set == "background" {
			bgTest++
		}
	}
	if bgTest < 150 || bgTest > 330 { // 423·964/1623 ≈ 251 expected
		t.Errorf("vinyals test set holds %d background characters, want about 251", bgTest)
	}
	firstTest := []int{}
	for _, c := range test[:5] {
		firstTest = append(firstTest, c.Char.ID)
	}
	t.Logf("vinyals split: %d train, %d test characters, %d of them from the background set; lowest test ids %v",
		len(train), len(test), bgTest, firstTest)
	if want := []int{8, 10, 15, 19, 34}; bgTest != 248 || !slices.Equal(firstTest, want) {
		t.Errorf("vinyals split changed: %d background test characters, lowest test ids %v; want 248, %v", bgTest, firstTest, want)
	}

	if _, _, err := o.Split("lake", true); err == nil || !strings.Contains(err.Error(), `"background"`) ||
		!strings.Contains(err.Error(), `"vinyals"`) {
		t.Errorf("unknown split: %v; want an error listing the valid names", err)
	}

	// Rotating by 90° four times is the identity; 90 twice is 180, three
	// times 270.
	s := o.Size
	rot90 := func(src []float32) []float32 {
		dst := make([]float32, len(src))
		Class{&OmniglotChar{Images: [][]float32{src}}, 90}.Image(0, dst)
		return dst
	}
	for _, id := range []int{1, 500, 1623} {
		c := charByID(t, o, id)
		for _, d := range []int{0, 19} {
			orig := c.Images[d]
			r := orig
			for k := 1; k <= 4; k++ {
				r = rot90(r)
				want := make([]float32, s*s)
				if k < 4 {
					Class{c, 90 * k}.Image(d, want)
				} else {
					copy(want, orig)
				}
				if !slices.Equal(r, want) {
					t.Errorf("character %04d drawing %d: 90° applied %d times differs from rotation %d", id, d, k, 90*k%360)
				}
			}
			if slices.Equal(rot90(orig), orig) {
				t.Errorf("character %04d drawing %d is unchanged by a 90° rotation", id, d)
			}
		}
	}
}

func TestSplitSynthetic(t *testing.T) {
	dir := t.TempDir()
	synthOmniglot(t, dir)
	o, err := LoadOmniglot(dir, OmniglotOptions{Size: 4, CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := o.Split("background", true)
	if err != nil || len(train) != 16 || len(test) != 12 {
		t.Errorf("background: %d, %d, %v; want 16, 12", len(train), len(test), err)
	}
	if _, _, err := o.Split("vinyals", true); err == nil || !strings.Contains(err.Error(), "1200") {
		t.Errorf("vinyals on 7 characters: %v", err)
	}
	o.Chars = o.Chars[:4] // background only
	if _, _, err := o.Split("background", false); err == nil {
		t.Error("background split without evaluation characters succeeded")
	}
}

// ---------------------------------------------------------------------------
// Episodes

// synthClasses returns n classes of characters with m drawings of s×s
// pixels each, whose pixel p of drawing d of class c is c·10000 + d·100 + p
// (so an image tells its class and drawing), one class per character.
func synthClasses(n, m, s int) []Class {
	out := make([]Class, n)
	for c := range n {
		ch := &OmniglotChar{Set: "background", Alphabet: "S", Character: fmt.Sprintf("character%02d", c+1), ID: c + 1}
		for d := range m {
			im := make([]float32, s*s)
			for p := range im {
				im[p] = float32(c*10000 + d*100 + p)
			}
			ch.Images = append(ch.Images, im)
		}
		out[c] = Class{Char: ch}
	}
	return out
}

// checkEpisode checks the structure of e against the sampler's options.
func checkEpisode(t *testing.T, s *Sampler[Class], e *Episode[Class]) {
	t.Helper()
	o := s.Options()
	n, k, q, d := o.Ways, o.Shots, o.Queries, s.Size()*s.Size()
	if e.Ways != n || e.Shots != k || e.Queries != q || e.Size != s.Size() {
		t.Fatalf("episode shape %d/%d/%d size %d, want %d/%d/%d size %d", e.Ways, e.Shots, e.Queries, e.Size, n, k, q, s.Size())
	}
	if len(e.SupportX) != n*k*d || len(e.SupportY) != n*k || len(e.QueryX) != n*q*d || len(e.QueryY) != n*q ||
		len(e.Classes) != n || len(e.SupportDrawings) != n*k || len(e.QueryDrawings) != n*q {
		t.Fatalf("episode lengths %d %d %d %d %d %d %d", len(e.SupportX), len(e.SupportY), len(e.QueryX), len(e.QueryY),
			len(e.Classes), len(e.SupportDrawings), len(e.QueryDrawings))
	}
	seen := map[Class]bool{}
	for _, c := range e.Classes {
		if seen[c] {
			t.Fatalf("class %s appears twice", c)
		}
		seen[c] = true
	}
	img := make([]float32, d)
	for l, c := range e.Classes {
		used := map[int]bool{}
		for j := range k {
			at := l*k + j
			if e.SupportY[at] != float64(l) {
				t.Fatalf("SupportY[%d] = %v, want %d", at, e.SupportY[at], l)
			}
			dr := e.SupportDrawings[at]
			if used[dr] {
				t.Fatalf("label %d uses drawing %d twice", l, dr)
			}
			used[dr] = true
			c.Image(dr, img)
			if !slices.Equal(e.SupportX[at*d:(at+1)*d], img) {
				t.Fatalf("support image %d is not drawing %d of %s", at, dr, c)
			}
		}
		for j := range q {
			at := l*q + j
			if e.QueryY[at] != float64(l) {
				t.Fatalf("QueryY[%d] = %v, want %d", at, e.QueryY[at], l)
			}
			dr := e.QueryDrawings[at]
			if used[dr] {
				t.Fatalf("label %d uses drawing %d twice (support and query must be disjoint)", l, dr)
			}
			used[dr] = true
			c.Image(dr, img)
			if !slices.Equal(e.QueryX[at*d:(at+1)*d], img) {
				t.Fatalf("query image %d is not drawing %d of %s", at, dr, c)
			}
		}
	}
}

// sameEpisode reports whether a and b hold the same episode.
func sameEpisode(a, b *Episode[Class]) bool {
	return slices.Equal(a.SupportX, b.SupportX) && slices.Equal(a.QueryX, b.QueryX) &&
		slices.Equal(a.SupportY, b.SupportY) && slices.Equal(a.QueryY, b.QueryY) &&
		slices.Equal(a.Classes, b.Classes) && slices.Equal(a.SupportDrawings, b.SupportDrawings) &&
		slices.Equal(a.QueryDrawings, b.QueryDrawings)
}

func TestSamplerErrors(t *testing.T) {
	classes := synthClasses(10, 20, 2)
	for _, c := range []struct {
		classes []Class
		o       EpisodeOptions
		want    string
	}{
		{classes, EpisodeOptions{0, 1, 1}, "ways must be at least 1, got 0"},
		{classes, EpisodeOptions{5, 0, 1}, "shots must be at least 1, got 0"},
		{classes, EpisodeOptions{5, 1, -1}, "queries must be at least 0, got -1"},
		{nil, EpisodeOptions{5, 1, 1}, "no classes"},
		{classes, EpisodeOptions{11, 1, 1}, "cannot sample 11-way episodes from 10 classes"},
		{classes, EpisodeOptions{5, 15, 10}, "a class has 20 drawings: 15 shots + 10 queries is too many"},
		{append(slices.Clone(classes), Class{Char: &OmniglotChar{Alphabet: "X", Character: "c", ID: 99,
			Images: make([][]float32, 3)}}), EpisodeOptions{5, 1, 1}, "not a square"},
		{append(slices.Clone(classes), Class{Char: classes[0].Char, Rotation: 45}), EpisodeOptions{5, 1, 1}, "rotation 45"},
		{append(slices.Clone(classes), Class{}), EpisodeOptions{5, 1, 1}, "no character"},
		{append(slices.Clone(classes), synthClasses(1, 20, 3)...), EpisodeOptions{5, 1, 1}, "3×3, others are 2×2"},
		{append(slices.Clone(classes), synthClasses(1, 5, 2)...), EpisodeOptions{5, 3, 3}, "class 10 (S/character01 (0001) rot 0) has only 5 drawings: 3 shots + 3 queries is too many"},
	} {
		s, err := NewSampler(c.classes, c.o, 1)
		if err == nil || s != nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("NewSampler(%d classes, %+v) = %v, %v; want a one-line error containing %q", len(c.classes), c.o, s, err, c.want)
		}
	}
	if s, err := NewSampler(classes, EpisodeOptions{10, 10, 10}, 1); err != nil || s.NumClasses() != 10 {
		t.Errorf("10-way 10-shot 10-query from 10 classes of 20: %v", err)
	}
}

func TestSamplerSynthetic(t *testing.T) {
	classes := synthClasses(12, 20, 3)
	// Rotated copies make Class values with equal characters but different rotations.
	for _, c := range classes[:4] {
		classes = append(classes, Class{c.Char, 90}, Class{c.Char, 270})
	}
	o := EpisodeOptions{Ways: 5, Shots: 2, Queries: 3}
	s, err := NewSampler(classes, o, 42)
	if err != nil {
		t.Fatal(err)
	}
	if s.Size() != 3 || s.NumClasses() != 20 || s.Seed() != 42 || s.Options() != o {
		t.Errorf("Size %d NumClasses %d Seed %d Options %+v", s.Size(), s.NumClasses(), s.Seed(), s.Options())
	}
	const episodes = 4000
	classCount := map[Class]int{}
	labelOf := map[Class][5]int{}
	drawCount := make([]int, 20)
	var e Episode[Class]
	for i := range uint64(episodes) {
		s.Fill(i, &e)
		checkEpisode(t, s, &e)
		for l, c := range e.Classes {
			classCount[c]++
			lc := labelOf[c]
			lc[l]++
			labelOf[c] = lc
		}
		for _, d := range e.SupportDrawings {
			drawCount[d]++
		}
		for _, d := range e.QueryDrawings {
			drawCount[d]++
		}
	}
	// Uniformity: each of the 20 classes is drawn with probability 5/20,
	// each drawing with probability 5/20 per class; allow 5 standard
	// deviations.
	check := func(what string, counts []int, p float64, trials int) {
		mean := p * float64(trials)
		sd := math.Sqrt(float64(trials) * p * (1 - p))
		for i, n := range counts {
			if math.Abs(float64(n)-mean) > 5*sd {
				t.Errorf("%s %d drawn %d times, want %.0f ± %.0f", what, i, n, mean, 5*sd)
			}
		}
	}
	var cc []int
	for _, c := range classes {
		cc = append(cc, classCount[c])
	}
	check("class", cc, 5.0/20, episodes)
	check("drawing", drawCount, 5.0/20, episodes*5)
	// Labels are assigned in random order: every class gets every label.
	for c, lc := range labelOf {
		check("label of "+c.String()+":", lc[:], 1.0/20, episodes)
	}

	// Determinism and independence of the index.
	a, b := s.Episode(7), s.Episode(7)
	if !sameEpisode(&a, &b) {
		t.Error("Episode(7) differs between calls")
	}
	s.Fill(7, &e)
	if !sameEpisode(&a, &e) {
		t.Error("Fill(7) into a used Episode differs from Episode(7)")
	}
	if c := s.Episode(8); sameEpisode(&a, &c) {
		t.Error("episodes 7 and 8 are equal")
	}
	s2, _ := NewSampler(classes, o, 43)
	if c := s2.Episode(7); sameEpisode(&a, &c) {
		t.Error("seeds 42 and 43 give the same episode 7")
	}
	s3, _ := NewSampler(classes, o, 42)
	if c := s3.Episode(7); !sameEpisode(&a, &c) {
		t.Error("two samplers with seed 42 give different episodes 7")
	}
	// The sampler copies the classes.
	classes[0], classes[1] = classes[1], classes[0]
	if c := s.Episode(7); !sameEpisode(&a, &c) {
		t.Error("changing the caller's class slice changed the episodes")
	}

	// Fill allocates nothing in steady state.
	if n := testing.AllocsPerRun(100, func() { s.Fill(9, &e) }); n != 0 {
		t.Errorf("Fill allocates %v times per call", n)
	}

	// Task64.
	sx, sy, qx, qy := a.Task64()
	if len(sx) != len(a.SupportX) || len(qx) != len(a.QueryX) || !slices.Equal(sy, a.SupportY) || !slices.Equal(qy, a.QueryY) {
		t.Fatal("Task64 lengths or labels differ")
	}
	for i, v := range a.SupportX {
		if sx[i] != float64(v) {
			t.Fatalf("Task64 support pixel %d = %v, want %v", i, sx[i], v)
		}
	}
	for i, v := range a.QueryX {
		if qx[i] != float64(v) {
			t.Fatalf("Task64 query pixel %d = %v, want %v", i, qx[i], v)
		}
	}
	sy[0] = -1
	if a.SupportY[0] == -1 {
		t.Error("Task64 labels alias the episode's")
	}
	if n := testing.AllocsPerRun(20, func() { sx, sy, qx, qy = a.Task64Into(sx, sy, qx, qy) }); n != 0 {
		t.Errorf("Task64Into allocates %v times per call", n)
	}

	// Zero queries.
	s0, err := NewSampler(classes, EpisodeOptions{Ways: 3, Shots: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	e0 := s0.Episode(0)
	checkEpisode(t, s0, &e0)
	if len(e0.QueryX) != 0 {
		t.Errorf("0-query episode has %d query pixels", len(e0.QueryX))
	}
}

// TestSamplerPinned pins a few draws, so that a change of the sampling
// algorithm (which would silently change every episode of a fixed
// evaluation set) is noticed.
func TestSamplerPinned(t *testing.T) {
	s, err := NewSampler(synthClasses(100, 20, 1), EpisodeOptions{Ways: 5, Shots: 1, Queries: 1}, 2017)
	if err != nil {
		t.Fatal(err)
	}
	e := s.Episode(3)
	var got []int
	for l, c := range e.Classes {
		got = append(got, c.Char.ID, e.SupportDrawings[l], e.QueryDrawings[l])
	}
	t.Logf("episode 3 (id, support drawing, query drawing per label): %v", got)
	if want := pinnedEpisode3; !slices.Equal(got, want) {
		t.Errorf("episode 3 = %v, want %v", got, want)
	}
}

var pinnedEpisode3 = []int{53, 5, 0, 78, 13, 12, 89, 5, 13, 42, 0, 19, 84, 3, 19}

func TestRealOmniglotEpisodes(t *testing.T) {
	o, _ := realOmniglot(t)
	train, test, err := o.Split("background", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSampler(train, EpisodeOptions{Ways: 4000, Shots: 1, Queries: 1}, 1); err == nil ||
		err.Error() != "episode sampler: cannot sample 4000-way episodes from 3856 classes" {
		t.Errorf("4000-way: %v", err)
	}
	if _, err := NewSampler(test, EpisodeOptions{Ways: 5, Shots: 15, Queries: 10}, 1); err == nil ||
		err.Error() != "episode sampler: a class has 20 drawings: 15 shots + 10 queries is too many" {
		t.Errorf("15 shots + 10 queries: %v", err)
	}
	for _, c := range []struct {
		classes []Class
		o       EpisodeOptions
	}{
		{train, EpisodeOptions{Ways: 60, Shots: 5, Queries: 5}}, // Snell et al.'s training episodes
		{test, EpisodeOptions{Ways: 5, Shots: 1, Queries: 15}},
		{test, EpisodeOptions{Ways: 20, Shots: 5, Queries: 15}},
	} {
		s, err := NewSampler(c.classes, c.o, 7)
		if err != nil {
			t.Fatal(err)
		}
		var e Episode[Class]
		t0 := time.Now()
		const n = 20
		for i := range uint64(n) {
			s.Fill(i, &e)
			checkEpisode(t, s, &e)
			for _, v := range e.SupportX {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("pixel value %v", v)
				}
			}
		}
		t.Logf("%d-way %d-shot %d-query from %d classes: %v per episode (with checks)",
			c.o.Ways, c.o.Shots, c.o.Queries, len(c.classes), time.Since(t0)/n)
	}
}

// BenchmarkOmniglotCachedLoad times a load of both Omniglot sets from the
// decoded cache (the goal: well under a second; a first load decodes 32,460
// PNGs and takes a few seconds).
func BenchmarkOmniglotCachedLoad(b *testing.B) {
	dir, ok := OmniglotTestDir()
	if !ok {
		b.Skip("Omniglot not found: run scripts/download_omniglot.sh and set OMNIGLOT_DIR")
	}
	opts := OmniglotOptions{CacheDir: b.TempDir()}
	if _, err := LoadOmniglot(dir, opts); err != nil { // writes the cache
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o, err := LoadOmniglot(dir, opts)
		if err != nil || !o.FromCache {
			b.Fatalf("cached load: %v (from cache %v)", err, o != nil && o.FromCache)
		}
	}
}
