package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/models"
)

// chooseModel returns the model to train or evaluate and the data set,
// and sets c.model and c.dataset to their names. With -resume or -eval the
// checkpoint ck names the model (graph.Checkpoint.Model holds its Name())
// and the data set, unless -model or -dataset was given: then restoring
// checks that the model agrees, and -resume refuses another data set. An
// image classifier (imageModel) is shaped for the data set; the model must
// then fit it, and the error otherwise names the registered models that do.
func chooseModel(c *config, ck *graph.Checkpoint) (models.Model, *dataset, error) {
	if ck != nil {
		if err := c.modelFrom(ck); err != nil {
			return nil, nil, err
		}
	}
	ds := lookupDataset(c.dataset)
	if ds == nil {
		return nil, nil, fmt.Errorf("-checkpoint %s: data set %q is none of %s", c.checkpoint, c.dataset, strings.Join(datasetNames(), ", "))
	}
	m, err := newModel(c.model, *c, ds)
	if err != nil {
		return nil, nil, cli.Usagef("-model: %v", err)
	}
	if !fits(m, ds) {
		if c.set["model"] || ck == nil {
			return nil, nil, cli.Usagef("-model %s %s", c.model, misfit(m, ds))
		}
		return nil, nil, fmt.Errorf("-checkpoint %s holds model %s, which %s", c.checkpoint, m.Name(), misfit(m, ds))
	}
	return m, ds, nil
}

// newModel builds the registered model name with -filters and -hidden,
// shaped for ds's examples and classes when it is an image classifier
// (imageModel); another model is built as registered (and does not fit).
func newModel(name string, c config, ds *dataset) (models.Model, error) {
	spec := models.Spec{Filters: c.filters, Hidden: c.hidden, Dropout: c.dropout,
		Activation: models.Activation(c.activation), BatchNorm: c.batchNorm}
	if imageModel(name) {
		spec.Input, spec.Outputs = ds.shape, ds.classes
	}
	return models.New(name, spec)
}

// imageModel reports whether the registered model name is an image
// classifier: one whose registered default takes MNIST's 1×28×28 images
// and has 10 outputs (seed, mlp, conv4). train shapes those for the data
// set of -dataset (seed and mlp flatten the image; conv4 takes its
// channels and size).
func imageModel(name string) bool {
	m, err := models.New(name, models.Spec{})
	return err == nil && graph.Size(m.InputShape()) == 28*28 && m.OutputSize() == 10
}

// modelFrom takes the model and its options, and the data set, from ck
// where the command line does not give them: the registered name and
// -filters/-hidden/-dropout/-activation/-batch-norm it records, or, for checkpoints that predate those
// keys, the registered model whose Name() is ck.Model (and MNIST, the only
// data set then). -resume refuses a -dataset other than the checkpoint's.
func (c *config) modelFrom(ck *graph.Checkpoint) error {
	if v := ck.Meta[metaDataset]; v != "" {
		switch {
		case !c.set["dataset"]:
			c.dataset = v
		case v != c.dataset && c.resume:
			return fmt.Errorf("-dataset %s: checkpoint %s was trained on %s; a run resumes on the data it was trained on (leave -dataset out to take the checkpoint's)",
				c.dataset, c.checkpoint, v)
		}
	}
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
	if v := ck.Meta["dropout"]; v != "" && !c.set["dropout"] {
		if err := c.setFromMeta("dropout", v); err != nil {
			return fmt.Errorf("-checkpoint %s: dropout=%q is not a number", c.checkpoint, v)
		}
	}
	if v := ck.Meta[metaActivation]; v != "" && !c.set["activation"] {
		c.activation = v
	}
	if v := ck.Meta[metaBatchNorm]; v != "" && !c.set["batch-norm"] {
		var err error
		if c.batchNorm, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("-checkpoint %s: %s=%q is not true or false", c.checkpoint, metaBatchNorm, v)
		}
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

// fits reports whether m takes ds's examples and has one output per class.
func fits(m models.Model, ds *dataset) bool {
	return graph.Size(m.InputShape()) == ds.inputs() && m.OutputSize() == ds.classes
}

// misfit says why m does not fit ds, and which registered models do.
func misfit(m models.Model, ds *dataset) string {
	outputs := "outputs"
	if m.OutputSize() == 1 {
		outputs = "output"
	}
	return fmt.Sprintf("takes inputs of shape %v and has %d %s; %s needs %d inputs (%s) and %d classes: use one of %s",
		m.InputShape(), m.OutputSize(), outputs, ds.title, ds.inputs(), ds.shapeString(), ds.classes, strings.Join(imageModels(), ", "))
}

// imageModels lists the registered image classifiers (imageModel).
func imageModels() []string {
	var fit []string
	for _, name := range models.Names() {
		if imageModel(name) {
			fit = append(fit, name)
		}
	}
	return fit
}
