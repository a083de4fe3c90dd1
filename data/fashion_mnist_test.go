package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindSystemDir: a data set a system package installs is found in
// the package's folder after everything else, and the error for a missing
// one names the package beside the script.
func TestFindSystemDir(t *testing.T) {
	root := t.TempDir()
	system := filepath.Join(root, "usr-share")
	set := dataSet{Name: "demo", Env: "DEMO_DIR", Sub: "demo", Script: "download_demo.sh",
		System: []string{system}, Package: "Debian's dataset-demo"}
	t.Setenv("DEMO_DIR", "")
	t.Setenv("METAGON_DATA", "")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(root, "cache"))
	_, err := set.find("")
	if err == nil || !strings.Contains(err.Error(), system+" (from Debian's dataset-demo)") ||
		!strings.Contains(err.Error(), "scripts/download_demo.sh") || !strings.Contains(err.Error(), "or install Debian's dataset-demo") {
		t.Errorf("nothing installed: %v", err)
	}
	if err := os.Mkdir(system, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := set.find(""); err != nil || got != system {
		t.Errorf("find() = %q, %v; want the system folder %s", got, err, system)
	}
	// the script's default folder comes before the system's
	def := filepath.Join(root, "cache", "metagon", "demo")
	if err := os.MkdirAll(def, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := set.find(""); err != nil || got != def {
		t.Errorf("find() = %q, %v; want the download folder %s", got, err, def)
	}
	// and $DEMO_DIR before both
	env := t.TempDir()
	t.Setenv("DEMO_DIR", env)
	if got, err := set.find(""); err != nil || got != env {
		t.Errorf("find() = %q, %v; want $DEMO_DIR %s", got, err, env)
	}
	if got, ok := set.testDir(func(d string) bool { return d == system }); ok || got != env {
		t.Errorf("testDir with $DEMO_DIR lacking the files = %q, %v; want %q, false", got, ok, env)
	}
	t.Setenv("DEMO_DIR", "")
	if got, ok := set.testDir(func(d string) bool { return d == system }); !ok || got != system {
		t.Errorf("testDir() = %q, %v; want the system folder", got, ok)
	}
}

// TestRealFashionMNIST loads Fashion-MNIST as the tools find it (Debian's
// dataset-fashion-mnist installs it in DebianFashionMNISTDir): 60,000 and
// 10,000 images of 28×28, every class 6,000 and 1,000 times (the data
// set's README), pixel mean near the 0.2860 commonly quoted for its
// training images.
func TestRealFashionMNIST(t *testing.T) {
	dir := FashionMNISTDirOrSkip(t)
	if got, err := FindFashionMNISTDir(dir); err != nil || got != dir {
		t.Errorf("FindFashionMNISTDir(%q) = %q, %v", dir, got, err)
	}
	for _, tc := range []struct {
		split string
		n     int
	}{{"train", 60_000}, {"t10k", 10_000}} {
		m, err := LoadFashionMNIST(dir, tc.split)
		if err != nil {
			t.Fatal(err)
		}
		if m.N != tc.n || m.Rows != 28 || m.Cols != 28 {
			t.Fatalf("%s: %d images of %d×%d, want %d of 28×28", tc.split, m.N, m.Rows, m.Cols, tc.n)
		}
		var count [10]int
		for _, l := range m.Labels {
			count[l]++
		}
		for c, k := range count {
			if k != tc.n/10 {
				t.Errorf("%s: class %d (%s) has %d images, want %d", tc.split, c, FashionMNISTClasses[c], k, tc.n/10)
			}
		}
		var sum float64
		for _, p := range m.Images {
			sum += float64(p)
		}
		mean := sum / float64(len(m.Images))
		t.Logf("%s: %d images, pixel mean %.4f", tc.split, m.N, mean)
		if mean < 0.28 || mean > 0.29 {
			t.Errorf("%s: pixel mean %.4f, want about 0.286", tc.split, mean)
		}
	}
	if _, err := LoadFashionMNIST(dir, "valid"); err == nil || !strings.HasPrefix(err.Error(), "load fashion-mnist: unknown split") {
		t.Errorf("unknown split: %v", err)
	}
}
