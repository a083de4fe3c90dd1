package data

import (
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// MiniImageNetTestDir finds mini-ImageNet for tests: $MINIIMAGENET_DIR if
// it is set and holds the layout (train.csv, val.csv, test.csv and
// images/), else a directory shared/data/mini-imagenet above the working
// directory that holds it. ok is false if none does; dir is then the
// $MINIIMAGENET_DIR it rejected, or "". As with CIFAR, CI has no copy
// (the images cannot be downloaded from a stable official address), so
// tests of the real data skip without it even under CI=true; the reader
// is tested on small folders the tests write.
func MiniImageNetTestDir() (dir string, ok bool) { return miniSet.testDir(hasMiniImageNet) }

// hasMiniImageNet reports whether dir holds the three CSVs as regular
// files and an images/ directory.
func hasMiniImageNet(dir string) bool {
	for _, s := range MiniImageNetSplits {
		st, err := os.Stat(filepath.Join(dir, s+".csv"))
		if err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return isDir(filepath.Join(dir, "images"))
}

// WriteSyntheticMiniImageNet writes a small mini-ImageNet into dir, in the
// layout LoadMiniImageNet reads, for tests: classes[s] classes of perClass
// images listed by the CSV of MiniImageNetSplits[s], labelled n90000000,
// n90000001, ... (WordNet ids of no class of mini-ImageNet), image j of
// class n9000000k in images/n9000000k%08d.png, named as Ravi &
// Larochelle's files are. Each image is an RGB PNG of bytes drawn from a
// PCG seeded with seed (channel c from [0, 256−64c), so that the
// channels differ); images 0, 3, 6, ... of a class are 84×84, the others
// 30×21 or 100×90, so that loading resizes them.
func WriteSyntheticMiniImageNet(dir string, classes [3]int, perClass int, seed uint64) error {
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		return fmt.Errorf("synthetic mini-imagenet: %w", err)
	}
	r := rand.New(rand.NewPCG(seed, 84))
	label := 0
	for s, n := range classes {
		var rows []string
		for range n {
			wnid := fmt.Sprintf("n%08d", 90000000+label)
			label++
			for j := range perClass {
				w, h := [3]int{84, 30, 100}[j%3], [3]int{84, 21, 90}[j%3]
				file := fmt.Sprintf("%s%08d.png", wnid, j)
				if err := writePNG(filepath.Join(dir, "images", file), randomRGB(r, w, h)); err != nil {
					return fmt.Errorf("synthetic mini-imagenet: %w", err)
				}
				rows = append(rows, file+","+wnid)
			}
		}
		if err := writeMiniImageNetCSV(dir, MiniImageNetSplits[s], rows); err != nil {
			return fmt.Errorf("synthetic mini-imagenet: %w", err)
		}
	}
	return nil
}

// writeMiniImageNetCSV writes DIR/<split>.csv: the header, then rows, one
// a line, each ending in "\n".
func writeMiniImageNetCSV(dir, split string, rows []string) error {
	text := miniImageNetHeader + "\n" + strings.Join(rows, "\n") + "\n"
	return os.WriteFile(filepath.Join(dir, split+".csv"), []byte(text), 0o644)
}

// randomRGB returns a w×h opaque image of bytes drawn from r, channel c
// from [0, 256−64c).
func randomRGB(r *rand.Rand, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		for c := range 3 {
			img.Pix[i+c] = uint8(r.IntN(256 - 64*c))
		}
		img.Pix[i+3] = 0xff
	}
	return img
}

// writePNG writes img to path as a PNG.
func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}
