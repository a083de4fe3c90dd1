package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/models"
)

// MNIST's examples: 1×28×28 images of 10 classes.
const (
	mnistInputs  = 28 * 28
	mnistClasses = 10
)

// chooseModel returns the model to train or evaluate and sets c.model to
// its registered name. With -resume or -eval the checkpoint ck names the
// model (graph.Checkpoint.Model holds its Name()), unless -model was given:
// then restoring checks that they agree. The model must fit MNIST; the
// error otherwise names the registered models that do.
func chooseModel(c *config, ck *graph.Checkpoint) (models.Model, error) {
	if ck != nil {
		if err := c.modelFrom(ck); err != nil {
			return nil, err
		}
	}
	m, err := models.New(c.model, models.Spec{Filters: c.filters, Hidden: c.hidden})
	if err != nil {
		return nil, cli.Usagef("-model: %v", err)
	}
	if !fitsMNIST(m) {
		if c.set["model"] || ck == nil {
			return nil, cli.Usagef("-model %s %s", c.model, misfit(m))
		}
		return nil, fmt.Errorf("-checkpoint %s holds model %s, which %s", c.checkpoint, m.Name(), misfit(m))
	}
	return m, nil
}

// modelFrom takes the model and its options from ck where the command
// line does not give them: the registered name and -filters/-hidden it
// records, or, for checkpoints that predate those keys, the registered
// model whose Name() is ck.Model.
func (c *config) modelFrom(ck *graph.Checkpoint) error {
	if !c.set["model"] {
		name := ck.Meta[metaModel]
		if name == "" {
			var err error
			if name, err = registeredName(ck.Model); err != nil {
				return fmt.Errorf("-checkpoint %s: %w", c.checkpoint, err)
			}
		}
		c.model = name
	}
	if v := ck.Meta[metaFilters]; v != "" && !c.set["filters"] {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("-checkpoint %s: filters=%q is not a number", c.checkpoint, v)
		}
		c.filters = n
	}
	if v := ck.Meta[metaHidden]; v != "" && !c.set["hidden"] {
		h, err := cli.ParseIntList(v)
		if err != nil {
			return fmt.Errorf("-checkpoint %s: hidden %v", c.checkpoint, err)
		}
		c.hidden = h
	}
	return nil
}

// registeredName returns the name under which the model called model (a
// Name(), as checkpoints hold it) is registered.
func registeredName(model string) (string, error) {
	var have []string
	for _, name := range models.Names() {
		m, err := models.New(name, models.Spec{})
		if err != nil {
			return "", err
		}
		if m.Name() == model {
			return name, nil
		}
		have = append(have, fmt.Sprintf("%s (%s)", name, m.Name()))
	}
	return "", fmt.Errorf("the checkpoint's model %q is none of the registered models %s", model, strings.Join(have, ", "))
}

// fitsMNIST reports whether m takes MNIST images and has one output per
// class.
func fitsMNIST(m models.Model) bool {
	return graph.Size(m.InputShape()) == mnistInputs && m.OutputSize() == mnistClasses
}

// misfit says why m does not fit MNIST, and which registered models do.
func misfit(m models.Model) string {
	outputs := "outputs"
	if m.OutputSize() == 1 {
		outputs = "output"
	}
	return fmt.Sprintf("takes inputs of shape %v and has %d %s; MNIST needs %d inputs (1×28×28) and %d classes: use one of %s",
		m.InputShape(), m.OutputSize(), outputs, mnistInputs, mnistClasses, strings.Join(mnistModels(), ", "))
}

// mnistModels lists the registered models that fit MNIST.
func mnistModels() []string {
	var fit []string
	for _, name := range models.Names() {
		if m, err := models.New(name, models.Spec{}); err == nil && fitsMNIST(m) {
			fit = append(fit, name)
		}
	}
	return fit
}

// loadMNIST loads one split of MNIST from dir and checks that its images
// have as many pixels as the model takes inputs (idx files can hold images
// of any size).
func loadMNIST(dir, split string, m models.Model) (*data.MNIST, error) {
	ds, err := data.LoadMNIST(dir, split)
	if err != nil {
		return nil, err
	}
	if ds.Rows*ds.Cols != graph.Size(m.InputShape()) {
		return nil, fmt.Errorf("MNIST %s images in %s are %d×%d; model %s takes %d values (shape %v)",
			split, dir, ds.Rows, ds.Cols, m.Name(), graph.Size(m.InputShape()), m.InputShape())
	}
	return ds, nil
}
