package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDownloadHintsSayWhereScriptsAre checks that every "data not found"
// error names the download script, says that it is in the metagon source
// repository (a user who ran go install has no scripts/ directory), names
// the environment variable to set, and stays one line.
func TestDownloadHintsSayWhereScriptsAre(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	notZip := t.TempDir()
	for _, set := range OmniglotSets {
		if err := os.WriteFile(filepath.Join(notZip, "images_"+set+".zip"), []byte("<html>404</html>"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("MNIST_DIR", missing)
	t.Setenv("OMNIGLOT_DIR", missing)
	t.Setenv("CIFAR_DIR", missing)
	t.Setenv("FASHION_MNIST_DIR", missing)
	t.Setenv("METAGON_DATA", "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())

	errOf := func(_ any, err error) error { return err }
	const mnist, omniglot = "scripts/download_mnist.sh", "scripts/download_omniglot.sh"
	const cifar, fashion = "scripts/download_cifar.sh", "scripts/download_fashion_mnist.sh"
	notTar := t.TempDir()
	if err := os.WriteFile(filepath.Join(notTar, "cifar-10-binary.tar.gz"), []byte("<html>404</html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		what, script, env string // env "": a flag was given, so no variable to set
		err               error
	}{
		{"FindMNISTDir(missing flag)", mnist, "", errOf(FindMNISTDir(missing))},
		{"FindMNISTDir, nothing found", mnist, "MNIST_DIR", errOf(FindMNISTDir(""))},
		{"LoadMNIST(missing dir)", mnist, "MNIST_DIR", errOf(LoadMNIST(missing, "train"))},
		{"FindOmniglotDir(missing flag)", omniglot, "", errOf(FindOmniglotDir(missing))},
		{"FindOmniglotDir, nothing found", omniglot, "OMNIGLOT_DIR", errOf(FindOmniglotDir(""))},
		{"LoadOmniglot(missing dir)", omniglot, "OMNIGLOT_DIR", errOf(LoadOmniglot(missing, OmniglotOptions{CacheDir: "-"}))},
		{"LoadOmniglot(not a zip)", omniglot, "OMNIGLOT_DIR", errOf(LoadOmniglot(notZip, OmniglotOptions{CacheDir: "-"}))},
		{"FindCIFARDir(missing flag)", cifar, "", errOf(FindCIFARDir(missing))},
		{"FindCIFARDir, nothing found", cifar, "CIFAR_DIR", errOf(FindCIFARDir(""))},
		{"LoadCIFAR100(missing dir)", cifar, "CIFAR_DIR", errOf(LoadCIFAR100(missing))},
		{"LoadCIFAR10(not a tarball)", cifar, "CIFAR_DIR", errOf(LoadCIFAR10(notTar))},
		{"FindFashionMNISTDir(missing flag)", fashion, "", errOf(FindFashionMNISTDir(missing))},
		{"LoadFashionMNIST(missing dir)", fashion, "FASHION_MNIST_DIR", errOf(LoadFashionMNIST(missing, "train"))},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.what)
			continue
		}
		msg := c.err.Error()
		for _, want := range []string{c.script, "in the metagon source repository", c.env} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: error %q does not contain %q", c.what, msg, want)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q is not one line", c.what, msg)
		}
		t.Logf("%s: %v", c.what, c.err)
	}
}
