package data

import (
	"archive/zip"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLanczosMatchesPillow compares lanczosResizer with Pillow on the
// drawings in the file $METAGON_PIL_CASE, written by
// scripts/pil_lanczos_case.py (scripts/crosscheck_pil.sh runs both). It
// skips without that variable, so the suite does not need Pillow.
func TestLanczosMatchesPillow(t *testing.T) {
	path := os.Getenv("METAGON_PIL_CASE")
	if path == "" {
		t.Skip("METAGON_PIL_CASE not set: run scripts/crosscheck_pil.sh")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Entry string
		Size  int
		Grey  []int
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(filepath.Join(OmniglotDirOrSkip(t), "images_evaluation.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	r, pixels, off := newLanczosResizer(), 0, 0
	for _, c := range cases {
		img := zipPNG(t, &zr.Reader, c.Entry)
		got := make([]float32, c.Size*c.Size)
		r.resizeImage(img, got, c.Size)
		for i, g := range c.Grey {
			pixels++
			if want := 1 - float32(g)/255; got[i] != want {
				off++
				if off <= 5 {
					t.Errorf("%s pixel %d: ink %v, Pillow %v (grey %d)", c.Entry, i, got[i], want, g)
				}
			}
		}
	}
	if off > 0 || len(cases) == 0 {
		t.Fatalf("%d of %d pixels differ from Pillow (%d drawings)", off, pixels, len(cases))
	}
	t.Logf("all %d pixels of %d drawings match Pillow's LANCZOS at %d×%d", pixels, len(cases), cases[0].Size, cases[0].Size)
}

// zipPNG decodes the PNG entry name of z.
func zipPNG(t *testing.T, z *zip.Reader, name string) image.Image {
	t.Helper()
	for _, f := range z.File {
		if f.Name == name {
			return decodeZipPNG(t, f)
		}
	}
	t.Fatalf("no entry %s", name)
	return nil
}

// decodeZipPNG decodes the PNG in zip entry f.
func decodeZipPNG(t *testing.T, f *zip.File) image.Image {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	img, err := png.Decode(rc)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return img
}

// TestLanczosProperties: the Lanczos filter keeps an image of its own
// size unchanged (its taps are then 1 at the pixel and 0 at the other
// integers), keeps flat images flat, and its weights sum to one in fixed
// point; on real drawings it keeps the amount of ink of the area filter
// within 5%, but not its pixels.
func TestLanczosProperties(t *testing.T) {
	for _, nm := range [][2]int{{105, 28}, {105, 84}, {28, 28}, {20, 7}, {7, 20}} {
		taps := newLanczosTaps(nm[0], nm[1])
		for o, k := range taps.k {
			var sum int64
			for _, v := range k {
				sum += int64(v)
			}
			// each tap is rounded on its own: at most half a unit each
			if d := sum - 1<<pilPrecisionBits; d < -int64(len(k)) || d > int64(len(k)) {
				t.Errorf("%d→%d: taps of output %d sum to 2^22%+d", nm[0], nm[1], o, d)
			}
		}
	}

	const n = 23
	g := image.NewGray(image.Rect(0, 0, n, n))
	for i := range g.Pix {
		g.Pix[i] = uint8((i * 37) % 256)
	}
	r := newLanczosResizer()
	same := make([]float32, n*n)
	r.resizeImage(g, same, n)
	for i, v := range g.Pix {
		if want := 1 - float32(v)/255; same[i] != want {
			t.Fatalf("%d×%d → %d×%d: pixel %d is %v, want %v unchanged", n, n, n, n, i, same[i], want)
		}
	}
	for _, grey := range []uint8{0, 255, 77} {
		for i := range g.Pix {
			g.Pix[i] = grey
		}
		out := make([]float32, 5*5)
		r.resizeImage(g, out, 5)
		for i, v := range out {
			if want := 1 - float32(grey)/255; v != want {
				t.Fatalf("flat grey %d: pixel %d is %v, want %v", grey, i, v, want)
			}
		}
	}

	dir := OmniglotDirOrSkip(t)
	zr, err := zip.OpenReader(filepath.Join(dir, "images_background.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	box := newBoxResizer()
	var inkArea, inkLanczos float64
	var drawings, differ int
	for i, f := range zr.File {
		if filepath.Ext(f.Name) != ".png" || i%53 != 0 {
			continue
		}
		img := decodeZipPNG(t, f)
		a, l := make([]float32, 28*28), make([]float32, 28*28)
		box.resizeImage(img, a, 28)
		r.resizeImage(img, l, 28)
		drawings++
		for k, v := range a {
			inkArea += float64(v)
			inkLanczos += float64(l[k])
			if l[k] < 0 || l[k] > 1 {
				t.Fatalf("%s: lanczos ink %v out of [0, 1]", f.Name, l[k])
			}
			if math.Abs(float64(v-l[k])) > 1e-3 {
				differ++
			}
		}
	}
	if rel := math.Abs(inkLanczos-inkArea) / inkArea; drawings < 100 || rel > 0.05 || differ == 0 {
		t.Errorf("ink of %d drawings: lanczos %.1f, area %.1f (relative difference %.3f, want ≤ 0.05); %d pixels differ by > 1e-3 (want some)",
			drawings, inkLanczos, inkArea, rel, differ)
	}
	if _, err := LoadOmniglot(dir, OmniglotOptions{Filter: "bicubic"}); err == nil || !strings.Contains(err.Error(), `"bicubic"`) {
		t.Errorf("unknown filter: error %v, want one naming it", err)
	}
}
