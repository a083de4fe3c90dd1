package meta

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestTorchExportImport: -export-torch writes the meta-learned weights as
// PyTorch state_dict entries, and a run started with -import-torch from
// them exports the very same weights; an existing export is refused.
func TestTorchExportImport(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.npz"), filepath.Join(dir, "b.npz")
	if _, err := runMeta(t, "-iterations", "5", "-eval-tasks", "2", "-no-plots", "-out", dir, "-export-torch", a); err != nil {
		t.Fatal(err)
	}
	if _, err := runMeta(t, "-iterations", "0", "-seed", "9", "-eval-tasks", "2", "-no-plots", "-out", filepath.Join(dir, "b"), "-import-torch", a, "-export-torch", b); err != nil {
		t.Fatal(err)
	}
	load := func(path string) []float64 {
		m, err := models.New("sinusoid-mlp", models.Spec{})
		if err != nil {
			t.Fatal(err)
		}
		p := graph.NewParams(G.NewGraph(), tensor.Float64)
		if err := m.Init(p, 1); err != nil {
			t.Fatal(err)
		}
		if err := models.LoadTorchNPZ(path, m, p); err != nil {
			t.Fatal(err)
		}
		var all []float64
		for _, v := range p.Values() {
			all = append(all, v.Float64s()...)
		}
		return all
	}
	if x, y := load(a), load(b); !slices.Equal(x, y) {
		t.Errorf("weights imported from %s and exported again differ", a)
	}
	_, err := runMeta(t, "-iterations", "1", "-eval-tasks", "2", "-no-plots", "-out", dir, "-export-torch", a)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("export over an existing file: %v", err)
	}
	_, err = runMeta(t, "-iterations", "1", "-no-plots", "-out", dir, "-import-torch", filepath.Join(dir, "none.npz"))
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("import of a missing file: %v", err)
	}
}
