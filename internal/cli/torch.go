package cli

import (
	"flag"
	"strings"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	"github.com/sirupsen/logrus"
)

// TorchFlags are the tools' -import-torch and -export-torch: weights moved
// to and from PyTorch as .npz files of state_dict entries (see
// models.SaveTorchNPZ and scripts/torch_models.py).
type TorchFlags struct {
	Import, Export string
}

// Register adds the two flags to fs.
func (t *TorchFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&t.Import, "import-torch", "", "start from the weights in this .npz of PyTorch state_dict entries (the modules of scripts/torch_models.py in the metagon source repository)")
	fs.StringVar(&t.Export, "export-torch", "", "write the final weights to this .npz, with PyTorch state_dict names and layouts")
}

// Check refuses, before any work, an -export-torch file that exists or
// cannot be written.
func (t TorchFlags) Check() error {
	if t.Export == "" {
		return nil
	}
	return CheckFile("export-torch", t.Export, false, "remove it or choose another file name")
}

// Load reads -import-torch, if set, into p, the weights of m.
func (t TorchFlags) Load(m models.Model, p *graph.Params, log *logrus.Logger) error {
	if t.Import == "" {
		return nil
	}
	if err := models.LoadTorchNPZ(t.Import, m, p); err != nil {
		return err
	}
	log.Infof("initialised %s from PyTorch weights %s", m.Name(), t.Import)
	return nil
}

// Save writes p, the weights of m, to -export-torch, if set.
func (t TorchFlags) Save(m models.Model, p *graph.Params, log *logrus.Logger) error {
	if t.Export == "" {
		return nil
	}
	if err := models.SaveTorchNPZ(t.Export, m, p); err != nil {
		return err
	}
	log.Infof("wrote %s's weights for PyTorch to %s", m.Name(), t.Export)
	if left := models.TorchLeftOut(m, p); len(left) > 0 {
		log.Warnf("-export-torch: %d meta-parameters are the learner's, not %s's, and have no PyTorch module; not written: %s",
			len(left), m.Name(), strings.Join(left, ", "))
	}
	return nil
}
